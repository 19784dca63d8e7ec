import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sliceBatchSize } from './slice-batch.js';

test('scaled: a selection takes as many steps an epoch as all impressions do', () => {
  assert.equal(sliceBatchSize(1024, 40_000, 1_000_000, 'scaled'), 41);
  assert.equal(sliceBatchSize(1024, 136_000, 1_000_000, 'scaled'), 139);
  const steps = (n: number, b: number) => Math.ceil(n / b);
  assert.ok(Math.abs(steps(40_000, 41) - steps(1_000_000, 1024)) / steps(1_000_000, 1024) < 0.02);
});

test('scaled: all impressions, more than all (oversampled copies) and a tiny selection', () => {
  assert.equal(sliceBatchSize(1024, 1_000_000, 1_000_000, 'scaled'), 1024);
  assert.equal(sliceBatchSize(1024, 1_080_000, 1_000_000, 'scaled'), 1024);
  assert.equal(sliceBatchSize(1024, 100, 1_000_000, 'scaled'), 1);
  assert.equal(sliceBatchSize(1024, 0, 0, 'scaled'), 1024);
});

test('full: every component takes the batch size', () => {
  assert.equal(sliceBatchSize(1024, 40_000, 1_000_000, 'full'), 1024);
});
