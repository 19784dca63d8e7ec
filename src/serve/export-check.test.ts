import test from 'node:test';
import assert from 'node:assert/strict';
import { MODEL_KINDS } from '../models/registry.js';
import { exportOnnx } from '../persist/onnx-export.js';
import { EXPORT_TOLERANCE, checkOnnxExport } from './export-check.js';
import { makeTestModel } from './test-model.js';

for (const kind of MODEL_KINDS) {
  test(`${kind}: the exported graph matches the native predictor on made-up instances`, async () => {
    const model = await makeTestModel(kind, 11);
    try {
      const check = await checkOnnxExport(exportOnnx(model), model, { instances: 300, seed: 2 });
      assert.equal(check.instances, 300);
      assert.ok(check.maxAbsDiff <= EXPORT_TOLERANCE, `${kind}: max abs difference ${check.maxAbsDiff}`);
    } finally {
      await model.release();
    }
  });
}

test('the check notices a graph that predicts something else', async () => {
  const a = await makeTestModel('esmm', 1);
  const b = await makeTestModel('esmm', 2);
  try {
    const check = await checkOnnxExport(exportOnnx(a), b, { instances: 50 });
    assert.ok(check.maxAbsDiff > 1e-3, `difference ${check.maxAbsDiff}`);
  } finally {
    await a.release();
    await b.release();
  }
});
