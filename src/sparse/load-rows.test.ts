import test from 'node:test';
import assert from 'node:assert/strict';
import { loadRows } from './load-rows.js';

test('loadRows reads the first and last value of each located row in range, skipping untrained ones', () => {
  // Three rows of dim 3: [1, 2, 3], [10, 20, 30], [100, 200, 300].
  const data = Float32Array.from([1, 2, 3, 10, 20, 30, 100, 200, 300]);
  const at = Int32Array.from([6, -1, 0, 3]);
  assert.equal(loadRows(data, at, 0, 4, 3), 100 + 300 + 1 + 3 + 10 + 30);
  assert.equal(loadRows(data, at, 1, 3, 3), 1 + 3);
  assert.equal(loadRows(data, at, 2, 2, 3), 0);
});
