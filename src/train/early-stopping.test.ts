import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { prepareSplit } from '../data/cache/prepare.js';
import { splitBySession } from '../data/session-split.js';
import { defaultSpec } from '../features/spec.js';
import { CvrModel } from '../models/cvr-model.js';
import { generateDataset } from '../simulate/generate.js';
import { EmbeddingTable } from '../sparse/embedding-table.js';
import { runCli, tempDir } from '../test-support/cli.js';
import { smallHyper } from '../test-support/hyper.js';
import { trainingSource } from './component-data.js';
import { DEFAULT_MIN_EPOCHS, MIN_EVAL_EVERY, defaultEvalEvery, initialState, record, validationLoss } from './early-stopping.js';
import { trainModel, type TrainConfig } from './trainer.js';

const dir = tempDir('early-stopping');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const ready = (async () => {
  await generateDataset({ outDir: join(dir, 'data'), train: 4000, test: 100, seed: 21 });
  return prepareSplit({ dataDir: join(dir, 'data'), split: 'train' });
})();

test('patience counts evaluations without a strict improvement; the first evaluation is the first best', () => {
  const s = initialState({ patience: 2, evalEvery: 10, maxEpochs: 5, minEpochs: 1, validationSamples: 100 });
  const at = (step: number, loss: number) => record(s, { step, epoch: 1, loss }, 1);
  assert.deepEqual(at(10, 0.5), { improved: true, stop: false });
  assert.deepEqual(at(20, 0.4), { improved: true, stop: false });
  assert.deepEqual(at(30, 0.4), { improved: false, stop: false }); // equal is no improvement
  assert.deepEqual(at(40, 0.3), { improved: true, stop: false }); // and an improvement resets the count
  assert.deepEqual(at(50, 0.31), { improved: false, stop: false });
  assert.deepEqual(at(60, 0.35), { improved: false, stop: true });
  assert.equal(s.best, 0.3);
  assert.equal(s.bestStep, 40);
  assert.equal(s.stopped, 'patience');
  assert.equal(s.lastEvalStep, 60);
  assert.equal(s.curve.length, 6);
});

test('patience does not stop a component before its minimum of epochs; it stops at the first evaluation after', () => {
  const s = initialState({ patience: 1, evalEvery: 10, maxEpochs: 5, minEpochs: 2, validationSamples: 100 });
  assert.deepEqual(record(s, { step: 10, epoch: 0, loss: 0.5 }, 0), { improved: true, stop: false });
  assert.deepEqual(record(s, { step: 20, epoch: 0, loss: 0.6 }, 1), { improved: false, stop: false });
  assert.deepEqual(record(s, { step: 30, epoch: 1, loss: 0.7 }, 1), { improved: false, stop: false });
  assert.equal(s.stopped, null);
  assert.deepEqual(record(s, { step: 40, epoch: 1, loss: 0.7 }, 2), { improved: false, stop: true });
  assert.equal(s.stopped, 'patience');
});

test('the default evaluation interval: about 4 per epoch, once below 10,000 validation impressions, at least MIN_EVAL_EVERY steps', () => {
  assert.equal(defaultEvalEvery(1_200_000, 1024, 120_000), Math.ceil(1172 / 4));
  assert.equal(defaultEvalEvery(1_200_000, 1024, 10_000), Math.ceil(1172 / 4));
  assert.equal(defaultEvalEvery(48_000, 41, 5_000), 1171);
  assert.equal(defaultEvalEvery(47_000, 1024, 5_000), 46);
  assert.equal(defaultEvalEvery(20_000, 1024, 5_000), MIN_EVAL_EVERY);
  assert.equal(defaultEvalEvery(0, 1024, 0), MIN_EVAL_EVERY);
});

test('replaceRows leaves exactly the given rows touched, with their values', () => {
  const t = new EmbeddingTable('t', 100, 3, 5);
  t.ensure(7);
  t.ensure(3);
  const before = t.exportRows();
  t.ensure(50);
  t.data[t.ensure(3)] = 42;
  t.replaceRows(before.rows, before.data);
  assert.deepEqual(t.exportRows(), before);
  assert.equal(t.isTouched(50), false, 'a row first touched after the state is untouched again');
  assert.equal(t.offsetOf(50), -1);
  // Touched again later, it starts from its initial values as it would have.
  const fresh = new EmbeddingTable('t', 100, 3, 5);
  const a = t.ensure(50);
  const b = fresh.ensure(50);
  assert.deepEqual(t.data.slice(a, a + 3), fresh.data.slice(b, b + 3));
});

test("epochs 'auto': each component stops on its own validation loss, and its best state is what the model ends with", async () => {
  const data = await ready;
  const config: TrainConfig = {
    epochs: 'auto',
    earlyStopping: { patience: 2, evalEvery: 6, maxEpochs: 6 },
    batchSize: 32,
    lr: 0.02,
    optimizer: 'adam',
    seed: 3,
    quiet: true,
    embeddingThread: false,
  };
  const model = await CvrModel.create({ kind: 'base', spec: defaultSpec(), hyper: smallHyper('base', [12, 6], 0.2), seed: 4 }, { threads: 1 });
  try {
    const r = await trainModel(model, data, config);
    const { train, validation } = splitBySession(data, 0.1, config.seed);
    for (const c of r.components) {
      const e = c.earlyStopping;
      assert.ok(e, c.name);
      const def = model.component(c.name).def;
      const slice = await trainingSource(def, validation, model);
      assert.equal(c.trainedOn, (await trainingSource(def, train, model)).numSamples, 'trained on the training side only');
      assert.equal(e.validationSamples, slice.numSamples);
      assert.equal(e.curve.length > 0, true);
      const bestPoint = e.curve.find((p) => p.step === e.bestStep)!;
      assert.equal(bestPoint.loss, e.best);
      assert.equal(Math.min(...e.curve.map((p) => p.loss)), e.best);
      assert.equal(e.stoppedAtStep, c.steps);
      // Every evaluation falls on a multiple of evalEvery or at an epoch's end.
      const perEpoch = Math.ceil(c.trainedOn / c.batchSize);
      if (e.stopped === 'patience') {
        const after = e.curve.filter((p) => p.step > e.bestStep);
        // `patience` evaluations without improvement; more only while the minimum of epochs was not done.
        if (after.length !== 2) assert.ok(after.length > 2 && e.curve.at(-2)!.step < DEFAULT_MIN_EPOCHS * perEpoch, `${c.name}: ${after.length} evaluations after the best`);
      }
      // No component stops before its minimum of whole epochs (DEFAULT_MIN_EPOCHS, docs/models.md).
      assert.equal(e.minEpochs, DEFAULT_MIN_EPOCHS);
      assert.ok(c.steps >= DEFAULT_MIN_EPOCHS * perEpoch, `${c.name} stopped at step ${c.steps}, before ${DEFAULT_MIN_EPOCHS} epoch(s) of ${perEpoch} steps`);
      for (const p of e.curve) assert.ok(p.step % 6 === 0 || p.step % perEpoch === 0 || p.step === perEpoch * (p.epoch + 1), `step ${p.step}`);
      // The model holds the best state: its validation loss now is the best one, exactly.
      assert.equal(await validationLoss(model.component(c.name), slice, model, null), e.best, c.name);
    }
    assert.ok(r.components.some((c) => c.earlyStopping!.stopped === 'patience'), 'at this learning rate a component overfits and stops');
  } finally {
    await model.release();
  }
});

test('early-stopping options are refused with numeric epochs, and bad values with auto, naming the option', async () => {
  const data = await ready;
  const model = await CvrModel.create({ kind: 'esmm', spec: defaultSpec(), hyper: smallHyper('esmm', [4], 0), seed: 1 }, { threads: 1 });
  const base = { batchSize: 64, lr: 0.01, optimizer: 'adam', seed: 1, quiet: true } as const;
  try {
    await assert.rejects(trainModel(model, data, { ...base, epochs: 1, earlyStopping: { patience: 3 } }), /applies with --epochs auto only/);
    await assert.rejects(trainModel(model, data, { ...base, epochs: 'auto', earlyStopping: { patience: 0 } }), /--patience must be a positive integer/);
    await assert.rejects(trainModel(model, data, { ...base, epochs: 'auto', earlyStopping: { minEpochs: 4, maxEpochs: 3 } }), /--min-epochs 4 is more than --max-epochs 3/);
    await assert.rejects(trainModel(model, data, { ...base, epochs: 'auto', earlyStopping: { validation: { fraction: 1 } } }), /--validation-fraction must be in \(0, 1\)/);
    await assert.rejects(trainModel(model, data, { ...base, epochs: 0 }), /--epochs must be a positive integer or auto/);
  } finally {
    await model.release();
  }
});

test('esmm train: early-stopping options without --epochs auto, two validation sources, or the test split are usage errors', async () => {
  await ready;
  const common = ['train', '--data', join(dir, 'data'), '--out', join(dir, 'cli-model'), '-q'];
  const cases: [string[], RegExp][] = [
    [['--patience', '3'], /--patience applies to early stopping: add --epochs auto, or drop --patience/],
    [['--epochs', '2', '--validation-fraction', '0.2'], /--validation-fraction applies to early stopping/],
    [['--epochs', 'auto', '--validation-split', 'test'], /--validation-split test is the split the model is tested on/],
    [['--epochs', 'auto', '--validation-split', 'valid', '--validation-fraction', '0.2'], /give one/],
    [['--epochs', 'auto', '--validation-split', 'train'], /is the split trained on/],
    [['--epochs', 'auto', '--validation-split', 'valid'], /--validation-split valid: no data for split "valid"/],
    [['--epochs', 'auto', '--validation-fraction', '1'], /--validation-fraction must be a number in/],
    [['--epochs', 'auto', '--eval-every', '0'], /--eval-every must be an integer in \[1, /],
    [['--epochs', 'sometimes'], /--epochs must be an integer, got 'sometimes', or auto/],
  ];
  for (const [args, message] of cases) {
    const r = runCli([...common, ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
});
