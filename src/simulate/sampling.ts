/**
 * Draws the simulator needs beyond Rng's uniform and normal: heavy-tailed popularity ranks,
 * geometric counts and weighted choices. All of them consume a fixed, documented number of
 * uniforms so that the byte stream of a dataset depends only on the seed.
 */
import type { Rng } from '../util/rng.js';

/**
 * A rank in [0, n) with P(rank = r) ≈ ln((r + 2) / (r + 1)) / ln(n + 1), i.e. roughly ∝ 1 / (r + 1):
 * the Zipf-like popularity of items, categories and brands. One uniform, no tables.
 */
export function zipfRank(rng: Rng, n: number): number {
  const r = Math.floor(Math.exp(rng.next() * Math.log(n + 1))) - 1;
  return r < n ? r : n - 1;
}

/** Number of failures before the first success, with the given mean (≥ 0). One uniform. */
export function geometric(rng: Rng, mean: number): number {
  if (mean <= 0) return 0;
  const q = mean / (1 + mean); // P(failure)
  const u = 1 - rng.next(); // (0, 1]
  return Math.floor(Math.log(u) / Math.log(q));
}

/** Exponential with the given mean. One uniform. */
export function exponential(rng: Rng, mean: number): number {
  return -Math.log(1 - rng.next()) * mean;
}

/** Index i with probability ∝ cumulative[i + 1] - cumulative[i], among the first `count` entries. */
export function pickCumulative(rng: Rng, cumulative: Float64Array, count: number): number {
  const target = rng.next() * cumulative[count]!;
  let lo = 0;
  let hi = count - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid + 1]! > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Bucket of x among ascending thresholds: 0 below the first, thresholds.length above the last. */
export function bucketOf(x: number, thresholds: readonly number[]): number {
  let b = 0;
  while (b < thresholds.length && x >= thresholds[b]!) b++;
  return b;
}

/** Quantiles of the standard normal that cut it into 3, 4, 5, 7 and 8 equally likely buckets. */
export const NORMAL_TERCILES = [-0.4307, 0.4307] as const;
export const NORMAL_QUARTILES = [-0.6745, 0, 0.6745] as const;
export const NORMAL_QUINTILES = [-0.8416, -0.2533, 0.2533, 0.8416] as const;
export const NORMAL_SEPTILES = [-1.0676, -0.5659, -0.18, 0.18, 0.5659, 1.0676] as const;
export const NORMAL_OCTILES = [-1.1503, -0.6745, -0.3186, 0, 0.3186, 0.6745, 1.1503] as const;

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
