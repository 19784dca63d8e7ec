/**
 * Every kind in the registry serves: its model directory loaded by the HTTP server answers a
 * request with the in-process predictor's numbers, and its metadata names the kind.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { MODEL_KINDS } from '../models/registry.js';
import { tempDir } from '../test-support/cli.js';
import { loadPredictor } from './predictor.js';
import { startServing } from './serve.js';
import { syntheticInstances } from './synthetic-instances.js';
import { makeTestModel, writeTestModel } from './test-model.js';
import { http, postJson } from './testing.js';

const dir = tempDir('serve-kinds');
test.after(() => rmSync(dir, { recursive: true, force: true }));

for (const kind of MODEL_KINDS) {
  test(`${kind}: served over HTTP with the in-process predictor's numbers`, async () => {
    const modelDir = join(dir, kind);
    await writeTestModel(modelDir, kind, 31);
    const made = await makeTestModel(kind, 31);
    const instances = syntheticInstances(made, 12, 4);
    await made.release();
    const predictor = await loadPredictor(modelDir);
    const want = await predictor.predict(instances);
    await predictor.release();
    const service = await startServing({ model: modelDir, port: 0, pollMs: 0 });
    try {
      const meta = JSON.parse((await http(`${service.url}/v1/models/esmm/metadata`, 'GET')).body);
      assert.equal(meta.metadata.kind, kind);
      const r = await postJson(`${service.url}/v1/models/esmm:predict`, { instances });
      assert.equal(r.status, 200, r.body);
      const got = (JSON.parse(r.body) as { predictions: { probabilities: number; ctr_probabilities: number; cvr_probabilities: number }[] }).predictions;
      assert.equal(got.length, instances.length);
      got.forEach((p, i) => {
        const w = want[i]!;
        assert.ok(Math.abs(p.ctr_probabilities - w.pctr) <= 1e-6, `${kind} pctr ${i}: ${p.ctr_probabilities} vs ${w.pctr}`);
        assert.ok(Math.abs(p.cvr_probabilities - w.pcvr) <= 1e-6 * Math.max(1, 1 / w.pctr), `${kind} pcvr ${i}: ${p.cvr_probabilities} vs ${w.pcvr}`);
        assert.ok(Math.abs(p.probabilities - w.pctcvr) <= 1e-6, `${kind} pctcvr ${i}: ${p.probabilities} vs ${w.pctcvr}`);
      });
      // The predictions differ from one instance to the next: a constant answer would pass above only by accident.
      assert.ok(new Set(got.map((p) => p.probabilities)).size > 1, `${kind}: every instance got the same answer`);
    } finally {
      await service.shutdown();
    }
  });
}
