import { BatchBuilder } from '../data/batcher.js';
import type { Batch } from '../data/jagged-types.js';
import type { SampleSource } from '../data/sample-source.js';
import type { Component } from '../models/component.js';
import type { CvrModel } from '../models/cvr-model.js';
import {
  createDenseOptimizer,
  createSparseOptimizer,
  type DenseOptimizer,
  type SparseOptimizer,
} from '../sparse/optimizers.js';
import { Rng, mix32 } from '../util/rng.js';
import { Progress } from '../util/progress.js';
import { labelsFor, sourceFor } from './component-data.js';
import { sampleOrder, type ShuffleMode } from './shuffle.js';
import { fnv1a32 } from '../util/fnv.js';

export type OptimizerKind = 'adam' | 'adagrad';

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: OptimizerKind;
  /** Seeds the data order (the model's own seed sets its initial weights). */
  seed: number;
  quiet?: boolean;
  /** Sample order within a block: by group (default; common features pooled once per group) or by sample. */
  shuffle?: ShuffleMode;
  /** Called after every step (tests, checkpoints). */
  onStep?: (info: StepInfo) => void;
}

export interface StepInfo {
  component: string;
  epoch: number;
  step: number;
  loss: number;
  samples: number;
}

/** Loss curve of one component: mean loss over every `every` steps. */
export interface LossCurve {
  component: string;
  every: number;
  points: { step: number; epoch: number; loss: number }[];
}

export interface TrainResult {
  seconds: number;
  samples: number;
  samplesPerSecond: number;
  curves: LossCurve[];
  components: { name: string; trainedOn: number; steps: number; finalLoss: number }[];
}

/**
 * Trains every component of the model on its slice of the data (all impressions, or the
 * clicked ones), `epochs` passes each. The data order is shuffled per epoch: block order, then
 * sample order within the block, both from the seed.
 */
export async function trainModel(
  model: CvrModel,
  data: SampleSource,
  config: TrainConfig,
): Promise<TrainResult> {
  validateConfig(config);
  const t0 = Date.now();
  let samples = 0;
  const curves: LossCurve[] = [];
  const summary: TrainResult['components'] = [];
  for (const component of model.components) {
    const source = sourceFor(component.def, data);
    const r = await trainComponent(component, model, source, config);
    samples += r.samples;
    curves.push(r.curve);
    summary.push({
      name: component.def.name,
      trainedOn: source.numSamples,
      steps: r.steps,
      finalLoss: r.finalLoss,
    });
  }
  const seconds = (Date.now() - t0) / 1000;
  return { seconds, samples, samplesPerSecond: samples / seconds, curves, components: summary };
}

async function trainComponent(
  component: Component,
  model: CvrModel,
  source: SampleSource,
  config: TrainConfig,
): Promise<{ samples: number; steps: number; finalLoss: number; curve: LossCurve }> {
  const name = component.def.name;
  const builder = new BatchBuilder(model.config.spec, source.fieldNames, source.groups);
  const sparseOpt = createSparseOptimizer(config.optimizer, config.lr);
  const denseOpt = createDenseOptimizer(config.optimizer, config.lr);
  const rng = new Rng(mix32(config.seed ^ 0x2545f491) ^ fnv1a32(name));
  const progress = new Progress({
    label: `train ${model.config.kind}/${name}`,
    total: source.numSamples * config.epochs,
    unit: 'samples',
    quiet: config.quiet ?? false,
  });
  const curveEvery = Math.max(1, Math.round(source.numSamples / config.batchSize / 50));
  const curve: LossCurve = { component: name, every: curveEvery, points: [] };
  let step = 0;
  let samples = 0;
  let ema = NaN;
  let windowSum = 0;
  let windowSteps = 0;
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    const blockOrder = rng.shuffle(Int32Array.from({ length: source.numBlocks }, (_, i) => i));
    for (const b of blockOrder) {
      const block = source.readBlock(b);
      const order = sampleOrder(block, rng, config.shuffle ?? 'group');
      for (let s = 0; s < block.count; s += config.batchSize) {
        const batch = builder.build(block, order, s, Math.min(block.count, s + config.batchSize));
        const loss = await trainStep(component, batch, sparseOpt, denseOpt);
        step++;
        samples += batch.size;
        ema = Number.isNaN(ema) ? loss : 0.98 * ema + 0.02 * loss;
        windowSum += loss;
        windowSteps++;
        if (windowSteps === curveEvery) {
          curve.points.push({ step, epoch, loss: windowSum / windowSteps });
          windowSum = 0;
          windowSteps = 0;
        }
        progress.tick(batch.size, `epoch ${epoch + 1}/${config.epochs} loss ${ema.toFixed(5)}`);
        config.onStep?.({ component: name, epoch, step, loss, samples: batch.size });
      }
    }
  }
  if (windowSteps > 0) curve.points.push({ step, epoch: config.epochs - 1, loss: windowSum / windowSteps });
  progress.finish(`loss ${ema.toFixed(5)}`);
  return { samples, steps: step, finalLoss: ema, curve };
}

/** One step: pool, dense forward+backward in onnxruntime, dense update, sparse row updates. */
async function trainStep(
  component: Component,
  batch: Batch,
  sparseOpt: SparseOptimizer,
  denseOpt: DenseOptimizer,
): Promise<number> {
  const x = component.pool(batch, 'train');
  const n = batch.size;
  const weight = new Float32Array(n).fill(1);
  const labels = labelsFor(component.def, batch);
  const res = await component.net.trainStep(x, n, labels, weight);
  if (!Number.isFinite(res.loss)) {
    throw new Error(
      `training diverged in ${component.def.name}: loss is ${res.loss}; lower --lr (now the step's inputs had ${n} samples)`,
    );
  }
  const names = [...component.net.params.keys()];
  denseOpt.step(
    names.map((k) => component.net.params.get(k)!.data),
    names.map((k) => res.grads.get(k)!),
  );
  const grads = component.embeddings.backward(batch, res.gradX);
  sparseOpt.nextStep();
  for (const g of grads) sparseOpt.step(component.embeddings.tables[g.table]!, g);
  return res.loss;
}

function validateConfig(c: TrainConfig): void {
  const bad = (what: string) => {
    throw new Error(`invalid training option: ${what}`);
  };
  if (!Number.isInteger(c.epochs) || c.epochs < 1) bad(`--epochs must be a positive integer (got ${c.epochs})`);
  if (!Number.isInteger(c.batchSize) || c.batchSize < 1) bad(`--batch-size must be a positive integer (got ${c.batchSize})`);
  if (!(c.lr > 0) || !Number.isFinite(c.lr)) bad(`--lr must be a positive number (got ${c.lr})`);
}
