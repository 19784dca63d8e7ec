import test from 'node:test';
import assert from 'node:assert/strict';
import type { Predictions } from '../models/cvr-model.js';
import { BatchQueue } from './batch-queue.js';
import type { InstanceRows } from './instances.js';

/** Rows whose single entry's key identifies them. */
function rowsOf(...ids: number[]): InstanceRows {
  return {
    count: ids.length,
    offsets: Uint32Array.from({ length: ids.length + 1 }, (_, i) => i),
    fields: new Uint8Array(ids.length),
    keys: Uint32Array.from(ids),
    values: new Float32Array(ids.length).fill(1),
  };
}

/** A dense call that answers key / 1000 (and its negations), after `ms`, recording its sizes. */
function fakeDense(ms: number, sizes: number[]) {
  return async (rows: InstanceRows): Promise<Predictions> => {
    sizes.push(rows.count);
    await new Promise((r) => setTimeout(r, ms));
    const pctr = Float32Array.from(rows.keys, (k) => k / 1000);
    return { pctr, pcvr: pctr.map((v) => -v), pctcvr: pctr.map((v) => v * 2) };
  };
}

test('calls that arrive while one runs share the next dense call; answers go back to their callers', async () => {
  const sizes: number[] = [];
  const queue = new BatchQueue(fakeDense(5, sizes), { maxBatchInstances: 100, maxWaitMs: 0 });
  const calls = Array.from({ length: 30 }, (_, i) => queue.submit(rowsOf(i * 2, i * 2 + 1)));
  const out = await Promise.all(calls);
  out.forEach((p, i) => {
    assert.deepEqual([...p.pctr], [Math.fround((i * 2) / 1000), Math.fround((i * 2 + 1) / 1000)]);
    assert.deepEqual([...p.pcvr], [-p.pctr[0]!, -p.pctr[1]!]);
  });
  // The first call runs alone at once; the 29 that queued behind it go together.
  assert.deepEqual(sizes, [2, 58]);
  await queue.idle();
});

test('a batch holds at most maxBatchInstances, a larger call runs alone', async () => {
  const sizes: number[] = [];
  const queue = new BatchQueue(fakeDense(2, sizes), { maxBatchInstances: 5, maxWaitMs: 0 });
  await Promise.all([queue.submit(rowsOf(1)), queue.submit(rowsOf(2, 3)), queue.submit(rowsOf(4, 5)), queue.submit(rowsOf(6, 7)), queue.submit(rowsOf(8, 9, 10, 11, 12, 13, 14))]);
  assert.deepEqual(sizes, [1, 4, 2, 7]);
});

test('maxWaitMs gathers calls into the first batch', async () => {
  const sizes: number[] = [];
  const queue = new BatchQueue(fakeDense(1, sizes), { maxBatchInstances: 64, maxWaitMs: 20 });
  const first = queue.submit(rowsOf(1));
  await new Promise((r) => setTimeout(r, 5));
  await Promise.all([first, queue.submit(rowsOf(2)), queue.submit(rowsOf(3))]);
  assert.deepEqual(sizes, [3]);
});

test('a failing dense call rejects exactly the calls in that batch; the queue goes on', async () => {
  let fail = true;
  const queue = new BatchQueue(
    async (rows) => {
      await new Promise((r) => setTimeout(r, 2));
      if (fail) {
        fail = false;
        throw new Error('boom');
      }
      const pctr = Float32Array.from(rows.keys);
      return { pctr, pcvr: pctr, pctcvr: pctr };
    },
    { maxBatchInstances: 10, maxWaitMs: 0 },
  );
  const a = queue.submit(rowsOf(1));
  const b = queue.submit(rowsOf(2));
  await assert.rejects(a, /boom/);
  assert.deepEqual([...(await b).pctr], [2]);
  assert.deepEqual([...(await queue.submit(rowsOf(3))).pctr], [3]);
});

test('options are checked', () => {
  const run = fakeDense(0, []);
  assert.throws(() => new BatchQueue(run, { maxBatchInstances: 0, maxWaitMs: 0 }), /maxBatchInstances must be a positive integer/);
  assert.throws(() => new BatchQueue(run, { maxBatchInstances: 1, maxWaitMs: -1 }), /maxWaitMs must be >= 0/);
});
