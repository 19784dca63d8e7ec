/**
 * Exact ROC AUC: the probability that a random positive scores above a random negative, ties
 * counted half. Sort-based and global (never averaged over batches, unlike tf.metrics.auc's
 * bucketed approximation): positives' and negatives' scores are sorted separately with the
 * native typed-array sort, then merged while counting negatives below and tied with each positive.
 * O(n log n) time, no index arrays.
 */
export type Scores = Float32Array | Float64Array;

/** AUC from scores already split by label. Returns NaN when either class is empty. */
export function aucFromSplit(positives: Scores, negatives: Scores): number {
  const np = positives.length;
  const nn = negatives.length;
  if (np === 0 || nn === 0) return NaN;
  for (const s of [positives, negatives]) {
    for (let i = 0; i < s.length; i++) {
      if (Number.isNaN(s[i]!)) throw new RangeError(`AUC: score ${i} is NaN`);
    }
  }
  const pos = positives.slice().sort();
  const neg = negatives.slice().sort();
  // For each distinct positive score: negatives strictly below it (lo) and equal to it (hi - lo).
  let wins = 0;
  let lo = 0;
  for (let i = 0; i < np; ) {
    const v = pos[i]!;
    let j = i;
    while (j < np && pos[j] === v) j++;
    while (lo < nn && neg[lo]! < v) lo++;
    let hi = lo;
    while (hi < nn && neg[hi] === v) hi++;
    wins += (j - i) * (lo + 0.5 * (hi - lo));
    i = j;
  }
  return wins / (np * nn);
}

/** AUC of scores against 0/1 labels (any non-zero label is positive). */
export function computeAuc(scores: Scores, labels: ArrayLike<number>): number {
  if (scores.length !== labels.length) {
    throw new RangeError(`AUC: ${scores.length} scores but ${labels.length} labels`);
  }
  let np = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]) np++;
  const Ctor = scores instanceof Float64Array ? Float64Array : Float32Array;
  const pos = new Ctor(np);
  const neg = new Ctor(scores.length - np);
  let a = 0;
  let b = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i]) pos[a++] = scores[i]!;
    else neg[b++] = scores[i]!;
  }
  return aucFromSplit(pos, neg);
}
