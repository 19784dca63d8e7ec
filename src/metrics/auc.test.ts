import test from 'node:test';
import assert from 'node:assert/strict';
import { aucFromSplit, computeAuc } from './auc.js';
import { BinaryTaskMetrics } from './binary-task.js';
import { computeLogLoss } from './logloss.js';
import { Rng } from '../util/rng.js';

/** The definition, O(P*N): pairs ranked right count 1, ties 1/2. */
function bruteForceAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!labels[i]) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j]) continue;
      pairs++;
      if (scores[i]! > scores[j]!) wins += 1;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return wins / pairs;
}

test('AUC equals the brute-force pair count, with heavy ties, in float64 and float32', () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 40; trial++) {
    const n = 1 + rng.int(400);
    const levels = 1 + rng.int(trial % 2 ? 5 : 1000); // few levels -> many ties
    const scores = new Float64Array(n);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      scores[i] = rng.int(levels) / levels;
      labels[i] = rng.next() < 0.2 + 0.3 * scores[i]! ? 1 : 0;
    }
    if (!labels.includes(1) || !labels.includes(0)) continue;
    const expected = bruteForceAuc(scores, labels);
    assert.ok(Math.abs(computeAuc(scores, labels) - expected) < 1e-12, `trial ${trial}`);
    const f32 = Float32Array.from(scores);
    assert.ok(Math.abs(computeAuc(f32, labels) - bruteForceAuc(f32, labels)) < 1e-12);
  }
});

test('AUC: perfect, inverted, all tied, one class missing', () => {
  const labels = [0, 0, 1, 1];
  assert.equal(computeAuc(Float64Array.of(0.1, 0.2, 0.3, 0.4), labels), 1);
  assert.equal(computeAuc(Float64Array.of(0.4, 0.3, 0.2, 0.1), labels), 0);
  assert.equal(computeAuc(Float64Array.of(0.5, 0.5, 0.5, 0.5), labels), 0.5);
  assert.ok(Number.isNaN(computeAuc(Float64Array.of(0.1, 0.2), [1, 1])));
  assert.throws(() => aucFromSplit(Float64Array.of(NaN), Float64Array.of(0)), /NaN/);
});

test('BinaryTaskMetrics over batches equals one global computation, mask selects', () => {
  const rng = new Rng(3);
  const n = 3000;
  const scores = new Float32Array(n);
  const labels = new Uint8Array(n);
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    scores[i] = rng.next();
    labels[i] = rng.next() < scores[i]! * 0.5 ? 1 : 0;
    mask[i] = rng.next() < 0.3 ? 1 : 0;
  }
  const all = new BinaryTaskMetrics();
  const masked = new BinaryTaskMetrics();
  for (let s = 0; s < n; s += 128) {
    const e = Math.min(n, s + 128);
    all.update(scores.subarray(s, e), labels.subarray(s, e));
    masked.update(scores.subarray(s, e), labels.subarray(s, e), mask.subarray(s, e));
  }
  const r = all.compute();
  assert.ok(Math.abs(r.auc - computeAuc(scores, labels)) < 1e-12);
  assert.ok(Math.abs(r.logloss - computeLogLoss(scores, labels)) < 1e-9);
  assert.equal(r.count, n);
  const sel = [...mask.keys()].filter((i) => mask[i]);
  const ms = Float32Array.from(sel.map((i) => scores[i]!));
  const ml = sel.map((i) => labels[i]!);
  assert.ok(Math.abs(masked.compute().auc - bruteForceAuc(ms, ml)) < 1e-12);
  assert.equal(masked.compute().count, sel.length);
});

test('log loss matches the formula and clamps', () => {
  assert.ok(Math.abs(computeLogLoss([0.8, 0.3], [1, 0]) - (-(Math.log(0.8) + Math.log(0.7)) / 2)) < 1e-12);
  assert.ok(Number.isFinite(computeLogLoss([0, 1], [1, 0])));
});
