import test from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from '../test-support/cli.js';

const dir = tempDir('prepare');
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('prepare reuses a fresh cache, and --force rebuilds it', () => {
  const data = join(dir, 'data');
  assert.equal(runCli(['generate', '--out', data, '--train', '2000', '--test', '1000', '-q']).status, 0);
  const first = runCli(['prepare', '--data', data, '--split', 'train']);
  assert.equal(first.status, 0, first.stderr);
  assert.doesNotMatch(first.stderr, /cached/);
  const again = runCli(['prepare', '--data', data, '--split', 'train']);
  assert.match(again.stderr, /train: 2000 impressions.*\(aliccp, cached\)/);
  const forced = runCli(['prepare', '--data', data, '--split', 'train', '--force']);
  assert.equal(forced.status, 0, forced.stderr);
  assert.match(forced.stderr, /train: 2000 impressions/);
  assert.doesNotMatch(forced.stderr, /cached/);
});
