import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkGradients, formatComparison, signedFeed, type DoubleFeeds } from '../gradient-check.js';
import type { GemmOptions, GraphBuilder } from '../graph.js';
import { BATCH, type Shape } from '../shape.js';
import { Rng } from '../../util/rng.js';

const rng = new Rng(3);

async function check(shapes: Record<string, Shape>, batch: number, build: (b: GraphBuilder) => string): Promise<void> {
  const feeds: DoubleFeeds = {};
  for (const [name, s] of Object.entries(shapes)) feeds[name] = signedFeed(rng, s.map((d) => (typeof d === 'string' ? batch : d)), 0.1, 1);
  const result = await checkGradients(build, feeds, Object.keys(shapes));
  assert.equal(result.failures.length, 0, formatComparison(result.worst));
}

test('Gemm: every transA/transB combination, with alpha and beta', async () => {
  for (const transA of [false, true])
    for (const transB of [false, true]) {
      const opts: GemmOptions = { transA, transB, alpha: 0.7, beta: 1.3 };
      await check({ a: transA ? [3, 2] : [2, 3], w: transB ? [4, 3] : [3, 4], c: [2, 4] }, 1, (b) =>
        b.gemm(b.input('a', transA ? [3, 2] : [2, 3]), b.input('w', transB ? [4, 3] : [3, 4]), b.input('c', [2, 4]), opts),
      );
    }
});

test('Gemm: C broadcast as a bias [N], a column [M,1] and a scalar, and no C', async () => {
  for (const cShape of [[4], [2, 1], []] as number[][])
    await check({ a: [2, 3], w: [3, 4], c: cShape }, 1, (b) =>
      b.gemm(b.input('a', [2, 3]), b.input('w', [3, 4]), b.input('c', cShape), { beta: 0.5 }),
    );
  await check({ a: [2, 3], w: [3, 4] }, 1, (b) => b.gemm(b.input('a', [2, 3]), b.input('w', [3, 4])));
});

test('Gemm with a batch dimension: x [batch, 3] · w [3, 2] + bias, as in a dense layer', async () => {
  await check({ x: [BATCH, 3], w: [3, 2], bias: [2] }, 5, (b) =>
    b.gemm(b.input('x', [BATCH, 3]), b.input('w', [3, 2]), b.input('bias', [2])),
  );
});

test('MatMul', async () => {
  await check({ x: [BATCH, 3], w: [3, 2] }, 4, (b) => b.matMul(b.input('x', [BATCH, 3]), b.input('w', [3, 2])));
});
