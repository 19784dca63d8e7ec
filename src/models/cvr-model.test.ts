import test from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { BatchBuilder } from '../data/batch/batcher.js';
import { prepareSplit } from '../data/cache/prepare.js';
import { generateDataset } from '../simulate/generate.js';
import { defaultSpec } from '../features/spec.js';
import { loadModel, saveModel } from '../persist/model-dir.js';
import { tempDir } from '../test-support/cli.js';
import { evaluateModel } from '../train/evaluate.js';
import { predictAll } from '../train/predict-all.js';
import { trainModel, type TrainConfig } from '../train/trainer.js';
import { CvrModel } from './cvr-model.js';
import { MODEL_KINDS, type ModelKind } from './registry.js';
import { smallHyper } from '../test-support/hyper.js';

const dir = tempDir('model');
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function data() {
  await generateDataset({ outDir: dir, train: 12000, test: 4000, seed: 3 });
  return {
    train: await prepareSplit({ dataDir: dir, split: 'train' }),
    test: await prepareSplit({ dataDir: dir, split: 'test' }),
  };
}
const ready = data();

async function trained(kind: ModelKind, seed: number): Promise<CvrModel> {
  const { train } = await ready;
  const spec = defaultSpec();
  const model = await CvrModel.create({ kind, spec, hyper: smallHyper(kind, [16, 8], 0.1), seed });
  await trainModel(model, train, { epochs: 1, batchSize: 256, lr: 0.002, optimizer: 'adam', seed, quiet: true });
  return model;
}

async function predictions(model: CvrModel): Promise<Float32Array[]> {
  const { test: split } = await ready;
  const out: Float32Array[] = [];
  await predictAll(model, split, (p) => void out.push(p.pctr.slice(), p.pcvr.slice(), p.pctcvr.slice()), { quiet: true });
  return out;
}

for (const kind of MODEL_KINDS) {
  test(`${kind}: trains, saves, loads to identical predictions; same seed → same model`, async () => {
    const a = await trained(kind, 11);
    const b = await trained(kind, 11);
    const c = await trained(kind, 12);
    const pa = await predictions(a);
    assert.deepEqual(await predictions(b), pa, 'same seed, same predictions (bitwise)');
    assert.notDeepEqual(await predictions(c), pa, 'another seed, other predictions');
    for (let i = 0; i < pa.length; i += 3) {
      for (let j = 0; j < pa[i]!.length; j++) {
        const [pctr, pcvr, pctcvr] = [pa[i]![j]!, pa[i + 1]![j]!, pa[i + 2]![j]!];
        // A float32 sigmoid rounds to 0 below a logit of about -88 (tiny data, extreme inputs).
        assert.ok(pctr > 0 && pctr < 1 && pcvr >= 0 && pcvr <= 1, `pctr ${pctr}, pcvr ${pcvr}`);
        // pCTCVR = pCTR × pCVR, except where a model derives pCVR = min(1, pCTCVR / pCTR) from a
        // CTCVR head that exceeds pCTR: then pCVR is 1 and pCTCVR is at least pCTR.
        if (pcvr < 1) assert.ok(Math.abs(pctr * pcvr - pctcvr) <= 1e-6 * Math.max(1, pctcvr), `${pctr} × ${pcvr} vs ${pctcvr}`);
        else assert.ok(pctcvr >= pctr * (1 - 1e-6), `pCVR 1 with pCTCVR ${pctcvr} below pCTR ${pctr}`);
      }
    }
    const saved = join(dir, `saved-${kind}`);
    saveModel(a, saved, { training: { note: 'test' } });
    saveModel(a, saved); // overwriting an existing model is atomic too
    const loaded = await loadModel(saved);
    assert.deepEqual(await predictions(loaded), pa, 'loaded model predicts exactly as the trained one');
    // Baked weights let onnxruntime fuse and pre-pack, so the sums run in another order: pCTR and
    // pCTCVR equal to float32 rounding. A pCVR that is a ratio (pCTCVR / pCTR: DIVISION,
    // Shared-Bottom) carries their relative errors, amplified where pCTR is tiny: it may differ by
    // twice the sum of the relative differences of pCTR and pCTCVR (plus rounding), and no more.
    const forPrediction = await loadModel(saved, { mode: 'predict' });
    const pp = await predictions(forPrediction);
    for (let i = 0; i < pa.length; i += 3)
      for (let j = 0; j < pa[i]!.length; j++) {
        const [ctrA, cvrA, ctcvrA] = [pa[i]![j]!, pa[i + 1]![j]!, pa[i + 2]![j]!];
        const [ctrP, cvrP, ctcvrP] = [pp[i]![j]!, pp[i + 1]![j]!, pp[i + 2]![j]!];
        assert.ok(Math.abs(ctrP - ctrA) <= 1e-6, `predict-only load, pctr: ${ctrP} vs ${ctrA}`);
        assert.ok(Math.abs(ctcvrP - ctcvrA) <= 1e-6, `predict-only load, pctcvr: ${ctcvrP} vs ${ctcvrA}`);
        const relative = Math.abs(ctrP - ctrA) / ctrA + Math.abs(ctcvrP - ctcvrA) / Math.max(ctcvrA, 1e-30);
        const allowed = 1e-6 + 2 * Math.max(cvrA, cvrP) * relative;
        assert.ok(Math.abs(cvrP - cvrA) <= allowed, `predict-only load, pcvr: ${cvrP} vs ${cvrA} (allowed ${allowed})`);
      }
    await forPrediction.release();
    const r = await evaluateModel(loaded, (await ready).test, { quiet: true });
    assert.equal(r.impressions, 4000);
    assert.ok(r.cvr_auc_entire_space_truth !== undefined);
    for (const m of [a, b, c, loaded]) await m.release();
  });
}

test('a CTR net trained once and shared gives a model exactly what its own would (same seed); the owner releases it', async () => {
  const { train } = await ready;
  const spec = defaultSpec();
  const config = { spec, hyper: { hidden: [16, 8], dropout: 0.1 }, seed: 21 };
  const training: TrainConfig = { epochs: 1, batchSize: 256, lr: 0.002, optimizer: 'adam', seed: 21, quiet: true };
  const only = (components: string[]): TrainConfig => ({ ...training, components });
  const own = await CvrModel.create({ ...config, kind: 'base' });
  await trainModel(own, train, training);
  const division = await CvrModel.create({ ...config, kind: 'division' });
  await trainModel(division, train, only(['ctr']));
  const shared = await CvrModel.create({ ...config, kind: 'base' }, { shared: [division.component('ctr')] });
  const result = await trainModel(shared, train, only(['cvr']));
  assert.deepEqual(result.components.map((c) => c.name), ['cvr'], 'the shared CTR net is not trained again');
  assert.deepEqual(await predictions(shared), await predictions(own));
  await shared.release();
  await division.component('ctr').predict(await firstTestBatch()); // still usable: the model did not own it
  const other = await CvrModel.create({ ...config, hyper: { ...config.hyper, hidden: [8] }, kind: 'base' });
  await assert.rejects(
    CvrModel.create({ ...config, kind: 'unbias' }, { shared: [other.component('ctr')] }),
    /the shared component 'ctr' is not what a unbias model builds under that name/,
  );
  for (const m of [own, division, other]) await m.release();
});

async function firstTestBatch(start = 0, size = 8) {
  const { test: split } = await ready;
  const positions = Int32Array.from({ length: start + size }, (_, i) => i);
  return new BatchBuilder(defaultSpec(), split.fieldNames, split.groups).build(split.readBlock(0), positions, start, start + size);
}

test('predict calls in flight together each get their own answer (no shared pooling buffer)', async () => {
  for (const mode of ['train', 'predict'] as const) {
    const model = await trained('esmm', 5);
    const saved = join(dir, `concurrent-${mode}`);
    saveModel(model, saved);
    await model.release();
    const loaded = await loadModel(saved, { mode });
    const batches = [await firstTestBatch(0, 8), await firstTestBatch(8, 3), await firstTestBatch(11, 16)];
    const one = [];
    for (const b of batches) one.push(await loaded.predict(b));
    assert.deepEqual(await Promise.all(batches.map((b) => loaded.predict(b))), one);
    await loaded.release();
  }
});
