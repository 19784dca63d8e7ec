import assert from 'node:assert/strict';
import { test } from 'node:test';
import { differentiate, gradName } from '../../nn/autodiff.js';
import { signedFeed, type DoubleFeeds } from '../../nn/gradient-check.js';
import { toOnnxModel } from '../../nn/onnx.js';
import { OrtSession } from '../../nn/session.js';
import { Rng } from '../../util/rng.js';
import { resolveModel } from '../cvr-model.js';
import { buildDenseGraph, initParams, paramDecls } from '../dense-graph.js';
import type { DenseArch } from '../definition.js';
import type { HyperSchema } from '../hyper.js';
import type { PartOptions } from './part.js';
import { OBJECTIVE_NAMES, objectiveOf, type ObjectiveName } from './parts.js';
import { labelFeeds, oneFieldSpec } from '../../test-support/dense-feeds.js';

/**
 * Where each loss term's gradient may flow, measured on the built graph: for every objective, a
 * graph whose loss is one term alone is differentiated by the project's autodiff and run in float64
 * on random parameters; the parameter groups (a parameter's name up to its first '.': a task's
 * tower, `aitm`) whose gradient is not exactly zero must be the ones the paper lets that term
 * train. The float64 gradient check cannot see this: it holds stop-gradient values fixed, so a
 * missing stop-gradient passes it.
 *
 * Written from the papers: ESCM²'s and DCMT's propensity ô is pCTR with its gradient stopped, so
 * no propensity-weighted term reaches the CTR tower; ESCM²-DR's joint learning trains the CVR tower
 * with the imputation fixed and the imputation tower with the prediction's error fixed; AITM's
 * purchase-side terms reach the click tower through the info layer (the transfer is trained).
 */
const EXPECTED: Readonly<Record<ObjectiveName, Readonly<Record<string, readonly string[]>>>> = {
  independent: { ctr: ['ctr'], ctcvr: ['ctcvr'] },
  esmm: { ctr: ['ctr'], ctcvr: ['ctr', 'cvr'] },
  'escm2-ips': { ctr: ['ctr'], cvr: ['cvr'], ctcvr: ['ctr', 'cvr'] },
  'escm2-dr': { ctr: ['ctr'], cvr: ['cvr'], imputation: ['imp'], ctcvr: ['ctr', 'cvr'] },
  dcmt: { ctr: ['ctr'], factual: ['cvr'], counterfactual: ['cvr_cf'], constraint: ['cvr', 'cvr_cf'], ctcvr: ['ctr', 'cvr'] },
  aitm: { ctr: ['ctr'], ctcvr: ['aitm', 'ctcvr', 'ctr'], calibrator: ['aitm', 'ctcvr', 'ctr'] },
};

const B = 8;
const D = 4;
const SPEC = oneFieldSpec(D);

/** Every objective over the towers backbone (each task's tower reads x alone), towers of one layer of 3. */
function resolved(objective: ObjectiveName) {
  return resolveModel({ kind: 'escm2-ips', spec: SPEC as never, hyper: { backbone: 'towers', objective, tower: [3] }, seed: 1 });
}

/** The component's forward graph with one term of its objective as the loss. */
function termArch(objective: ObjectiveName, term: string): DenseArch {
  const r = resolved(objective);
  const dense = r.components[0]!.dense;
  const options = r.config.hyper as PartOptions<HyperSchema>;
  return {
    forward: dense.forward,
    loss: (g, v) => objectiveOf(objective).loss(g, v, options).terms[term] ?? assert.fail(`${objective} has no loss term '${term}'`),
  };
}

function feeds(objective: ObjectiveName, seed: number): DoubleFeeds {
  const rng = new Rng(seed);
  const out: DoubleFeeds = {};
  for (const [name, p] of initParams(paramDecls(resolved(objective).components[0]!.dense, D), rng)) {
    const data = Float64Array.from(p.data, (v) => v + 0.3 * (rng.next() - 0.5));
    out[name] = { data, dims: p.dims };
  }
  // pCTR low and the purchase head high, so that AITM's calibrator max(pCTCVR − pCTR, 0) is active.
  if (objective === 'aitm') {
    out['ctr.b1']!.data[0] = -3;
    out['ctcvr.b1']!.data[0] = 3;
  }
  out.x = signedFeed(rng, [B, D], 0.1, 1.5);
  return { ...out, ...labelFeeds(B) };
}

/** The parameter groups whose gradient under `term` alone is not exactly zero. */
async function reachedGroups(objective: ObjectiveName, term: string): Promise<string[]> {
  const forward = buildDenseGraph(termArch(objective, term), D, { training: true, elemType: 'double' });
  const params = forward.params.map((p) => p.name);
  const graph = differentiate(forward, 'loss', params);
  const f = feeds(objective, 11);
  if (objective === 'aitm' && term === 'calibrator') {
    const session = await OrtSession.create(toOnnxModel(forward), { threads: 1 });
    try {
      const out = await session.run(f);
      assert.ok(out.loss!.data[0]! > 0, 'aitm: the calibrator is inactive on these feeds (pCTCVR ≤ pCTR everywhere), so the test would see nothing');
    } finally {
      await session.release();
    }
  }
  const session = await OrtSession.create(toOnnxModel(graph), { threads: 1 });
  try {
    const out = await session.run(f, params.map(gradName));
    const groups = new Set<string>();
    for (const p of params) if (out[gradName(p)]!.data.some((v) => v !== 0)) groups.add(p.split('.')[0]!);
    return [...groups].sort();
  } finally {
    await session.release();
  }
}

test('every objective is in the table, with exactly the loss terms it builds', () => {
  assert.deepEqual([...OBJECTIVE_NAMES].sort(), Object.keys(EXPECTED).sort());
  for (const objective of OBJECTIVE_NAMES) {
    const r = resolved(objective);
    let terms: string[] = [];
    buildDenseGraph(
      { forward: r.components[0]!.dense.forward, loss: (g, v) => {
        const loss = objectiveOf(objective).loss(g, v, r.config.hyper as PartOptions<HyperSchema>);
        terms = Object.keys(loss.terms);
        return loss.total;
      } },
      D,
      { training: true },
    );
    assert.deepEqual(terms.sort(), Object.keys(EXPECTED[objective]).sort(), `${objective}: its loss terms`);
  }
});

for (const objective of OBJECTIVE_NAMES)
  for (const [term, expected] of Object.entries(EXPECTED[objective]))
    test(`${objective}: the ${term} term sends gradient to ${expected.map((t) => `${t}.*`).join(', ')} and to no other parameter`, async () => {
      const reached = await reachedGroups(objective, term);
      const leaks = reached.filter((t) => !expected.includes(t));
      const missing = expected.filter((t) => !reached.includes(t));
      assert.ok(leaks.length === 0, `${objective}: the ${term} term trains ${leaks.map((t) => `${t}.*`).join(', ')}, which the paper does not let it reach (a stop-gradient missing?)`);
      assert.ok(missing.length === 0, `${objective}: the ${term} term does not reach ${missing.map((t) => `${t}.*`).join(', ')}`);
    });
