import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddingCollection } from './embedding-collection.js';
import { EmbeddingThread } from './embedding-thread.js';
import { OPTIMIZER_KINDS } from '../optim/kernels.js';
import { createSparseOptimizer, type SparseOptimizer } from './row-sparse-optimizer.js';
import type { FeatureSpec } from '../features/spec-types.js';
import { Rng } from '../util/rng.js';
import { POOLING_SPEC, cellsOf, jagged, randomPoolingBatch } from './testing.js';

/** POOLING_SPEC with two more tables, so that both threads get several. */
const spec: FeatureSpec = {
  ...POOLING_SPEC,
  tables: [...POOLING_SPEC.tables, { name: 'B', buckets: 50 }, { name: 'C', buckets: 20 }],
  fields: [
    ...POOLING_SPEC.fields,
    { name: 'b', table: 'B', pooling: 'sum', weighted: true },
    { name: 'c1', table: 'C', pooling: 'mean', weighted: true },
    { name: 'c2', table: 'C', pooling: 'sum', weighted: false },
  ],
};

function gradOf(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => Math.fround(rng.next() * 2 - 1));
}

/** The tables' rows and the optimizer's state, as plain values, for deepEqual. */
function snapshot(c: EmbeddingCollection, opt: SparseOptimizer): unknown {
  return { tables: c.tables.map((t) => t.exportRows()), opt: opt.exportState() };
}

for (const kind of OPTIMIZER_KINDS) {
  test(`two threads train bit for bit like one (${kind}), over steps whose batches differ in size`, async () => {
    const serial = new EmbeddingCollection(spec, 7);
    const threaded = new EmbeddingCollection(spec, 7);
    const serialOpt = createSparseOptimizer(kind, 0.05);
    const threadedOpt = createSparseOptimizer(kind, 0.05);
    const thread = await EmbeddingThread.start(threaded);
    try {
      const rng = new Rng(3);
      for (let step = 0; step < 12; step++) {
        const size = 1 + rng.int(40);
        const batch = randomPoolingBatch(spec, rng, size, rng.int(6), 5);
        const expected = serial.forward(batch);
        const x = await thread.forward(batch);
        assert.deepEqual(x, expected, `forward of step ${step}`);
        const gradX = gradOf(rng, expected.length);
        const grads = serial.backward(batch, gradX);
        serialOpt.nextStep();
        for (const g of grads) serialOpt.step(serial.tables[g.table]!, g);
        let alongside = 0;
        await thread.backwardAndStep(batch, gradX, threadedOpt, () => alongside++);
        assert.equal(alongside, 1);
        if (step === 5) {
          // A learning-rate change reaches the worker's updates too.
          serialOpt.setLearningRate(0.02);
          threadedOpt.setLearningRate(0.02);
        }
      }
      assert.deepEqual(snapshot(threaded, threadedOpt), snapshot(serial, serialOpt));
    } finally {
      await thread.close();
    }
  });
}

test('a bad row fails the step with the one-thread message, in either thread; the thread keeps working', async () => {
  const rng = new Rng(8);
  const thread = await EmbeddingThread.start(new EmbeddingCollection(spec, 2));
  const serial = new EmbeddingCollection(spec, 2);
  const fieldOf = (name: string) => spec.fields.findIndex((x) => x.name === name);
  try {
    for (const [trial, heavy] of [[0, false], [1, true], [2, false], [3, true]] as const) {
      const batch = randomPoolingBatch(spec, rng, 20, 3, 4);
      if (heavy) {
        // Table A gets far the most entries, so this thread takes it first and is busy with it
        // while the worker takes the others: the bad row below meets the worker.
        const cells = cellsOf(batch.samples);
        cells[fieldOf('a')] = cells[fieldOf('a')]!.map(() => Array.from({ length: 5000 }, (_, k): [number, number] => [k % 60, 1]));
        batch.samples = jagged(cells, batch.size);
      }
      const f = fieldOf('b');
      if (batch.samples.offsets[f * batch.size] === batch.samples.offsets[(f + 1) * batch.size]) continue;
      batch.samples.rows[batch.samples.offsets[f * batch.size]!] = 50 + trial;
      const expected = new RegExp(`table "B": row ${50 + trial} is outside \\[0, 50\\)`);
      assert.throws(() => serial.forward(batch), expected);
      await assert.rejects(thread.forward(batch), expected);
      const good = randomPoolingBatch(spec, rng, 5, 2, 3);
      assert.deepEqual(await thread.forward(good), serial.forward(good));
    }
  } finally {
    await thread.close();
  }
  await assert.rejects(thread.forward(randomPoolingBatch(spec, rng, 3, 1, 2)), /embedding thread: closed/);
});

test("'infer' pooling on two threads equals one thread's and touches no row", async () => {
  const rng = new Rng(5);
  const serial = new EmbeddingCollection(spec, 4);
  const shared = new EmbeddingCollection(spec, 4);
  // Train-mode pooling first, so that some rows are touched and others are not.
  const warm = randomPoolingBatch(spec, rng, 10, 2, 3);
  serial.forward(warm);
  shared.forward(warm);
  const thread = await EmbeddingThread.start(shared);
  try {
    const touched = shared.tables.map((t) => t.touchedCount);
    for (let step = 0; step < 5; step++) {
      const batch = randomPoolingBatch(spec, rng, 1 + rng.int(30), rng.int(4), 5);
      assert.deepEqual(await thread.forward(batch, 'infer'), serial.forward(batch, undefined, 'infer'));
    }
    assert.deepEqual(shared.tables.map((t) => t.touchedCount), touched);
  } finally {
    await thread.close();
  }
});
