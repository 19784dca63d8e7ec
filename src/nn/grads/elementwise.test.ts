import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkGradients, formatComparison, signedFeed, uniformFeed, type DoubleFeeds } from '../gradient-check.js';
import type { GraphBuilder } from '../graph.js';
import { BATCH, type Shape } from '../shape.js';
import { Rng } from '../../util/rng.js';

const B = 4;

/** Declares inputs with the given shapes, feeds them random values, and checks d(build)/d(all inputs). */
async function check(
  shapes: Record<string, Shape>,
  build: (b: GraphBuilder, v: Record<string, string>) => string,
  feed: (rng: Rng, dims: number[]) => DoubleFeeds[string] = (rng, dims) => signedFeed(rng, dims, 0.2, 1.5),
): Promise<void> {
  const rng = new Rng(7);
  const feeds: DoubleFeeds = {};
  for (const [name, shape] of Object.entries(shapes)) feeds[name] = feed(rng, shape.map((d) => (typeof d === 'string' ? B : d)));
  const names = Object.keys(shapes);
  const result = await checkGradients(
    (b) => build(b, Object.fromEntries(names.map((n) => [n, b.input(n, shapes[n]!)]))),
    feeds,
    names,
  );
  assert.equal(result.failures.length, 0, formatComparison(result.worst));
  assert.equal(result.checked, names.reduce((a, n) => a + feeds[n]!.data.length, 0));
}

test('Add: bias over the batch, [B,1] + [B] to [B,B], and a scalar', async () => {
  await check({ x: [BATCH, 3], bias: [3] }, (b, v) => b.add(v.x!, v.bias!));
  await check({ col: [BATCH, 1], row: [BATCH] }, (b, v) => b.add(v.col!, v.row!));
  await check({ x: [BATCH, 3], s: [] }, (b, v) => b.add(v.s!, v.x!));
});

test('Sub: both operands, broadcast either way', async () => {
  await check({ x: [BATCH, 3], bias: [1, 3] }, (b, v) => b.sub(v.x!, v.bias!));
  await check({ s: [], x: [BATCH, 2] }, (b, v) => b.sub(v.s!, v.x!));
  await check({ col: [BATCH, 1], row: [BATCH] }, (b, v) => b.sub(v.row!, v.col!));
});

test('Mul: broadcast operands and a value multiplied by itself (fan-out sums)', async () => {
  await check({ x: [BATCH, 3], scale: [3] }, (b, v) => b.mul(v.x!, v.scale!));
  await check({ col: [BATCH, 1], row: [BATCH] }, (b, v) => b.mul(v.col!, v.row!));
  await check({ x: [BATCH, 2] }, (b, v) => b.add(b.mul(v.x!, v.x!), b.mul(v.x!, b.scalar(3))));
});

test('Div: numerator and denominator, broadcast', async () => {
  await check({ x: [BATCH, 3], d: [3] }, (b, v) => b.div(v.x!, v.d!));
  await check({ s: [], x: [BATCH, 2] }, (b, v) => b.div(v.s!, v.x!));
  await check({ col: [BATCH, 1], row: [BATCH] }, (b, v) => b.div(v.row!, v.col!));
});

test('Neg and Identity', async () => {
  await check({ x: [BATCH, 3] }, (b, v) => b.mul(b.neg(v.x!), b.identity(v.x!)));
});

test('Sum of three broadcast operands', async () => {
  await check({ x: [BATCH, 3], bias: [3], s: [] }, (b, v) => b.mul(b.sum([v.x!, v.bias!, v.s!]), v.x!));
});

test('Where: each branch gets the gradient where it was chosen, broadcast', async () => {
  await check(
    { x: [BATCH, 3], y: [3] },
    (b, v) => b.where(b.greater(v.x!, b.scalar(0)), v.x!, b.mul(v.y!, v.y!)),
  );
  await check({ x: [BATCH, 3] }, (b, v) => b.where(b.greater(v.x!, b.scalar(0.5)), b.scalar(2), v.x!), (rng, dims) =>
    uniformFeed(rng, dims, -1, 2),
  );
});

test('Min and Max: the chosen operand gets the gradient, broadcast either way', async () => {
  // Signed values in [0.2, 1.5] for both operands: ties (where the subgradient is a choice) have
  // probability zero, and the finite-difference step never crosses the other operand.
  await check({ x: [BATCH, 3], y: [3] }, (b, v) => b.min(v.x!, v.y!));
  await check({ x: [BATCH, 3], y: [3] }, (b, v) => b.max(v.y!, v.x!));
  await check({ x: [BATCH, 2] }, (b, v) => b.mul(b.min(v.x!, b.scalar(0.5)), b.max(v.x!, b.scalar(-0.5))));
});

test('Min and Max: a clamped value passes no gradient', async () => {
  const x = { data: Float64Array.from({ length: 8 }, (_, i) => (i % 2 ? 3 : 4)), dims: [4, 2] };
  const result = await checkGradients((b) => b.min(b.input('x', [BATCH, 2]), b.scalar(1)), { x }, ['x']);
  assert.equal(result.failures.length, 0, formatComparison(result.worst));
  assert.equal(result.worst.analytic, 0);
});

test('Pow with a constant exponent: square, cube root and a negative power', async () => {
  const positive = (rng: Rng, dims: number[]) => uniformFeed(rng, dims, 0.3, 2);
  await check({ x: [BATCH, 3] }, (b, v) => b.pow(v.x!, 2), positive);
  await check({ x: [BATCH, 3] }, (b, v) => b.pow(v.x!, 1 / 3), positive);
  await check({ x: [BATCH, 3] }, (b, v) => b.pow(v.x!, -1.5), positive);
});
