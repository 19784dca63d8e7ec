import { aucFromSplit } from './auc.js';
import { crossEntropy } from './logloss.js';

/** Growable Float32Array: predictions are float32, so storing them as float32 loses nothing. */
export class ScoreBuffer {
  private buf = new Float32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float32Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  view(): Float32Array {
    return this.buf.subarray(0, this.length);
  }
}

export interface BinaryTaskResult {
  auc: number;
  logloss: number;
  count: number;
  positives: number;
  /** Mean prediction and observed positive rate: a first calibration check. */
  meanPrediction: number;
  positiveRate: number;
}

/**
 * Metrics of one binary task accumulated over a whole evaluation set (update per batch, compute
 * once at the end): exact global AUC and log loss. Memory: 4 bytes per scored example.
 */
export class BinaryTaskMetrics {
  private pos = new ScoreBuffer();
  private neg = new ScoreBuffer();
  private lossSum = 0;
  private predSum = 0;

  /** Adds predictions with their labels; `mask`, when given, selects which examples count. */
  update(scores: ArrayLike<number>, labels: ArrayLike<number>, mask?: ArrayLike<number>): void {
    for (let i = 0; i < scores.length; i++) {
      if (mask && !mask[i]) continue;
      const s = scores[i]!;
      if (labels[i]) this.pos.push(s);
      else this.neg.push(s);
      this.lossSum += crossEntropy(s, labels[i]!);
      this.predSum += s;
    }
  }

  compute(): BinaryTaskResult {
    const count = this.pos.length + this.neg.length;
    return {
      auc: aucFromSplit(this.pos.view(), this.neg.view()),
      logloss: count ? this.lossSum / count : NaN,
      count,
      positives: this.pos.length,
      meanPrediction: count ? this.predSum / count : NaN,
      positiveRate: count ? this.pos.length / count : NaN,
    };
  }

  reset(): void {
    this.pos = new ScoreBuffer();
    this.neg = new ScoreBuffer();
    this.lossSum = 0;
    this.predSum = 0;
  }
}
