import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkGradients, formatComparison, signedFeed, uniformFeed } from '../gradient-check.js';
import type { GraphBuilder } from '../graph.js';
import type { HostTensor } from '../session.js';
import { BATCH } from '../shape.js';
import { Rng } from '../../util/rng.js';

/** Checks d(op(x))/dx for x [batch=5, 4] fed with `x`. */
async function check(op: (b: GraphBuilder, x: string) => string, x: HostTensor<Float64Array>): Promise<void> {
  const result = await checkGradients((b) => op(b, b.input('x', [BATCH, 4])), { x }, ['x']);
  assert.equal(result.failures.length, 0, formatComparison(result.worst));
  assert.equal(result.checked, 20);
}

const rng = new Rng(11);
const dims = [5, 4];

test('Relu (away from the kink at 0)', async () => {
  await check((b, x) => b.relu(x), signedFeed(rng, dims, 0.05, 2));
});

test('Sigmoid, including saturated inputs', async () => {
  await check((b, x) => b.sigmoid(x), signedFeed(rng, dims, 0.1, 12));
});

test('Log', async () => {
  await check((b, x) => b.log(x), uniformFeed(rng, dims, 0.2, 3));
});

test('Exp', async () => {
  await check((b, x) => b.exp(x), signedFeed(rng, dims, 0.1, 3));
});

test('Softplus, including large |x|', async () => {
  await check((b, x) => b.softplus(x), signedFeed(rng, dims, 0.1, 30));
});

test('Clip: gradient only inside [min, max], with either bound open', async () => {
  const x = uniformFeed(rng, dims, -2, 2);
  // Keep values a finite-difference step away from the bounds.
  for (let i = 0; i < x.data.length; i++) if (Math.abs(Math.abs(x.data[i]!) - 0.5) < 0.01) x.data[i] = 0;
  await check((b, v) => b.clip(v, -0.5, 0.5), x);
  await check((b, v) => b.clip(v, -0.5, undefined), x);
  await check((b, v) => b.clip(v, undefined, 0.5), x);
  await check((b, v) => b.mul(b.clip(v, undefined, undefined), v), x);
});

test('Clip passes no gradient outside the range', async () => {
  // With every value clipped, the gradient must be exactly zero; a rule that ignored the bounds
  // would give the projection weights instead.
  const x = { data: Float64Array.from({ length: 20 }, (_, i) => (i % 2 ? 3 : -3)), dims };
  const result = await checkGradients((b) => b.clip(b.input('x', [BATCH, 4]), -1, 1), { x }, ['x']);
  assert.equal(result.failures.length, 0, formatComparison(result.worst));
  assert.equal(result.worst.analytic, 0);
});

test('Tanh, including saturated inputs', async () => {
  await check((b, x) => b.tanh(x), signedFeed(rng, dims, 0.1, 6));
});

test('Sqrt', async () => {
  await check((b, x) => b.sqrt(x), uniformFeed(rng, dims, 0.2, 3));
});

test('Abs (away from the kink at 0)', async () => {
  await check((b, x) => b.abs(x), signedFeed(rng, dims, 0.05, 2));
});

test('Softmax over the last axis, the batch axis, and the middle axis of a 3-D value', async () => {
  await check((b, x) => b.softmax(x, -1), signedFeed(rng, dims, 0.1, 3));
  await check((b, x) => b.softmax(x, 0), signedFeed(rng, dims, 0.1, 3));
  const x3 = signedFeed(rng, [5, 3, 2], 0.1, 3);
  const result = await checkGradients((b) => b.softmax(b.reshape(b.input('x', [BATCH, 6]), [BATCH, 3, 2]), 1), {
    x: { data: x3.data, dims: [5, 6] },
  }, ['x']);
  assert.equal(result.failures.length, 0, formatComparison(result.worst));
  assert.equal(result.checked, 30);
});
