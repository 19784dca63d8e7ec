/**
 * trainingBatches gives exactly the batches trainModel trains on, in its order: a model stepped
 * through them ends with the same weights, bit for bit, as one trained by trainModel.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { prepareSplit } from '../data/cache/prepare.js';
import { defaultSpec } from '../features/spec.js';
import { CvrModel } from '../models/cvr-model.js';
import { createDenseOptimizer } from '../optim/dense.js';
import { generateDataset } from '../simulate/generate.js';
import { createSparseOptimizer } from '../sparse/row-sparse-optimizer.js';
import { tempDir } from '../test-support/cli.js';
import { smallHyper } from '../test-support/hyper.js';
import { dataOrderRng, drawBlockOrder, trainingBatches } from './batch-order.js';
import { trainModel, trainStep } from './trainer.js';
import { weightsOf } from '../test-support/weights.js';

const dir = tempDir('batch-order');
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('trainingBatches replays the trainer: same losses, same weights', async () => {
  await generateDataset({ outDir: join(dir, 'data'), train: 2500, test: 50, seed: 3 });
  const split = await prepareSplit({ dataDir: join(dir, 'data'), split: 'train' });
  const spec = defaultSpec();
  const config = { kind: 'esmm' as const, spec, hyper: smallHyper('esmm', [10, 5]), seed: 6 };
  const training = { epochs: 2, batchSize: 96, lr: 0.01, optimizer: 'adam' as const, seed: 13, quiet: true, embeddingThread: false };

  const a = await CvrModel.create(config, { threads: 1 });
  const lossesA: number[] = [];
  await trainModel(a, split, { ...training, onStep: (s) => lossesA.push(s.loss) });

  const b = await CvrModel.create(config, { threads: 1 });
  const c = b.components[0]!;
  const sparse = createSparseOptimizer('adam', training.lr);
  const dense = createDenseOptimizer('adam', training.lr);
  const lossesB: number[] = [];
  for (const batch of trainingBatches(spec, split, c.def.name, training)) lossesB.push(await trainStep(c, batch, sparse, dense, null, null));

  assert.equal(lossesB.length, lossesA.length);
  assert.deepEqual(lossesB, lossesA);
  assert.deepEqual(weightsOf(b), weightsOf(a));
  await a.release();
  await b.release();
});

test('the block order is drawn per epoch from the component generator', () => {
  const r1 = dataOrderRng(1, 'esmm');
  const r2 = dataOrderRng(1, 'esmm');
  assert.deepEqual(drawBlockOrder(r1, 16), drawBlockOrder(r2, 16));
  assert.notDeepEqual([...drawBlockOrder(dataOrderRng(1, 'esmm'), 16)], [...drawBlockOrder(dataOrderRng(1, 'ctr'), 16)]);
});
