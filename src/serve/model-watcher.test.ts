import test from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test-support/cli.js';
import { ModelWatcher } from './model-watcher.js';
import { startServing } from './serve.js';
import { writeTestModel } from './test-model.js';
import { http, postJson } from './testing.js';

const dir = tempDir('watcher');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const models = join(dir, 'models');
const ready = (async () => {
  mkdirSync(models);
  await writeTestModel(join(models, 'esmm-a'), 'esmm', 1);
  await writeTestModel(join(models, 'esmm-b'), 'esmm', 2);
  await writeTestModel(join(models, 'base-c'), 'base', 3);
})();

/** Copies a model in as `base/version` the way a deployment should: write aside, then rename. */
function publish(from: string, base: string, version: number): void {
  const tmp = join(base, `.incoming-${version}`);
  cpSync(join(models, from), tmp, { recursive: true });
  renameSync(tmp, join(base, String(version)));
}

const INSTANCE = { instances: [{ '205': [101, 102], '101': [7], '109_14': [[55, 1.5]] }] };

test('a new version is swapped in under load without a failed request; a broken one is refused', async () => {
  await ready;
  const base = join(dir, 'base1');
  mkdirSync(base);
  publish('esmm-a', base, 1);
  const logs: string[] = [];
  const service = await startServing({ model: base, port: 0, pollMs: 50, log: (l) => logs.push(l) });
  try {
    const url = `${service.url}/v1/models/esmm:predict`;
    const v1 = JSON.parse((await postJson(url, INSTANCE)).body);
    // Clients keep sending while version 2 appears.
    const seen = new Map<string, string>();
    let failures = 0;
    let stop = false;
    const clients = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const r = await postJson(url, INSTANCE);
        if (r.status !== 200) failures++;
        else seen.set(String(r.headers['x-model-version']), r.body);
      }
    });
    await new Promise((r) => setTimeout(r, 100));
    publish('esmm-b', base, 2);
    const deadline = Date.now() + 10_000;
    while (service.watcher.served.version !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await Promise.all(clients);
    assert.equal(failures, 0);
    assert.equal(service.watcher.served.version, 2);
    assert.deepEqual([...seen.keys()].sort(), ['1', '2']);
    assert.deepEqual(JSON.parse(seen.get('1')!), v1);
    assert.notDeepEqual(JSON.parse(seen.get('2')!), v1, 'version 2 is another model');
    assert.ok(logs.some((l) => /serving version 2 .* \(was version 1\)/.test(l)), logs.join('\n'));

    // A broken version 3: refused, logged, reported; version 2 keeps serving.
    mkdirSync(join(base, '3'));
    writeFileSync(join(base, '3', 'model.json'), '{"format": "esmm-model", "version": 1, "kind": "esmm"');
    assert.equal(await service.reload(), 'refused');
    assert.equal(await service.reload(), 'unchanged', 'the same broken files are not tried again');
    assert.equal(service.watcher.served.version, 2);
    assert.equal((await postJson(url, INSTANCE)).status, 200);
    const status = JSON.parse((await http(`${service.url}/v1/models/esmm`, 'GET')).body);
    assert.equal(status.model_version_status[0].version, '2');
    assert.equal(status.model_version_status[1].version, '3');
    assert.match(status.model_version_status[1].status.error_message, /unreadable JSON/);
    assert.ok(logs.some((l) => /^refused version 3 .*unreadable JSON.*; still serving version 2$/.test(l)), logs.join('\n'));
    const metrics = (await http(`${service.url}/metrics`, 'GET')).body;
    assert.match(metrics, /^esmm_model_reloads_total\{result="failure"\} 1$/m);
    assert.match(metrics, /^esmm_model_reloads_total\{result="success"\} 1$/m);
    assert.match(metrics, /^esmm_model_version\{model="esmm"\} 2$/m);

    // Fixed in place (its files change): loaded.
    rmSync(join(base, '3'), { recursive: true });
    publish('base-c', base, 3);
    assert.equal(await service.reload(), 'loaded');
    assert.equal(service.watcher.served.predictor.model.config.kind, 'base');
    assert.equal((await postJson(url, INSTANCE)).headers['x-model-version'], '3');
  } finally {
    await service.shutdown();
  }
});

test('an old version is released only after the last request holding it is done', async () => {
  await ready;
  const base = join(dir, 'base2');
  mkdirSync(base);
  publish('esmm-a', base, 4);
  const logs: string[] = [];
  const watcher = await ModelWatcher.open(base, { log: (l) => logs.push(l) });
  try {
    const lease = watcher.acquire();
    publish('esmm-b', base, 5);
    assert.equal(await watcher.check(), 'loaded');
    assert.equal(watcher.served.version, 5);
    // The request that started on version 4 still predicts with it.
    const rows = lease.served.predictor.parse(INSTANCE.instances);
    const p = await lease.served.predictor.predictRows(rows);
    assert.ok(p.pctr[0]! > 0 && p.pctr[0]! < 1);
    lease.release();
    lease.release(); // twice is harmless
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(lease.served.predictor.predictRows(rows), /released/);
  } finally {
    await watcher.close();
  }
  await assert.rejects(watcher.served.predictor.predictRows(watcher.served.predictor.parse([{}])), /released/);
});

test('a single model directory is reloaded as the next version when its files change', async () => {
  await ready;
  const single = join(dir, 'single');
  cpSync(join(models, 'esmm-a'), single, { recursive: true });
  const watcher = await ModelWatcher.open(single);
  try {
    assert.equal(watcher.layout, 'model');
    assert.equal(watcher.served.version, 1);
    assert.equal(await watcher.check(), 'unchanged');
    await writeTestModel(single, 'base', 9); // saveModel renames a new directory into place
    assert.equal(await watcher.check(), 'loaded');
    assert.equal(watcher.served.version, 2);
    assert.equal(watcher.served.predictor.model.config.kind, 'base');
  } finally {
    await watcher.close();
  }
});

test('nothing to serve is an error that says what to give', async () => {
  await assert.rejects(ModelWatcher.open(join(dir, 'missing')), /no such directory; give a model directory .* or a base directory of numbered versions/);
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  await assert.rejects(ModelWatcher.open(empty), /no version to serve: the base directory has no numeric subdirectory/);
  mkdirSync(join(empty, '1'));
  await assert.rejects(ModelWatcher.open(empty), /cannot serve .*1: .*not a model directory \(no model.json\)/);
});
