import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { generateDataset } from '../simulate/generate.js';
import { prepareSplit } from '../data/cache/prepare.js';
import { defaultSpec } from '../features/spec.js';
import { CvrModel } from '../models/cvr-model.js';
import { Predictor } from '../serve/predictor.js';
import { EXPORT_TOLERANCE } from '../serve/export-check.js';
import { makeTestModel, writeTestModel } from '../serve/test-model.js';
import { rawInstances } from '../serve/testing.js';
import { runCli, tempDir } from '../test-support/cli.js';
import { trainModel } from '../train/trainer.js';
import { exportOnnx, fieldInputs, onnxFeeds } from './onnx-export.js';

const dir = tempDir('onnx');
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function runOnnx(bytes: Uint8Array | string, feeds: ReturnType<typeof onnxFeeds>): Promise<Record<string, Float32Array>> {
  const session = typeof bytes === 'string' ? await ort.InferenceSession.create(bytes) : await ort.InferenceSession.create(bytes);
  try {
    const tensors: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) tensors[name] = new ort.Tensor(t.type, t.data, t.dims);
    const out = await session.run(tensors);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: Record<string, Float32Array>, b: Record<string, Float32Array>): number {
  let m = 0;
  for (const k of ['pctr', 'pcvr', 'pctcvr']) {
    assert.equal(a[k]!.length, b[k]!.length, k);
    a[k]!.forEach((v, i) => (m = Math.max(m, Math.abs(v - b[k]![i]!))));
  }
  return m;
}

test('a trained ESMM exported to ONNX predicts generated data like the native predictor (≤ 1e-5)', async (t) => {
  const data = join(dir, 'data');
  await generateDataset({ outDir: data, train: 6000, test: 600, seed: 4 });
  const spec = defaultSpec();
  const model = await CvrModel.create({ kind: 'esmm', spec, hyper: { hidden: [32, 16], dropout: 0 }, seed: 4 }, { threads: 1 });
  await trainModel(model, await prepareSplit({ dataDir: data, split: 'train' }), { epochs: 1, batchSize: 256, lr: 0.005, optimizer: 'adam', seed: 4, quiet: true });
  const predictor = Predictor.fromModel(model);
  try {
    const file = join(dir, 'esmm.onnx');
    writeFileSync(file, exportOnnx(model));
    const { instances } = rawInstances(data, 'test', spec.fields.map((f) => f.name));
    const rows = predictor.parse(instances);
    const native = await predictor.predictRows(rows);
    const onnx = await runOnnx(file, onnxFeeds(rows, spec));
    const diff = maxAbsDiff(onnx, { pctr: native.pctr, pcvr: native.pcvr, pctcvr: native.pctcvr });
    t.diagnostic(`${instances.length} test impressions, ${readFileSync(file).length} bytes: max |onnx - native| = ${diff}`);
    assert.ok(diff <= EXPORT_TOLERANCE, `max abs difference ${diff}`);
    assert.ok(new Set(native.pcvr).size > 50, 'predictions vary');
  } finally {
    await predictor.release();
  }
});

test('input layout: -1 and 2^32-1 are padding, fields may be empty, lengths split the entries', async () => {
  const model = await makeTestModel('esmm', 3);
  const predictor = Predictor.fromModel(model);
  try {
    const spec = model.config.spec;
    const rows = predictor.parse([{ '205': [5, -1, 6], '216': [[9, 0.5]] }, {}, { '205': [7] }]);
    const feeds = onnxFeeds(rows, spec);
    const ids = fieldInputs('205');
    assert.deepEqual([...(feeds[ids.ids]!.data as BigInt64Array)], [5n, 4294967295n, 6n, 7n]);
    assert.deepEqual([...(feeds[ids.lengths]!.data as BigInt64Array)], [3n, 0n, 1n]);
    assert.deepEqual(feeds[fieldInputs('101').ids]!.dims, [0]);
    const native = await predictor.predictRows(rows);
    (feeds[ids.ids]!.data as BigInt64Array)[1] = -1n;
    const onnx = await runOnnx(exportOnnx(model), feeds);
    assert.ok(maxAbsDiff(onnx, { pctr: native.pctr, pcvr: native.pcvr, pctcvr: native.pctcvr }) <= EXPORT_TOLERANCE);
  } finally {
    await predictor.release();
  }
});

test('esmm export writes the checked graph; usage errors exit 2', async () => {
  const modelDir = join(dir, 'cli-model');
  await writeTestModel(modelDir, 'base', 6);
  const out = join(dir, 'cli.onnx');
  const r = runCli(['export', '--model', modelDir, '--format', 'onnx', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*cli\.onnx .* base model, 6 fields × 3 inputs/);
  assert.match(r.stdout, /checked against the native predictor on 256 instances: max abs difference/);
  const session = await ort.InferenceSession.create(out);
  assert.deepEqual([...session.outputNames], ['pctr', 'pcvr', 'pctcvr']);
  assert.ok(session.inputNames.includes('109_14.values'));
  await session.release();
  const bad = runCli(['export', '--model', modelDir, '--format', 'tf', '--out', out]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--format must be one of onnx, got 'tf'/);
  const missing = runCli(['export', '--model', join(dir, 'nope'), '--out', out]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /not a model directory/);
});
