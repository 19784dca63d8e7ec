/**
 * The gradient rules at their edges: ties of Min/Max, Relu and Abs at exactly 0, Clip at exactly
 * its bounds, Where's unchosen branch, and the zeros of inputs under a division, a log, a square
 * root or a power. A derivative at a kink is not defined, so the central-difference checks beside
 * this file cannot decide these values (they keep their inputs away from kinks); here each rule's
 * choice is pinned instead: a tiny graph is built, differentiated and run in float64 through
 * onnxruntime, and every gradient entry is compared exactly with a number written in the test.
 *
 * dY is fed as the weights r of loss = sum(y · r): distinct powers of two, so a gradient that went
 * to the wrong operand, was counted twice or was dropped shows up as a different exact value.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { differentiate, gradName } from '../autodiff.js';
import { GraphBuilder } from '../graph.js';
import { toOnnxModel } from '../onnx.js';
import { OrtSession } from '../session.js';

type Inputs = Record<string, { dims: number[]; data: number[] }>;

interface Run {
  /** The forward value y, to confirm the edge was reached. */
  y: number[];
  /** d(sum(y · dY))/d(input) for every input. */
  grads: Record<string, number[]>;
}

/**
 * Builds y = build(inputs), differentiates sum(y · dY) with respect to every input, runs the
 * differentiated graph in float64 and returns y and the gradients.
 */
async function gradientsAt(inputs: Inputs, build: (b: GraphBuilder, v: Record<string, string>) => string, dy: number[]): Promise<Run> {
  const b = new GraphBuilder('edge', 'double');
  const v = Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, b.input(name, t.dims)]));
  const y = build(b, v);
  const weights = b.input('dy', b.shapeOf(y));
  b.reduceSum(b.mul(y, weights), undefined, false, 'loss');
  b.output('loss');
  b.output(y);
  const names = Object.keys(inputs);
  const graph = differentiate(b.build(), 'loss', names);
  const session = await OrtSession.create(toOnnxModel(graph), { threads: 1 });
  try {
    const feeds = Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, { data: Float64Array.from(t.data), dims: t.dims }]));
    const yDims = b.shapeOf(y).map((d) => {
      if (typeof d !== 'number') throw new Error(`edge tests use static shapes, ${y} has ${String(d)}`);
      return d;
    });
    const out = await session.run({ ...feeds, dy: { data: Float64Array.from(dy), dims: yDims } }, [y, ...names.map(gradName)]);
    return {
      y: Array.from(out[y]!.data),
      grads: Object.fromEntries(names.map((n) => [n, Array.from(out[gradName(n)]!.data)])),
    };
  } finally {
    await session.release();
  }
}

/** Exact equality per entry (0 and -0 are equal; NaN equals NaN), with a message naming what broke. */
function assertExact(what: string, actual: number[], expected: number[]): void {
  const same = (a: number | undefined, e: number) => a === e || (Number.isNaN(a) && Number.isNaN(e));
  const bad = expected.findIndex((e, i) => !same(actual[i], e));
  if (actual.length === expected.length && bad < 0) return;
  assert.fail(
    `${what}: got [${actual.join(', ')}], expected [${expected.join(', ')}]` +
      (bad >= 0 ? ` (first difference at index ${bad}: ${actual[bad]} instead of ${expected[bad]})` : ' (lengths differ)'),
  );
}

// ---- Min and Max: ties ----

test('Max: on a tie dY goes to the first operand only, the second gets exactly 0', async () => {
  // Ties at 0 (1 vs 1), 3 (0 vs -0: equal as numbers) and 4 (-1.5 vs -1.5).
  const r = await gradientsAt(
    { a: { dims: [5], data: [1, 2, 3, 0, -1.5] }, c: { dims: [5], data: [1, 3, 2, -0, -1.5] } },
    (b, v) => b.max(v.a!, v.c!),
    [1, 2, 4, 8, 16],
  );
  assertExact('Max forward', r.y, [1, 3, 3, 0, -1.5]);
  assertExact('Max: d/d(first operand), which wins ties', r.grads.a!, [1, 0, 4, 8, 16]);
  assertExact('Max: d/d(second operand), which gets 0 on ties', r.grads.c!, [0, 2, 0, 0, 0]);
});

test('Min: on a tie dY goes to the first operand only, the second gets exactly 0', async () => {
  const r = await gradientsAt(
    { a: { dims: [5], data: [1, 2, 3, 0, -1.5] }, c: { dims: [5], data: [1, 3, 2, -0, -1.5] } },
    (b, v) => b.min(v.a!, v.c!),
    [1, 2, 4, 8, 16],
  );
  assertExact('Min forward', r.y, [1, 2, 2, 0, -1.5]);
  assertExact('Min: d/d(first operand), which wins ties', r.grads.a!, [1, 2, 0, 8, 16]);
  assertExact('Min: d/d(second operand), which gets 0 on ties', r.grads.c!, [0, 0, 4, 0, 0]);
});

test('Max and Min of a value with itself: every entry a tie, dY once (not 2·dY, not 0)', async () => {
  const inputs = { x: { dims: [4], data: [-1, 0, 2, 0.5] } };
  const dy = [1, 2, 4, 8];
  assertExact('Max(x, x): d/dx', (await gradientsAt(inputs, (b, v) => b.max(v.x!, v.x!), dy)).grads.x!, [1, 2, 4, 8]);
  assertExact('Min(x, x): d/dx', (await gradientsAt(inputs, (b, v) => b.min(v.x!, v.x!), dy)).grads.x!, [1, 2, 4, 8]);
});

test('Max: a scalar tied with some elements of a tensor gets the dY of only the elements it won', async () => {
  // s = 1 against x = [1, 0, 2, 1, -1, 1]: ties at 0, 3 and 5.
  const inputs = { s: { dims: [], data: [1] }, x: { dims: [2, 3], data: [1, 0, 2, 1, -1, 1] } };
  const dy = [1, 2, 4, 8, 16, 32];
  // s first: s wins where s >= x (0, 1, 3, 4, 5), ties included: 1 + 2 + 8 + 16 + 32.
  const first = await gradientsAt(inputs, (b, v) => b.max(v.s!, v.x!), dy);
  assertExact('Max(s, x) forward', first.y, [1, 1, 2, 1, 1, 1]);
  assertExact('Max(s, x): d/ds, the scalar first (wins its ties)', first.grads.s!, [59]);
  assertExact('Max(s, x): d/dx', first.grads.x!, [0, 0, 4, 0, 0, 0]);
  // s second: s wins only where s > x (1, 4); the ties go to x.
  const second = await gradientsAt(inputs, (b, v) => b.max(v.x!, v.s!), dy);
  assertExact('Max(x, s): d/ds, the scalar second (loses its ties)', second.grads.s!, [18]);
  assertExact('Max(x, s): d/dx', second.grads.x!, [1, 0, 4, 8, 0, 32]);
});

test('Min: a scalar tied with some elements of a tensor gets the dY of only the elements it won', async () => {
  const inputs = { s: { dims: [], data: [1] }, x: { dims: [2, 3], data: [1, 0, 2, 1, -1, 1] } };
  const dy = [1, 2, 4, 8, 16, 32];
  // s first: s wins where s <= x (0, 2, 3, 5): 1 + 4 + 8 + 32.
  const first = await gradientsAt(inputs, (b, v) => b.min(v.s!, v.x!), dy);
  assertExact('Min(s, x) forward', first.y, [1, 0, 1, 1, -1, 1]);
  assertExact('Min(s, x): d/ds, the scalar first (wins its ties)', first.grads.s!, [45]);
  assertExact('Min(s, x): d/dx', first.grads.x!, [0, 2, 0, 0, 16, 0]);
  // s second: s wins only where s < x (2).
  const second = await gradientsAt(inputs, (b, v) => b.min(v.x!, v.s!), dy);
  assertExact('Min(x, s): d/ds, the scalar second (loses its ties)', second.grads.s!, [4]);
  assertExact('Min(x, s): d/dx', second.grads.x!, [1, 2, 0, 8, 16, 32]);
});

test('Max: a [2,1] column against a [3] row, ties on the broadcast grid summed per operand', async () => {
  // y[i][j] = max(col[i], row[j]) with col = [1, 2], row = [1, 2, 3]: ties at (0,0), (1,1).
  const r = await gradientsAt(
    { col: { dims: [2, 1], data: [1, 2] }, row: { dims: [3], data: [1, 2, 3] } },
    (b, v) => b.max(v.col!, v.row!),
    [1, 2, 4, 8, 16, 32],
  );
  assertExact('Max(col, row) forward', r.y, [1, 2, 3, 2, 2, 3]);
  // col wins (0,0), (1,0), (1,1): row 0 gets 1, row 1 gets 8 + 16.
  assertExact('Max(col, row): d/dcol', r.grads.col!, [1, 24]);
  // row wins (0,1), (0,2), (1,2): column 1 gets 2, column 2 gets 4 + 32.
  assertExact('Max(col, row): d/drow', r.grads.row!, [0, 2, 36]);
});

// ---- Where, Sign and the comparisons ----

test('Where: each branch gets dY only where chosen, a broadcast scalar branch sums its elements, the condition none', async () => {
  // where(x > 0, x, s): x = 0 is not > 0, so s is chosen there.
  const r = await gradientsAt(
    { x: { dims: [5], data: [-1, 0, 2, -0, 3] }, s: { dims: [], data: [7] } },
    (b, v) => b.where(b.greater(v.x!, b.scalar(0)), v.x!, v.s!),
    [1, 2, 4, 8, 16],
  );
  assertExact('Where forward', r.y, [7, 7, 2, 7, 3]);
  // x's only gradient is the true branch's: Greater passes none.
  assertExact('Where: d/dx (true branch)', r.grads.x!, [0, 0, 4, 0, 16]);
  assertExact('Where: d/ds (false branch, a broadcast scalar)', r.grads.s!, [11]);
  // Both branches the same value: dY once.
  const same = await gradientsAt({ x: { dims: [3], data: [-1, 0, 1] } }, (b, v) => b.where(b.less(v.x!, b.scalar(0)), v.x!, v.x!), [1, 2, 4]);
  assertExact('Where(c, x, x): d/dx', same.grads.x!, [1, 2, 4]);
});

test('Sign carries no gradient: x · sign(x) has gradient sign(x) · dY, 0 at x = 0', async () => {
  const r = await gradientsAt({ x: { dims: [4], data: [-2, 0, -0, 3] } }, (b, v) => b.mul(v.x!, b.sign(v.x!)), [1, 2, 4, 8]);
  assertExact('x · sign(x) forward', r.y, [2, 0, 0, 3]);
  assertExact('x · sign(x): d/dx', r.grads.x!, [-1, 0, 0, 8]);
});

// ---- Relu, Abs, Clip ----

test('Relu: at exactly 0 (and -0) no gradient; the smallest positive double passes dY', async () => {
  // Convention (TensorFlow, PyTorch): dX = dY where y > 0, so x = 0 counts as off.
  const r = await gradientsAt(
    { x: { dims: [6], data: [0, -0, 5e-324, -5e-324, 1, -1] } },
    (b, v) => b.relu(v.x!),
    [1, 2, 4, 8, 16, 32],
  );
  assertExact('Relu forward', r.y, [0, 0, 5e-324, 0, 1, 0]);
  assertExact('Relu: d/dx', r.grads.x!, [0, 0, 4, 0, 16, 0]);
});

test('Abs: sign(0) = 0 in ONNX, so exactly 0 (and -0) gets no gradient; ±the smallest double gets ±dY', async () => {
  const r = await gradientsAt(
    { x: { dims: [6], data: [0, -0, 5e-324, -5e-324, 2, -2] } },
    (b, v) => b.abs(v.x!),
    [1, 2, 4, 8, 16, 32],
  );
  assertExact('Abs forward', r.y, [0, 0, 5e-324, 5e-324, 2, 2]);
  assertExact('Abs: d/dx', r.grads.x!, [0, 0, 4, -8, 16, -32]);
});

// One ulp either side of ±0.5, written out (0.5 ± 2^-53 above, 0.5 - 2^-54 below).
const ABOVE_HALF = 0.5000000000000001;
const BELOW_HALF = 0.49999999999999994;

test('Clip: dY passes at exactly min and exactly max (inclusive bounds) and one ulp inside; 0 one ulp outside', async () => {
  assert.ok(ABOVE_HALF > 0.5 && BELOW_HALF < 0.5, 'the one-ulp literals must differ from 0.5');
  const r = await gradientsAt(
    { x: { dims: [9], data: [-0.5, 0.5, -BELOW_HALF, BELOW_HALF, -ABOVE_HALF, ABOVE_HALF, 0, 3, -3] } },
    (b, v) => b.clip(v.x!, -0.5, 0.5),
    [1, 2, 4, 8, 16, 32, 64, 128, 256],
  );
  assertExact('Clip[-0.5, 0.5] forward', r.y, [-0.5, 0.5, -BELOW_HALF, BELOW_HALF, -0.5, 0.5, 0, 0.5, -0.5]);
  assertExact('Clip[-0.5, 0.5]: d/dx (at min, at max, inside, inside, below min, above max, 0, far above, far below)', r.grads.x!, [
    1, 2, 4, 8, 0, 0, 64, 0, 0,
  ]);
});

test('Clip with min only or max only: that bound inclusive, the open side passes dY; no bounds is the identity', async () => {
  const dy = [1, 2, 4, 8];
  const lower = await gradientsAt({ x: { dims: [4], data: [-0.5, -ABOVE_HALF, 1e300, 0] } }, (b, v) => b.clip(v.x!, -0.5, undefined), dy);
  assertExact('Clip[-0.5, ∞) forward', lower.y, [-0.5, -0.5, 1e300, 0]);
  assertExact('Clip[-0.5, ∞): d/dx (at min, below min, far above, inside)', lower.grads.x!, [1, 0, 4, 8]);
  const upper = await gradientsAt({ x: { dims: [4], data: [0.5, ABOVE_HALF, -1e300, 0] } }, (b, v) => b.clip(v.x!, undefined, 0.5), dy);
  assertExact('Clip(-∞, 0.5] forward', upper.y, [0.5, 0.5, -1e300, 0]);
  assertExact('Clip(-∞, 0.5]: d/dx (at max, above max, far below, inside)', upper.grads.x!, [1, 0, 4, 8]);
  const open = await gradientsAt({ x: { dims: [4], data: [-1e300, 0, -0.5, 1e300] } }, (b, v) => b.clip(v.x!, undefined, undefined), dy);
  assertExact('Clip(-∞, ∞): d/dx', open.grads.x!, [1, 2, 4, 8]);
});

test('Clip with min > max: the output is max everywhere (ONNX), no gradient anywhere, not at either bound', async () => {
  const r = await gradientsAt({ x: { dims: [5], data: [1, -1, 0, 2, -2] } }, (b, v) => b.clip(v.x!, 1, -1), [1, 2, 4, 8, 16]);
  assertExact('Clip[1, -1] forward', r.y, [-1, -1, -1, -1, -1]);
  assertExact('Clip[1, -1]: d/dx', r.grads.x!, [0, 0, 0, 0, 0]);
});

// ---- zeros under a division, a log, a square root, a power ----

test('Div: a zero numerator gives the denominator exactly 0; a zero denominator gives the IEEE infinities', async () => {
  // da = dY / c; dc = -dY · y / c (the rule's form of -dY · a / c²).
  const r = await gradientsAt(
    { a: { dims: [6], data: [0, 0, 1, -1, 0, 3] }, c: { dims: [6], data: [2, -4, 0, 0, 0, 0.5] } },
    (b, v) => b.div(v.a!, v.c!),
    [1, 2, 4, 8, 16, 32],
  );
  assertExact('Div forward', r.y, [0, -0, Infinity, -Infinity, NaN, 6]);
  assertExact('Div: d/d(numerator)', r.grads.a!, [0.5, -0.5, Infinity, Infinity, Infinity, 64]);
  // -a/c² at c = 0 is -∞ for a = 1 and +∞ for a = -1; 0/0 stays NaN.
  assertExact('Div: d/d(denominator)', r.grads.c!, [0, 0, -Infinity, Infinity, NaN, -384]);
});

test('Div by a value clamped with Max or Clip: finite at the clamp, and the clamp tie goes to the clamped value', async () => {
  // y = a / max(d, 0.25): denominators [0.25, 0.25, 0.5, 0.25], y = [4, 4, 2, 8]; d = 0.25 is a tie,
  // which Max gives to its first operand d: dd = -dY · y / 0.25 there.
  const inputs = { a: { dims: [4], data: [1, 1, 1, 2] }, d: { dims: [4], data: [0, 0.25, 0.5, -1] } };
  const dy = [1, 2, 4, 8];
  const viaMax = await gradientsAt(inputs, (b, v) => b.div(v.a!, b.max(v.d!, b.scalar(0.25))), dy);
  assertExact('a / max(d, 0.25) forward', viaMax.y, [4, 4, 2, 8]);
  assertExact('a / max(d, 0.25): d/da', viaMax.grads.a!, [4, 8, 8, 32]);
  assertExact('a / max(d, 0.25): d/dd', viaMax.grads.d!, [0, -32, -16, 0]);
  // Clip's lower bound is inclusive: the same gradients.
  const viaClip = await gradientsAt(inputs, (b, v) => b.div(v.a!, b.clip(v.d!, 0.25, undefined)), dy);
  assertExact('a / clip(d, 0.25) forward', viaClip.y, [4, 4, 2, 8]);
  assertExact('a / clip(d, 0.25): d/da', viaClip.grads.a!, [4, 8, 8, 32]);
  assertExact('a / clip(d, 0.25): d/dd', viaClip.grads.d!, [0, -32, -16, 0]);
});

test('Log at x = 0: dY / 0 = +Infinity (the derivative from the right)', async () => {
  const r = await gradientsAt({ x: { dims: [3], data: [0, 1, 0.5] } }, (b, v) => b.log(v.x!), [1, 2, 4]);
  assertExact('Log forward', r.y, [-Infinity, 0, Math.log(0.5)]);
  assertExact('Log: d/dx', r.grads.x!, [Infinity, 2, 8]);
});

test('Sqrt at x = 0: dY / (2 · 0) = +Infinity (the derivative from the right)', async () => {
  const r = await gradientsAt({ x: { dims: [3], data: [0, 4, 0.25] } }, (b, v) => b.sqrt(v.x!), [1, 2, 4]);
  assertExact('Sqrt forward', r.y, [0, 2, 0.5]);
  assertExact('Sqrt: d/dx', r.grads.x!, [Infinity, 0.5, 4]);
});

test('Pow at x = 0: p = 2 gives 0, p = 1 gives dY, p = 0.5 gives +Infinity, p = 0 gives 0 (not 0 · 0^-1 = NaN)', async () => {
  const inputs = { x: { dims: [3], data: [0, -0, 3] } };
  const dy = [1, 2, 4];
  const at = async (p: number) => (await gradientsAt(inputs, (b, v) => b.pow(v.x!, p), dy)).grads.x!;
  assertExact('Pow(x, 2): d/dx', await at(2), [0, 0, 24]);
  assertExact('Pow(x, 1): d/dx', await at(1), [1, 2, 4]);
  assertExact('Pow(x, 0): d/dx', await at(0), [0, 0, 0]);
  const half = await gradientsAt({ x: { dims: [2], data: [0, 4] } }, (b, v) => b.pow(v.x!, 0.5), [1, 2]);
  assertExact('Pow(x, 0.5): d/dx', half.grads.x!, [Infinity, 0.5]);
});
