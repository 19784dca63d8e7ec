import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOGLOSS_EPS, computeLogLoss, crossEntropy } from './logloss.js';

test('log loss clamps p to [1e-7, 1 - 1e-7] (Keras epsilon) and nothing more', () => {
  assert.equal(LOGLOSS_EPS, 1e-7);
  const ln = Math.log;
  // At the clamp: a certain miss costs -ln(1e-7) = 16.118..., either way round.
  assert.equal(crossEntropy(0, 1), -ln(1e-7));
  assert.equal(crossEntropy(1, 0), -ln(1 - (1 - 1e-7)));
  assert.ok(Math.abs(crossEntropy(1, 0) - 16.118095651) < 1e-6);
  assert.equal(crossEntropy(1e-9, 1), -ln(1e-7));
  // Inside it, the plain value: a clamp any wider (1e-2, 1e-3) changes these.
  assert.equal(crossEntropy(1e-3, 1), -ln(1e-3));
  assert.equal(crossEntropy(1e-6, 1), -ln(1e-6));
  assert.equal(crossEntropy(1 - 1e-4, 0), -ln(1 - (1 - 1e-4)));
  assert.equal(crossEntropy(0.25, 1), -ln(0.25));
  assert.equal(crossEntropy(0.25, 0), -ln(0.75));
  assert.ok(Math.abs(computeLogLoss([0.5, 1e-3, 0], [1, 1, 0]) - (ln(2) - ln(1e-3) - ln(1 - 1e-7)) / 3) < 1e-15);
  assert.ok(Number.isNaN(computeLogLoss([], [])));
});
