import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraphBuilder } from './graph.js';
import { BATCH, broadcastAxes, broadcastShapes } from './shape.js';

test('broadcasting follows numpy, with the batch as a symbol', () => {
  assert.deepEqual(broadcastShapes([[BATCH, 3], [3]], 'Add'), [BATCH, 3]);
  assert.deepEqual(broadcastShapes([[BATCH, 1], [BATCH]], 'Add'), [BATCH, BATCH]);
  assert.deepEqual(broadcastShapes([[], [2, 1], [1, 4]], 'Sum'), [2, 4]);
  assert.throws(
    () => broadcastShapes([[BATCH, 3], [4]], 'Add(x, y)'),
    /Add\(x, y\): shapes \[batch, 3\] and \[4\] do not broadcast \(axis 1: 3 vs 4\)/,
  );
  assert.throws(() => broadcastShapes([[BATCH], [5]], 'Mul'), /do not broadcast/);
  assert.deepEqual(broadcastAxes([BATCH, 4, 3], [4, 1]), { leading: [0], kept: [1] });
  assert.deepEqual(broadcastAxes([BATCH, BATCH], [BATCH, 1]), { leading: [], kept: [1] });
});

test('op methods infer output shapes', () => {
  const b = new GraphBuilder('shapes', 'float');
  const x = b.input('x', [BATCH, 6]);
  const w = b.input('w', [6, 4]);
  assert.deepEqual(b.shapeOf(b.gemm(x, w, b.input('bias', [4]))), [BATCH, 4]);
  assert.deepEqual(b.shapeOf(b.gemm(w, x, undefined, { transA: true, transB: true })), [4, BATCH]);
  assert.deepEqual(b.shapeOf(b.matMul(x, w)), [BATCH, 4]);
  assert.deepEqual(b.shapeOf(b.reduceSum(x, [1], false)), [BATCH]);
  assert.deepEqual(b.shapeOf(b.reduceMean(x, [0], true)), [1, 6]);
  assert.deepEqual(b.shapeOf(b.reduceSum(x, undefined, false)), []);
  assert.deepEqual(b.shapeOf(b.concat([x, x], 1)), [BATCH, 12]);
  assert.deepEqual(b.split(x, 1, [2, 4]).map((s) => b.shapeOf(s)), [[BATCH, 2], [BATCH, 4]]);
  assert.deepEqual(b.shapeOf(b.unsqueeze(x, [0, -1])), [1, BATCH, 6, 1]);
  assert.deepEqual(b.shapeOf(b.squeeze(b.unsqueeze(x, [1]), [1])), [BATCH, 6]);
  assert.deepEqual(b.shapeOf(b.reshape(x, [BATCH, 2, 3])), [BATCH, 2, 3]);
  assert.equal(b.typeOf(b.greater(x, b.scalar(0))).elem, 'bool');
  assert.equal(b.typeOf(b.runtimeSize(x)).elem, 'float');
});

test('operand errors name the op and the shapes', () => {
  const b = new GraphBuilder('errors', 'float');
  const x = b.input('x', [BATCH, 6]);
  assert.throws(() => b.gemm(x, b.input('w', [5, 4])), /Gemm: inner dimensions differ: x \[batch, 6\], w \[5, 4\]/);
  assert.throws(() => b.gemm(x, b.input('v', [6, 4]), b.input('c', [3])), /do not broadcast/);
  assert.throws(() => b.squeeze(x, [1]), /Squeeze: axis 1 of x \[batch, 6\] is not 1/);
  assert.throws(() => b.reshape(x, [4, 3]), /Reshape: x \[batch, 6\] cannot become \[4, 3\]/);
  assert.throws(() => b.concat([x, x], 0), /Concat along the batch axis/);
  assert.throws(() => b.reduceSum(x, [2], true), /axis 2 is out of range for rank 2/);
  assert.throws(() => b.reduceMean(x, [], true), /empty axes; pass undefined/);
  assert.throws(() => b.relu('nope'), /graph 'errors' has no value named 'nope'/);
  assert.throws(() => b.input('x', [1]), /already has a value named 'x'/);
  assert.throws(() => b.initializer('k', Float64Array.of(1), []), /'k' is double but graph 'errors' is float/);
  assert.throws(() => b.initializer('k', Float32Array.of(1, 2), [3]), /2 values for dims \[3\]/);
  assert.throws(() => b.relu(b.greater(x, x)), /Relu: '.*' is bool, expected float/);
});

test('names are unique, constants are shared, outputs keep their names', () => {
  const b = new GraphBuilder('names', 'double');
  const x = b.input('x', [BATCH, 2]);
  const a = b.relu(x);
  const c = b.relu(x, 'named');
  assert.notEqual(a, x);
  assert.equal(c, 'named');
  assert.equal(b.scalar(1.5), b.scalar(1.5));
  assert.notEqual(b.scalar(0), b.scalar(-0));
  assert.equal(b.int64s([1, 2]), b.int64s([1, 2]));
  assert.deepEqual(b.constantInts(b.int64s([3, -1])), [3, -1]);
  b.output(c);
  assert.throws(() => b.output(c), /already an output/);
  const g = b.build();
  assert.deepEqual(g.outputs, ['named']);
  assert.equal(g.nodes.length, 2);
  // A builder continued from a graph keeps it and never reuses its names.
  const more = GraphBuilder.from(g);
  const d = more.relu(c);
  assert.ok(!g.types.has(d));
  assert.equal(more.build().nodes.length, 3);
  assert.equal(g.nodes.length, 2);
});
