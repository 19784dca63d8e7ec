/**
 * Server faults: an exception that is not the client's fault, thrown anywhere while a predict
 * request is read, parsed or predicted, is a 500 with {"error": "internal error: ..."} counted as a
 * 500 in /metrics; input errors stay 400s, and a client that leaves mid-body is counted as 499.
 *
 * One server on the test model takes every fault: reading and JSON parsing fail through its
 * overridable methods (FaultyServer), the fast and general instance parsers and predictRows through
 * replacements on the served predictor instance, each removed after its request.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { tempDir } from '../test-support/cli.js';
import { ServerMetrics } from './metrics.js';
import { ModelWatcher } from './model-watcher.js';
import type { Predictor } from './predictor.js';
import { PredictionServer } from './server.js';
import { writeTestModel } from './test-model.js';
import { http, rawSocket, type HttpResult } from './testing.js';

/** A server whose body reading or JSON parsing throws the fault set here (after doing its work). */
class FaultyServer extends PredictionServer {
  readFault: Error | null = null;
  parseFault: Error | null = null;

  protected override async receiveBody(req: IncomingMessage): Promise<Uint8Array> {
    const bytes = await super.receiveBody(req);
    if (this.readFault) throw this.readFault;
    return bytes;
  }

  protected override parseBody(bytes: Uint8Array): unknown {
    const body = super.parseBody(bytes);
    if (this.parseFault) throw this.parseFault;
    return body;
  }
}

const dir = tempDir('server-faults');
let watcher: ModelWatcher;
let server: FaultyServer;
let base: string;

test.before(async () => {
  const modelDir = join(dir, 'model');
  await writeTestModel(modelDir, 'esmm', 23);
  watcher = await ModelWatcher.open(modelDir);
  server = new FaultyServer(watcher, new ServerMetrics('esmm'));
  const address = await server.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${address.port}`;
});
test.after(async () => {
  await server.close(1000);
  await watcher.close();
  rmSync(dir, { recursive: true, force: true });
});

const served = (): Predictor => watcher.served.predictor;

/** A predict request; a connection closed without an answer reads as status 0. */
function predict(body: string): Promise<HttpResult> {
  return http(`${base}/v1/models/esmm:predict`, 'POST', body, { 'Content-Type': 'application/json' }).catch((e: Error) => ({
    status: 0,
    headers: {},
    body: `no answer, the connection closed (${e.message})`,
  }));
}

/** esmm_requests_total of the predict route with this status code, as /metrics shows it. */
async function predictCount(code: number): Promise<number> {
  const text = (await http(`${base}/metrics`, 'GET')).body;
  const series = `esmm_requests_total{route="predict",code="${code}"} `;
  const line = text.split('\n').find((l) => l.startsWith(series));
  return line === undefined ? 0 : Number(line.slice(series.length));
}

/** Puts `fake` in place of `target[key]` on that instance; the returned function takes it out. */
function replace<T extends object, K extends keyof T>(target: T, key: K, fake: T[K]): () => void {
  target[key] = fake;
  return () => void Reflect.deleteProperty(target, key);
}

const PLAIN_BODY = JSON.stringify({ instances: [{ '205': [1], '109_14': [[7, 0.5]] }] });
/** "signature_name" is not the plain shape: the fast path gives up, the general path parses it. */
const GENERAL_BODY = JSON.stringify({ signature_name: 'serving_default', instances: [{ '205': [1], '109_14': [[7, 0.5]] }] });

interface Stage {
  name: string;
  /** A body that gets through this stage to a 200 when nothing is broken. */
  body: string;
  /** Makes this stage throw `bug`; the returned function puts it right. */
  inject(bug: Error): () => void;
}

const STAGES: Stage[] = [
  {
    name: 'reading the body',
    body: PLAIN_BODY,
    inject: (bug) => {
      server.readFault = bug;
      return () => (server.readFault = null);
    },
  },
  {
    name: 'parsing the body as JSON (parseJsonBody)',
    body: GENERAL_BODY,
    inject: (bug) => {
      server.parseFault = bug;
      return () => (server.parseFault = null);
    },
  },
  {
    name: 'the fast parse path (parser.parseJson)',
    body: PLAIN_BODY,
    inject: (bug) =>
      replace(served().parser, 'parseJson', () => {
        throw bug;
      }),
  },
  {
    name: 'the general parse path (predictor.parse)',
    body: GENERAL_BODY,
    inject: (bug) =>
      replace(served(), 'parse', () => {
        throw bug;
      }),
  },
  {
    name: 'predicting (predictRows)',
    body: PLAIN_BODY,
    inject: (bug) => replace(served(), 'predictRows', () => Promise.reject(bug)),
  },
];

test('the bodies reach the stages they are meant for', async () => {
  const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
  assert.ok(served().parser.parseJson(bytes(PLAIN_BODY)), 'the fast path no longer reads PLAIN_BODY');
  assert.equal(served().parser.parseJson(bytes(GENERAL_BODY)), null, 'the fast path reads GENERAL_BODY: the general path is not tested');
  for (const body of [PLAIN_BODY, GENERAL_BODY]) {
    const r = await predict(body);
    assert.equal(r.status, 200, `${body}: ${r.body}`);
  }
});

test('an exception that is not an input error, from any stage of a predict request, is a 500 counted in /metrics', async () => {
  const bugs = [new Error('bug: an index past the end'), new TypeError("Cannot read properties of undefined (reading 'count')")];
  // Every stage and bug is tried: the failure lists all that are answered wrongly.
  const problems: string[] = [];
  for (const stage of STAGES) {
    for (const bug of bugs) {
      problems.push(...(await faultProblems(stage, bug)));
    }
  }
  assert.deepEqual(problems, [], `\n${problems.join('\n')}`);
});

/** What is wrong with the answer to a request whose `stage` throws `bug` (nothing: []). */
async function faultProblems(stage: Stage, bug: Error): Promise<string[]> {
  const what = `${bug.name} "${bug.message}" thrown from ${stage.name}`;
  const before = await predictCount(500);
  const putRight = stage.inject(bug);
  let answer: HttpResult;
  try {
    answer = await predict(stage.body);
  } finally {
    putRight();
  }
  const problems: string[] = [];
  if (answer.status !== 500) problems.push(`${what}: answered ${answer.status}, not 500: ${answer.body}`);
  else if (answer.body !== JSON.stringify({ error: `internal error: ${bug.message}` })) problems.push(`${what}: the 500's body is not the JSON error: ${answer.body}`);
  const after = await predictCount(500);
  if (after !== before + 1) problems.push(`${what}: not counted as a 500 in /metrics (${before} before, ${after} after)`);
  const next = await predict(stage.body);
  if (next.status !== 200) problems.push(`${what}: the next request, with nothing broken, was answered ${next.status}: ${next.body}`);
  return problems;
}

test('input errors are still 400s with what is wrong, and not counted as 500s', async () => {
  const cases: [string, string, RegExp][] = [
    ['bad JSON', '{"instances": [', /^invalid JSON/],
    ['a body that is not an object', '[1, 2]', /request body must be a JSON object/],
    ['instances that are not an array', '{"instances": {}}', /^instances: must be an array/],
    ['an unknown field', '{"instances": [{"nope": [1]}]}', /^instances\[0\]\["nope"\]: unknown field/],
    ['a bad id', '{"instances": [{"205": [1.5]}]}', /^instances\[0\]\["205"\]\[0\]: id must be an integer/],
  ];
  const errors500 = await predictCount(500);
  const errors400 = await predictCount(400);
  for (const [what, body, message] of cases) {
    const r = await predict(body);
    assert.equal(r.status, 400, `${what} was answered ${r.status}, not 400: ${r.body}`);
    assert.match((JSON.parse(r.body) as { error: string }).error, message, what);
  }
  assert.equal(await predictCount(400), errors400 + cases.length, 'input errors not counted as 400s in /metrics');
  assert.equal(await predictCount(500), errors500, 'an input error was counted as a 500');
});

test('a client that leaves before its body is complete is counted as 499, not as a 500', async () => {
  const left = server.metrics.count('predict', 499);
  const errors500 = server.metrics.count('predict', 500);
  const socket = await rawSocket(base);
  socket.write('POST /v1/models/esmm:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"instances": [');
  await new Promise((r) => setTimeout(r, 50));
  socket.destroy();
  const deadline = Date.now() + 5000;
  while (server.metrics.count('predict', 499) === left && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(server.metrics.count('predict', 499), left + 1, 'the request cut off mid-body was not counted as 499');
  assert.equal(server.metrics.count('predict', 500), errors500, 'a client leaving mid-body was counted as a 500');
});
