import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkGradients, formatComparison, signedFeed, type DoubleFeeds } from '../gradient-check.js';
import type { GraphBuilder } from '../graph.js';
import { BATCH } from '../shape.js';
import { Rng } from '../../util/rng.js';

const rng = new Rng(9);

async function check(feeds: DoubleFeeds, wrt: string[], build: (b: GraphBuilder) => string): Promise<void> {
  const result = await checkGradients(build, feeds, wrt);
  assert.equal(result.failures.length, 0, formatComparison(result.worst));
  assert.equal(result.checked, wrt.reduce((a, n) => a + feeds[n]!.data.length, 0));
}

test('Concat: each input gets its slice, inputs without a gradient are skipped', async () => {
  const feeds = { a: signedFeed(rng, [3, 2], 0.1, 1), c: signedFeed(rng, [3, 1], 0.1, 1), d: signedFeed(rng, [3, 3], 0.1, 1) };
  await check(feeds, ['a', 'd'], (b) =>
    b.concat([b.input('a', [BATCH, 2]), b.input('c', [BATCH, 1]), b.input('d', [BATCH, 3])], 1),
  );
  await check({ a: feeds.a, c: feeds.c }, ['a', 'c'], (b) => {
    const a = b.input('a', [BATCH, 2]);
    return b.concat([a, b.input('c', [BATCH, 1]), a], -1);
  });
});

test('Squeeze and Unsqueeze', async () => {
  const x = signedFeed(rng, [4, 1], 0.1, 1);
  await check({ x }, ['x'], (b) => b.squeeze(b.input('x', [BATCH, 1]), [1]));
  await check({ x }, ['x'], (b) => b.unsqueeze(b.input('x', [BATCH, 1]), [0, 3]));
});

test('Reshape with the batch dimension', async () => {
  const x = signedFeed(rng, [2, 6], 0.1, 1);
  await check({ x }, ['x'], (b) => {
    const v = b.input('x', [BATCH, 6]);
    return b.mul(b.reshape(v, [BATCH, 2, 3]), b.tensor([1, 2, 3], [3]));
  });
});
