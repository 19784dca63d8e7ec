import { crc32 } from 'node:zlib';
import { BatchBuilder } from '../data/batch/batcher.js';
import type { Batch } from '../data/batch/jagged-types.js';
import type { SampleSource } from '../data/sample-source.js';
import { splitBySession } from '../data/session-split.js';
import type { Component } from '../models/component.js';
import type { CvrModel } from '../models/cvr-model.js';
import type { NamedTensor } from '../persist/tensor-file.js';
import { createDenseOptimizer, type DenseOptimizer } from '../optim/dense.js';
import type { OptimizerKind } from '../optim/kernels.js';
import { createSparseOptimizer, type SparseOptimizer } from '../sparse/row-sparse-optimizer.js';
import { EmbeddingThread, embeddingThreadByDefault } from '../sparse/embedding-thread.js';
import { Progress } from '../util/progress.js';
import { sampleOrder, type ShuffleMode } from './shuffle.js';
import { dataOrderRng, drawBlockOrder } from './batch-order.js';
import { trainingSource } from './component-data.js';
import { DEFAULT_SLICE_BATCH, sliceBatchSize, type SliceBatch } from './slice-batch.js';
import { labelsOf } from '../models/labels.js';
import type { LossCurve } from './loss-curve.js';
import {
  DEFAULT_MAX_EPOCHS,
  DEFAULT_MIN_EPOCHS,
  DEFAULT_PATIENCE,
  DEFAULT_VALIDATION_FRACTION,
  defaultEvalEvery,
  initialState,
  record,
  restoreSnapshot,
  snapshot,
  validationLoss,
  type EarlyStoppingState,
  type EarlyStoppingSummary,
} from './early-stopping.js';
import {
  captureModel,
  captureOptimizers,
  CheckpointStore,
  fingerprintDifferences,
  restoreModel,
  restoreOptimizers,
  type Checkpoint,
  type ComponentPosition,
  type FinishedComponent,
  type RunFingerprint,
} from './checkpoint.js';

export interface TrainConfig {
  /**
   * Passes over each component's data, or 'auto': each component trains until its validation loss
   * has not improved for `earlyStopping.patience` evaluations (train/early-stopping.ts), at most
   * `earlyStopping.maxEpochs` epochs, and its best state is kept.
   */
  epochs: number | 'auto';
  /** With epochs 'auto' only (refused otherwise): see EarlyStoppingConfig. */
  earlyStopping?: EarlyStoppingConfig;
  batchSize: number;
  /**
   * A component that trains on a selection of the impressions (BASE's CVR net on the clicked ones):
   * 'scaled' (default) shrinks its batch with the selection's share so that it takes as many steps
   * an epoch as a component on all impressions; 'full' gives it `batchSize` (see slice-batch.ts).
   */
  sliceBatch?: SliceBatch;
  lr: number;
  optimizer: OptimizerKind;
  /** Seeds the data order (the model's own seed sets its initial weights). */
  seed: number;
  quiet?: boolean;
  /** Sample order within a block: runs of a session's impressions (default) or plain; see shuffle.ts. */
  shuffle?: ShuffleMode;
  /** Train only these components, by name (in model order); the others are left as they are. */
  components?: string[];
  /** Called after every step (tests, checkpoints). */
  onStep?: (info: StepInfo) => void;
  /** Checkpoints every few steps, and resuming from them; see checkpoint.ts. */
  checkpoints?: CheckpointConfig;
  /**
   * Split the embedding side of each step (pooling, backward, sparse optimizer) between this
   * thread and a worker thread (see sparse/embedding-thread.ts); the weights come out the same.
   * Default: when the machine has 2 or more cores.
   */
  embeddingThread?: boolean;
}

export interface EarlyStoppingConfig {
  /** Evaluations without improvement before a component stops (default 2). */
  patience?: number;
  /** Steps of a component between evaluations (default: about 4 per epoch, 1 on a small validation slice; defaultEvalEvery); also at every epoch's end. */
  evalEvery?: number;
  /** Most epochs per component (default 50). */
  maxEpochs?: number;
  /** Epochs of its own data a component trains before its patience may stop it (default 1). */
  minEpochs?: number;
  /**
   * What the validation loss is computed on: a share of the training data's sessions, carved out
   * by TrainConfig.seed and not trained on (data/session-split.ts; default { fraction: 0.1 }), or
   * a split of its own (then all of the training data is trained on). Never the test split.
   */
  validation?: { fraction: number } | { source: SampleSource; name: string };
}

export interface CheckpointConfig {
  dir: string;
  /** Steps (over all components) between checkpoints; a final one is written when training ends. */
  every: number;
  /** Checkpoints kept (default 2). */
  keep?: number;
  /**
   * Continue from the newest checkpoint in `dir` that verifies (damaged ones are skipped with a
   * warning). Without it, a folder that already holds checkpoints is refused, so that another
   * run's checkpoints are never mixed with or overwritten by this one's.
   */
  resume?: boolean;
  /** Warnings (damaged checkpoints skipped, nothing to resume): default stderr. */
  onWarning?: (message: string) => void;
}

export interface StepInfo {
  component: string;
  epoch: number;
  /** Steps of this component so far. */
  step: number;
  /** Steps of the whole run so far (what --checkpoint-every counts). */
  globalStep: number;
  loss: number;
  samples: number;
}

export interface TrainResult {
  seconds: number;
  samples: number;
  samplesPerSecond: number;
  curves: LossCurve[];
  components: { name: string; trainedOn: number; batchSize: number; steps: number; finalLoss: number; earlyStopping?: EarlyStoppingSummary }[];
  /** The checkpoint this run continued from. */
  resumedFrom?: { path: string; globalStep: number };
}

/**
 * Trains every component of the model (or those named in config.components) on its slice of the
 * data, `epochs` passes each. The data order is shuffled per epoch: block order, then sample
 * order within the block, both from the seed. With config.checkpoints the run writes
 * checkpoints and can resume from one; a resumed run ends with exactly the weights the run
 * would have had without the interruption.
 */
export async function trainModel(model: CvrModel, data: SampleSource, config: TrainConfig): Promise<TrainResult> {
  validateConfig(config);
  const components = selectComponents(model, config.components);
  const fingerprint = runFingerprint(model, data, config, components);
  const run = new Run(config, fingerprint, model);
  const resumed = run.resume();
  const sides = validationSides(data, config);
  for (let index = 0; index < components.length; index++) {
    if (resumed && index < resumed.meta.finished.length) continue;
    const component = components[index]!;
    const source = await trainingSource(component.def, sides.train, model);
    // The component's own slice of the validation side: the filter and sampling it trains with.
    const validation = sides.validation ? await trainingSource(component.def, sides.validation, model) : null;
    const at = resumed?.meta.current?.index === index ? resumed : null;
    const batchSize = sliceBatchSize(config.batchSize, source.numSamples, sides.train.numSamples, config.sliceBatch ?? DEFAULT_SLICE_BATCH);
    await trainComponent(component, index, model, source, validation, batchSize, config, run, at);
  }
  run.checkpointIfDue(true, null);
  return run.result(resumed);
}

/** What the components train on, and with epochs 'auto' what they are validated on. */
function validationSides(data: SampleSource, config: TrainConfig): { train: SampleSource; validation: SampleSource | null } {
  if (config.epochs !== 'auto') return { train: data, validation: null };
  const v = config.earlyStopping?.validation ?? { fraction: DEFAULT_VALIDATION_FRACTION };
  if ('source' in v) {
    if (v.source.numSamples === 0) throw new Error(`invalid training option: the validation split ${v.name} is empty; pass a split with impressions to --validation-split`);
    return { train: data, validation: v.source };
  }
  return splitBySession(data, v.fraction, config.seed);
}

/** Counters of the whole run, the finished components, and the checkpoints. */
class Run {
  globalStep = 0;
  samples = 0;
  readonly finished: FinishedComponent[] = [];
  private secondsBefore = 0;
  private readonly t0 = Date.now();
  private readonly store: CheckpointStore | null;
  private lastCheckpointStep = -1;

  constructor(
    private readonly config: TrainConfig,
    private readonly fingerprint: RunFingerprint,
    private readonly model: CvrModel,
  ) {
    const c = config.checkpoints;
    this.store = c ? new CheckpointStore(c.dir, c.keep).open() : null;
  }

  /** The checkpoint to continue from (already restored into the model), or null. */
  resume(): Checkpoint | null {
    const c = this.config.checkpoints;
    if (!c || !this.store) return null;
    const warn = c.onWarning ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
    if (!c.resume) {
      const existing = this.store.list();
      if (existing.length > 0) {
        throw new Error(
          `${this.store.dir} already holds checkpoints (${existing[0]!.path}, ...): pass --resume to continue that run, ` +
            'or choose another --checkpoint-dir (or remove them) to start a new one',
        );
      }
      return null;
    }
    const ckpt = this.store.loadLatest(warn);
    if (!ckpt) {
      warn(`no usable checkpoint in ${this.store.dir}: training starts from the beginning`);
      return null;
    }
    const differences = fingerprintDifferences(ckpt.meta.fingerprint, this.fingerprint);
    if (differences.length > 0) {
      throw new Error(
        `${ckpt.path} belongs to another run:\n  ${differences.join('\n  ')}\n` +
          'resume with the options, feature spec and data it was written with, or start over with another --checkpoint-dir',
      );
    }
    restoreModel(this.model, ckpt);
    this.globalStep = ckpt.meta.globalStep;
    this.samples = ckpt.meta.samples;
    this.secondsBefore = ckpt.meta.seconds;
    this.finished.push(...ckpt.meta.finished);
    this.lastCheckpointStep = ckpt.meta.globalStep;
    return ckpt;
  }

  /**
   * Writes a checkpoint when `every` steps have passed (or, with `final`, when training ended
   * after the last one). `current` captures the component being trained, null when all are done.
   */
  checkpointIfDue(final: boolean, current: ((tensors: Map<string, NamedTensor>) => ComponentPosition) | null): void {
    const c = this.config.checkpoints;
    if (!c || !this.store || this.globalStep === this.lastCheckpointStep) return;
    if (!final && this.globalStep % c.every !== 0) return;
    const tensors = new Map<string, NamedTensor>();
    const position = current ? current(tensors) : null;
    const components = captureModel(this.model, tensors);
    this.store.write(
      {
        fingerprint: this.fingerprint,
        globalStep: this.globalStep,
        seconds: this.seconds(),
        samples: this.samples,
        finished: this.finished,
        current: position,
        components,
      },
      tensors,
    );
    this.lastCheckpointStep = this.globalStep;
  }

  seconds(): number {
    return this.secondsBefore + (Date.now() - this.t0) / 1000;
  }

  result(resumed: Checkpoint | null): TrainResult {
    const seconds = this.seconds();
    return {
      seconds,
      samples: this.samples,
      samplesPerSecond: seconds > 0 ? this.samples / seconds : 0,
      curves: this.finished.map((f) => f.curve),
      components: this.finished.map((f) => ({
        name: f.name,
        trainedOn: f.trainedOn,
        batchSize: f.batchSize ?? this.config.batchSize,
        steps: f.steps,
        finalLoss: f.finalLoss ?? NaN,
        ...(f.earlyStopping ? { earlyStopping: f.earlyStopping } : {}),
      })),
      ...(resumed ? { resumedFrom: { path: resumed.path, globalStep: resumed.meta.globalStep } } : {}),
    };
  }
}

/**
 * One component's epochs. The position in the data is explicit (epoch, index in the epoch's
 * block order, start of the next batch in the block's sample order) so that a checkpoint can
 * record it and a resumed run continue from it with the same generator state: the orders are
 * drawn from `rng` at the same moments as in an uninterrupted run.
 */
async function trainComponent(
  component: Component,
  index: number,
  model: CvrModel,
  source: SampleSource,
  validation: SampleSource | null,
  batchSize: number,
  config: TrainConfig,
  run: Run,
  resumed: Checkpoint | null,
): Promise<void> {
  const name = component.def.name;
  const builder = new BatchBuilder(model.config.spec, source.fieldNames, source.groups);
  const sparseOpt = createSparseOptimizer(config.optimizer, config.lr);
  const denseOpt = createDenseOptimizer(config.optimizer, config.lr);
  const rng = dataOrderRng(config.seed, name);
  const curveEvery = Math.max(1, Math.round(source.numSamples / batchSize / 50));
  let curve: LossCurve = { component: name, every: curveEvery, points: [] };
  let epoch = 0;
  let blockOrder: Int32Array | null = null;
  let blockIndex = 0;
  let order: Int32Array | null = null;
  let sampleStart = 0;
  let step = 0;
  let samples = 0;
  let ema = NaN;
  let windowSum = 0;
  let windowSteps = 0;
  const epochs = config.epochs === 'auto' ? (config.earlyStopping?.maxEpochs ?? DEFAULT_MAX_EPOCHS) : config.epochs;
  let es: EarlyStoppingState | null = null;
  let best: Map<string, NamedTensor> | null = null;
  if (validation) {
    if (validation.numSamples === 0) {
      throw new Error(
        `component '${name}' has no impressions in its slice of the validation data (of ${source.numSamples} it trains on): ` +
          'raise --validation-fraction or pass a larger --validation-split',
      );
    }
    es = initialState({
      patience: config.earlyStopping?.patience ?? DEFAULT_PATIENCE,
      evalEvery: config.earlyStopping?.evalEvery ?? defaultEvalEvery(source.numSamples, batchSize, validation.numSamples),
      maxEpochs: epochs,
      minEpochs: config.earlyStopping?.minEpochs ?? DEFAULT_MIN_EPOCHS,
      validationSamples: validation.numSamples,
    });
  }

  const at = resumed?.meta.current;
  if (resumed && at) {
    if (at.name !== name) throw new Error(`${resumed.path} was training component '${at.name}', this run's component ${index} is '${name}'`);
    restoreOptimizers(resumed, at, denseOpt, sparseOpt, component.embeddings.tables);
    rng.setState(at.dataRng);
    ({ epoch, blockIndex, sampleStart, step, samples, windowSum, windowSteps, curve } = at);
    ema = at.ema ?? NaN;
    blockOrder = at.hasBlockOrder ? (resumed.tensors.get('pos/block-order')!.data as Int32Array) : null;
    order = at.hasSampleOrder ? (resumed.tensors.get('pos/sample-order')!.data as Int32Array) : null;
    if (es) {
      if (!at.earlyStopping) throw new Error(`${resumed.path} holds no early-stopping state for '${name}': resume with the --epochs it was written with`);
      es = at.earlyStopping;
      if (es.best !== null) {
        best = new Map();
        for (const [key, t] of resumed.tensors) if (key.startsWith('best/')) best.set(key.slice('best/'.length), t);
      }
    }
  }

  const capture = (tensors: Map<string, NamedTensor>): ComponentPosition => {
    if (blockOrder) tensors.set('pos/block-order', { dims: [blockOrder.length], data: blockOrder });
    if (order) tensors.set('pos/sample-order', { dims: [order.length], data: order });
    if (best) for (const [key, t] of best) tensors.set(`best/${key}`, t);
    return {
      index,
      name,
      epoch,
      blockIndex,
      sampleStart,
      hasBlockOrder: blockOrder !== null,
      hasSampleOrder: order !== null,
      step,
      samples,
      ema: Number.isNaN(ema) ? null : ema,
      windowSum,
      windowSteps,
      curve,
      dataRng: rng.getState(),
      ...(es ? { earlyStopping: es } : {}),
      ...captureOptimizers(denseOpt, sparseOpt, tensors),
    };
  };

  const thread = (config.embeddingThread ?? embeddingThreadByDefault()) ? await EmbeddingThread.start(component.embeddings) : null;
  try {
    await runEpochs();
  } finally {
    await thread?.close();
  }

  /**
   * Evaluates on the validation slice after `step` steps, `epochsDone` whole epochs of the
   * component's data; true when the component should stop.
   */
  async function evaluate(epochsDone: number): Promise<boolean> {
    if (!es || !validation) return false;
    const loss = await validationLoss(component, validation, model, thread);
    const { improved, stop } = record(es, { step, epoch, loss }, epochsDone);
    if (improved) best = snapshot(component);
    return stop;
  }

  async function runEpochs(): Promise<void> {
    const progress = new Progress({
      // With 'auto' the total is the --max-epochs bound: training usually ends before it.
      label: `train ${model.config.kind}/${name}`,
      total: source.numSamples * epochs - samples,
      unit: 'samples',
      quiet: config.quiet ?? false,
    });
    const shown = config.epochs === 'auto' ? `auto, at most ${epochs}` : String(epochs);
    let stop = false;
    epochs: for (; epoch < epochs; epoch++) {
      blockOrder ??= drawBlockOrder(rng, source.numBlocks);
      for (; blockIndex < blockOrder.length; blockIndex++) {
        const block = source.readBlock(blockOrder[blockIndex]!);
        const positions = (order ??= sampleOrder(block, rng, config.shuffle ?? 'group'));
        let prebuilt: Batch | null = null;
        while (sampleStart < block.count) {
          const end = Math.min(block.count, sampleStart + batchSize);
          const batch = prebuilt ?? builder.build(block, positions, sampleStart, end);
          prebuilt = null;
          // The next batch of this block is built during this step's backward, where the embedding
          // thread's queue takes up the slack; it reads no weights, so nothing changes but the time.
          const buildNext =
            end < block.count
              ? () => {
                  prebuilt = builder.build(block, positions, end, Math.min(block.count, end + batchSize));
                }
              : null;
          const loss = await trainStep(component, batch, sparseOpt, denseOpt, thread, buildNext);
          sampleStart = end;
          step++;
          samples += batch.size;
          run.globalStep++;
          run.samples += batch.size;
          ema = Number.isNaN(ema) ? loss : 0.98 * ema + 0.02 * loss;
          windowSum += loss;
          windowSteps++;
          if (windowSteps === curveEvery) {
            curve.points.push({ step, epoch, loss: windowSum / windowSteps });
            windowSum = 0;
            windowSteps = 0;
          }
          progress.tick(batch.size, `epoch ${epoch + 1}/${shown} loss ${ema.toFixed(5)}`);
          config.onStep?.({ component: name, epoch, step, globalStep: run.globalStep, loss, samples: batch.size });
          // Evaluated before the checkpoint, so that the checkpoint holds this evaluation.
          const epochEnded = sampleStart === block.count && blockIndex === blockOrder.length - 1;
          if (es && step % es.evalEvery === 0 && (stop = await evaluate(epochEnded ? epoch + 1 : epoch))) break epochs;
          run.checkpointIfDue(false, capture);
        }
        order = null;
        sampleStart = 0;
      }
      blockOrder = null;
      blockIndex = 0;
      // At least once an epoch. A checkpoint written at the epoch's last step resumes here too:
      // its position is the end of the last block, and lastEvalStep says this step is not evaluated yet.
      if (es && es.lastEvalStep !== step && (stop = await evaluate(epoch + 1))) break epochs;
    }
    if (windowSteps > 0) {
      curve.points.push({ step, epoch: Math.min(epoch, epochs - 1), loss: windowSum / windowSteps });
      windowSum = 0;
      windowSteps = 0;
    }
    let earlyStopping: EarlyStoppingSummary | undefined;
    if (es) {
      if (!stop) es.stopped = 'max-epochs';
      if (best) restoreSnapshot(component, best, `early stopping of '${name}'`);
      earlyStopping = {
        metric: es.metric,
        validationSamples: es.validationSamples,
        patience: es.patience,
        evalEvery: es.evalEvery,
        maxEpochs: es.maxEpochs,
        minEpochs: es.minEpochs,
        best: es.best,
        bestStep: es.bestStep,
        bestEpoch: es.bestEpoch,
        stoppedAtStep: step,
        stopped: es.stopped ?? 'max-epochs',
        curve: es.curve,
      };
    }
    progress.finish(es ? `stopped at step ${step} (${es.stopped}), best validation loss ${es.best?.toFixed(5)} at step ${es.bestStep}` : `loss ${ema.toFixed(5)}`);
    run.finished.push({
      name,
      trainedOn: source.numSamples,
      batchSize,
      steps: step,
      finalLoss: Number.isNaN(ema) ? null : ema,
      samples,
      curve,
      ...(earlyStopping ? { earlyStopping } : {}),
    });
  }
}

/**
 * One step: pool, dense forward+backward in onnxruntime, dense update, sparse row updates; with
 * `thread`, the embedding side is split between this thread and the worker. `alsoDo` runs once
 * the dense update is done (building the next batch). Exported for batch-order.test.ts, which
 * replays trainingBatches through it.
 */
export async function trainStep(
  component: Component,
  batch: Batch,
  sparseOpt: SparseOptimizer,
  denseOpt: DenseOptimizer,
  thread: EmbeddingThread | null,
  alsoDo: (() => void) | null,
): Promise<number> {
  const x = thread ? await thread.forward(batch) : component.pool(batch, 'train');
  const n = batch.size;
  const res = await component.net.trainStep(x, n, labelsOf(batch, component.net.labelNames));
  if (!Number.isFinite(res.loss)) {
    throw new Error(
      `training diverged in ${component.def.name}: loss is ${res.loss}; lower --lr (now the step's inputs had ${n} samples)`,
    );
  }
  const names = [...component.net.params.keys()];
  const denseStep = () =>
    denseOpt.step(
      names.map((k) => component.net.params.get(k)!.data),
      names.map((k) => res.grads.get(k)!),
    );
  if (thread) {
    await thread.backwardAndStep(batch, res.gradX, sparseOpt, () => {
      denseStep();
      alsoDo?.();
    });
  } else {
    denseStep();
    alsoDo?.();
    const grads = component.embeddings.backward(batch, res.gradX);
    sparseOpt.nextStep();
    for (const g of grads) sparseOpt.step(component.embeddings.tables[g.table]!, g);
  }
  return res.loss;
}

/** The components to train, in model order. */
function selectComponents(model: CvrModel, names: string[] | undefined): Component[] {
  if (names === undefined) return model.components;
  const known = model.components.map((c) => c.def.name);
  for (const n of names) {
    if (!known.includes(n)) throw new Error(`invalid training option: the model has no component '${n}' (it has: ${known.join(', ')})`);
  }
  return model.components.filter((c) => names.includes(c.def.name));
}

/** What a checkpoint must agree with to be resumed by this run. */
function runFingerprint(model: CvrModel, data: SampleSource, config: TrainConfig, components: Component[]): RunFingerprint {
  const first = data.numBlocks > 0 ? data.readBlock(0) : null;
  // The first block's ids and labels: a cheap check that the data is the same, not only its size.
  const firstBlockCrc = first
    ? crc32(new Uint8Array(first.click.buffer, first.click.byteOffset, first.count), crc32(new Uint8Array(first.sampleIds.buffer, first.sampleIds.byteOffset, first.count * 8)))
    : 0;
  const { kind, seed, hyper, spec } = model.config;
  return JSON.parse(
    JSON.stringify({
      model: { kind, seed, hyper, spec },
      training: {
        epochs: config.epochs,
        batchSize: config.batchSize,
        lr: config.lr,
        optimizer: config.optimizer,
        seed: config.seed,
        shuffle: config.shuffle ?? 'group',
        components: components.map((c) => c.def.name),
        // Only where a component trains on a selection, so that the fingerprint of the other kinds is what it was.
        ...(components.some((c) => c.def.filter !== 'all' || c.def.sampling.kind !== 'none') ? { sliceBatch: config.sliceBatch ?? DEFAULT_SLICE_BATCH } : {}),
        // Only with 'auto', so that the fingerprint of a run with numeric epochs is what it was.
        ...(config.epochs === 'auto' ? { earlyStopping: earlyStoppingFingerprint(config) } : {}),
      },
      data: { numSamples: data.numSamples, numBlocks: data.numBlocks, fieldNames: data.fieldNames, firstBlockCrc },
    }),
  ) as RunFingerprint;
}

/** The early-stopping options a resumed run must share (a given validation split by its name and size). */
function earlyStoppingFingerprint(config: TrainConfig): unknown {
  const e = config.earlyStopping ?? {};
  const v = e.validation ?? { fraction: DEFAULT_VALIDATION_FRACTION };
  return {
    patience: e.patience ?? DEFAULT_PATIENCE,
    evalEvery: e.evalEvery ?? null,
    maxEpochs: e.maxEpochs ?? DEFAULT_MAX_EPOCHS,
    minEpochs: e.minEpochs ?? DEFAULT_MIN_EPOCHS,
    validation: 'source' in v ? { split: v.name, numSamples: v.source.numSamples } : { fraction: v.fraction },
  };
}

function validateConfig(c: TrainConfig): void {
  const bad = (what: string) => {
    throw new Error(`invalid training option: ${what}`);
  };
  if (c.epochs === 'auto') {
    const e = c.earlyStopping ?? {};
    const positive = (v: number | undefined, flag: string) => {
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) bad(`${flag} must be a positive integer (got ${v})`);
    };
    positive(e.patience, '--patience');
    positive(e.evalEvery, '--eval-every');
    positive(e.maxEpochs, '--max-epochs');
    positive(e.minEpochs, '--min-epochs');
    if ((e.minEpochs ?? DEFAULT_MIN_EPOCHS) > (e.maxEpochs ?? DEFAULT_MAX_EPOCHS))
      bad(`--min-epochs ${e.minEpochs ?? DEFAULT_MIN_EPOCHS} is more than --max-epochs ${e.maxEpochs ?? DEFAULT_MAX_EPOCHS}`);
    const v = e.validation;
    if (v && 'fraction' in v && !(v.fraction > 0 && v.fraction < 1)) bad(`--validation-fraction must be in (0, 1) (got ${v.fraction})`);
  } else {
    if (!Number.isInteger(c.epochs) || c.epochs < 1) bad(`--epochs must be a positive integer or auto (got ${c.epochs})`);
    if (c.earlyStopping) bad('early stopping (--patience, --eval-every, --max-epochs, --min-epochs, --validation-fraction, --validation-split) applies with --epochs auto only: pass --epochs auto or drop those options');
  }
  if (!Number.isInteger(c.batchSize) || c.batchSize < 1) bad(`--batch-size must be a positive integer (got ${c.batchSize})`);
  if (!(c.lr > 0) || !Number.isFinite(c.lr)) bad(`--lr must be a positive number (got ${c.lr})`);
  const k = c.checkpoints;
  if (k) {
    if (!Number.isInteger(k.every) || k.every < 1) bad(`--checkpoint-every must be a positive integer (got ${k.every})`);
    if (k.keep !== undefined && (!Number.isInteger(k.keep) || k.keep < 1)) bad(`checkpoints to keep must be a positive integer (got ${k.keep})`);
  }
}
