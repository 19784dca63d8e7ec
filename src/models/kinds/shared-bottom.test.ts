import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkGraphGradients, formatComparison, signedFeed, type DoubleFeeds } from '../../nn/gradient-check.js';
import { toOnnxModel } from '../../nn/onnx.js';
import { OrtSession } from '../../nn/session.js';
import { Rng } from '../../util/rng.js';
import { resolveModel } from '../cvr-model.js';
import { buildDenseGraph, initParams, paramDecls } from '../dense-graph.js';

const BATCH = 6;
const INPUT = 5;
const HYPER = { bottom: [4, 3], tower: [3], dropout: 0.2 };
const SPEC = { format: 'esmm-feature-spec', version: 1, embeddingDim: INPUT, tables: [{ name: 't', buckets: 8 }], fields: [{ name: 'f', table: 't', pooling: 'sum', weighted: false }] } as const;
const component = () => resolveModel({ kind: 'shared-bottom', spec: SPEC as never, hyper: HYPER, seed: 1 }).components[0]!;

/** Params moved off their initial values, masks, x and labels, in float64. */
function feeds(seed: number): DoubleFeeds {
  const rng = new Rng(seed);
  const c = component();
  const out: DoubleFeeds = {};
  for (const [name, p] of initParams(paramDecls(c.dense, INPUT), rng)) {
    // Every parameter moved off its initial values (biases off zero), so a mis-indexed one shows.
    const data = Float64Array.from(p.data, (v) => v + 0.2 * (rng.next() - 0.5));
    out[name] = { data, dims: p.dims };
  }
  for (const d of buildDenseGraph(c.dense, INPUT, { training: true }).dropouts) {
    const width = d.shape[1] as number;
    out[d.mask] = { data: Float64Array.from({ length: BATCH * width }, () => (rng.next() < 0.8 ? 1 / 0.8 : 0)), dims: [BATCH, width] };
  }
  out.x = signedFeed(rng, [BATCH, INPUT], 0.1, 1.5);
  out.click = { data: Float64Array.from({ length: BATCH }, (_, i) => i % 2), dims: [BATCH] };
  out.ctcvr = { data: Float64Array.from({ length: BATCH }, (_, i) => (i % 2 && i % 3 === 0 ? 1 : 0)), dims: [BATCH] };
  return out;
}

/** The plain-JS forward and loss the graph must agree with. */
function reference(f: DoubleFeeds) {
  const dense = (h: number[], scope: string, i: number, r: number, relu: boolean): number[] => {
    const w = f[`${scope}.w${i}`]!;
    const b = f[`${scope}.b${i}`]!.data;
    const out = w.dims[1]!;
    let y = Array.from({ length: out }, (_, j) => h.reduce((acc, v, k) => acc + v * w.data[k * out + j]!, b[j]!));
    if (relu) {
      y = y.map((v) => Math.max(v, 0));
      const mask = f[`${scope}.mask${i}`];
      if (mask) y = y.map((v, j) => v * mask.data[r * out + j]!);
    }
    return y;
  };
  const sigmoid = (l: number) => 1 / (1 + Math.exp(-l));
  const ce = (y: number, l: number) => Math.log1p(Math.exp(l)) - y * l;
  const pctr: number[] = [];
  const pcvr: number[] = [];
  const pctcvr: number[] = [];
  let loss = 0;
  for (let r = 0; r < BATCH; r++) {
    let h = Array.from(f.x!.data.subarray(r * INPUT, (r + 1) * INPUT));
    HYPER.bottom.forEach((_, i) => (h = dense(h, 'bottom', i, r, true)));
    const logit = (scope: string) => {
      let t = h;
      HYPER.tower.forEach((_, i) => (t = dense(t, scope, i, r, true)));
      return dense(t, scope, HYPER.tower.length, r, false)[0]!;
    };
    const lc = logit('ctr');
    const lt = logit('ctcvr');
    pctr.push(sigmoid(lc));
    pctcvr.push(sigmoid(lt));
    pcvr.push(Math.min(1, sigmoid(lt) / sigmoid(lc)));
    loss += ce(f.click!.data[r]!, lc) + ce(f.ctcvr!.data[r]!, lt);
  }
  return { loss: loss / BATCH, pctr, pcvr, pctcvr };
}

test('shared-bottom: the training graph matches a plain-JS forward and loss (float64)', async () => {
  const f = feeds(3);
  const graph = buildDenseGraph(component().dense, INPUT, { training: true, elemType: 'double' });
  const session = await OrtSession.create(toOnnxModel(graph), { threads: 1 });
  try {
    const out = await session.run(f);
    const ref = reference(f);
    assert.ok(Math.abs(out.loss!.data[0]! - ref.loss) < 1e-12, `loss ${out.loss!.data[0]} vs ${ref.loss}`);
    for (const name of ['pctr', 'pcvr', 'pctcvr'] as const)
      ref[name].forEach((v, i) => assert.ok(Math.abs(out[name]!.data[i]! - v) < 1e-12, `${name}[${i}]: ${out[name]!.data[i]} vs ${v}`));
    // The CTCVR head estimates pCTCVR, never above pCTR's share: pCVR is capped at 1.
    assert.ok(ref.pcvr.every((v) => v <= 1));
  } finally {
    await session.release();
  }
});

test('shared-bottom: gradients w.r.t. every parameter and x match central differences (float64, dropout)', async () => {
  const f = feeds(4);
  const c = component();
  const graph = buildDenseGraph(c.dense, INPUT, { training: true, elemType: 'double' });
  const wrt = [...graph.params.map((p) => p.name), 'x'];
  assert.deepEqual(
    graph.params.map((p) => p.name),
    // The bottom, each tower's hidden layers, then each task's logit layer.
    ['bottom.w0', 'bottom.b0', 'bottom.w1', 'bottom.b1', 'ctr.w0', 'ctr.b0', 'ctcvr.w0', 'ctcvr.b0', 'ctr.w1', 'ctr.b1', 'ctcvr.w1', 'ctcvr.b1'],
  );
  const result = await checkGraphGradients(graph, 'loss', f, wrt);
  assert.equal(result.failures.length, 0, formatComparison(result.worst));
  assert.equal(result.checked, wrt.reduce((a, n) => a + f[n]!.data.length, 0));
});
