/** Clamp used for log loss, as Keras' binary_crossentropy (the seed's loss) does. */
export const LOGLOSS_EPS = 1e-7;

/** Binary cross-entropy of one prediction, in float64, with p clamped to [eps, 1-eps]. */
export function crossEntropy(p: number, label: number): number {
  const q = Math.min(Math.max(p, LOGLOSS_EPS), 1 - LOGLOSS_EPS);
  return label ? -Math.log(q) : -Math.log(1 - q);
}

/** Mean binary cross-entropy over a set (NaN when empty). */
export function computeLogLoss(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (scores.length !== labels.length) {
    throw new RangeError(`log loss: ${scores.length} scores but ${labels.length} labels`);
  }
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += crossEntropy(scores[i]!, labels[i]!);
  return scores.length ? sum / scores.length : NaN;
}
