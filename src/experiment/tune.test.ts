import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { prepareSplit } from '../data/cache/prepare.js';
import type { SampleSource } from '../data/sample-source.js';
import { splitBySession } from '../data/session-split.js';
import { defaultSpec } from '../features/spec.js';
import { resolveOptions } from '../models/definition.js';
import { flagName, resolveHyper, type HyperValue } from '../models/hyper.js';
import { MODELS, modelDef } from '../models/registry.js';
import { generateDataset } from '../simulate/generate.js';
import { tempDir } from '../test-support/cli.js';
import { KNOB_GRIDS, LR_GRID, SELECTION_METRIC, knobOf, trainingsOf, tuningPlan } from './grids.js';
import { buildResults, protocolMarkdown } from './results.js';
import { runExperiment, type CountedSource, type ExperimentConfig } from './runner.js';
import { bestIndex } from './tune.js';

const dir = tempDir('tune');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const defaults = (kind: string) => resolveOptions(modelDef(kind), {}, kind).record;

test('each kind searches the first knob whose option it reads, and its default is a point of that grid', () => {
  // The table from the declarations: what a kind records with no option given is what it reads.
  for (const m of MODELS) {
    const read = Object.keys(defaults(m.kind));
    const expected = KNOB_GRIDS.find((g) => read.includes(g.param))?.param ?? null;
    assert.equal(knobOf(m.kind, defaults(m.kind))?.param ?? null, expected, m.kind);
  }
  // The precedence the grids' order gives (grids.ts): DCMT reads cvrWeight too but searches its constraint weight.
  assert.equal(knobOf('dcmt', defaults('dcmt'))?.param, 'constraintWeight');
  assert.equal(knobOf('mmoe', { ...defaults('mmoe'), objective: 'escm2-ips' })?.param, 'cvrWeight');
  for (const m of MODELS) {
    const plan = tuningPlan(m.kind, defaults(m.kind)); // throws when the default is not in the grid
    assert.deepEqual(plan.lrs, LR_GRID);
    if (plan.knob) assert.equal(plan.knob.flag, flagName(plan.knob.param, m.hyper[plan.knob.param]!));
  }
  // Every grid value is a valid value of every kind that declares the option.
  for (const g of KNOB_GRIDS) {
    const owners = MODELS.filter((m) => g.param in m.hyper);
    assert.ok(owners.length > 0, `${g.param} is declared by some kind`);
    for (const m of owners) for (const v of g.values) resolveHyper(m.hyper, { [g.param]: v }, m.kind);
  }
  // Trainings per run: the paper's seven 30, the multi-task zoo 31 (docs/experiments.md).
  const count = (kinds: string[]) => kinds.reduce((a, k) => a + trainingsOf(tuningPlan(k, defaults(k))), 0);
  assert.equal(count(['base', 'aman', 'oversampling', 'unbias', 'division', 'esmm-ns', 'esmm']), 30);
  assert.equal(count(['shared-bottom', 'mmoe', 'ple', 'aitm', 'escm2-ips', 'escm2-dr', 'dcmt']), 31);
  assert.throws(() => tuningPlan('aman', resolveHyper(modelDef('aman').hyper, { amanRate: 0.3 }, 'aman')), /--tune searches --aman-rate over .*drop --aman-rate/);
});

test('bestIndex: the highest value, the first of equals, NaN below any number', () => {
  assert.equal(bestIndex([0.5, 0.7, 0.7, 0.6]), 1);
  assert.equal(bestIndex([NaN, 0.2, NaN]), 1);
  assert.equal(bestIndex([NaN, NaN]), 0);
});

test('experiment --epochs auto --tune: the chosen point is the best on validation, the test split is read only to evaluate', async () => {
  await generateDataset({ outDir: join(dir, 'data'), train: 3000, test: 1000, seed: 4, ctr: 0.1, cvr: 0.2 });
  const train = await prepareSplit({ dataDir: join(dir, 'data'), split: 'train' });
  const rawTest = await prepareSplit({ dataDir: join(dir, 'data'), split: 'test' });
  // The test split behind a gate: a read outside a model's evaluation throws.
  let open: string | null = null;
  let reads = 0;
  const test_: SampleSource = {
    fieldNames: rawTest.fieldNames,
    groups: rawTest.groups,
    numSamples: rawTest.numSamples,
    numBlocks: rawTest.numBlocks,
    readBlock: (i) => {
      if (open === null) throw new Error('the test split was read while training or choosing');
      reads++;
      return rawTest.readBlock(i);
    },
  };
  const kinds = ['base', 'oversampling', 'mmoe'];
  const spec = defaultSpec();
  const config: ExperimentConfig = {
    models: kinds,
    runs: 1,
    seed: 3,
    hyper: Object.fromEntries(kinds.map((k) => [k, resolveOptions(modelDef(k), k === 'mmoe' ? {} : { hidden: [8] }, k).record])),
    training: { epochs: 'auto', batchSize: 256, lr: 0.001, optimizer: 'adam' },
    earlyStopping: { maxEpochs: 3 },
    validation: { fraction: 0.2 },
    tune: true,
    threads: 1,
  };
  const order: string[] = [];
  const records = await runExperiment(train as CountedSource, test_, spec, config, {
    onModelTrained: (kind) => {
      order.push(`trained ${kind}`);
      open = kind;
    },
    onModelEvaluated: (kind) => {
      assert.equal(open, kind);
      order.push(`evaluated ${kind}`);
      open = null;
    },
  });
  assert.deepEqual(order, kinds.flatMap((k) => [`trained ${k}`, `evaluated ${k}`]));
  // Each model read the test split exactly twice (metrics, curves): nothing else read it.
  assert.equal(reads, 2 * rawTest.numBlocks * kinds.length);

  const record = records[0]!;
  // The validation side is the run's carve by session, never trained on.
  const carve = splitBySession(train, 0.2, record.seed);
  assert.deepEqual(record.validation, {
    source: 'carved',
    impressions: carve.validation.numSamples,
    clicks: record.validation!.clicks,
    trainImpressions: carve.train.numSamples,
  });
  assert.equal(carve.validation.numSamples + carve.train.numSamples, train.numSamples);
  assert.ok(record.sharedCtr?.earlyStopping && record.sharedCtr.earlyStopping.curve.length >= 1);

  for (const kind of kinds) {
    const m = record.models[kind]!;
    const t = m.tuning!;
    assert.equal(t.metric, SELECTION_METRIC);
    const plan = tuningPlan(kind, config.hyper[kind]!);
    // The plan: every learning rate at the knob's start, then the knob's other values at the best of those.
    const lrStage = t.points.filter((p) => p.stage === 'lr');
    assert.deepEqual(lrStage.map((p) => p.lr), [...LR_GRID]);
    assert.ok(lrStage.every((p) => p.knob === (plan.knob?.start ?? null)));
    const values = lrStage.map((p) => p.validation.cvr_auc);
    const finite = values.filter((v) => Number.isFinite(v));
    const bestLr = lrStage[finite.length ? values.indexOf(Math.max(...finite)) : 0]!.lr;
    const knobStage = t.points.filter((p) => p.stage === 'knob');
    assert.deepEqual(
      knobStage.map((p) => [p.lr, p.knob]),
      (plan.knob?.values ?? []).filter((v: HyperValue) => v !== plan.knob!.start).map((v) => [bestLr, v]),
    );
    assert.equal(t.points.length, trainingsOf(plan));
    // The chosen point: the highest validation CVR AUC of all the points (the first of equals).
    const all = t.points.map((p) => p.validation.cvr_auc);
    assert.ok(all.every((v) => Number.isFinite(v) && v > 0 && v < 1), `${kind}: ${all.join()}`);
    assert.equal(t.chosen, all.indexOf(Math.max(...all)), `${kind}: chose ${t.chosen} of ${all.join()}`);
    // The model evaluated on test is the chosen point's: its components stopped where that point's did.
    const chosen = t.points[t.chosen]!;
    assert.deepEqual(m.earlyStopping, chosen.earlyStopping);
    assert.ok(chosen.earlyStopping!.length >= 1 && chosen.earlyStopping!.every((s) => s.curve.length >= 1 && s.bestStep >= 1));
    assert.equal(m.trainSeconds, t.points.reduce((a, p) => a + p.trainSeconds, 0));
    assert.ok(Number.isFinite(m.metrics.cvr_auc));
  }

  const counts = { impressions: 0, clicks: 0, conversions: 0 };
  const results = JSON.parse(
    JSON.stringify(buildResults({ config, names: kinds, dataDir: 'data', train: counts, test: counts, records, seconds: 1 })),
  ) as ReturnType<typeof buildResults>;
  for (const kind of kinds) {
    const r = results.models[kind]!;
    const t = record.models[kind]!.tuning!;
    const p = t.points[t.chosen]!;
    assert.deepEqual(r.tuning!.runs[0]!.chosen, { index: t.chosen, lr: p.lr, knob: p.knob, validation_metric: p.validation.cvr_auc });
    assert.equal(r.tuning!.runs[0]!.points.length, t.points.length);
    assert.ok(r.early_stopping![0]!.every((s) => s.curve.length >= 1));
  }
  assert.ok(results.shared_ctr!.early_stopping![0]!.curve.length >= 1);
  const md = protocolMarkdown(results);
  assert.match(md, /\| shared CTR net \| ctr \| \d+ \(ep \d+; stopped \d+/);
  assert.match(md, /\| MMoE \| lr \{0\.0003, 0\.001, 0\.003\}, --experts \{4, 8\} \| lr [\d.]+, [48]: \d+\.\d\d \| 4 \|/);
  assert.match(md, /\| OVERSAMPLING \| lr \{0\.0003, 0\.001, 0\.003\}, --oversampling-k \{2, 3, 5, 10\} \| lr [\d.]+, \d+: \d+\.\d\d \| 6 \|/);
});

test('experiment --tune --tune-runs 1: later runs train each model once at the point run 1 chose, and say so', async () => {
  await generateDataset({ outDir: join(dir, 'data-once'), train: 2000, test: 600, seed: 5, ctr: 0.1, cvr: 0.2 });
  const train = await prepareSplit({ dataDir: join(dir, 'data-once'), split: 'train' });
  const test_ = await prepareSplit({ dataDir: join(dir, 'data-once'), split: 'test' });
  const kinds = ['base', 'aman'];
  const config: ExperimentConfig = {
    models: kinds,
    runs: 3,
    seed: 7,
    hyper: Object.fromEntries(kinds.map((k) => [k, resolveOptions(modelDef(k), { hidden: [8] }, k).record])),
    training: { epochs: 1, batchSize: 256, lr: 0.001, optimizer: 'adam' },
    validation: { fraction: 0.2 },
    tune: true,
    tuneRuns: 1,
    threads: 1,
  };
  const records = await runExperiment(train as CountedSource, test_, defaultSpec(), config);
  assert.equal(records.length, 3);
  for (const kind of kinds) {
    const searched = records[0]!.models[kind]!.tuning!;
    assert.equal(searched.inheritedFrom, undefined);
    assert.equal(searched.points.length, trainingsOf(tuningPlan(kind, config.hyper[kind]!)));
    const point = searched.points[searched.chosen]!;
    for (const r of records.slice(1)) {
      const t = r.models[kind]!.tuning!;
      assert.equal(t.inheritedFrom, 0);
      assert.equal(t.points.length, 1);
      assert.equal(t.chosen, 0);
      assert.deepEqual([t.points[0]!.lr, t.points[0]!.knob], [point.lr, point.knob]);
      // Validated on its own run's carve: a number of its own, not run 1's copied.
      assert.ok(Number.isFinite(t.points[0]!.validation.cvr_auc));
      assert.equal(r.models[kind]!.trainSeconds, t.points[0]!.trainSeconds);
    }
  }
  const counts = { impressions: 0, clicks: 0, conversions: 0 };
  const results = buildResults({ config, names: kinds, dataDir: 'data', train: counts, test: counts, records, seconds: 1 });
  assert.deepEqual(results.models['aman']!.tuning!.runs.map((r) => r.inherited_from_run), [null, 0, 0]);
  const md = protocolMarkdown(results);
  assert.match(md, /the runs after run 1 \(--tune-runs 1\) train the point marked "from run N" once/);
  assert.equal(md.match(/\(from run 1\)/g)?.length, 2 * kinds.length);
  // tuneRuns without tune, or beyond runs, is refused.
  await assert.rejects(runExperiment(train as CountedSource, test_, defaultSpec(), { ...config, tune: false }), /tuneRuns applies with tune only/);
  await assert.rejects(runExperiment(train as CountedSource, test_, defaultSpec(), { ...config, tuneRuns: 4 }), /tuneRuns must be an integer from 1 to runs \(3\)/);
});
