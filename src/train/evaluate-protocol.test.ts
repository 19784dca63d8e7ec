/**
 * The evaluation protocol against values computed by brute force in this file: a model stub with
 * fixed predictions per sample id, over a tiny source with known clicks, conversions and truth, in
 * two blocks and batches that do not line up with them, four users for the GAUCs. Every key `evaluate --json` prints
 * (evaluateModel's result) must have its brute-force expectation in EXPECTED below: a metric added
 * to evaluate.ts without one fails here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Batch } from '../data/batch/jagged-types.js';
import type { SampleSource } from '../data/sample-source.js';
import { NO_GROUPS, type SampleBlock } from '../data/types.js';
import { parseSpec } from '../features/spec.js';
import type { CvrModel, Predictions } from '../models/cvr-model.js';
import { Rng } from '../util/rng.js';
import { evaluateModel, type EvalResult } from './evaluate.js';

interface Sample {
  click: 0 | 1;
  conversion: 0 | 1;
  /** True p(conversion | click). */
  truth: number;
  pctr: number;
  pcvr: number;
}

/**
 * 24 impressions. Predictions are float32-exact (multiples of 1/64) with deliberate ties, a few
 * at exactly 0 and 1 (where the log-loss clamp decides the value), and scores that rank differently
 * on every subset: a CVR AUC over all impressions, or a truth AUC against the observed conversions,
 * gives another number than the protocol's.
 */
const SAMPLES: Sample[] = [
  { click: 1, conversion: 1, truth: 0.9, pctr: 0.75, pcvr: 0.5 },
  { click: 1, conversion: 0, truth: 0.2, pctr: 0.5, pcvr: 0.5 },
  { click: 0, conversion: 0, truth: 0.8, pctr: 0.25, pcvr: 0.875 },
  { click: 0, conversion: 0, truth: 0.1, pctr: 0.125, pcvr: 0.0625 },
  { click: 1, conversion: 0, truth: 0.3, pctr: 0.5, pcvr: 0.25 },
  { click: 0, conversion: 0, truth: 1, pctr: 0, pcvr: 1 },
  { click: 1, conversion: 1, truth: 0.6, pctr: 1, pcvr: 0.25 },
  { click: 0, conversion: 0, truth: 0, pctr: 0.25, pcvr: 0 },
  { click: 1, conversion: 0, truth: 0.05, pctr: 0.875, pcvr: 0.75 },
  { click: 0, conversion: 0, truth: 0.7, pctr: 0.0625, pcvr: 0.625 },
  { click: 1, conversion: 1, truth: 0.5, pctr: 0.25, pcvr: 0.625 },
  { click: 0, conversion: 0, truth: 0.9, pctr: 0.5, pcvr: 0.9375 },
  { click: 1, conversion: 0, truth: 0.4, pctr: 0.75, pcvr: 0.125 },
  { click: 0, conversion: 0, truth: 0.15, pctr: 0.375, pcvr: 0.5 },
  { click: 1, conversion: 1, truth: 1, pctr: 0.625, pcvr: 1 },
  { click: 0, conversion: 0, truth: 0.6, pctr: 0.125, pcvr: 0.375 },
  { click: 1, conversion: 0, truth: 0, pctr: 0.375, pcvr: 0 },
  { click: 0, conversion: 0, truth: 0.35, pctr: 0.25, pcvr: 0.25 },
  { click: 0, conversion: 0, truth: 0.95, pctr: 0.0625, pcvr: 0.8125 },
  { click: 1, conversion: 0, truth: 0.25, pctr: 0.625, pcvr: 0.375 },
  { click: 0, conversion: 0, truth: 0.5, pctr: 0.5, pcvr: 0.5 },
  { click: 1, conversion: 1, truth: 0.75, pctr: 0.875, pcvr: 0.5 },
  { click: 0, conversion: 0, truth: 0.05, pctr: 1, pcvr: 0.0625 },
  { click: 0, conversion: 0, truth: 0.45, pctr: 0.375, pcvr: 0.75 },
];

const SPEC = parseSpec(
  {
    format: 'esmm-feature-spec',
    version: 1,
    embeddingDim: 2,
    tables: [{ name: 'item', buckets: 97 }, { name: 'user', buckets: 97 }],
    fields: [
      { name: '205', table: 'item', pooling: 'sum', weighted: false },
      { name: '101', table: 'user', pooling: 'sum', weighted: false },
    ],
  },
  'evaluate test spec',
);

/** The user (field 101's id) of sample i: four users, each holding several impressions of each subset. */
const userOf = (i: number) => 1000 + (i % 4);

/** The samples in blocks of `blockSize` (sample id = index), each with its item and its user. */
function source(samples: readonly Sample[], blockSize: number, withTruth = true): SampleSource {
  const blocks: SampleBlock[] = [];
  for (let s = 0; s < samples.length; s += blockSize) {
    const part = samples.slice(s, s + blockSize);
    const n = part.length;
    blocks.push({
      count: n,
      offsets: Uint32Array.from({ length: n + 1 }, (_, i) => 2 * i),
      fields: Uint8Array.from({ length: 2 * n }, (_, e) => e % 2),
      keys: Uint32Array.from({ length: 2 * n }, (_, e) => (e % 2 ? userOf(s + (e >> 1)) : s + (e >> 1) + 1)),
      values: new Float32Array(2 * n).fill(1),
      sampleIds: Float64Array.from(part, (_, i) => s + i),
      click: Uint8Array.from(part, (x) => x.click),
      conversion: Uint8Array.from(part, (x) => x.conversion),
      group: new Int32Array(n).fill(-1),
      ...(withTruth ? { truth: { pClick: new Float32Array(n).fill(0.5), pConvGivenClick: Float32Array.from(part, (x) => x.truth) } } : {}),
    });
  }
  return {
    fieldNames: ['205', '101'],
    groups: NO_GROUPS,
    numSamples: samples.length,
    numBlocks: blocks.length,
    readBlock: (i) => blocks[i]!,
  };
}

/**
 * A model stub: fixed predictions looked up by sample id, pCTCVR = pCTR × pCVR as every kind gives
 * it. Extra prediction arrays (for metrics that need more) can be added to `extra`.
 */
function stubModel(samples: readonly Sample[], extra: Record<string, (s: Sample) => number> = {}): CvrModel {
  const by = (batch: Batch, f: (s: Sample) => number) => Float32Array.from(batch.sampleIds, (id) => f(samples[id]!));
  const stub = {
    config: { kind: 'esmm', spec: SPEC, hyper: {}, seed: 0 },
    components: [],
    predict: async (batch: Batch): Promise<Predictions> => ({
      pctr: by(batch, (s) => s.pctr),
      pcvr: by(batch, (s) => s.pcvr),
      pctcvr: by(batch, (s) => Math.fround(s.pctr * s.pcvr)),
      ...Object.fromEntries(Object.entries(extra).map(([k, f]) => [k, by(batch, f)])),
    }),
    startEmbeddingThreads: async () => new Map(),
    release: async () => {},
  };
  return stub as unknown as CvrModel;
}

// ---- brute force, written independently of src/metrics ----

/** P(random positive scores above random negative), ties half: every pair counted. */
function bruteAuc(scores: readonly number[], labels: readonly number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!labels[i]) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j]) continue;
      pairs++;
      if (scores[i]! > scores[j]!) wins += 1;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return pairs ? wins / pairs : NaN;
}

/** Mean binary cross-entropy with p clamped to [1e-7, 1 - 1e-7] (Keras' epsilon). */
function bruteLogLoss(scores: readonly number[], labels: readonly number[]): number {
  const eps = 1e-7;
  let sum = 0;
  for (let i = 0; i < scores.length; i++) {
    const p = Math.min(Math.max(scores[i]!, eps), 1 - eps);
    sum += labels[i] ? -Math.log(p) : -Math.log(1 - p);
  }
  return scores.length ? sum / scores.length : NaN;
}

/** Per-user AUC averaged with the users' impression counts, over users holding both classes. */
function bruteGauc(samples: readonly Sample[], ids: readonly number[], score: (s: Sample) => number, label: (s: Sample) => number): number {
  const byUser = new Map<number, number[]>();
  for (const i of ids) byUser.set(userOf(i), [...(byUser.get(userOf(i)) ?? []), i]);
  let weighted = 0;
  let weights = 0;
  for (const own of byUser.values()) {
    const labels = own.map((i) => label(samples[i]!));
    if (!labels.includes(0) || !labels.includes(1)) continue;
    weighted += own.length * bruteAuc(own.map((i) => score(samples[i]!)), labels);
    weights += own.length;
  }
  return weights ? weighted / weights : NaN;
}

/** Σ predictions / Σ labels. */
const brutePcoc = (scores: readonly number[], labels: readonly number[]) => scores.reduce((a, b) => a + b, 0) / labels.reduce((a, b) => a + b, 0);

/** 10 equal-width bins (p = 1 in the last): Σ_bins |Σ predictions − Σ labels| / N. */
function bruteEce(scores: readonly number[], labels: readonly number[]): number {
  let gap = 0;
  for (let b = 0; b < 10; b++) {
    let p = 0;
    let y = 0;
    scores.forEach((v, i) => {
      if (Math.min(9, Math.floor(v * 10)) === b) {
        p += v;
        y += labels[i]!;
      }
    });
    gap += Math.abs(p - y);
  }
  return gap / scores.length;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/**
 * The conversions drawn from the truth for every impression, in file order, from the fixed seed
 * 20180708 (evaluate.ts' TRUTH_LABEL_SEED, written out here): label = u < p(conversion | click).
 */
function truthDrawnLabels(samples: readonly Sample[]): number[] {
  const rng = new Rng(20180708);
  return samples.map((s) => (rng.next() < Math.fround(s.truth) ? 1 : 0));
}

/** Every key of evaluate's result, with its expected value computed by brute force. */
function expected(samples: readonly Sample[], withTruth: boolean): Record<string, number> {
  const all = samples;
  const clicked = all.filter((s) => s.click);
  const unclicked = all.filter((s) => !s.click);
  const pctr = all.map((s) => s.pctr);
  const pctcvr = all.map((s) => Math.fround(s.pctr * s.pcvr));
  const ctcvr = all.map((s) => s.click * s.conversion);
  const out: Record<string, number> = {
    impressions: all.length,
    clicks: clicked.length,
    conversions: all.filter((s) => s.click && s.conversion).length,
    ctr_auc: bruteAuc(pctr, all.map((s) => s.click)),
    cvr_auc: bruteAuc(clicked.map((s) => s.pcvr), clicked.map((s) => s.conversion)),
    ctcvr_auc: bruteAuc(pctcvr, ctcvr),
    ctr_logloss: bruteLogLoss(pctr, all.map((s) => s.click)),
    cvr_logloss: bruteLogLoss(clicked.map((s) => s.pcvr), clicked.map((s) => s.conversion)),
    ctcvr_logloss: bruteLogLoss(pctcvr, ctcvr),
    cvr_auc_exposure: bruteAuc(all.map((s) => s.pcvr), ctcvr),
    ctr_pcoc: brutePcoc(pctr, all.map((s) => s.click)),
    cvr_pcoc: brutePcoc(clicked.map((s) => s.pcvr), clicked.map((s) => s.conversion)),
    ctcvr_pcoc: brutePcoc(pctcvr, ctcvr),
    ctr_ece: bruteEce(pctr, all.map((s) => s.click)),
    cvr_ece: bruteEce(clicked.map((s) => s.pcvr), clicked.map((s) => s.conversion)),
    ctcvr_ece: bruteEce(pctcvr, ctcvr),
  };
  // Every impression names its user.
  out.impressions_without_user = 0;
  const ids = all.map((_, i) => i);
  const clickedIds = ids.filter((i) => all[i]!.click);
  out.ctr_gauc = bruteGauc(all, ids, (s) => s.pctr, (s) => s.click);
  out.cvr_gauc = bruteGauc(all, clickedIds, (s) => s.pcvr, (s) => s.conversion);
  out.ctcvr_gauc = bruteGauc(all, ids, (s) => Math.fround(s.pctr * s.pcvr), (s) => s.click * s.conversion);
  if (withTruth) {
    out.cvr_auc_entire_space_truth = bruteAuc(all.map((s) => s.pcvr), truthDrawnLabels(all));
    out.pcvr_mae_truth_clicked = mean(clicked.map((s) => Math.abs(s.pcvr - Math.fround(s.truth))));
    out.pcvr_mae_truth_unclicked = mean(unclicked.map((s) => Math.abs(s.pcvr - Math.fround(s.truth))));
  }
  return out;
}

function assertMatches(got: EvalResult, want: Record<string, number>, what: string): void {
  // The user field the GAUCs used is a name, not a metric.
  assert.equal(got.gauc_user_field, '101', `${what}: GAUC's user field`);
  const keys = Object.keys(got).filter((k) => k !== 'gauc_user_field').sort();
  for (const k of keys) {
    assert.ok(k in want, `${what}: evaluate reports '${k}' but this test has no brute-force value for it: add one to expected()`);
  }
  assert.deepEqual(keys, Object.keys(want).sort(), `${what}: the metrics evaluate reports`);
  for (const k of keys) {
    const g = (got as unknown as Record<string, number>)[k]!;
    const w = want[k]!;
    // AUCs and counts are exact; log losses and MAEs are float64 sums in another order.
    if (Number.isNaN(w)) assert.ok(Number.isNaN(g), `${what}: ${k} = ${g}, brute force NaN`);
    else assert.ok(Math.abs(g - w) <= 1e-12 * Math.max(1, Math.abs(w)), `${what}: ${k} = ${g}, brute force ${w}`);
  }
}

test('every metric of evaluate equals its brute-force value (two blocks, batches across them)', async () => {
  const want = expected(SAMPLES, true);
  // The protocol's subsets matter on this data: the wrong subset or labels give other numbers.
  assert.notEqual(want.cvr_auc, bruteAuc(SAMPLES.map((s) => s.pcvr), SAMPLES.map((s) => s.conversion)));
  assert.notEqual(want.cvr_auc_entire_space_truth, bruteAuc(SAMPLES.map((s) => s.pcvr), SAMPLES.map((s) => s.conversion)));
  assert.notEqual(want.pcvr_mae_truth_clicked, want.pcvr_mae_truth_unclicked);
  for (const [blockSize, batchSize] of [
    [24, 4096],
    [10, 3],
    [7, 5],
  ] as const) {
    const r = await evaluateModel(stubModel(SAMPLES), source(SAMPLES, blockSize), { batchSize, quiet: true, embeddingThreads: false });
    assertMatches(r, want, `blocks of ${blockSize}, batches of ${batchSize}`);
  }
});

test('hand-checked values: the clamp at 1e-7 and the truth-drawn labels', async () => {
  // A positive predicted at exactly 0 costs -ln(1e-7) = 16.118..., a negative at exactly 1 as much.
  const two: Sample[] = [
    { click: 1, conversion: 1, truth: 1, pctr: 0, pcvr: 0 },
    { click: 0, conversion: 0, truth: 0, pctr: 1, pcvr: 1 },
  ];
  const r = await evaluateModel(stubModel(two), source(two, 2), { quiet: true, embeddingThreads: false });
  assert.ok(Math.abs(r.ctr_logloss - -Math.log(1e-7)) < 1e-9, `ctr log loss ${r.ctr_logloss}`);
  assert.ok(Math.abs(r.ctr_logloss - 16.11809565095832) < 1e-9, `ctr log loss ${r.ctr_logloss}`);
  assert.equal(r.ctr_auc, 0);
  assert.ok(Number.isNaN(r.cvr_auc), 'one clicked impression: no negative, no CVR AUC');
  // Truth 1 and 0 draw 1 and 0 whatever the generator: pCVR ranks the unclicked one above.
  assert.equal(r.cvr_auc_entire_space_truth, 0);
  assert.equal(r.pcvr_mae_truth_clicked, 1);
  assert.equal(r.pcvr_mae_truth_unclicked, 1);
});

test('without truth, the truth metrics are absent and the others unchanged', async () => {
  const r = await evaluateModel(stubModel(SAMPLES), source(SAMPLES, 9, false), { batchSize: 4, quiet: true, embeddingThreads: false });
  assertMatches(r, expected(SAMPLES, false), 'no truth');
});
