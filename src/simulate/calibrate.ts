/**
 * Calibration of the two intercepts so that the data hit the target rates: b_click so that the
 * mean p_click over impressions is the target CTR, then b_conv so that the expected conversions
 * per click, Σ p_click·p_conv / Σ p_click, is the target CVR among clicks. Both are solved by
 * bisection over the logits of a fixed sample of sessions drawn from the world itself (train
 * period), so the result depends only on the world and the seed.
 */
import type { Rng } from '../util/rng.js';
import { sigmoid } from './sampling.js';
import { Session, SessionSampler } from './sessions.js';
import type { Biases } from './truth-model.js';
import type { World } from './world.js';

export interface RateTargets {
  /** Clicks per impression. */
  ctr: number;
  /** Conversions per click. */
  cvr: number;
}

/**
 * Impressions drawn to calibrate: twice the dataset, between 20k and 200k. Expected conversions
 * are dominated by few high-p_click sessions, so the conversion intercept is the noisy one: 200k
 * draws pin it to about ±0.03 (±3% on the CVR), 60k only to ±0.07.
 */
export function calibrationImpressions(datasetImpressions: number): number {
  return Math.min(200_000, Math.max(20_000, 2 * datasetImpressions));
}

export function calibrateBiases(world: World, targets: RateTargets, rng: Rng, impressions: number): Biases {
  const clickLogits = new Float64Array(impressions);
  const convLogits = new Float64Array(impressions);
  const sampler = new SessionSampler(world, 'train', rng, { click: 0, conversion: 0 });
  const session = new Session(world);
  for (let n = 0; n < impressions; ) {
    sampler.next(session, impressions - n);
    clickLogits.set(session.clickLogit.subarray(0, session.count), n);
    convLogits.set(session.convLogit.subarray(0, session.count), n);
    n += session.count;
  }
  const click = bisect((b) => {
    let sum = 0;
    for (let j = 0; j < impressions; j++) sum += sigmoid(b + clickLogits[j]!);
    return sum / impressions - targets.ctr;
  });
  const pClick = clickLogits.map((x) => sigmoid(click + x));
  let clicks = 0;
  for (let j = 0; j < impressions; j++) clicks += pClick[j]!;
  const conversion = bisect((b) => {
    let sum = 0;
    for (let j = 0; j < impressions; j++) sum += pClick[j]! * sigmoid(b + convLogits[j]!);
    return sum / clicks - targets.cvr;
  });
  return { click, conversion };
}

/** Root of an increasing function on [-40, 40]. */
function bisect(f: (x: number) => number): number {
  let lo = -40;
  let hi = 40;
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    if (f(mid) < 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
