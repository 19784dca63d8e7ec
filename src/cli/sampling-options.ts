/**
 * The baselines' sampling options (AMAN, OVERSAMPLING, UNBIAS), read the same way by `esmm train`
 * and `esmm experiment`.
 */
import { SAMPLING_DEFAULTS, type ModelKind, type SamplingOptions } from '../models/model-kinds.js';
import { numberOpt, type Options } from './args.js';

export const SAMPLING_OPTIONS: Options = {
  'aman-rate': { type: 'string' },
  'oversampling-k': { type: 'string' },
  'unbias-quantile': { type: 'string' },
};

/** Each option and the one model kind it applies to. */
export const SAMPLING_FLAGS: readonly (readonly [string, ModelKind])[] = [
  ['aman-rate', 'aman'],
  ['oversampling-k', 'oversampling'],
  ['unbias-quantile', 'unbias'],
];

export const SAMPLING_HELP = `  --aman-rate R            AMAN: share of unclicked impressions used as negatives (default ${SAMPLING_DEFAULTS.amanRate})
  --oversampling-k K       OVERSAMPLING: copies of each conversion (default ${SAMPLING_DEFAULTS.oversamplingCopies})
  --unbias-quantile Q      UNBIAS: c = this quantile of pCTR over clicks (default ${SAMPLING_DEFAULTS.unbiasQuantile})`;

export function parseSampling(v: Record<string, unknown>, command: string): SamplingOptions {
  return {
    amanRate: numberOpt(v, 'aman-rate', SAMPLING_DEFAULTS.amanRate, command, { min: 1e-6, max: 1 }),
    oversamplingCopies: numberOpt(v, 'oversampling-k', SAMPLING_DEFAULTS.oversamplingCopies, command, { min: 1, max: 1000, integer: true }),
    unbiasQuantile: numberOpt(v, 'unbias-quantile', SAMPLING_DEFAULTS.unbiasQuantile, command, { min: 1e-6, max: 1 }),
  };
}
