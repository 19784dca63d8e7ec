import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gradName } from '../nn/autodiff.js';
import { checkGraphGradients, formatComparison, signedFeed, type DoubleFeeds } from '../nn/gradient-check.js';
import { OrtSession, type HostTensor } from '../nn/session.js';
import { Rng } from '../util/rng.js';
import { buildDenseGraph, buildTrainingGraph, initParams, paramDecls, type ParamSet } from './dense-graph.js';
import { DenseNet } from './dense-net.js';
import type { DenseArch } from './definition.js';
import { esmmArch } from './kinds/esmm.js';
import { towerSlice } from './layers.js';
import { singleTower } from './nets.js';
import { toOnnxModel } from '../nn/onnx.js';

/** The three dense graphs of the paper's models, at test size. */
interface Case {
  kind: 'esmm' | 'single' | 'esmm-ns';
  arch: DenseArch;
  inputDim: number;
  hidden: number[];
  dropout: number;
}
const shape = (dropout: number) => ({ hidden: [5, 4], dropout });
const esmmCase = (dropout = 0.3, inputDim = 6, hidden = [5, 4]): Case => ({ kind: 'esmm', arch: esmmArch({ hidden, dropout }, (_g, x) => [x, x]), inputDim, hidden, dropout });
const singleCase = (dropout = 0.3, inputDim = 6, hidden = [5, 4]): Case => ({ kind: 'single', arch: singleTower('click', { hidden, dropout }), inputDim, hidden, dropout });
/** 3 fields, 2 values per field and tower: x = [f0 ctr(2) | f0 cvr(2) | f1 ctr | f1 cvr | f2 ctr | f2 cvr]. */
const esmmNsCase = (dropout = 0.3): Case => ({
  kind: 'esmm-ns',
  arch: esmmArch(shape(dropout), (g, x) => [towerSlice(g, x, 2, 2, 0), towerSlice(g, x, 2, 2, 1)]),
  inputDim: 12,
  hidden: [5, 4],
  dropout,
});
const ESMM = esmmCase();
const SINGLE = singleCase();
const ESMM_NS = esmmNsCase();
const paramNames = (c: Case) => paramDecls(c.arch, c.inputDim).map((d) => d.name);
const init = (c: Case, rng: Rng): ParamSet => initParams(paramDecls(c.arch, c.inputDim), rng);
const trainingModel = (c: Case, elem: 'float' | 'double') => toOnnxModel(buildTrainingGraph(c.arch, c.inputDim, elem));
const inferenceModel = (c: Case, params?: ParamSet, elem: 'float' | 'double' = 'float') =>
  toOnnxModel(buildDenseGraph(c.arch, c.inputDim, { training: false, elemType: elem, ...(params ? { params } : {}) }));
const BATCH = 7;

/** Double feeds for a training graph: params (with non-zero biases), masks, x, labels, weights. */
function trainingFeeds(spec: Case, seed: number): DoubleFeeds {
  const rng = new Rng(seed);
  const feeds: DoubleFeeds = {};
  for (const [name, p] of init(spec, rng)) {
    const data = Float64Array.from(p.data);
    if (p.dims.length === 1) for (let i = 0; i < data.length; i++) data[i] = 0.2 * (rng.next() - 0.5);
    feeds[name] = { data, dims: p.dims };
  }
  const keep = 1 - spec.dropout;
  for (const d of buildDenseGraph(spec.arch, spec.inputDim, { training: true }).dropouts) {
    const width = d.shape[1] as number;
    const data = Float64Array.from({ length: BATCH * width }, () => (rng.next() < keep ? 1 / keep : 0));
    feeds[d.mask] = { data, dims: [BATCH, width] };
  }
  feeds.x = signedFeed(rng, [BATCH, spec.inputDim], 0.1, 1.5);
  const click = Float64Array.from({ length: BATCH }, (_, i) => i % 2);
  const conversion = Float64Array.from(click, (c, i) => (c && i % 3 === 0 ? 1 : 0));
  feeds.click = { data: click, dims: [BATCH] };
  if (spec.kind !== 'single') feeds.ctcvr = { data: conversion, dims: [BATCH] };
  return feeds;
}

/** The part of x row r that a tower reads: all of it, or (esmm-ns) its fieldDim values of every field. */
function towerInput(spec: Case, x: Float64Array, r: number, tower: string): number[] {
  const row = Array.from(x.subarray(r * spec.inputDim, (r + 1) * spec.inputDim));
  if (spec.kind !== 'esmm-ns') return row;
  const d = 2;
  const half = tower === 'ctr' ? 0 : 1;
  return row.filter((_, j) => Math.floor(j / d) % 2 === half);
}

/** Tower logits computed in plain JS: the reference the graphs must agree with. */
function referenceLogit(spec: Case, feeds: DoubleFeeds, tower: string, withMasks: boolean): number[] {
  const x = feeds.x!.data;
  const logits: number[] = [];
  for (let r = 0; r < BATCH; r++) {
    let h = towerInput(spec, x, r, tower);
    for (let i = 0; i <= spec.hidden.length; i++) {
      const w = feeds[`${tower}.w${i}`]!;
      const bias = feeds[`${tower}.b${i}`]!.data;
      const out = w.dims[1]!;
      let next = Array.from({ length: out }, (_, j) => h.reduce((acc, v, k) => acc + v * w.data[k * out + j]!, bias[j]!));
      if (i < spec.hidden.length) {
        next = next.map((v) => Math.max(v, 0));
        const mask = feeds[`${tower}.mask${i}`];
        if (withMasks && mask) next = next.map((v, j) => v * mask.data[r * out + j]!);
      }
      h = next;
    }
    logits.push(h[0]!);
  }
  return logits;
}

const sigmoid = (l: number) => 1 / (1 + Math.exp(-l));
const logitCe = (y: number, l: number) => Math.log1p(Math.exp(l)) - y * l;

function referenceLoss(spec: Case, feeds: DoubleFeeds): { loss: number; outputs: Record<string, number[]> } {
  if (spec.kind === 'single') {
    const l = referenceLogit(spec, feeds, 'net', true);
    const y = feeds.click!.data;
    const loss = l.reduce((acc, li, i) => acc + logitCe(y[i]!, li), 0) / BATCH;
    return { loss, outputs: { p: l.map(sigmoid) } };
  }
  const ctr = referenceLogit(spec, feeds, 'ctr', true);
  const pcvr = referenceLogit(spec, feeds, 'cvr', true).map(sigmoid);
  const pctr = ctr.map(sigmoid);
  const pctcvr = pctr.map((p, i) => p * pcvr[i]!);
  const click = feeds.click!.data;
  const z = feeds.ctcvr!.data;
  let loss = 0;
  for (let i = 0; i < BATCH; i++) {
    const p = Math.min(Math.max(pctcvr[i]!, 1e-7), 1 - 1e-7);
    loss += (logitCe(click[i]!, ctr[i]!) - (z[i]! * Math.log(p) + (1 - z[i]!) * Math.log(1 - p)));
  }
  return { loss: loss / BATCH, outputs: { pctr, pcvr, pctcvr } };
}

async function runOnce(model: Uint8Array, feeds: Record<string, HostTensor>) {
  const s = await OrtSession.create(model, { threads: 1 });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  for (let i = 0; i < expected.length; i++)
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= rtol * scale,
      `${what}[${i}]: ${actual[i]} vs ${expected[i]} (allowed ${rtol} × ${scale})`,
    );
}

test('parameter names, dims and a deterministic initialization', () => {
  assert.deepEqual(paramNames(ESMM), [
    'ctr.w0', 'ctr.b0', 'ctr.w1', 'ctr.b1', 'ctr.w2', 'ctr.b2',
    'cvr.w0', 'cvr.b0', 'cvr.w1', 'cvr.b1', 'cvr.w2', 'cvr.b2',
  ]);
  const decls = paramDecls(SINGLE.arch, SINGLE.inputDim);
  assert.deepEqual(decls.find((d) => d.name === 'net.w1')!.dims, [5, 4]);
  assert.deepEqual(decls.find((d) => d.name === 'net.b2')!.dims, [1]);
  const a = init(ESMM, new Rng(1));
  const b = init(ESMM, new Rng(1));
  const c = init(ESMM, new Rng(2));
  assert.deepEqual([...a.keys()], paramNames(ESMM));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.get('ctr.w0')!.data, c.get('ctr.w0')!.data);
  assert.ok(a.get('ctr.b0')!.data.every((v) => v === 0));
  // He uniform after a ReLU layer (limit sqrt(6 / fan_in)), Glorot uniform for the logit layer.
  const w0 = a.get('ctr.w0')!.data;
  const w2 = a.get('ctr.w2')!.data;
  assert.ok(w0.every((v) => Math.abs(v) <= Math.sqrt(6 / 6)) && w0.some((v) => Math.abs(v) > Math.sqrt(6 / 11)));
  assert.ok(w2.every((v) => Math.abs(v) <= Math.sqrt(6 / 5)));
  // No hidden layer: logistic regression, and no dropout masks to feed.
  const linear = singleCase(0.5, 3, []);
  assert.deepEqual(paramNames(linear), ['net.w0', 'net.b0']);
  assert.deepEqual(buildTrainingGraph(linear.arch, 3).inputs, ['x', 'net.w0', 'net.b0', 'click']);
});

test('a parameter declared with given values starts from exactly them and draws nothing from the generator', () => {
  const given = [0.9, 0.1, -0.25, 0.1, 0.9, 3];
  const arch = (withGiven: boolean): DenseArch => ({
    forward: (g, x) => {
      if (withGiven) g.param('mix', [2, 3], { kind: 'values', values: given });
      const w = g.param('w', [2, 1], { kind: 'glorot-uniform', fanIn: 2, fanOut: 1 });
      return { p: g.sigmoid(g.squeeze(g.gemm(x, w), [1]), 'p') };
    },
    loss: (g, v) => g.neg(g.log(v.p!)),
  });
  const params = initParams(paramDecls(arch(true), 2), new Rng(5));
  assert.deepEqual(params.get('mix'), { dims: [2, 3], data: Float32Array.from(given) });
  // The random parameter after it is what it would be without it.
  assert.deepEqual(params.get('w'), initParams(paramDecls(arch(false), 2), new Rng(5)).get('w'));
  const wrong: DenseArch = { forward: (g, x) => ({ p: g.mul(x, g.param('m', [2], { kind: 'values', values: [1, 2, 3] }), 'p') }), loss: (_g, v) => v.p! };
  assert.throws(() => paramDecls(wrong, 2), /parameter 'm' \[2\] needs 2 finite initial values \(got 3: 1, 2, 3\)/);
});

test('graph interfaces: training inputs/outputs, and the inference graph without masks or labels', () => {
  const train = buildTrainingGraph(ESMM.arch, ESMM.inputDim);
  const params = paramNames(ESMM);
  assert.deepEqual(
    [...train.inputs].sort(),
    ['x', ...params, 'ctr.mask0', 'ctr.mask1', 'cvr.mask0', 'cvr.mask1', 'click', 'ctcvr'].sort(),
  );
  assert.deepEqual(train.labels, ['click', 'ctcvr']);
  assert.deepEqual(train.dropouts.map((d) => d.mask), ['ctr.mask0', 'ctr.mask1', 'cvr.mask0', 'cvr.mask1']);
  assert.deepEqual(train.outputs, ['pctr', 'pcvr', 'pctcvr', 'loss', ...params.map(gradName), 'grad:x']);
  const infer = buildDenseGraph(ESMM.arch, ESMM.inputDim, { training: false });
  assert.deepEqual([...infer.inputs].sort(), ['x', ...params].sort());
  assert.deepEqual(infer.outputs, ['pctr', 'pcvr', 'pctcvr']);
  const baked = buildDenseGraph(SINGLE.arch, SINGLE.inputDim, { training: false, params: init(SINGLE, new Rng(1)) });
  assert.deepEqual(baked.inputs, ['x']);
  assert.deepEqual([...baked.initializers.keys()].filter((k) => k.startsWith('net.')), paramNames(SINGLE));
});

for (const spec of [ESMM, SINGLE, ESMM_NS])
  test(`${spec.kind}: the training graph's loss and predictions match a plain-JS reference`, async () => {
    const feeds = trainingFeeds(spec, 21);
    const out = await runOnce(trainingModel(spec, 'double'), feeds);
    const ref = referenceLoss(spec, feeds);
    assertClose(out.loss!.data, [ref.loss], 1e-12, 'loss');
    for (const [name, values] of Object.entries(ref.outputs)) assertClose(out[name]!.data, values, 1e-12, name);
  });

for (const spec of [ESMM, SINGLE, ESMM_NS])
  test(`${spec.kind}: gradients w.r.t. every parameter and x match central differences (float64, dropout masks)`, async () => {
    const feeds = trainingFeeds(spec, 22);
    const graph = buildDenseGraph(spec.arch, spec.inputDim, { elemType: 'double', training: true });
    const wrt = [...paramNames(spec), 'x'];
    const result = await checkGraphGradients(graph, 'loss', feeds, wrt);
    assert.equal(result.failures.length, 0, formatComparison(result.worst));
    assert.equal(result.checked, wrt.reduce((a, n) => a + feeds[n]!.data.length, 0));
  });

test('esmm-ns: each tower reads its own halves of x', async () => {
  const decls = paramDecls(ESMM_NS.arch, ESMM_NS.inputDim);
  assert.deepEqual(decls.find((d) => d.name === 'ctr.w0')!.dims, [6, 5]);
  assert.deepEqual(decls.find((d) => d.name === 'cvr.w0')!.dims, [6, 5]);
  // Changing the CVR halves of x leaves pCTR alone and moves pCVR; the CTR halves the other way.
  const spec = esmmNsCase(0);
  const feeds = trainingFeeds(spec, 25);
  const model = inferenceModel(spec, undefined, 'double');
  const inputs = (x: Float64Array) => {
    const f: DoubleFeeds = { x: { data: x, dims: [BATCH, spec.inputDim] } };
    for (const name of paramNames(spec)) f[name] = feeds[name]!;
    return f;
  };
  const base = await runOnce(model, inputs(feeds.x!.data));
  for (const half of [0, 1]) {
    const x = feeds.x!.data.map((v, j) => (Math.floor((j % spec.inputDim) / 2) % 2 === half ? v + 0.5 : v));
    const moved = await runOnce(model, inputs(x));
    const [same, changed] = half === 0 ? ['pcvr', 'pctr'] : ['pctr', 'pcvr'];
    assert.deepEqual(moved[same]!.data, base[same]!.data, `${same} must not read the ${half ? 'CVR' : 'CTR'} half`);
    assert.notDeepEqual(moved[changed]!.data, base[changed]!.data);
  }
  assert.throws(() => paramDecls(esmmArch(shape(0), (g, x) => [towerSlice(g, x, 4, 2, 0), x]), 12), /x of width 12 is not fields × 2 × 4/);
});
test('the ESMM loss reaches the CVR tower only through pCTCVR (no direct CVR loss)', async () => {
  // With every ctcvr label 0, the loss falls as pCVR falls; with pCTR fixed, CE(click, pCTR) is
  // untouched, so the whole gradient on the CVR tower comes from the pCTCVR term.
  const feeds = trainingFeeds(esmmCase(0), 23);
  feeds.ctcvr = { data: new Float64Array(BATCH), dims: [BATCH] };
  const out = await runOnce(trainingModel(esmmCase(0), 'double'), feeds);
  const pctr = out.pctr!.data;
  const pcvr = out.pcvr!.data;
  // d loss / d cvr.b2 = mean_i d(-log(1 - pctr pcvr))/d logit_cvr = mean_i pctr pcvr (1 - pcvr) / (1 - pctr pcvr).
  let expected = 0;
  for (let i = 0; i < BATCH; i++) expected += (pctr[i]! * pcvr[i]! * (1 - pcvr[i]!)) / (1 - pctr[i]! * pcvr[i]!);
  assertClose(out[gradName('cvr.b2')]!.data, [expected / BATCH], 1e-12, 'grad:cvr.b2');
});

test('the float32 training graph agrees with the float64 one to ~1e-4', async () => {
  const spec = ESMM;
  const feeds64 = trainingFeeds(spec, 24);
  const feeds32: Record<string, HostTensor> = {};
  for (const [name, f] of Object.entries(feeds64)) feeds32[name] = { data: Float32Array.from(f.data), dims: f.dims };
  // Compare both on the float32-rounded inputs.
  for (const [name, f] of Object.entries(feeds32)) feeds64[name] = { data: Float64Array.from(f.data), dims: f.dims };
  const out64 = await runOnce(trainingModel(spec, 'double'), feeds64);
  const out32 = await runOnce(trainingModel(spec, 'float'), feeds32);
  assert.ok(out32.loss!.data instanceof Float32Array);
  for (const name of ['loss', 'pctr', 'pcvr', 'pctcvr', ...[...paramNames(spec), 'x'].map(gradName)])
    assertClose(out32[name]!.data, out64[name]!.data, 1e-4, name);
});

/** A small synthetic ESMM problem: click and conversion depend on x through fixed directions. */
function syntheticBatch(spec: { inputDim: number }, n: number, seed: number) {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: n * spec.inputDim }, () => rng.normal());
  const click = new Float32Array(n);
  const ctcvr = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const row = x.subarray(i * spec.inputDim, (i + 1) * spec.inputDim);
    click[i] = rng.next() < sigmoid(2 * row[0]! - row[1]!) ? 1 : 0;
    ctcvr[i] = click[i]! && rng.next() < sigmoid(2 * row[2]!) ? 1 : 0;
  }
  return { x, click, ctcvr };
}

function sgd(params: ParamSet, grads: Map<string, Float32Array>, lr: number): void {
  for (const [name, p] of params) {
    const g = grads.get(name)!;
    for (let i = 0; i < p.data.length; i++) p.data[i]! -= lr * g[i]!;
  }
}

test('DenseNet: plain SGD steps lower the loss on a synthetic problem', async () => {
  const spec = esmmCase(0, 8, [16, 8]);
  const net = await DenseNet.create(spec.arch, spec.inputDim, init(spec, new Rng(4)), { threads: 1 });
  try {
    const data = syntheticBatch(spec, 256, 5);
    const losses: number[] = [];
    for (let step = 0; step < 40; step++) {
      const r = await net.trainStep(data.x, 256, { click: data.click, ctcvr: data.ctcvr });
      assert.equal(r.gradX.length, 256 * spec.inputDim);
      assert.equal(r.outputs.pctcvr!.length, 256);
      losses.push(r.loss);
      sgd(net.params, r.grads, 0.5);
    }
    assert.ok(losses.at(-1)! < 0.85 * losses[0]!, `loss went from ${losses[0]} to ${losses.at(-1)}`);
    // What it learned points the right way: clicked rows get the higher pCTR.
    const { pctr } = await net.predict(data.x, 256);
    const meanWhere = (label: number) => {
      const picked = pctr!.filter((_, i) => data.click[i] === label);
      return picked.reduce((a, v) => a + v, 0) / picked.length;
    };
    assert.ok(meanWhere(1) > meanWhere(0) + 0.1, `mean pCTR clicked ${meanWhere(1)}, unclicked ${meanWhere(0)}`);
  } finally {
    await net.release();
  }
});

test('DenseNet: the same seed gives identical losses and parameters; another seed other dropout', async () => {
  const spec = esmmCase(0.4, 8, [16, 8]);
  const data = syntheticBatch(spec, 64, 6);
  const run = async (seed: number) => {
    const net = await DenseNet.create(spec.arch, spec.inputDim, init(spec, new Rng(7)), { threads: 1, seed });
    try {
      const losses: number[] = [];
      for (let step = 0; step < 5; step++) {
        const r = await net.trainStep(data.x, 64, { click: data.click, ctcvr: data.ctcvr });
        losses.push(r.loss);
        sgd(net.params, r.grads, 0.1);
      }
      return { losses, params: net.params };
    } finally {
      await net.release();
    }
  };
  const a = await run(1);
  const b = await run(1);
  const c = await run(2);
  assert.deepEqual(a.losses, b.losses);
  assert.deepEqual(a.params, b.params);
  assert.notDeepEqual(a.losses, c.losses);
});

test('DenseNet: dropout keeps about 1 - p of the units, scaled by 1 / (1 - p)', async () => {
  // x = 1 → hidden unit j = mask_j (w0 = 1, b0 = 0), logit = 0.001 Σ mask_j; with label 0 and
  // weight 1, d loss / d w1[j] = p · mask_j, so the gradient shows the mask.
  const spec = singleCase(0.25, 1, [2000]);
  const params = init(spec, new Rng(8));
  params.get('net.w0')!.data.fill(1);
  params.get('net.w1')!.data.fill(0.001);
  const net = await DenseNet.create(spec.arch, spec.inputDim, params, { threads: 1, seed: 3 });
  try {
    const r = await net.trainStep(Float32Array.of(1), 1, { click: Float32Array.of(0) });
    const p = r.outputs.p![0]!;
    const mask = Array.from(r.grads.get('net.w1')!, (g) => g / p);
    const kept = mask.filter((m) => m !== 0);
    for (const m of kept) assert.ok(Math.abs(m - 1 / 0.75) < 1e-5, `kept unit scaled by ${m}`);
    assert.ok(Math.abs(kept.length / 2000 - 0.75) < 0.04, `kept ${kept.length} of 2000`);
    assert.ok(Math.abs(Math.log(p / (1 - p)) - 0.001 * kept.length / 0.75) < 1e-4);
  } finally {
    await net.release();
  }
});

test('DenseNet: a baked inference model predicts what predict() does; partial batches work', async () => {
  for (const spec of [esmmCase(0.5), SINGLE, ESMM_NS]) {
    const params = init(spec, new Rng(9));
    for (const [, p] of params) if (p.dims.length === 1) p.data.fill(0.05);
    const net = await DenseNet.create(spec.arch, spec.inputDim, params, { threads: 1 });
    try {
      const x = Float32Array.from({ length: 5 * spec.inputDim }, (_, i) => Math.sin(i));
      const predicted = await net.predict(x, 5);
      const baked = await runOnce(inferenceModel(spec, params), { x: { data: x, dims: [5, spec.inputDim] } });
      for (const [name, values] of Object.entries(predicted)) assertClose(baked[name]!.data, values, 1e-6, name);
      const partial = await net.predict(x.subarray(0, 2 * spec.inputDim), 2);
      for (const [name, values] of Object.entries(partial)) assertClose(values, predicted[name]!.subarray(0, 2), 1e-6, name);
    } finally {
      await net.release();
    }
  }
});

test('DenseNet in predict mode: weights baked in, the same predictions as train mode; it refuses to train', async () => {
  for (const spec of [ESMM, SINGLE, ESMM_NS]) {
    const params = init(spec, new Rng(4));
    const trainMode = await DenseNet.create(spec.arch, spec.inputDim, params, { threads: 1 });
    const predictMode = await DenseNet.create(spec.arch, spec.inputDim, params, { threads: 1, mode: 'predict' });
    try {
      assert.equal(trainMode.mode, 'train');
      assert.equal(predictMode.mode, 'predict');
      for (const n of [1, 6]) {
        const x = Float32Array.from({ length: n * spec.inputDim }, (_, i) => Math.cos(3 * i));
        const expected = await trainMode.predict(x, n);
        const actual = await predictMode.predict(x, n);
        for (const [name, values] of Object.entries(expected)) assertClose(actual[name]!, values, 1e-6, `${spec.kind} ${name} batch ${n}`);
      }
      const one = new Float32Array(1);
      await assert.rejects(predictMode.trainStep(new Float32Array(spec.inputDim), 1, { click: one, ctcvr: one }), /loaded for prediction only/);
    } finally {
      await trainMode.release();
      await predictMode.release();
    }
  }
});

test('DenseNet: extreme logits keep the loss and gradients finite (float32)', async () => {
  const spec = esmmCase(0);
  const net = await DenseNet.create(spec.arch, spec.inputDim, init(spec, new Rng(12)), { threads: 1 });
  try {
    const x = Float32Array.from({ length: 4 * 6 }, (_, i) => (i % 2 ? 1 : -1) * 1e4 * (1 + (i % 5)));
    const labels = { click: Float32Array.of(1, 0, 1, 0), ctcvr: Float32Array.of(1, 0, 0, 0) };
    const r = await net.trainStep(x, 4, labels);
    assert.ok(Number.isFinite(r.loss) && r.loss > 1, `loss ${r.loss}`);
    for (const [name, g] of r.grads) assert.ok(g.every(Number.isFinite), `grad:${name} has a non-finite value`);
    assert.ok(r.gradX.every(Number.isFinite));
  } finally {
    await net.release();
  }
});

test('DenseNet: refuses wrong parameters, missing labels and wrong lengths', async () => {
  const params = init(SINGLE, new Rng(1));
  await assert.rejects(DenseNet.create(ESMM.arch, ESMM.inputDim, params), /dense parameters lack 'ctr.w0'/);
  const bad: ParamSet = new Map(params);
  bad.set('net.w1', { dims: [4, 5], data: new Float32Array(20) });
  await assert.rejects(DenseNet.create(SINGLE.arch, SINGLE.inputDim, bad), /'net.w1' has dims \[4, 5\].*needs \[5, 4\]/);
  const net = await DenseNet.create(SINGLE.arch, SINGLE.inputDim, params, { threads: 1 });
  try {
    const x = new Float32Array(2 * 6);
    const one = new Float32Array(2);
    await assert.rejects(net.trainStep(x, 2, { ctcvr: one }), /reads label 'click', which was not given/);
    await assert.rejects(net.trainStep(x, 3, { click: one }), /x has 12 values; batch 3 × inputDim 6 needs 18/);
    await assert.rejects(net.trainStep(x, 2, { click: new Float32Array(3) }), /label 'click' has 3 values for a batch of 2/);
  } finally {
    await net.release();
  }
});
