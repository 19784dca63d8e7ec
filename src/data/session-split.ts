/**
 * A validation split carved out of a training split by session: every impression of one
 * `common_feature_index` group (one user session, its common features joined once) goes to the
 * same side, so no session is partly trained on and partly validated on. Impressions without a
 * group are sessions of their own and are decided by their sample id.
 *
 * The side is a hash of (seed, group row) or (seed, sample id), not a draw from a generator: it
 * does not depend on the order blocks are read in, the same seed always carves the same split, and
 * each session is in the validation side with probability `fraction` independently of the others
 * (so the share of impressions is `fraction` only in expectation; sessions differ in size).
 */
import { filterView, type SampleSource } from './sample-source.js';
import type { SampleBlock } from './types.js';
import { mix32 } from '../util/rng.js';

export interface SessionSplit {
  train: SampleSource;
  validation: SampleSource;
}

/** Salt of the carve's hash, so it is not correlated with other uses of the same seed. */
const CARVE_SALT = 0x7a1d5e55;

/** True when sample i of the block falls on the validation side. */
export function inValidation(fraction: number, seed: number): (block: SampleBlock, i: number) => boolean {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`validation fraction must be in (0, 1), got ${fraction}`);
  const threshold = fraction * 4294967296;
  const base = mix32((seed >>> 0) ^ CARVE_SALT);
  return (block, i) => {
    const g = block.group[i]!;
    let h: number;
    if (g >= 0) {
      h = mix32(base ^ mix32(g));
    } else {
      // Sample ids are integers below 2^53: both halves go into the hash.
      const id = block.sampleIds[i]!;
      h = mix32(mix32(base + 1) ^ mix32(id >>> 0) ^ mix32(Math.floor(id / 4294967296) + 0x632be5ab));
    }
    return h < threshold;
  };
}

/**
 * The training side and the validation side of `source` (views: nothing is copied until a block
 * is read). Throws when either side is empty, naming the option that sets the fraction.
 */
export function splitBySession(source: SampleSource, fraction: number, seed: number): SessionSplit {
  const test = inValidation(fraction, seed);
  const validation = filterView(source, test);
  const train = filterView(source, (b, i) => !test(b, i));
  if (validation.numSamples === 0 || train.numSamples === 0) {
    throw new Error(
      `--validation-fraction ${fraction} leaves the ${validation.numSamples === 0 ? 'validation' : 'training'} side of ${source.numSamples} ` +
        `impressions empty: choose a fraction that gives both sides sessions, or pass --validation-split NAME`,
    );
  }
  return { train, validation };
}
