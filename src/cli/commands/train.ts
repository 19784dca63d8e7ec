import { accessSync, constants, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describeSplitFiles, missingSplitMessage } from '../../data/formats/split-files.js';
import { CvrModel } from '../../models/cvr-model.js';
import { MODEL_KINDS } from '../../models/registry.js';
import { OPTIMIZER_KINDS } from '../../optim/kernels.js';
import { loadModel, recordMetrics, saveModel } from '../../persist/model-dir.js';
import { CheckpointStore } from '../../train/checkpoint.js';
import { evaluateModel } from '../../train/evaluate.js';
import { SHUFFLE_MODES } from '../../train/shuffle.js';
import { DEFAULT_VALIDATION_FRACTION } from '../../train/early-stopping.js';
import { trainModel, type CheckpointConfig, type EarlyStoppingConfig } from '../../train/trainer.js';
import { UsageError, choiceOpt, numberOpt, optString, parseCommand, requireString, type Options } from '../args.js';
import { DATA_OPTIONS, FORMATS, chooseSpec, loadSplit } from '../data-options.js';
import { MODEL_OPTIONS, modelKindsHelp, modelOptionsHelp, parseModelHyper } from '../model-options.js';
import { EARLY_STOPPING_OPTIONS, SLICE_BATCH_OPTIONS, earlyStoppingOptions, epochsOpt, sliceBatchOpt } from '../training-options.js';

export const TRAIN_HELP = `esmm train --data DIR --out MODEL_DIR [options]

Trains a model on the train split of DIR (raw Ali-CCP files, PaddleRec or CSV; prepared into a
binary cache on first use) and saves it to MODEL_DIR.

  --model KIND             the model (default esmm; docs/models.md):
${modelKindsHelp('                             ')}
  --spec FILE              feature spec JSON (default: the 23 Ali-CCP fields, dim 18)
  --epochs E|auto          passes over the data (default 1); auto: each component trains until
                           its validation loss stops improving (below), and its best state is kept
  --batch-size B           samples per step (default 1024)
  --lr X                   learning rate (default 0.001)
  --optimizer adam|adagrad (default adam)
  --seed S                 seed of weights and data order (default 1)
  --slice-batch scaled|full  a component on a selection of the impressions (BASE's CVR net on
                           the clicked ones): a batch scaled by its share, as many steps an epoch
                           as on all impressions (default), or --batch-size (docs/models.md)
  --shuffle group|sample   order within a block: runs of up to 8 impressions of one session
                           (default; its common features pooled once per run) or every impression
                           on its own (docs/models.md, "Training order")
  --threads T              onnxruntime threads (default 2); with 2 or more, the embedding side
                           (pooling, its backward, sparse Adam) also runs on 2 threads
  --split NAME             split to train on (default train)
  --eval-split NAME        evaluate the saved model on this split afterwards, as esmm evaluate
                           does, and record the metrics in it
  --cache-dir DIR          where prepared caches go (default DIR/.esmm-cache)
  --format auto|aliccp|paddlerec|csv
  --strict                 stop at the first bad input line instead of counting it
  -q, --quiet              no progress output

Early stopping (--epochs auto; docs/models.md, "Early stopping"):
  --validation-fraction F  share of the training split's sessions (common_feature_index groups)
                           held out to validate on, chosen by --seed (default 0.1)
  --validation-split NAME  validate on this split instead (then all of the training split trains);
                           never the split you report test metrics on
  --patience P             evaluations without improvement before a component stops (default 2)
  --eval-every STEPS       a component's steps between evaluations (default: about 4 per epoch of
                           its own data, 1 on a validation slice under 10,000 impressions); it
                           is also evaluated at the end of every epoch
  --max-epochs M           most epochs per component (default 50)
  --min-epochs M           whole epochs of its own data before a component may stop (default 1)

Checkpoints (a run of hours survives a crash):
  --checkpoint-every N     write a checkpoint every N steps (over all components), and one at the end
  --checkpoint-dir DIR     where (default MODEL_DIR.checkpoints); the newest 2 are kept, and
                           removed once the model is saved
  --resume                 continue from the newest checkpoint in that folder that verifies; pass
                           the same options as the interrupted run. The result is bit for bit
                           what the uninterrupted run would have saved.

${modelOptionsHelp()}
`;

export const TRAIN_OPTIONS: Options = {
  ...DATA_OPTIONS,
  out: { type: 'string', short: 'o' },
  model: { type: 'string' },
  spec: { type: 'string' },
  epochs: { type: 'string' },
  ...EARLY_STOPPING_OPTIONS,
  ...SLICE_BATCH_OPTIONS,
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  optimizer: { type: 'string' },
  seed: { type: 'string' },
  shuffle: { type: 'string' },
  ...MODEL_OPTIONS,
  threads: { type: 'string' },
  split: { type: 'string' },
  'eval-split': { type: 'string' },
  'checkpoint-every': { type: 'string' },
  'checkpoint-dir': { type: 'string' },
  resume: { type: 'boolean' },
};

export async function trainCommand(argv: string[]): Promise<void> {
  const cmd = 'train';
  const v = parseCommand(cmd, argv, TRAIN_OPTIONS);
  if (v.help) return void process.stdout.write(TRAIN_HELP);
  const dataDir = requireString(v, 'data', cmd);
  const out = requireString(v, 'out', cmd);
  const kind = choiceOpt(v, 'model', MODEL_KINDS, 'esmm', cmd);
  const training = {
    epochs: epochsOpt(v, cmd),
    batchSize: numberOpt(v, 'batch-size', 1024, cmd, { min: 1, max: 1 << 20, integer: true }),
    lr: numberOpt(v, 'lr', 0.001, cmd, { min: 1e-12, max: 100 }),
    optimizer: choiceOpt(v, 'optimizer', OPTIMIZER_KINDS, 'adam', cmd),
    seed: numberOpt(v, 'seed', 1, cmd, { min: 0, max: 2 ** 32 - 1, integer: true }),
    shuffle: choiceOpt(v, 'shuffle', SHUFFLE_MODES, 'group', cmd),
    sliceBatch: sliceBatchOpt(v, cmd),
  };
  const hyper = parseModelHyper(v, [kind], cmd)[kind] ?? {};
  const threads = numberOpt(v, 'threads', 2, cmd, { min: 1, max: 256, integer: true });
  const quiet = v.quiet === true;
  const checkpoints = checkpointOptions(v, out, cmd);
  checkOutput(out, dataDir, checkpoints?.dir ?? null, cmd);
  const evalSplit = optString(v, 'eval-split');
  const trainSplit = optString(v, 'split') ?? 'train';
  const stopping = earlyStoppingOptions(v, training.epochs, trainSplit, evalSplit, cmd);
  for (const [flag, name] of [['eval-split', evalSplit], ['validation-split', stopping?.validationSplit]] as const) {
    if (!name) continue;
    // Found out now rather than after hours of training.
    const found = describeSplitFiles(dataDir, name, choiceOpt(v, 'format', FORMATS, 'auto', cmd));
    if (found.kind === 'missing') throw new UsageError(`--${flag} ${name}: ${missingSplitMessage(found)}`, cmd);
  }

  const split = await loadSplit(v, dataDir, trainSplit, cmd);
  const spec = chooseSpec(v, split);
  const model = await CvrModel.create({ kind, spec, hyper, seed: training.seed }, { threads });
  try {
    let earlyStopping: EarlyStoppingConfig | undefined;
    if (stopping) {
      const { validationSplit, validationFraction, ...rest } = stopping;
      earlyStopping = {
        ...rest,
        validation: validationSplit
          ? { source: await loadSplit(v, dataDir, validationSplit, cmd), name: validationSplit }
          : { fraction: validationFraction ?? DEFAULT_VALIDATION_FRACTION },
      };
    }
    const result = await trainModel(model, split, {
      ...training,
      quiet,
      embeddingThread: threads >= 2,
      ...(earlyStopping ? { earlyStopping } : {}),
      ...(checkpoints ? { checkpoints } : {}),
    });
    if (result.resumedFrom && !quiet) process.stderr.write(`resumed from ${result.resumedFrom.path} (step ${result.resumedFrom.globalStep})\n`);
    const metrics: Record<string, unknown> = {
      train_samples_per_s: Math.round(result.samplesPerSecond),
      train_seconds: result.seconds,
      components: result.components,
    };
    try {
      saveModel(model, out, {
        training: { ...training, ...(stopping ? { earlyStopping: stopping } : {}), model: kind, data: dataDir, split: split.split, format: split.format },
        metrics,
      });
    } catch (e) {
      // The final checkpoint holds the trained model: nothing has to be trained again.
      const hint = checkpoints ? `; the trained weights are in ${checkpoints.dir}: run the same command with --resume to save them without training again` : '';
      throw new Error(`${(e as Error).message}${hint}`);
    }
    if (checkpoints) removeCheckpoints(checkpoints.dir);
    process.stdout.write(
      `saved ${kind} model to ${out}: ${result.samples} samples in ${result.seconds.toFixed(1)}s` +
        ` (${Math.round(result.samplesPerSecond)} samples/s)\n`,
    );
  } finally {
    await model.release();
  }
  if (evalSplit) {
    // The saved model as `esmm evaluate` runs it: loaded for prediction, its weights baked into the
    // graphs. The training graphs are fed the weights instead, and onnxruntime computes a layer
    // with baked (pre-packed) weights in another order, so their float32 predictions can differ
    // in the last bits, and an AUC over them in about the 7th digit.
    const evalData = await loadSplit(v, dataDir, evalSplit, cmd);
    const saved = await loadModel(out, { threads, mode: 'predict' });
    let result;
    try {
      result = await evaluateModel(saved, evalData, { quiet, embeddingThreads: threads >= 2 });
    } finally {
      await saved.release();
    }
    recordMetrics(out, evalSplit, result);
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  }
}

/** --checkpoint-every / --checkpoint-dir / --resume, or null when the run writes no checkpoints. */
function checkpointOptions(v: Record<string, unknown>, out: string, cmd: string): CheckpointConfig | null {
  const every = v['checkpoint-every'] === undefined ? null : numberOpt(v, 'checkpoint-every', 0, cmd, { min: 1, max: 2 ** 40, integer: true });
  const dir = optString(v, 'checkpoint-dir');
  const resume = v.resume === true;
  if (every === null) {
    if (resume) throw new UsageError('--resume continues from checkpoints: pass --checkpoint-every N as the interrupted run did', cmd);
    if (dir !== undefined) throw new UsageError('--checkpoint-dir needs --checkpoint-every N (how many steps between checkpoints)', cmd);
    return null;
  }
  if (dir === '') throw new UsageError('--checkpoint-dir must name a folder', cmd);
  const config = { dir: resolve(dir ?? `${out.replace(/[\\/]+$/, '')}.checkpoints`), every, resume };
  // Checked here too (the trainer does) so that the mistake shows before the data is prepared.
  const existing = new CheckpointStore(config.dir).list();
  if (!resume && existing.length > 0) {
    throw new UsageError(`${config.dir} holds checkpoints of an earlier run: add --resume to continue it, or pass another --checkpoint-dir`, cmd);
  }
  return config;
}

/** After the model is saved the checkpoints are not needed: remove them (only files they consist of). */
function removeCheckpoints(dir: string): void {
  for (const file of new CheckpointStore(dir).list()) rmSync(file.path, { force: true });
  for (const name of readdirSync(dir)) if (/^step-\d{12}\.ckpt\.damaged$/.test(name)) rmSync(join(dir, name), { force: true });
  if (readdirSync(dir).length === 0) rmSync(dir, { recursive: true, force: true });
}

/**
 * Refuses outputs that saving would destroy or that cannot be written, before hours of training:
 * the model directory is replaced as a whole, so it must not be (or hold) the data or the
 * checkpoints, nor be a folder that is not a model.
 */
function checkOutput(out: string, dataDir: string, checkpointDir: string | null, cmd: string): void {
  const target = resolve(out);
  const inside = (dir: string, parent: string): boolean => {
    const r = relative(parent, dir);
    return r === '' || (!r.startsWith('..') && !r.startsWith('/'));
  };
  if (inside(resolve(dataDir), target)) throw new UsageError(`--out ${out} would replace the data folder ${dataDir}: choose another model folder`, cmd);
  if (checkpointDir && inside(checkpointDir, target)) {
    throw new UsageError(`--checkpoint-dir ${checkpointDir} is inside --out ${out}, which saving replaces: put it beside the model folder`, cmd);
  }
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new UsageError(`--out ${out} is a file: name a folder for the model`, cmd);
    const entries = readdirSync(target);
    if (entries.length > 0 && !entries.includes('model.json')) {
      throw new UsageError(`--out ${out} is a folder that is not a saved model; saving would replace it: choose a new or empty folder`, cmd);
    }
  } else {
    let parent = dirname(target);
    while (!existsSync(parent)) parent = dirname(parent);
    if (!statSync(parent).isDirectory()) throw new UsageError(`--out ${out}: ${parent} is a file, so the model folder cannot be created there`, cmd);
    try {
      accessSync(parent, constants.W_OK);
    } catch {
      throw new UsageError(`--out ${out}: ${parent} is not writable: choose a model folder you can write`, cmd);
    }
  }
}
