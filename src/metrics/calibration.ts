/**
 * Calibration of one binary task over a whole evaluation set, in O(1) memory (sums in float64):
 *
 * - PCOC, "predicted click over click": sum of predictions / sum of labels, 1 when the model is
 *   calibrated on average, above 1 when it over-predicts. The "calibration" ratio of average
 *   estimated CTR to empirical CTR of He et al., "Practical Lessons from Predicting Clicks on Ads at
 *   Facebook" (ADKDD 2014, section 2.2); NaN without positives.
 * - ECE, expected calibration error (introduced by Naeini, Cooper & Hauskrecht, AAAI 2015), as Guo
 *   et al., "On Calibration of Modern Neural Networks" (ICML 2017, section 2) define it: M
 *   equal-width bins of [0, 1], each weighted by its share of the examples,
 *     ECE = sum over bins of (n_b / N) * |mean prediction in b - positive rate in b|
 *         = sum over bins of |sum of predictions in b - positives in b| / N.
 *   Here M = ECE_BINS = 10, bin b holds b/10 <= p < (b+1)/10 (p = 1 in the last), and what is
 *   binned is the predicted probability of the positive class (click, conversion), the number a
 *   ranking or bid uses; Guo et al. bin a classifier's top-label confidence in 15 bins.
 */
export const ECE_BINS = 10;

export interface CalibrationResult {
  count: number;
  /** Sum of predictions / sum of labels. */
  pcoc: number;
  ece: number;
}

export class CalibrationStats {
  private count = 0;
  private predSum = 0;
  private labelSum = 0;
  /** Per bin: predictions' sum, labels' sum. */
  private readonly bins = new Float64Array(2 * ECE_BINS);

  /** Adds one prediction in [0, 1] with its 0/1 label. */
  add(p: number, label: number): void {
    const y = label ? 1 : 0;
    this.count++;
    this.predSum += p;
    this.labelSum += y;
    const b = binOf(p);
    this.bins[2 * b]! += p;
    this.bins[2 * b + 1]! += y;
  }

  /** Adds predictions with their labels; `mask`, when given, selects which count. */
  update(scores: ArrayLike<number>, labels: ArrayLike<number>, mask?: ArrayLike<number>): void {
    for (let i = 0; i < scores.length; i++) if (!mask || mask[i]) this.add(scores[i]!, labels[i]!);
  }

  compute(): CalibrationResult {
    let gap = 0;
    for (let b = 0; b < ECE_BINS; b++) gap += Math.abs(this.bins[2 * b]! - this.bins[2 * b + 1]!);
    return {
      count: this.count,
      pcoc: this.labelSum > 0 ? this.predSum / this.labelSum : NaN,
      ece: this.count > 0 ? gap / this.count : NaN,
    };
  }
}

/** The equal-width bin of a prediction: floor(p * ECE_BINS), p = 1 (and above) in the last, below 0 in the first. */
export function binOf(p: number): number {
  if (!(p >= 0)) {
    if (Number.isNaN(p)) throw new RangeError('calibration: a prediction is NaN');
    return 0;
  }
  return Math.min(ECE_BINS - 1, Math.floor(p * ECE_BINS));
}
