import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkGradients, formatComparison, signedFeed } from '../gradient-check.js';
import type { GraphBuilder } from '../graph.js';
import { BATCH } from '../shape.js';
import { Rng } from '../../util/rng.js';

const rng = new Rng(5);

/** Checks d(reduce(x))/dx for x [batch=3, 4, 2]. */
async function check(reduce: (b: GraphBuilder, x: string) => string): Promise<void> {
  const x = signedFeed(rng, [3, 4, 2], 0.1, 1);
  const result = await checkGradients((b) => reduce(b, b.input('x', [BATCH, 4, 2])), { x }, ['x']);
  assert.equal(result.failures.length, 0, formatComparison(result.worst));
  assert.equal(result.checked, 24);
}

test('ReduceSum over static axes, the batch axis, all axes; with and without keepdims', async () => {
  for (const keep of [false, true]) {
    await check((b, x) => b.reduceSum(x, [1], keep));
    await check((b, x) => b.reduceSum(x, [0], keep));
    await check((b, x) => b.reduceSum(x, [-1, 0], keep));
    await check((b, x) => b.reduceSum(x, undefined, keep));
  }
});

test('ReduceMean over static axes (constant count) and the batch axis (count at run time)', async () => {
  for (const keep of [false, true]) {
    await check((b, x) => b.reduceMean(x, [2], keep));
    await check((b, x) => b.reduceMean(x, [0], keep));
    await check((b, x) => b.reduceMean(x, [0, 2], keep));
    await check((b, x) => b.reduceMean(x, undefined, keep));
  }
});

test('a reduction feeding a broadcast: x - mean(x) over the features', async () => {
  await check((b, x) => {
    const centered = b.sub(x, b.reduceMean(x, [1], true));
    return b.mul(centered, centered);
  });
});
