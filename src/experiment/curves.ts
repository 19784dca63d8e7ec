/**
 * ROC curves and calibration buckets, small enough to keep for every model and run: a ROC curve
 * is kept as its TPR at a fixed grid of FPR values (so runs average point by point, "vertical
 * averaging"), calibration as a few equal-count buckets of the predictions.
 */
import type { Scores } from '../metrics/auc.js';

/** FPR grid points of a ROC curve: 0, 1/(n-1), ..., 1. */
export const ROC_POINTS = 201;

/**
 * The exact ROC polyline of scores split by label: one vertex per distinct score (from the
 * highest down), so a tie moves diagonally, as the AUC counts it (half); its area is the AUC.
 * Returns parallel arrays starting at (0, 0) and ending at (1, 1).
 */
export function rocPolyline(positives: Scores, negatives: Scores): { fpr: Float64Array; tpr: Float64Array } {
  const np = positives.length;
  const nn = negatives.length;
  if (np === 0 || nn === 0) throw new RangeError(`ROC: needs both classes (${np} positives, ${nn} negatives)`);
  const pos = positives.slice().sort();
  const neg = negatives.slice().sort();
  const fpr = [0];
  const tpr = [0];
  // Walk the thresholds from the top: i, j count the positives and negatives above it.
  let i = np;
  let j = nn;
  while (i > 0 || j > 0) {
    const v = Math.max(i > 0 ? pos[i - 1]! : -Infinity, j > 0 ? neg[j - 1]! : -Infinity);
    while (i > 0 && pos[i - 1] === v) i--;
    while (j > 0 && neg[j - 1] === v) j--;
    fpr.push((nn - j) / nn);
    tpr.push((np - i) / np);
  }
  return { fpr: Float64Array.from(fpr), tpr: Float64Array.from(tpr) };
}

/** Area under a polyline by trapezoids. */
export function polylineArea(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let area = 0;
  for (let k = 1; k < x.length; k++) area += ((x[k]! - x[k - 1]!) * (y[k]! + y[k - 1]!)) / 2;
  return area;
}

/**
 * TPR of the polyline at FPR = g / (points - 1), g = 0..points-1, by linear interpolation along
 * it; where it rises vertically (several vertices at one FPR) the highest TPR is taken, so the
 * grid curve traces the ROC from above, as drawn.
 */
export function rocOnGrid(positives: Scores, negatives: Scores, points = ROC_POINTS): Float64Array {
  const { fpr, tpr } = rocPolyline(positives, negatives);
  const out = new Float64Array(points);
  let k = 0;
  for (let g = 0; g < points; g++) {
    const x = g / (points - 1);
    while (k + 1 < fpr.length && fpr[k + 1]! <= x) k++;
    if (k + 1 >= fpr.length || fpr[k] === x) {
      out[g] = tpr[k]!;
      continue;
    }
    const t = (x - fpr[k]!) / (fpr[k + 1]! - fpr[k]!);
    out[g] = tpr[k]! + t * (tpr[k + 1]! - tpr[k]!);
  }
  return out;
}

export interface CalibrationBucket {
  /** Mean prediction of the bucket's examples. */
  meanPrediction: number;
  /** Mean target among them: the observed positive rate for 0/1 labels, or the mean true probability. */
  observed: number;
  count: number;
}

/**
 * Calibration: the examples sorted by prediction and cut into `buckets` of (nearly) equal count
 * (equal-count, not equal-width: predicted rates of a few percent would leave most equal-width
 * buckets empty); per bucket the mean prediction and the mean target (0/1 labels: the observed
 * rate; true probabilities, on simulated data: the rate the prediction should have).
 */
export function calibrationBuckets(scores: Scores, targets: ArrayLike<number>, buckets: number): CalibrationBucket[] {
  const n = scores.length;
  if (targets.length !== n) throw new RangeError(`calibration: ${n} scores but ${targets.length} targets`);
  if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`calibration: buckets must be a positive integer (got ${buckets})`);
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const out: CalibrationBucket[] = [];
  const k = Math.min(buckets, n);
  for (let b = 0; b < k; b++) {
    const start = Math.floor((b * n) / k);
    const end = Math.floor(((b + 1) * n) / k);
    let sum = 0;
    let target = 0;
    for (let r = start; r < end; r++) {
      sum += scores[order[r]!]!;
      target += targets[order[r]!]!;
    }
    out.push({ meanPrediction: sum / (end - start), observed: target / (end - start), count: end - start });
  }
  return out;
}

/** Point-by-point mean of equally long curves (vertical averaging of ROC grids, calibration). */
export function meanCurve(curves: readonly ArrayLike<number>[]): number[] {
  if (curves.length === 0) return [];
  const len = curves[0]!.length;
  if (curves.some((c) => c.length !== len)) throw new RangeError('meanCurve: curves of different lengths');
  return Array.from({ length: len }, (_, i) => curves.reduce((a, c) => a + c[i]!, 0) / curves.length);
}
