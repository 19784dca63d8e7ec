import test from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultSpec } from '../features/spec.js';
import { CvrModel, resolveModel } from '../models/cvr-model.js';
import { MODEL_KINDS, type ModelKind } from '../models/registry.js';
import { prepareSplit } from '../data/cache/prepare.js';
import { predictAll } from '../train/predict-all.js';
import { packageRoot } from '../util/paths.js';
import { tempDir } from '../test-support/cli.js';
import { loadModel, readManifest, saveModel } from './model-dir.js';
import { smallHyper } from '../test-support/hyper.js';

const dir = tempDir('model-dir');
test.after(() => rmSync(dir, { recursive: true, force: true }));
const spec = defaultSpec();

async function saved(kind: ModelKind, name: string, hyper: Record<string, unknown> = smallHyper(kind, [8])): Promise<string> {
  const model = await CvrModel.create({ kind, spec, hyper, seed: 5 }, { threads: 1 });
  const out = join(dir, name);
  try {
    saveModel(model, out);
  } finally {
    await model.release();
  }
  return out;
}

test('model.json records every hyper-parameter of the kind, defaults written out; loading gives them back', async () => {
  const given = { hidden: [8], dropout: 0, amanRate: 0.3 };
  const out = await saved('aman', 'aman', given);
  assert.deepEqual(readManifest(out).hyper, given);
  const loaded = await loadModel(out);
  try {
    assert.deepEqual(loaded.config.hyper, given);
    // The components it rebuilds sample exactly as the trained model's did.
    const cvr = loaded.component('cvr').def;
    assert.equal(cvr.sampling.kind, 'unclicked-negatives');
    assert.equal(cvr.sampling.kind === 'unclicked-negatives' && cvr.sampling.rate, 0.3);
  } finally {
    await loaded.release();
  }
  assert.deepEqual(readManifest(await saved('oversampling', 'oversampling-defaults', { hidden: [8] })).hyper, { hidden: [8], dropout: 0, oversamplingCopies: 5 });
  assert.deepEqual(readManifest(await saved('esmm', 'esmm')).hyper, { hidden: [8], dropout: 0 });
});

test('a model.json with bad hyper-parameters is refused with the file and the problem', async () => {
  const out = await saved('oversampling', 'bad-hyper', { hidden: [8], oversamplingCopies: 2 });
  const path = join(out, 'model.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8'));
  const cases: [unknown, RegExp][] = [
    [{ ...manifest.hyper, oversamplingCopies: 0 }, /model\.json: model 'oversampling': oversamplingCopies \(--oversampling-k\) must be in \[1, 1000\] \(got 0\)/],
    [{ ...manifest.hyper, oversamplingCopies: 'many' }, /oversamplingCopies \(--oversampling-k\) must be a number/],
    [{ ...manifest.hyper, amanRate: 0.2 }, /model\.json: model 'oversampling': unknown hyper-parameter 'amanRate'/],
    [{ ...manifest.hyper, hidden: [8, 0] }, /hidden \(--hidden\) must be a list of layer widths/],
    [[1, 2, 3], /"hyper" must be an object/],
  ];
  for (const [value, message] of cases) {
    writeFileSync(path, JSON.stringify({ ...manifest, hyper: value }));
    await assert.rejects(loadModel(out), message);
  }
});

/** Loads each of `kinds` from `root` and checks it predicts `<kind>.predictions.csv` bit for bit. */
async function predictsAsSaved(root: string, kinds: readonly string[], check: (kind: string, modelDir: string) => void): Promise<void> {
  const test = await prepareSplit({ dataDir: join(packageRoot(), 'fixtures', 'models-v1', 'data'), split: 'test', cacheDir: join(dir, 'v1-cache') });
  for (const kind of kinds) {
    const modelDir = join(root, kind);
    check(kind, modelDir);
    const model = await loadModel(modelDir, { threads: 1, mode: 'predict' });
    try {
      const got: string[] = [];
      await predictAll(model, test, (p, batch) => {
        for (let i = 0; i < batch.size; i++) got.push([p.pctr[i], p.pcvr[i], p.pctcvr[i]].join());
      }, { quiet: true, embeddingThreads: false });
      const want = readFileSync(join(root, `${kind}.predictions.csv`), 'utf8').trim().split('\n').slice(1).map((line) => line.split(',').slice(1).join());
      assert.equal(got.length, want.length, kind);
      assert.deepEqual(got, want, `${kind}: predictions differ from the ones made when it was saved`);
    } finally {
      await model.release();
    }
  }
}

test('models saved by esmm-ts 0.1 (model.json version 1) load and predict exactly what they predicted then', async () => {
  // fixtures/models-v1: one small model of each of the seven kinds, trained and saved by 0.1 with
  // hidden 8,4 and dropout 0.1, and the predictions `esmm predict` (weights baked in: predict mode)
  // wrote for the test split then.
  const kinds = ['esmm', 'esmm-ns', 'base', 'aman', 'oversampling', 'unbias', 'division'];
  await predictsAsSaved(join(packageRoot(), 'fixtures', 'models-v1'), kinds, (kind, modelDir) => {
    const manifest = readManifest(modelDir);
    assert.equal(manifest.version, 2, kind);
    assert.deepEqual(manifest.hyper.hidden, [8, 4], kind);
  });
});

test('multi-task models whose model.json records every option load as the model with the options it reads, and predict exactly what they did', async () => {
  // fixtures/models-v2-every-option: one small model of each multi-task kind, saved when model.json
  // recorded every backbone's and objective's option, and its predictions then.
  const root = join(packageRoot(), 'fixtures', 'models-v2-every-option');
  const kinds = ['shared-bottom', 'mmoe', 'ple', 'aitm', 'escm2-ips', 'escm2-dr', 'dcmt'];
  await predictsAsSaved(root, kinds, (kind, modelDir) => {
    const recorded = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8')).hyper as Record<string, unknown>;
    assert.ok('alpha' in recorded && 'bottom' in recorded, `${kind}: the fixture records every option`);
    const manifest = readManifest(modelDir);
    const fresh = resolveModel({ kind, spec: defaultSpec(), hyper: { tower: [8, 4], dropout: 0.1, ...(kind === 'shared-bottom' ? { bottom: [8] } : {}) }, seed: 3 });
    assert.deepEqual(manifest.hyper, fresh.config.hyper, `${kind}: the options it reads, as a model saved now records them`);
  });
  // An option its parts do not read, at another value than its default, was never written: refused.
  const out = join(dir, 'every-option-edited');
  cpSync(join(root, 'mmoe'), out, { recursive: true });
  const path = join(out, 'model.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8'));
  writeFileSync(path, JSON.stringify({ ...manifest, hyper: { ...manifest.hyper, bottom: [8] } }));
  await assert.rejects(loadModel(out), /--bottom does nothing with --backbone mmoe --objective independent/);
});

test('every kind saves and loads through model.json version 2', async () => {
  for (const kind of MODEL_KINDS) {
    const out = await saved(kind, `roundtrip-${kind}`);
    const loaded = await loadModel(out, { threads: 1 });
    try {
      assert.equal(loaded.config.kind, kind);
    } finally {
      await loaded.release();
    }
  }
});
