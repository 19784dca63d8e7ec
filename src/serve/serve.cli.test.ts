import test from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from '../test-support/cli.js';
import { writeTestModel } from './test-model.js';
import { postJson, rawSocket, readAll, spawnServer } from './testing.js';

const dir = tempDir('serve-cli');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const BODY = JSON.stringify({ instances: [{ '205': [1, 2, 3], '109_14': [[4, 0.5]] }] });

test('esmm serve: SIGHUP picks up a new version, SIGTERM answers the request in flight and exits 0', async () => {
  const base = join(dir, 'base');
  mkdirSync(base);
  await writeTestModel(join(base, '1'), 'esmm', 1);
  await writeTestModel(join(dir, 'next'), 'esmm', 2);
  const server = await spawnServer(['--model', base, '--poll-seconds', '0', '--name', 'ctr']);
  try {
    const url = `${server.url}/v1/models/ctr:predict`;
    const first = await postJson(url, JSON.parse(BODY));
    assert.equal(first.status, 200, first.body);
    assert.equal(first.headers['x-model-version'], '1');

    cpSync(join(dir, 'next'), join(base, '.tmp'), { recursive: true });
    renameSync(join(base, '.tmp'), join(base, '2'));
    server.child.kill('SIGHUP');
    let version = '1';
    for (let i = 0; i < 100 && version !== '2'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      version = String((await postJson(url, JSON.parse(BODY))).headers['x-model-version']);
    }
    assert.equal(version, '2', server.stderr());

    // A request whose body is half sent when SIGTERM comes is still answered.
    const socket = await rawSocket(server.url);
    const answer = readAll(socket, 10_000);
    socket.write(`POST /v1/models/ctr:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n`);
    socket.write(BODY.slice(0, 10));
    await new Promise((r) => setTimeout(r, 100));
    server.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    socket.write(BODY.slice(10));
    const text = await answer;
    assert.match(text, /^HTTP\/1\.1 200 /, text);
    assert.match(text, /"probabilities":/);
    assert.equal(await server.exited, 0, server.stderr());
    assert.match(server.stderr(), /SIGTERM: shutting down/);
    assert.match(server.stderr(), /stopped/);
  } finally {
    server.child.kill('SIGKILL');
  }
});

test('esmm serve refuses what it cannot serve, with the reason', () => {
  const missing = runCli(['serve', '--model', join(dir, 'none'), '--port', '0']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no such directory/);
  const usage = runCli(['serve', '--port', '0']);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--model is required/);
  const port = runCli(['serve', '--model', dir, '--port', '70000']);
  assert.equal(port.status, 2);
  assert.match(port.stderr, /--port must be an integer in \[0, 65535\]/);
});
