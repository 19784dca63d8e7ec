import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { defaultSpec } from '../features/spec.js';
import { runCli, tempDir } from '../test-support/cli.js';
import { InstanceError } from './instances.js';
import { Predictor, loadPredictor } from './predictor.js';
import { makeTestModel } from './test-model.js';
import { rawInstances } from './testing.js';
import { syntheticInstances } from './synthetic-instances.js';

const dir = tempDir('predictor');
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('loadPredictor(dir).predict(raw instances) equals `esmm predict` on the same rows', async (t) => {
  const data = join(dir, 'data');
  const model = join(dir, 'model');
  assert.equal(runCli(['generate', '--out', data, '--train', '4000', '--test', '1000', '--seed', '3', '-q']).status, 0);
  const tr = runCli(['train', '--data', data, '--out', model, '--hidden', '16,8', '--epochs', '1', '--batch-size', '256', '-q']);
  assert.equal(tr.status, 0, tr.stderr);
  const csv = join(dir, 'pred.csv');
  const pr = runCli(['predict', '--data', data, '--model', model, '--out', csv, '-q']);
  assert.equal(pr.status, 0, pr.stderr);
  const expected = new Map(
    readFileSync(csv, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => {
        const [id, ...p] = l.split(',').map(Number);
        return [id!, p] as const;
      }),
  );

  const { sampleIds, instances } = rawInstances(data, 'test', defaultSpec().fields.map((f) => f.name));
  assert.equal(instances.length, 1000);
  const predictor = await loadPredictor(model);
  try {
    // In requests of different sizes, concurrently: batching must not change a result.
    const sizes = [1, 7, 100, 392, 500];
    const parts: Promise<{ pctr: number; pcvr: number; pctcvr: number }[]>[] = [];
    for (let at = 0, k = 0; at < instances.length; at += sizes[k % sizes.length]!, k++) {
      parts.push(predictor.predict(instances.slice(at, at + sizes[k % sizes.length]!)));
    }
    const got = (await Promise.all(parts)).flat();
    assert.equal(got.length, 1000);
    let maxDiff = 0;
    const distinct = new Set<number>();
    got.forEach((p, i) => {
      const want = expected.get(sampleIds[i]!)!;
      [p.pctr, p.pcvr, p.pctcvr].forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - want[k]!))));
      distinct.add(p.pcvr);
    });
    // Common features pool inside each instance here, separately (then added) in `esmm predict`:
    // float64 sums in another order, so the last float32 bit may differ.
    t.diagnostic(`max |predictor - esmm predict| over 1000 rows: ${maxDiff}`);
    assert.ok(maxDiff <= 1e-6, `max |predictor - esmm predict| = ${maxDiff}`);
    assert.ok(distinct.size > 100, `predictions vary (${distinct.size} distinct pCVR values)`);
  } finally {
    await predictor.release();
  }
});

test('concurrent calls are batched and each gets its own rows back', async (t) => {
  const model = await makeTestModel('esmm', 5);
  const batches: number[] = [];
  const predictor = Predictor.fromModel(model, { onBatch: (n) => batches.push(n) });
  try {
    const instances = syntheticInstances(model, 60, 9);
    const alone = await predictor.predict(instances);
    batches.length = 0;
    const together = (await Promise.all(instances.map((i) => predictor.predict([i])))).flat();
    // onnxruntime's matrix kernels sum in an order that depends on the batch size: float32 noise.
    let maxDiff = 0;
    together.forEach((p, i) => {
      const q = alone[i]!;
      maxDiff = Math.max(maxDiff, Math.abs(p.pctr - q.pctr), Math.abs(p.pcvr - q.pcvr), Math.abs(p.pctcvr - q.pctcvr));
    });
    t.diagnostic(`max |batched - alone|: ${maxDiff}`);
    assert.ok(maxDiff <= 1e-6, `max |batched - alone| = ${maxDiff}`);
    assert.ok(batches.length < instances.length, `60 concurrent calls ran in ${batches.length} dense calls`);
    assert.equal(
      batches.reduce((a, b) => a + b, 0),
      60,
    );
  } finally {
    await predictor.release();
  }
});

test('bad instances are refused with the path of the problem; the predictor keeps working', async () => {
  const model = await makeTestModel('base', 5);
  const predictor = Predictor.fromModel(model, { limits: { maxInstances: 3 } });
  try {
    await assert.rejects(predictor.predict([{ '205': [1] }, { nope: [1] }]), (e: unknown) => {
      assert.ok(e instanceof InstanceError);
      assert.match(e.message, /^instances\[1\]\["nope"\]: unknown field; the model's fields are "101", "205"/);
      return true;
    });
    await assert.rejects(predictor.predict([{}, {}, {}, {}]), /instances: has 4 instances; at most 3 per request/);
    const [p] = await predictor.predict([{ '205': ['4015078', 7], '109_14': [[600123, 1.94591]] }]);
    assert.ok(p!.pctr > 0 && p!.pctr < 1);
    assert.ok(Math.abs(p!.pctr * p!.pcvr - p!.pctcvr) < 1e-7);
  } finally {
    await predictor.release();
  }
  await assert.rejects(predictor.predict([{}]), /released/);
});
