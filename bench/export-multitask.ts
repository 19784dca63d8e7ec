/**
 * The inputs of bench/reference_multitask.py, the step-matched PyTorch reference of the multi-task
 * kinds (AITM, ESCM²-IPS, ESMM): exports the batches our trainer trains one model on, in its order,
 * and that model's initial parameters (bench/export-batches.ts), and optionally trains ours on the
 * same data and writes its per-step losses and test predictions beside them.
 *
 *   node dist-bench/bench/export-multitask.js --data DIR --out PEER_DIR [--model aitm] [--seed 1]
 *        [--epochs 2] [--batch-size 1024] [--hyper '{"dropout":0}'] [--ours] [--ours-steps N]
 *
 * Writes PEER_DIR/meta.json, train.bin (all epochs, in order), test.bin, init.json, init.bin and,
 * with --ours, ours.json ({ losses: every step's batch-mean loss }) and ours.pred (float32 pctr,
 * pcvr, pctcvr per test impression, in file order). The data is prepared into DIR/.esmm-cache as
 * the CLI does, and the training config is the CLI's defaults (lr 0.001, Adam, shuffle group,
 * 2 threads), so ours here is `esmm train --model KIND --epochs E --seed S`.
 */
import { openSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { prepareSplit } from '../src/data/cache/prepare.js';
import { defaultSpec } from '../src/features/spec.js';
import { CvrModel, type ModelConfig } from '../src/models/cvr-model.js';
import { predictAll } from '../src/train/predict-all.js';
import { trainModel } from '../src/train/trainer.js';
import { exportBatches } from './export-batches.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    out: { type: 'string' },
    model: { type: 'string', default: 'aitm' },
    seed: { type: 'string', default: '1' },
    epochs: { type: 'string', default: '2' },
    'batch-size': { type: 'string', default: '1024' },
    hyper: { type: 'string', default: '{}' },
    ours: { type: 'boolean', default: false },
    'ours-steps': { type: 'string' },
  },
});
if (!values.data || !values.out) throw new Error('--data and --out are required');
const seed = Number(values.seed);
const epochs = Number(values.epochs);
const batchSize = Number(values['batch-size']);
const spec = defaultSpec();
const config: ModelConfig = { kind: values.model as ModelConfig['kind'], spec, hyper: JSON.parse(values.hyper!) as Record<string, unknown>, seed };

const train = await prepareSplit({ dataDir: values.data, split: 'train' });
const test = await prepareSplit({ dataDir: values.data, split: 'test' });
const fresh = await CvrModel.create(config);
const summary = exportBatches(values.out, spec, fresh, train, test, { batchSize, seed, shuffle: 'group', epochs });
await fresh.release();
process.stderr.write(`exported ${summary.batches} batches (${summary.samples} samples), ${summary.touchedRows} embedding rows\n`);

if (values.ours) {
  const maxSteps = values['ours-steps'] ? Number(values['ours-steps']) : Infinity;
  const model = await CvrModel.create(config, { threads: 2 });
  const losses: number[] = [];
  const stop = new Error('enough steps');
  try {
    await trainModel(model, train, {
      epochs,
      batchSize,
      lr: 0.001,
      optimizer: 'adam',
      seed,
      shuffle: 'group',
      quiet: true,
      embeddingThread: true,
      onStep: (s) => {
        losses.push(s.loss);
        if (losses.length >= maxSteps) throw stop;
      },
    });
  } catch (e) {
    if (e !== stop) throw e;
  }
  writeFileSync(join(values.out, 'ours.json'), JSON.stringify({ config: model.config.hyper, losses }));
  const fd = openSync(join(values.out, 'ours.pred'), 'w');
  try {
    await predictAll(
      model,
      test,
      (p) => {
        const n = p.pctr.length;
        const rows = new Float32Array(n * 3);
        for (let i = 0; i < n; i++) {
          rows[3 * i] = p.pctr[i]!;
          rows[3 * i + 1] = p.pcvr[i]!;
          rows[3 * i + 2] = p.pctcvr[i]!;
        }
        writeSync(fd, new Uint8Array(rows.buffer));
      },
      { quiet: true },
    );
  } finally {
    closeSync(fd);
  }
  await model.release();
  process.stderr.write(`ours: ${losses.length} steps, first loss ${losses[0]}, last ${losses[losses.length - 1]}\n`);
}
