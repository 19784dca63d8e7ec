import assert from 'node:assert/strict';
import { test } from 'node:test';
import { comparedModels } from './paper.js';

test('a report is titled by what it compares: the paper\'s seven, those and others, or the models by name', () => {
  const table2 = ['base', 'aman', 'oversampling', 'unbias', 'division', 'esmm-ns', 'esmm'];
  assert.equal(comparedModels(table2), 'the seven models of the paper\'s Table 2');
  assert.equal(comparedModels([...table2, 'shared-bottom', 'dcmt']), 'the seven models of the paper\'s Table 2, Shared-Bottom and DCMT');
  assert.equal(
    comparedModels(['shared-bottom', 'mmoe', 'ple', 'aitm', 'escm2-ips', 'escm2-dr', 'dcmt']),
    'Shared-Bottom, MMoE, PLE, AITM, ESCM²-IPS, ESCM²-DR and DCMT',
  );
  assert.equal(comparedModels(['base', 'esmm']), 'BASE and ESMM');
  assert.equal(comparedModels(['esmm']), 'ESMM');
});
