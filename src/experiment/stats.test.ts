import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPercent, summarize } from './stats.js';

test('summarize: mean, sample standard deviation (n - 1), every run kept', () => {
  const s = summarize([0.6, 0.7, 0.8]);
  assert.ok(Math.abs(s.mean - 0.7) < 1e-12);
  assert.ok(Math.abs(s.std! - 0.1) < 1e-12, `std ${s.std}`);
  assert.deepEqual(s.runs, [0.6, 0.7, 0.8]);
  assert.deepEqual(summarize([0.5]), { mean: 0.5, std: null, runs: [0.5] });
  assert.ok(Number.isNaN(summarize([]).mean));
});

test('formatPercent: two decimals in %, with the spread when there is one', () => {
  assert.equal(formatPercent(summarize([0.6856, 0.6893, 0.6819])), '68.56 ± 0.37');
  assert.equal(formatPercent(summarize([0.6])), '60.00');
  assert.equal(formatPercent(undefined), 'n/a');
  assert.equal(formatPercent(summarize([])), 'n/a');
});
