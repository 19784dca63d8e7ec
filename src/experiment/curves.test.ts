import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aucFromSplit } from '../metrics/auc.js';
import { Rng } from '../util/rng.js';
import { calibrationBuckets, meanCurve, polylineArea, rocOnGrid, rocPolyline } from './curves.js';

/** Scores rounded to a few levels, so that ties occur within and across the classes. */
function scores(n: number, shift: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => Math.round((rng.normal() + shift) * 4) / 4);
}

test('the ROC polyline goes from (0,0) to (1,1) and its area is exactly the AUC (ties count half)', () => {
  const rng = new Rng(1);
  for (const [np, nn] of [[1, 1], [7, 300], [500, 2000]] as const) {
    const pos = scores(np, 0.8, rng);
    const neg = scores(nn, 0, rng);
    const { fpr, tpr } = rocPolyline(pos, neg);
    assert.deepEqual([fpr[0], tpr[0], fpr.at(-1), tpr.at(-1)], [0, 0, 1, 1]);
    for (let k = 1; k < fpr.length; k++) assert.ok(fpr[k]! >= fpr[k - 1]! && tpr[k]! >= tpr[k - 1]!);
    assert.ok(Math.abs(polylineArea(fpr, tpr) - aucFromSplit(pos, neg)) < 1e-12, `${np}/${nn}`);
  }
  // All tied: the diagonal.
  assert.deepEqual(Array.from(rocPolyline(Float32Array.of(1, 1), Float32Array.of(1)).tpr), [0, 1]);
  assert.throws(() => rocPolyline(new Float32Array(0), Float32Array.of(1)), /needs both classes/);
});

test('the ROC on a grid interpolates the polyline; its area approaches the AUC', () => {
  // Perfect separation: TPR 1 from FPR 0 on.
  assert.deepEqual(Array.from(rocOnGrid(Float32Array.of(0.9, 0.8), Float32Array.of(0.1, 0.2), 5)), [1, 1, 1, 1, 1]);
  // One tie between the classes: the diagonal, sampled.
  assert.deepEqual(Array.from(rocOnGrid(Float32Array.of(0.5), Float32Array.of(0.5), 5)), [0, 0.25, 0.5, 0.75, 1]);
  const rng = new Rng(2);
  const pos = scores(2000, 1, rng);
  const neg = scores(8000, 0, rng);
  const grid = rocOnGrid(pos, neg, 201);
  const x = Array.from({ length: 201 }, (_, i) => i / 200);
  assert.ok(Math.abs(polylineArea(x, grid) - aucFromSplit(pos, neg)) < 2e-3);
});

test('calibration: equal-count buckets by prediction, with the mean prediction and mean target of each', () => {
  const scores = Float32Array.of(0.9, 0.1, 0.2, 0.8, 0.3, 0.7);
  const labels = [1, 0, 0, 1, 1, 0];
  const b = calibrationBuckets(scores, labels, 3);
  assert.deepEqual(b.map((x) => x.count), [2, 2, 2]);
  assert.deepEqual(b.map((x) => +x.meanPrediction.toFixed(6)), [0.15, 0.5, 0.85]);
  assert.deepEqual(b.map((x) => x.observed), [0, 0.5, 1]);
  // Probabilities as targets (the truth), and more buckets than examples.
  const t = calibrationBuckets(Float32Array.of(0.2, 0.4), [0.25, 0.35], 10);
  assert.deepEqual(t.map((x) => x.observed), [0.25, 0.35]);
  assert.throws(() => calibrationBuckets(Float32Array.of(1), [1, 0], 2), /1 scores but 2 targets/);
});

test('meanCurve averages point by point', () => {
  assert.deepEqual(meanCurve([[0, 1, 2], [2, 3, 4]]), [1, 2, 3]);
  assert.deepEqual(meanCurve([]), []);
  assert.throws(() => meanCurve([[1], [1, 2]]), /different lengths/);
});
