import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reportedCommand } from './experiment.js';

test('the reported command names path options by their last part and keeps everything else', () => {
  assert.equal(
    reportedCommand('experiment', ['--data', '/tmp/exp3/data', '--models', 'base,esmm', '--runs', '10', '-o', '/tmp/exp3/report']),
    'esmm experiment --data data --models base,esmm --runs 10 -o report',
  );
  assert.equal(reportedCommand('experiment', ['--out=/a/b/out', '--spec', 'specs/x.json', '--strict']), 'esmm experiment --out=out --spec x.json --strict');
  assert.equal(reportedCommand('experiment', ['--data', '/tmp/a b/my data']), 'esmm experiment --data "my data"');
});
