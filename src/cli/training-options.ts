/**
 * The training options `esmm train` and `esmm experiment` share: --epochs (a count or auto) and
 * the early-stopping and validation options that go with it.
 */
import { DEFAULT_VALIDATION_FRACTION } from '../train/early-stopping.js';
import type { EarlyStoppingConfig } from '../train/trainer.js';
import { DEFAULT_SLICE_BATCH, SLICE_BATCHES, type SliceBatch } from '../train/slice-batch.js';
import { UsageError, choiceOpt, numberOpt, optString, type Options } from './args.js';

export const EARLY_STOPPING_OPTIONS: Options = {
  'validation-fraction': { type: 'string' },
  'validation-split': { type: 'string' },
  patience: { type: 'string' },
  'eval-every': { type: 'string' },
  'max-epochs': { type: 'string' },
  'min-epochs': { type: 'string' },
};

/** --slice-batch: the batch of a component that trains on a selection (train/slice-batch.ts). */
export const SLICE_BATCH_OPTIONS: Options = {
  'slice-batch': { type: 'string' },
};

export function sliceBatchOpt(v: Record<string, unknown>, cmd: string): SliceBatch {
  return choiceOpt(v, 'slice-batch', SLICE_BATCHES, DEFAULT_SLICE_BATCH, cmd);
}

/** The early-stopping options as the CLI gives them: the validation data by fraction or by split name. */
export type EarlyStoppingOptions = Omit<EarlyStoppingConfig, 'validation'> & ValidationOptions;

/** Where the validation data comes from: a share of the training split's sessions, or a split of its own. */
export type ValidationOptions = { validationFraction: number; validationSplit?: undefined } | { validationSplit: string; validationFraction?: undefined };

/** --epochs: a count, or auto (early stopping). */
export function epochsOpt(v: Record<string, unknown>, cmd: string): number | 'auto' {
  if (v.epochs === 'auto') return 'auto';
  try {
    return numberOpt(v, 'epochs', 1, cmd, { min: 1, max: 1000, integer: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}, or auto (train until the validation loss stops improving)`, cmd);
  }
}

/**
 * --validation-fraction / --validation-split: the validation data (default: a 0.1 share of the
 * training split's sessions). A split named for validation must be neither the split trained on
 * nor the one tested on (`testSplit`, and 'test' whatever it is).
 */
export function validationOptions(v: Record<string, unknown>, trainSplit: string, testSplit: string | undefined, cmd: string): ValidationOptions {
  const validationSplit = optString(v, 'validation-split');
  if (validationSplit !== undefined) {
    if (v['validation-fraction'] !== undefined) throw new UsageError('--validation-split and --validation-fraction both choose the validation data: give one', cmd);
    if (validationSplit === '') throw new UsageError('--validation-split must name a split', cmd);
    if (validationSplit === trainSplit) throw new UsageError(`--validation-split ${validationSplit} is the split trained on: name another split, or use --validation-fraction`, cmd);
    if (validationSplit === testSplit || validationSplit === 'test')
      throw new UsageError(`--validation-split ${validationSplit} is the split the model is tested on, which training must not see: name another split, or use --validation-fraction`, cmd);
    return { validationSplit };
  }
  const fraction = v['validation-fraction'] === undefined ? DEFAULT_VALIDATION_FRACTION : numberOpt(v, 'validation-fraction', 0.1, cmd, { min: 1e-6, max: 0.999999 });
  return { validationFraction: fraction };
}

/**
 * --validation-fraction / --validation-split / --patience / --eval-every / --max-epochs / --min-epochs: null with
 * numeric --epochs (where giving any of them is a mistake), the options otherwise. With
 * `needsValidation` (esmm experiment --tune), numeric --epochs still takes the validation options
 * (the grid is chosen on that data) but not the early-stopping ones.
 */
export function earlyStoppingOptions(
  v: Record<string, unknown>,
  epochs: number | 'auto',
  trainSplit: string,
  testSplit: string | undefined,
  cmd: string,
  opts: { needsValidation?: string } = {},
): EarlyStoppingOptions | null {
  if (epochs !== 'auto') {
    const flags = opts.needsValidation
      ? ['patience', 'eval-every', 'max-epochs', 'min-epochs']
      : ['validation-fraction', 'validation-split', 'patience', 'eval-every', 'max-epochs', 'min-epochs'];
    const given = flags.find((f) => v[f] !== undefined);
    if (given) throw new UsageError(`--${given} applies to early stopping: add --epochs auto, or drop --${given}`, cmd);
    return null;
  }
  const validation = validationOptions(v, trainSplit, testSplit, cmd);
  const opt = (name: string, min: number, max: number) => (v[name] === undefined ? undefined : numberOpt(v, name, 0, cmd, { min, max, integer: true }));
  const patience = opt('patience', 1, 1000);
  const evalEvery = opt('eval-every', 1, 2 ** 40);
  const maxEpochs = opt('max-epochs', 1, 1000);
  const minEpochs = opt('min-epochs', 1, 1000);
  return {
    ...(patience !== undefined ? { patience } : {}),
    ...(evalEvery !== undefined ? { evalEvery } : {}),
    ...(maxEpochs !== undefined ? { maxEpochs } : {}),
    ...(minEpochs !== undefined ? { minEpochs } : {}),
    ...validation,
  };
}
