import assert from 'node:assert/strict';
import { test } from 'node:test';
import { differentiate, gradName } from './autodiff.js';
import { checkGradients, signedFeed } from './gradient-check.js';
import { GraphBuilder, type Graph } from './graph.js';
import { GRAD_RULES } from './grads/index.js';
import { toOnnxModel } from './onnx.js';
import { OrtSession } from './session.js';
import { BATCH } from './shape.js';
import { Rng } from '../util/rng.js';

/** loss = mean(label * sigmoid(x·w + bias)) + sum(c * d): a branch that wrt never reaches. */
function twoBranchGraph(): Graph {
  const b = new GraphBuilder('two_branches', 'double');
  const x = b.input('x', [BATCH, 3]);
  const w = b.input('w', [3, 1]);
  const bias = b.input('bias', [1]);
  const label = b.input('label', [BATCH, 1]);
  const c = b.input('c', [2]);
  const d = b.input('d', [2]);
  b.input('unused', [2]);
  const p = b.sigmoid(b.gemm(x, w, bias));
  const fit = b.reduceMean(b.mul(label, p), undefined, false);
  b.add(fit, b.reduceSum(b.mul(c, d), undefined, false), 'loss');
  b.output('loss');
  return b.build();
}

/** The nodes differentiate appended, and every name they read. */
function backwardReads(forward: Graph, trained: Graph): Set<string> {
  return new Set(trained.nodes.slice(forward.nodes.length).flatMap((n) => n.inputs));
}

test('differentiate adds one grad:<name> output per wrt name, after the forward outputs', () => {
  const g = twoBranchGraph();
  const t = differentiate(g, 'loss', ['w', 'x']);
  assert.deepEqual(t.outputs, ['loss', 'grad:w', 'grad:x']);
  assert.deepEqual(t.types.get('grad:w')?.shape, [3, 1]);
  assert.deepEqual(t.types.get('grad:x')?.shape, [BATCH, 3]);
  assert.equal(gradName('x'), 'grad:x');
});

test('no gradient work off the wrt-to-loss paths, and none for inputs that need none', () => {
  const g = twoBranchGraph();
  const onlyW = differentiate(g, 'loss', ['w']);
  const reads = backwardReads(g, onlyW);
  // d/dw of the Gemm reads x; the c*d branch and the label's gradient are never built.
  assert.ok(reads.has('x'));
  for (const name of ['c', 'd', 'w', 'bias']) assert.ok(!reads.has(name), `backward pass reads '${name}'`);
  const withX = differentiate(g, 'loss', ['w', 'x']);
  assert.ok(backwardReads(g, withX).has('w'), 'd/dx of the Gemm reads w');
  assert.ok(withX.nodes.length > onlyW.nodes.length);
});

test('a wrt name that does not reach the loss gets a zero gradient of its shape', async () => {
  const g = twoBranchGraph();
  const t = differentiate(g, 'loss', ['unused', 'c']);
  const session = await OrtSession.create(toOnnxModel(t));
  try {
    const rng = new Rng(1);
    const feed = (dims: number[]) => signedFeed(rng, dims, 0.5, 1);
    const feeds = { x: feed([2, 3]), w: feed([3, 1]), bias: feed([1]), label: feed([2, 1]), c: feed([2]), d: feed([2]), unused: feed([2]) };
    const out = await session.run(feeds);
    assert.deepEqual(Array.from(out['grad:unused']!.data), [0, 0]);
    assert.deepEqual(Array.from(out['grad:c']!.data), Array.from(feeds.d.data));
  } finally {
    await session.release();
  }
});

test('the gradient check catches a wrong rule', async () => {
  // Sigmoid gradient missing its (1 - y) factor.
  const wrong = {
    ...GRAD_RULES,
    Sigmoid: GRAD_RULES.Exp!,
  };
  const x = signedFeed(new Rng(2), [3, 2], 0.1, 2);
  const build = (b: GraphBuilder) => b.sigmoid(b.input('x', [BATCH, 2]));
  const good = await checkGradients(build, { x }, ['x']);
  const bad = await checkGradients(build, { x }, ['x'], { rules: wrong });
  assert.equal(good.failures.length, 0);
  assert.equal(bad.failures.length, 6);
});

test('errors: unknown op rule, non-scalar loss, unknown or repeated wrt names', () => {
  const g = twoBranchGraph();
  assert.throws(() => differentiate(g, 'loss', ['w'], {}), /no gradient rule for op \w+/);
  assert.throws(() => differentiate(g, 'x', ['w']), /loss 'x' must be one double/);
  assert.throws(() => differentiate(g, 'loss', ['nope']), /no value named 'nope'/);
  assert.throws(() => differentiate(g, 'loss', ['w', 'w']), /repeated names/);
});

test('stopGradient: a value used through it gets the gradient of its other uses only', async () => {
  // y = x · stop(x): dy/dx is stop(x) = x, not 2x; the check's finite differences see 2x, so the
  // analytic gradient is compared with a graph whose second factor is an independent input.
  const x = signedFeed(new Rng(4), [3, 2], 0.2, 1.5);
  const b = new GraphBuilder('stop', 'double');
  const v = b.input('x', [BATCH, 2]);
  b.reduceSum(b.mul(v, b.stopGradient(v)), undefined, false, 'loss');
  b.output('loss');
  const trained = differentiate(b.build(), 'loss', ['x']);
  const session = await OrtSession.create(toOnnxModel(trained), { threads: 1 });
  try {
    const out = await session.run({ x }, [gradName('x')]);
    assert.deepEqual(Array.from(out[gradName('x')]!.data), Array.from(x.data));
  } finally {
    await session.release();
  }
});

test('graph roles: param(), label() and dropout() are recorded; inference graphs bake params and drop dropout', () => {
  const build = (training: boolean, bake?: Map<string, { dims: number[]; data: Float32Array }>) => {
    const b = new GraphBuilder('roles', 'float', { training, ...(bake ? { bake } : {}) });
    const x = b.input('x', [BATCH, 3]);
    const w = b.param('w', [3, 2], { kind: 'he-uniform', fanIn: 3 });
    const h = b.dropout(b.relu(b.gemm(x, w)), 0.25);
    b.output(b.reduceSum(h, [1], false, 'out'));
    if (training) b.output(b.reduceMean(b.mul(b.label('click'), 'out'), undefined, false, 'loss'));
    return b.build();
  };
  const train = build(true);
  assert.deepEqual(train.params, [{ name: 'w', dims: [3, 2], init: { kind: 'he-uniform', fanIn: 3 } }]);
  assert.deepEqual(train.labels, ['click']);
  assert.equal(train.dropouts.length, 1);
  assert.equal(train.dropouts[0]!.rate, 0.25);
  assert.ok(train.inputs.includes('w') && train.inputs.includes(train.dropouts[0]!.mask) && train.inputs.includes('click'));
  const infer = build(false, new Map([['w', { dims: [3, 2], data: new Float32Array(6) }]]));
  assert.deepEqual(infer.inputs, ['x']);
  assert.equal(infer.dropouts.length, 0);
  assert.ok(infer.initializers.has('w'));
  assert.throws(() => build(false, new Map([['w', { dims: [2, 3], data: new Float32Array(6) }]])), /parameter 'w' has dims \[2, 3\]/);
  assert.throws(() => new GraphBuilder('g', 'float').label('click'), /outside a training graph/);
});
