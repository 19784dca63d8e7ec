import { CvrModel } from '../../models/cvr-model.js';
import { MODEL_KINDS } from '../../models/model-kinds.js';
import { inputWidth } from '../../features/spec.js';
import { saveModel } from '../../persist/model-dir.js';
import { evaluateModel } from '../../train/evaluate.js';
import { trainModel } from '../../train/trainer.js';
import { choiceOpt, layersOpt, numberOpt, optString, parseCommand, requireString, type Options } from '../args.js';
import { DATA_OPTIONS, chooseSpec, loadSplit } from '../data-options.js';

export const TRAIN_HELP = `esmm train --data DIR --out MODEL_DIR [options]

Trains a model on the train split of DIR (raw Ali-CCP files, PaddleRec or CSV; prepared into a
binary cache on first use) and saves it to MODEL_DIR.

  --model esmm|base        esmm (default) or the paper's BASE (CTR net + CVR net on clicks)
  --spec FILE              feature spec JSON (default: the 23 Ali-CCP fields, dim 18)
  --epochs E               passes over the data (default 1)
  --batch-size B           samples per step (default 1024)
  --lr X                   learning rate (default 0.001)
  --optimizer adam|adagrad (default adam)
  --seed S                 seed of weights and data order (default 1)
  --hidden 360,200,80      tower layer sizes (default 360,200,80)
  --dropout P              dropout after each hidden layer (default 0)
  --threads T              onnxruntime threads (default 2)
  --split NAME             split to train on (default train)
  --eval-split NAME        evaluate on this split afterwards and record the metrics in the model
  --cache-dir DIR          where prepared caches go (default DIR/.esmm-cache)
  --format auto|aliccp|paddlerec|csv
  --strict                 stop at the first bad input line instead of counting it
  -q, --quiet              no progress output
`;

export const TRAIN_OPTIONS: Options = {
  ...DATA_OPTIONS,
  out: { type: 'string', short: 'o' },
  model: { type: 'string' },
  spec: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  optimizer: { type: 'string' },
  seed: { type: 'string' },
  hidden: { type: 'string' },
  dropout: { type: 'string' },
  threads: { type: 'string' },
  split: { type: 'string' },
  'eval-split': { type: 'string' },
};

export async function trainCommand(argv: string[]): Promise<void> {
  const cmd = 'train';
  const v = parseCommand(cmd, argv, TRAIN_OPTIONS);
  if (v.help) return void process.stdout.write(TRAIN_HELP);
  const dataDir = requireString(v, 'data', cmd);
  const out = requireString(v, 'out', cmd);
  const kind = choiceOpt(v, 'model', MODEL_KINDS, 'esmm', cmd);
  const training = {
    epochs: numberOpt(v, 'epochs', 1, cmd, { min: 1, max: 1000, integer: true }),
    batchSize: numberOpt(v, 'batch-size', 1024, cmd, { min: 1, max: 1 << 20, integer: true }),
    lr: numberOpt(v, 'lr', 0.001, cmd, { min: 1e-12, max: 100 }),
    optimizer: choiceOpt(v, 'optimizer', ['adam', 'adagrad'] as const, 'adam', cmd),
    seed: numberOpt(v, 'seed', 1, cmd, { min: 0, max: 2 ** 32 - 1, integer: true }),
  };
  const hidden = layersOpt(v, 'hidden', [360, 200, 80], cmd);
  const dropout = numberOpt(v, 'dropout', 0, cmd, { min: 0, max: 0.95 });
  const threads = numberOpt(v, 'threads', 2, cmd, { min: 1, max: 256, integer: true });
  const quiet = v.quiet === true;

  const split = await loadSplit(v, dataDir, optString(v, 'split') ?? 'train', cmd);
  const spec = chooseSpec(v, split);
  const model = await CvrModel.create(
    { kind, spec, shape: { inputDim: inputWidth(spec), hidden, dropout }, seed: training.seed },
    { threads },
  );
  try {
    const result = await trainModel(model, split, { ...training, quiet });
    const metrics: Record<string, unknown> = {
      train_samples_per_s: Math.round(result.samplesPerSecond),
      train_seconds: result.seconds,
      components: result.components,
    };
    const evalSplit = optString(v, 'eval-split');
    if (evalSplit) {
      const evalData = await loadSplit(v, dataDir, evalSplit, cmd);
      metrics[evalSplit] = await evaluateModel(model, evalData, { quiet });
    }
    saveModel(model, out, {
      training: { ...training, model: kind, hidden, dropout, data: dataDir, split: split.split, format: split.format },
      metrics,
    });
    process.stdout.write(
      `saved ${kind} model to ${out}: ${result.samples} samples in ${result.seconds.toFixed(1)}s` +
        ` (${Math.round(result.samplesPerSecond)} samples/s)\n`,
    );
    if (evalSplit) process.stdout.write(JSON.stringify(metrics[evalSplit], null, 2) + '\n');
  } finally {
    await model.release();
  }
}
