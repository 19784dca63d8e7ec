import test from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test-support/cli.js';
import { loadPredictor, type Predictor } from './predictor.js';
import { startServing, type Service } from './serve.js';
import { syntheticInstances } from './synthetic-instances.js';
import { makeTestModel, writeTestModel } from './test-model.js';
import { http, postJson, rawSocket, readAll } from './testing.js';

const dir = tempDir('server');
const modelDir = join(dir, 'model');
let service: Service;

test.before(async () => {
  await writeTestModel(modelDir, 'esmm', 21);
  service = await startServing({ model: modelDir, port: 0, pollMs: 0, maxBodyBytes: 64 * 1024, predictor: { limits: { maxInstances: 64 } } });
});
test.after(async () => {
  await service.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

const predictUrl = (): string => `${service.url}/v1/models/esmm:predict`;

interface Answer {
  predictions: { probabilities: number; ctr_probabilities: number; cvr_probabilities: number }[];
}

test('predict answers in the TF Serving row format, with the in-process predictor\'s numbers', async () => {
  const model = await makeTestModel('esmm', 21);
  const instances = syntheticInstances(model, 40, 5);
  await model.release();
  const predictor = await loadPredictor(modelDir);
  const expected = await predictor.predict(instances);
  await predictor.release();
  // Concurrent single-instance requests (batched in the server) and one request with all 40.
  const singles = await Promise.all(instances.map((i) => postJson(predictUrl(), { instances: [i] })));
  const all = await postJson(`${service.url}/v1/models/esmm/versions/1:predict`, { signature_name: 'serving_default', instances });
  assert.equal(all.status, 200, all.body);
  assert.equal(all.headers['x-model-version'], '1');
  assert.equal(all.headers['content-type'], 'application/json');
  const got = [...singles.map((r) => (JSON.parse(r.body) as Answer).predictions[0]!), ...(JSON.parse(all.body) as Answer).predictions];
  got.forEach((p, i) => {
    const want = expected[i % 40]!;
    // Batched differently than the reference call: float32 noise of onnxruntime's kernels at most.
    assert.ok(Math.abs(p.ctr_probabilities - want.pctr) <= 1e-6, `pctr ${i}`);
    assert.ok(Math.abs(p.cvr_probabilities - want.pcvr) <= 1e-6, `pcvr ${i}`);
    assert.ok(Math.abs(p.probabilities - want.pctcvr) <= 1e-6, `pctcvr ${i}`);
  });
});

test('bad requests get a 400 that says what is wrong', async () => {
  const cases: [string | Uint8Array, RegExp][] = [
    ['', /empty request body/],
    ['{"instances": [', /^invalid JSON/],
    [Uint8Array.of(0x7b, 0xc3, 0x28, 0x7d), /not valid UTF-8/],
    ['[1, 2]', /request body must be a JSON object/],
    ['{"inputs": {}}', /columnar "inputs" format is not supported/],
    ['{"instances": [], "extra": 1}', /unknown key "extra"/],
    ['{"signature_name": "other", "instances": [{}]}', /"signature_name" must be "serving_default"/],
    ['{"instance": [{}]}', /unknown key "instance"/],
    ['{}', /no "instances"/],
    ['{"instances": {}}', /^instances: must be an array/],
    ['{"instances": [{"205": "7"}]}', /^instances\[0\]\["205"\]: must be an array of ids/],
    ['{"instances": [{"205": [NaN]}]}', /^invalid JSON/],
    ['{"instances": [{"205": [[1, 1e999]]}]}', /^instances\[0\]\["205"\]\[0\]\[1\]: value must be a finite number/],
    ['{"instances": [{"nope": [1]}]}', /^instances\[0\]\["nope"\]: unknown field/],
    [JSON.stringify({ instances: Array.from({ length: 65 }, () => ({})) }), /^instances: has 65 instances; at most 64 per request$/],
    ['['.repeat(5000), /nested deeper than 32 levels/],
    [JSON.stringify({ instances: [{ '205': Array.from({ length: 20000 }, (_, i) => i) }] }), /exceeds the limit of 65536 bytes/],
  ];
  for (const [body, message] of cases) {
    const r = await http(predictUrl(), 'POST', body);
    assert.equal(r.status, 400, `${String(body).slice(0, 60)}: ${r.body}`);
    assert.match((JSON.parse(r.body) as { error: string }).error, message);
  }
});

test('an oversized body is refused at its Content-Length, and from its size when chunked', async () => {
  for (const chunked of [false, true]) {
    const socket = await rawSocket(service.url);
    const head = chunked
      ? 'POST /v1/models/esmm:predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
      : 'POST /v1/models/esmm:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n';
    socket.write(head);
    const answer = readAll(socket);
    const chunk = 'x'.repeat(16384);
    // Keep sending: the server answers and closes without reading everything.
    for (let i = 0; i < 8 && !socket.destroyed; i++) socket.write(chunked ? `${chunk.length.toString(16)}\r\n${chunk}\r\n` : chunk);
    const text = await answer;
    assert.match(text, /^HTTP\/1\.1 400 /, text.slice(0, 100));
    assert.match(text, /exceeds the limit of 65536 bytes/);
  }
  assert.equal((await postJson(predictUrl(), { instances: [{}] })).status, 200);
});

test('status, metadata, healthz, 404 and 405 follow TF Serving', async () => {
  const status = await http(`${service.url}/v1/models/esmm`, 'GET');
  assert.deepEqual(JSON.parse(status.body), {
    model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }],
  });
  const meta = JSON.parse((await http(`${service.url}/v1/models/esmm/metadata`, 'GET')).body);
  assert.equal(meta.model_spec.version, '1');
  assert.equal(meta.metadata.kind, 'esmm');
  assert.deepEqual(
    meta.metadata.fields.map((f: { name: string }) => f.name),
    ['101', '205', '206', '109_14', '216', '301'],
  );
  assert.deepEqual(JSON.parse((await http(`${service.url}/healthz`, 'GET')).body), { status: 'ok', model: 'esmm', version: 1 });
  const other = await postJson(`${service.url}/v1/models/other:predict`, { instances: [{}] });
  assert.equal(other.status, 404);
  assert.match(other.body, /Servable not found for request: Latest\(other\)/);
  const version = await postJson(`${service.url}/v1/models/esmm/versions/7:predict`, { instances: [{}] });
  assert.equal(version.status, 404);
  assert.match(version.body, /version 1 is served/);
  assert.equal((await http(`${service.url}/nope`, 'GET')).status, 404);
  const get = await http(predictUrl(), 'GET');
  assert.equal(get.status, 405);
  assert.equal(get.headers.allow, 'POST');
  assert.equal((await http(`${service.url}/metrics`, 'POST', 'x')).status, 405);
});

test('/metrics exposes request counts, latency and batch-size histograms and the model version', async () => {
  await postJson(predictUrl(), { instances: [{}, {}] });
  const r = await http(`${service.url}/metrics`, 'GET');
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
  const text = r.body;
  assert.match(text, /^# TYPE esmm_requests_total counter$/m);
  assert.match(text, /^esmm_requests_total\{route="predict",code="200"\} [1-9]\d*$/m);
  assert.match(text, /^esmm_requests_total\{route="predict",code="400"\} [1-9]\d*$/m);
  assert.match(text, /^# TYPE esmm_request_duration_seconds histogram$/m);
  assert.match(text, /^esmm_request_duration_seconds_bucket\{route="predict",le="0.005"\} \d+$/m);
  assert.match(text, /^esmm_request_duration_seconds_count\{route="predict"\} \d+$/m);
  assert.match(text, /^esmm_batch_instances_bucket\{le="\+Inf"\} [1-9]\d*$/m);
  assert.match(text, /^esmm_request_instances_sum [1-9]\d*$/m);
  assert.match(text, /^esmm_model_version\{model="esmm"\} 1$/m);
  assert.match(text, /^esmm_model_reloads_total\{result="failure"\} 0$/m);
  assert.match(text, /^process_resident_memory_bytes \d+$/m);
  // Histogram buckets are cumulative and end at the count.
  const buckets = [...text.matchAll(/^esmm_request_duration_seconds_bucket\{route="predict",le="[^"]+"\} (\d+)$/gm)].map((m) => Number(m[1]));
  assert.deepEqual(buckets, [...buckets].sort((a, b) => a - b));
  const count = Number(/^esmm_request_duration_seconds_count\{route="predict"\} (\d+)$/m.exec(text)![1]);
  assert.equal(buckets[buckets.length - 1], count);
});

/** Replaces the served predictor's predictRows for the rest of `run`, then puts it back. */
async function withPredictRows<T>(s: Service, replacement: (original: Predictor['predictRows']) => Predictor['predictRows'], run: () => Promise<T>): Promise<T> {
  const predictor = s.watcher.served.predictor;
  const original = predictor.predictRows.bind(predictor);
  predictor.predictRows = replacement(original);
  try {
    return await run();
  } finally {
    delete (predictor as { predictRows?: unknown }).predictRows;
  }
}

const metricValue = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
};

test('a predictor that throws gets a 500 with the message, counted in /metrics; the next request is served', async () => {
  const series = 'esmm_requests_total{route="predict",code="500"}';
  const before = metricValue((await http(`${service.url}/metrics`, 'GET')).body, series);
  const r = await withPredictRows(
    service,
    () => async () => {
      throw new Error('onnxruntime fell over');
    },
    () => postJson(predictUrl(), { instances: [{ '205': [1] }] }),
  );
  assert.equal(r.status, 500, r.body);
  assert.deepEqual(JSON.parse(r.body), { error: 'internal error: onnxruntime fell over' });
  const after = metricValue((await http(`${service.url}/metrics`, 'GET')).body, series);
  assert.equal(after, before + 1, `${series}: ${before} before, ${after} after`);
  assert.equal((await postJson(predictUrl(), { instances: [{ '205': [1] }] })).status, 200);
});

test('during shutdown /healthz answers 503 while a request in flight completes with its answer', { timeout: 30_000 }, async () => {
  const own = join(dir, 'shutdown-model');
  await writeTestModel(own, 'esmm', 22);
  const s = await startServing({ model: own, port: 0, pollMs: 0 });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const inPredict = new Promise<void>((resolve) => (entered = resolve));
  let stopped: Promise<void> | null = null;
  try {
    await withPredictRows(
      s,
      (original) => async (rows) => {
        entered();
        await gate;
        return original(rows);
      },
      async () => {
        const inFlight = postJson(`${s.url}/v1/models/esmm:predict`, { instances: [{ '205': [3] }] });
        // A health probe whose headers have begun to arrive: not idle, so shutdown waits for it.
        const probe = await rawSocket(s.url);
        probe.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
        const probeAnswer = readAll(probe, 5000);
        await inPredict;
        stopped = s.shutdown(5000);
        await new Promise((r) => setTimeout(r, 50));
        probe.write('\r\n');
        const health = await probeAnswer;
        assert.match(health, /^HTTP\/1\.1 503 /, health.slice(0, 200));
        assert.match(health, /"status":"shutting down"/);
        release();
        const answer = await inFlight;
        assert.equal(answer.status, 200, answer.body);
        assert.equal((JSON.parse(answer.body) as Answer).predictions.length, 1);
        await stopped;
      },
    );
  } finally {
    // On a failure too: the request held in the predictor is let go and the service stops.
    release();
    await (stopped ?? s.shutdown(1000));
  }
});
