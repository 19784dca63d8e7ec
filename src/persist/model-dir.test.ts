import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultSpec, inputWidth } from '../features/spec.js';
import { CvrModel } from '../models/cvr-model.js';
import { SAMPLED_KINDS, componentsOf, type ModelKind, type SamplingOptions } from '../models/model-kinds.js';
import { tempDir } from '../test-support/cli.js';
import { loadModel, readManifest, saveModel } from './model-dir.js';

const dir = tempDir('model-dir');
test.after(() => rmSync(dir, { recursive: true, force: true }));
const spec = defaultSpec();
const shape = { inputDim: inputWidth(spec), hidden: [8], dropout: 0 };
const sampling: SamplingOptions = { amanRate: 0.3, oversamplingCopies: 2, unbiasQuantile: 0.25 };

async function saved(kind: ModelKind, name: string, s?: Partial<SamplingOptions>): Promise<string> {
  const model = await CvrModel.create({ kind, spec, shape, seed: 5, ...(s ? { sampling: s } : {}) }, { threads: 1 });
  const out = join(dir, name);
  try {
    saveModel(model, out);
  } finally {
    await model.release();
  }
  return out;
}

test('a sampled kind records its sampling options in model.json, and loading gives them back', async () => {
  for (const kind of SAMPLED_KINDS) {
    const out = await saved(kind, `sampled-${kind}`, sampling);
    assert.deepEqual(readManifest(out).sampling, sampling);
    const loaded = await loadModel(out);
    try {
      assert.deepEqual(loaded.config.sampling, sampling);
      // The components it rebuilds sample exactly as the trained model's did.
      const want = componentsOf(kind, shape, { embeddingDim: spec.embeddingDim, seed: 5, sampling });
      assert.deepEqual(loaded.components.map((c) => c.def), want);
    } finally {
      await loaded.release();
    }
  }
  // Defaults are written out in full, so the file says what was used.
  assert.deepEqual(readManifest(await saved('aman', 'aman-defaults')).sampling, { amanRate: 0.1, oversamplingCopies: 5, unbiasQuantile: 0.1 });
  // Kinds that do not sample write nothing.
  assert.equal(readManifest(await saved('esmm', 'esmm')).sampling, undefined);
});

test('a model.json with bad sampling options is refused with the file and the problem', async () => {
  const out = await saved('oversampling', 'bad-sampling', sampling);
  const path = join(out, 'model.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8'));
  const cases: [unknown, RegExp][] = [
    [{ ...sampling, oversamplingCopies: 0 }, /model\.json: invalid sampling option: OVERSAMPLING copies must be an integer in \[1, 1000\] \(got 0\)/],
    [{ ...sampling, amanRate: 'high' }, /model\.json: "sampling" must be an object of amanRate, oversamplingCopies, unbiasQuantile \(numbers\)/],
    [{ ...sampling, extra: 1 }, /"sampling" must be an object/],
    [[1, 2, 3], /"sampling" must be an object/],
  ];
  for (const [value, message] of cases) {
    writeFileSync(path, JSON.stringify({ ...manifest, sampling: value }));
    await assert.rejects(loadModel(out), message);
  }
});
