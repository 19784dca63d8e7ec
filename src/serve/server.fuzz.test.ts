/**
 * Fuzzing `esmm serve` (a real child process) over loopback: mutated and truncated request
 * bodies, values of the wrong type at random places, deep nesting, huge and endless bodies,
 * garbage HTTP, and slow clients, while a well-behaved client keeps asking for predictions.
 * Nothing may crash the process, answer 5xx, grow memory without bound, or starve that client.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test-support/cli.js';
import { Rng } from '../util/rng.js';
import { syntheticInstances } from './synthetic-instances.js';
import { makeTestModel, writeTestModel } from './test-model.js';
import { http, rawSocket, readAll, spawnServer } from './testing.js';

const dir = tempDir('fuzz');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const MAX_BODY = 256 * 1024;
const agent = new Agent({ keepAlive: true, maxSockets: 8 });

function send(url: string, body: Uint8Array | string, method = 'POST'): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) };
    const req = request(url, { method, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A random JSON value of a wrong kind for wherever it lands. */
function junk(rng: Rng): unknown {
  const choices: (() => unknown)[] = [
    () => null,
    () => true,
    () => -1.5,
    () => 1e308,
    () => -(2 ** 63),
    () => '',
    () => 'x'.repeat(rng.int(2000)),
    () => ({}),
    () => [],
    () => [[[[[1]]]]],
    () => ({ '205': { '0': 1 } }),
    () => [null, null],
    () => rng.nextU32(),
    () => '\u0000\ud800',
  ];
  return choices[rng.int(choices.length)]!();
}

/** `value` with one randomly chosen node (object member, array element, or the root) replaced by junk. */
function replaceRandomNode(value: unknown, rng: Rng): unknown {
  if (rng.next() < 0.15 || value === null || typeof value !== 'object') return junk(rng);
  if (Array.isArray(value)) {
    if (value.length === 0) return [junk(rng)];
    const copy = [...value];
    const i = rng.int(copy.length);
    copy[i] = replaceRandomNode(copy[i], rng);
    return copy;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return { [rng.next() < 0.5 ? '205' : 'bogus']: junk(rng) };
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const k = keys[rng.int(keys.length)]!;
  copy[k] = replaceRandomNode(copy[k], rng);
  return copy;
}

/** Byte-level mutations of valid JSON text: truncation, flipped bytes, inserted or repeated pieces. */
function mutateBytes(text: string, rng: Rng): Uint8Array {
  const b = Buffer.from(text);
  switch (rng.int(4)) {
    case 0:
      return b.subarray(0, rng.int(b.length));
    case 1: {
      const c = Buffer.from(b);
      for (let n = 1 + rng.int(4); n > 0; n--) c[rng.int(c.length)] = rng.int(256);
      return c;
    }
    case 2: {
      const at = rng.int(b.length);
      const piece = ['"', '[', ']', '{', '}', ',', ':', '\\', '1e99999', 'null', '-', '\u00ff'][rng.int(12)]!;
      return Buffer.concat([b.subarray(0, at), Buffer.from(piece), b.subarray(at)]);
    }
    default: {
      const from = rng.int(b.length);
      const to = Math.min(b.length, from + rng.int(200));
      return Buffer.concat([b.subarray(0, to), b.subarray(from, to), b.subarray(to)]);
    }
  }
}

async function rss(url: string): Promise<number> {
  const m = /^process_resident_memory_bytes (\d+)$/m.exec((await http(`${url}/metrics`, 'GET')).body);
  return Number(m![1]);
}

test('fuzzing the HTTP server: no crash, no 5xx, bounded memory, other clients served', async (t) => {
  const modelDir = join(dir, 'model');
  await writeTestModel(modelDir, 'esmm', 8);
  const model = await makeTestModel('esmm', 8);
  const valid = syntheticInstances(model, 200, 3);
  await model.release();
  const server = await spawnServer([
    '--model', modelDir, '--max-body-bytes', String(MAX_BODY), '--max-instances', '64', '--max-ids-per-field', '500',
    '--request-timeout-ms', '1500',
  ]);
  const url = `${server.url}/v1/models/esmm:predict`;
  const statuses = new Map<number, number>();
  const count = (s: number): void => void statuses.set(s, (statuses.get(s) ?? 0) + 1);
  let cases = 0;
  try {
    const rssBefore = await rss(server.url);
    const rng = new Rng(20260);

    // A well-behaved client, all along: every answer must be a 200.
    let stop = false;
    const healthyLatencies: number[] = [];
    const healthy = (async () => {
      let failures = 0;
      while (!stop) {
        const started = performance.now();
        const s = await send(url, JSON.stringify({ instances: [valid[rng.int(valid.length)]] }));
        healthyLatencies.push(performance.now() - started);
        if (s !== 200) failures++;
        await new Promise((r) => setTimeout(r, 5));
      }
      return failures;
    })();

    // Slow clients: headers a byte at a time, bodies that stall; cut by the request timeout.
    const slow = Array.from({ length: 20 }, async (_, i) => {
      const socket = await rawSocket(server.url);
      const answer = readAll(socket, 8000);
      const head = `POST /v1/models/esmm:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"instances": [`;
      for (let k = 0; k < head.length && !socket.destroyed; k++) {
        socket.write(head[k]!);
        await new Promise((r) => setTimeout(r, i % 2 === 0 ? 150 : 20));
      }
      return answer;
    });

    // 1. Valid requests with one node replaced by junk; 2. byte-mutated bodies.
    const bodies: (string | Uint8Array)[] = [];
    for (let i = 0; i < 1500; i++) {
      const at = rng.int(190);
      const request = { instances: valid.slice(at, at + 1 + rng.int(3)) };
      bodies.push(JSON.stringify(replaceRandomNode(request, rng)));
    }
    for (let i = 0; i < 1500; i++) bodies.push(mutateBytes(JSON.stringify({ instances: valid.slice(0, 1 + rng.int(4)) }), rng));
    // 3. Random bytes, deep nesting, huge bodies, odd shapes.
    for (let i = 0; i < 100; i++) bodies.push(Uint8Array.from({ length: rng.int(3000) }, () => rng.int(256)));
    for (const n of [64, 1000, 100_000, MAX_BODY - 10]) bodies.push('['.repeat(n), '{"a":'.repeat(Math.floor(n / 5)));
    bodies.push('{"instances": [' + '{},'.repeat(MAX_BODY / 3) + '{}]}', '"' + 'x'.repeat(MAX_BODY + 1) + '"');
    bodies.push(JSON.stringify({ instances: [{ '205': Array.from({ length: 501 }, (_, i) => i) }] }));
    bodies.push(JSON.stringify({ instances: Array.from({ length: 65 }, () => ({})) }));
    for (let i = 0; i < bodies.length; i += 8) {
      const batch = bodies.slice(i, i + 8).map(async (b) => count(await send(url, b)));
      await Promise.all(batch);
      cases += batch.length;
    }
    // 4. Methods and paths.
    for (const [method, path] of [['GET', '/v1/models/esmm:predict'], ['PUT', '/v1/models/esmm'], ['POST', '/v1/models/%ZZ:predict'], ['POST', '/v1/models/esmm/versions/99999999999999999999:predict'], ['DELETE', '/healthz'], ['GET', '/' + 'a'.repeat(5000)], ['POST', '/v1/models/esmm:predict?x=%00']] as const) {
      count(await send(server.url + path, '{}', method));
      cases++;
    }
    // 5. Garbage HTTP, oversized headers, lying lengths, endless bodies, on raw sockets.
    const raw = [
      'GARBAGE\r\n\r\n',
      'POST /v1/models/esmm:predict HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n',
      'POST /v1/models/esmm:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nContent-Length: 20\r\n\r\n',
      'POST /v1/models/esmm:predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n',
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(70_000)}\r\n\r\n`,
      'POST /v1/models/esmm:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"instances"', // then silence: 408
      `POST /v1/models/esmm:predict HTTP/1.1\r\nHost: x\r\nContent-Length: ${10 ** 12}\r\n\r\n` + 'z'.repeat(1000),
    ];
    for (const text of raw) {
      const socket = await rawSocket(server.url);
      const answer = readAll(socket, 5000);
      socket.write(text);
      const reply = await answer;
      const status = /^HTTP\/1\.1 (\d{3})/.exec(reply);
      assert.ok(status, `an answer to ${JSON.stringify(text.slice(0, 60))}: ${JSON.stringify(reply.slice(0, 80))}`);
      count(Number(status[1]));
      cases++;
    }
    {
      // An endless chunked body.
      const socket = await rawSocket(server.url);
      const answer = readAll(socket, 5000);
      socket.write('POST /v1/models/esmm:predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
      for (let i = 0; i < 100 && !socket.destroyed; i++) {
        socket.write(`4000\r\n${'['.repeat(0x4000)}\r\n`);
        await new Promise((r) => setImmediate(r));
      }
      count(Number(/^HTTP\/1\.1 (\d{3})/.exec(await answer)?.[1] ?? 0));
      cases++;
    }
    for (const a of await Promise.all(slow)) {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(a)?.[1] ?? 0);
      count(status);
      cases++;
    }
    stop = true;
    const healthyFailures = await healthy;

    const rssAfter = await rss(server.url);
    const metrics = (await http(`${server.url}/metrics`, 'GET')).body;
    const health = await http(`${server.url}/healthz`, 'GET');
    healthyLatencies.sort((a, b) => a - b);
    const p99 = healthyLatencies[Math.floor(healthyLatencies.length * 0.99)]!;
    t.diagnostic(`${cases} fuzz cases; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    t.diagnostic(`well-behaved client: ${healthyLatencies.length} requests, ${healthyFailures} failed, p99 ${p99.toFixed(1)} ms`);
    t.diagnostic(`rss ${(rssBefore / 2 ** 20).toFixed(0)} MiB before, ${(rssAfter / 2 ** 20).toFixed(0)} MiB after`);

    assert.equal(server.child.exitCode, null, 'the server is still running');
    assert.equal(health.status, 200);
    assert.ok(cases > 3000);
    for (const s of statuses.keys()) assert.ok(s >= 200 && s < 500, `status ${s} (${statuses.get(s)} times)`);
    assert.doesNotMatch(metrics, /code="5\d\d"/, 'no 5xx in the server metrics');
    assert.ok((statuses.get(400) ?? 0) > 2000, 'most mutated requests are refused');
    assert.ok((statuses.get(200) ?? 0) > 10, 'some mutations are still valid requests');
    assert.ok((statuses.get(408) ?? 0) >= 10, 'slow clients are cut by the request timeout');
    assert.equal(healthyFailures, 0);
    assert.ok(healthyLatencies.length > 20);
    assert.ok(rssAfter - rssBefore < 150 * 2 ** 20, `memory grew by ${(rssAfter - rssBefore) / 2 ** 20} MiB`);
    assert.doesNotMatch(server.stderr(), /internal error/);
  } finally {
    agent.destroy();
    server.child.kill('SIGKILL');
  }
});
