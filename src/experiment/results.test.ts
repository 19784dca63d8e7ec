import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../test-support/cli.js';
import type { ModelKind } from '../models/registry.js';
import { ROC_POINTS } from './curves.js';
import { comparedModels } from './paper.js';
import { escapeXml } from './svg.js';
import { reportHtml, reportPlots } from './report.js';
import { buildResults, fieldMetricsTable, markdownTable, tableNotes, textTableMarkdown } from './results.js';
import type { ExperimentConfig, ModelRun, RunRecord } from './runner.js';
import { marksIn, pageProblems, writeReport } from './write-report.js';

const KINDS: ModelKind[] = ['base', 'aman', 'oversampling', 'unbias', 'division', 'esmm-ns', 'esmm'];

function fakeRun(cvr: number, ctcvr: number, truth: boolean): ModelRun {
  const buckets = (scale: number) => Array.from({ length: 10 }, (_, i) => ({ meanPrediction: scale * (i + 1), observed: scale * (i + 0.5), count: 100 }));
  return {
    metrics: {
      impressions: 1000,
      clicks: 40,
      conversions: 2,
      ctr_auc: 0.7,
      cvr_auc: cvr,
      ctcvr_auc: ctcvr,
      ctr_logloss: 0.2,
      cvr_logloss: 0.2,
      ctcvr_logloss: 0.01,
      cvr_auc_exposure: cvr + 0.1,
      ctr_gauc: 0.6,
      cvr_gauc: cvr - 0.05,
      ctcvr_gauc: ctcvr - 0.05,
      ctr_pcoc: 1.1,
      cvr_pcoc: 0.9,
      ctcvr_pcoc: 1.0,
      ctr_ece: 0.01,
      cvr_ece: 0.02,
      ctcvr_ece: 0.001,
      gauc_user_field: '101',
      impressions_without_user: 0,
      ...(truth ? { cvr_auc_entire_space_truth: cvr - 0.02, pcvr_mae_truth_clicked: 0.01, pcvr_mae_truth_unclicked: 0.03 } : {}),
    },
    trainSeconds: 12,
    evalSeconds: 2,
    trainedSamples: 5000,
    lossCurves: [{ component: 'cvr', every: 1, points: [{ step: 1, epoch: 0, loss: 0.5 }, { step: 2, epoch: 0, loss: 0.4 }] }],
    curves: {
      rocCvr: Array.from({ length: ROC_POINTS }, (_, i) => Math.sqrt(i / (ROC_POINTS - 1))),
      rocCtcvr: Array.from({ length: ROC_POINTS }, (_, i) => Math.sqrt(i / (ROC_POINTS - 1))),
      calibrationCvr: buckets(0.01),
      calibrationCtcvr: buckets(0.001),
      calibrationTruth: truth ? buckets(0.01) : null,
    },
  };
}

function fakeResults(truth: boolean, runs = 2) {
  const config: ExperimentConfig = {
    models: KINDS,
    runs,
    seed: 5,
    hyper: Object.fromEntries(KINDS.map((k) => [k, { hidden: [8], dropout: 0 }])),
    training: { epochs: 1, batchSize: 256, lr: 0.001, optimizer: 'adam' },
    threads: 1,
  };
  const records: RunRecord[] = Array.from({ length: runs }, (_, r) => ({
    run: r,
    seed: 5 + r,
    seconds: 30,
    sharedCtr: { seconds: 4, trainedSamples: 1000, lossCurve: { component: 'ctr', every: 1, points: [{ step: 1, epoch: 0, loss: 0.3 }] } },
    models: Object.fromEntries(KINDS.map((k, i) => [k, fakeRun(0.6 + 0.01 * i + 0.002 * r, 0.7 + 0.01 * i, truth)])),
  }));
  const names = KINDS.map((k) => (k === 'esmm' ? 'ESMM' : k));
  const counts = { impressions: 1000, clicks: 40, conversions: 2 };
  return buildResults({ config, names, dataDir: 'data', train: counts, test: counts, records, seconds: 61 });
}

test('results.json: every model under the name given, each metric as mean, sample std and the runs', () => {
  const r = fakeResults(true);
  assert.deepEqual(Object.keys(r.models), ['base', 'aman', 'oversampling', 'unbias', 'division', 'esmm-ns', 'ESMM']);
  const esmm = r.models.ESMM!;
  assert.equal(esmm.kind, 'esmm');
  assert.deepEqual(esmm.cvr_auc.runs.map((v) => +v.toFixed(6)), [0.66, 0.662]);
  assert.ok(Math.abs(esmm.cvr_auc.mean - 0.661) < 1e-12 && Math.abs(esmm.cvr_auc.std! - Math.SQRT2 * 0.001) < 1e-12);
  assert.deepEqual(esmm.ctcvr_auc.runs, [0.76, 0.76]);
  assert.deepEqual(esmm.cvr_auc_entire_space_truth!.runs.map((v) => +v.toFixed(6)), [0.64, 0.642]);
  // The field's metrics, each summarized over the runs like the paper's.
  assert.deepEqual(esmm.cvr_auc_exposure.runs.map((v) => +v.toFixed(6)), [0.76, 0.762]);
  assert.deepEqual(esmm.ctcvr_gauc.runs.map((v) => +v.toFixed(6)), [0.71, 0.71]);
  assert.equal(esmm.ctr_pcoc.mean, 1.1);
  assert.equal(esmm.cvr_ece.mean, 0.02);
  for (const k of ['ctr_gauc', 'cvr_gauc', 'cvr_pcoc', 'ctcvr_pcoc', 'ctr_ece', 'ctcvr_ece'] as const) assert.equal(esmm[k].runs.length, 2, k);
  assert.deepEqual(esmm.paper, { cvr_auc_percent: [68.56, 0.37], ctcvr_auc_percent: [65.32, 0.49] });
  assert.equal(esmm.curves.roc_cvr_tpr.length, ROC_POINTS);
  assert.equal(esmm.curves.calibration_truth!.length, 10);
  assert.deepEqual(r.seeds, [5, 6]);
  assert.equal(r.shared_ctr!.train_seconds.mean, 4);
  assert.equal(r.data.truth, true);
  // Round trip through JSON keeps it all (no typed arrays, no NaN in it).
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
});

test('the markdown table has every model next to the paper; the truth columns only with truth', () => {
  const table = markdownTable(fakeResults(true));
  const lines = table.trim().split('\n');
  assert.equal(lines.length, 2 + KINDS.length);
  for (const name of ['BASE', 'AMAN', 'OVERSAMPLING', 'UNBIAS', 'DIVISION', 'ESMM-NS', 'ESMM'])
    assert.ok(lines.some((l) => l.startsWith(`| ${name} |`)), `row ${name}`);
  assert.ok(table.includes('| ESMM | 66.10 ± 0.14 | 76.00 ± 0.00 | 64.10 ± 0.14 | 0.0100 ± 0.0000 | 0.0300 ± 0.0000 | 68.56 ± 0.37 | 65.32 ± 0.49 | 12 |'), table);
  assert.ok(lines[0]!.includes('CVR AUC entire space (truth)'));
  const noTruth = markdownTable(fakeResults(false, 1));
  assert.ok(!noTruth.includes('entire space'));
  assert.ok(noTruth.includes('| BASE | 60.00 | 70.00 | 66.00 ± 0.37 | 62.07 ± 0.45 | 12 |'), noTruth);
  assert.match(tableNotes(fakeResults(false, 1)), /over 1 run \(seeds 5\)/);
});

test('the field metrics table: every model, each metric of its runs in its column; n/a for results that predate them', () => {
  const results = fakeResults(true);
  const t = fieldMetricsTable(results);
  assert.equal(t.rows.length, KINDS.length);
  const esmm = t.rows.find((r) => r[0] === 'ESMM')!;
  const cell = (head: string) => esmm[t.head.indexOf(head)];
  // ESMM's runs: fakeRun(0.660 and 0.662, 0.76): exposure = cvr + 0.1, CVR GAUC = cvr - 0.05, CTCVR GAUC = ctcvr - 0.05.
  assert.equal(cell('CVR AUC exposure'), '76.10 ± 0.14');
  assert.equal(cell('CTR GAUC'), '60.00 ± 0.00');
  assert.equal(cell('CVR GAUC'), '61.10 ± 0.14');
  assert.equal(cell('CTCVR GAUC'), '71.00 ± 0.00');
  assert.deepEqual([cell('CTR PCOC'), cell('CVR PCOC'), cell('CTCVR PCOC')], ['1.100 ± 0.000', '0.900 ± 0.000', '1.000 ± 0.000']);
  assert.deepEqual([cell('CTR ECE'), cell('CVR ECE'), cell('CTCVR ECE')], ['0.0100 ± 0.0000', '0.0200 ± 0.0000', '0.0010 ± 0.0000']);
  const md = textTableMarkdown(t);
  assert.equal(md.trim().split('\n').length, 1 + 1 + 2 + KINDS.length, 'caption, blank line, head, rule, one row per model');
  const old = JSON.parse(JSON.stringify(results)) as typeof results;
  for (const m of Object.values(old.models)) delete (m as Partial<typeof m>).ctr_gauc;
  assert.ok(fieldMetricsTable(old).rows.every((r) => r[t.head.indexOf('CTR GAUC')] === 'n/a'));
  assert.ok(reportHtml(results, [], { command: 'esmm experiment' }).includes('<th>CVR AUC exposure</th>'));
});

test('report.html is one self-contained page with every plot; the truth plots only with truth', () => {
  const results = fakeResults(true);
  const plots = reportPlots(results);
  const ids = plots.map((p) => p.id);
  for (const id of ['roc-cvr', 'roc-ctcvr', 'calibration-cvr', 'calibration-ctcvr', 'calibration-truth', 'truth-auc', 'truth-mae', 'loss-shared-ctr', 'loss-ESMM-cvr'])
    assert.ok(ids.includes(id), `plot ${id} in ${ids.join(', ')}`);
  assert.equal(new Set(ids).size, ids.length, 'ids are unique');
  const html = reportHtml(results, plots, { command: 'esmm experiment --data "a b"' });
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  for (const id of ids) assert.ok(html.includes(`data-plot="${id}"`));
  // Nothing to fetch: no scripts, stylesheets, images or fonts from anywhere.
  assert.doesNotMatch(html, /<script|<link|<img|src=|@import|url\((?!#)/i);
  assert.ok(html.includes('esmm experiment --data &quot;a b&quot;'));
  const subject = escapeXml(comparedModels(KINDS));
  assert.ok(html.includes(`<title>ESMM experiment: ${subject}</title>`) && html.includes(`<h1>ESMM experiment: ${subject}</h1>`));
  const plain = reportPlots(fakeResults(false)).map((p) => p.id);
  assert.ok(!plain.some((id) => id.startsWith('truth-') || id === 'calibration-truth'));
});

test('writeReport without a browser: results.json and report.html, nothing checked', async () => {
  const dir = tempDir('report');
  try {
    const results = fakeResults(true);
    const written = await writeReport(dir, results, { command: 'esmm experiment', chromium: null });
    assert.deepEqual(written.files.map((f) => f.slice(dir.length + 1)), ['results.json', 'report.html']);
    assert.equal(written.check, null);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')), results);
    assert.ok(!readFileSync(join(dir, 'report.html'), 'utf8').includes('png/'), 'no links to PNGs that were not written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the page check: every plot present, big enough and showing every mark written; no browser errors', () => {
  const plots = reportPlots(fakeResults(true));
  const roc = plots.find((p) => p.id === 'roc-cvr')!;
  assert.equal(marksIn(roc.svg), 7, 'one line per model');
  const expected = plots.map((p) => ({ id: p.id, marks: marksIn(p.svg) }));
  const seen = expected.map((e) => ({ id: e.id, x: 0, y: 0, width: 480, height: 400, marks: e.marks }));
  assert.deepEqual(pageProblems({ title: '', errors: [], plots: seen, screenshots: new Map() }, expected), []);
  const broken = seen.filter((p) => p.id !== 'truth-mae').map((p) => (p.id === 'roc-cvr' ? { ...p, marks: 3 } : p.id === 'truth-auc' ? { ...p, height: 0 } : p));
  assert.deepEqual(pageProblems({ title: '', errors: ['console.error: x'], plots: broken, screenshots: new Map() }, expected), [
    'browser: console.error: x',
    "plot 'roc-cvr' shows 3 lines, bars and dots of the 7 written",
    "plot 'truth-auc' renders at 480×0 px",
    "plot 'truth-mae' is not on the page",
  ]);
});
