import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddingTable } from './embedding-table.js';
import type { SparseGrad } from './embedding-collection.js';
import { createDenseOptimizer, DenseOptimizer } from '../optim/dense.js';
import { adamStepSize, OPTIMIZER_KINDS } from '../optim/kernels.js';
import { createSparseOptimizer, RowSet, RowSparseOptimizer } from './row-sparse-optimizer.js';
import { Rng } from '../util/rng.js';

/** A 2-dim table whose rows 0..n-1 all start at `value`, imported in order: row r is at data[2r]. */
function tableWith(rows: number, value: number): EmbeddingTable {
  const table = new EmbeddingTable('t', 10, 2, 0);
  table.importRows(Array.from({ length: rows }, (_, r) => r), new Float32Array(rows * 2).fill(value));
  return table;
}

function grad(rows: number[], values: number[]): SparseGrad {
  return { table: 0, rows: Int32Array.from(rows), grad: Float32Array.from(values) };
}

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} vs ${expected}`);
}

test('sparse Adam: two steps match hand-computed values (lr 0.1, TF form)', () => {
  const table = tableWith(1, 0.5);
  const adam = createSparseOptimizer('adam', 0.1);
  adam.nextStep();
  adam.step(table, grad([0], [0.2, -0.2]));
  // Step 1: m = 0.02, v = 4e-5, step size lr·√0.001/0.1: a move of lr·sign(g) (less eps's share).
  close(table.data[0]!, 0.40000015811363304, 'step 1');
  close(table.data[1]!, 0.59999984188636696, 'step 1, negative gradient');
  adam.nextStep();
  adam.step(table, grad([0], [-0.4, 0.4]));
  close(table.data[0]!, 0.4366104849272179, 'step 2');
  close(table.data[1]!, 1 - 0.4366104849272179, 'step 2, mirrored');
});

test('sparse Adam is lazy: absent rows keep params and moments; a late row uses the global step', () => {
  const table = tableWith(3, 0.5);
  const adam = createSparseOptimizer('adam', 0.1);
  adam.nextStep();
  adam.step(table, grad([0], [1, 1]));
  const row0 = Array.from(table.data.subarray(0, 2));
  adam.nextStep();
  adam.nextStep();
  // Step 3: row 2 is updated for the first time; row 0 (with moments) is absent and must not move.
  adam.step(table, grad([2], [0.3, 0.3]));
  assert.deepEqual(Array.from(table.data.subarray(0, 2)), row0);
  assert.deepEqual(Array.from(table.data.subarray(2, 4)), [0.5, 0.5], 'row 1 was never in a gradient');
  // m = 0.1·g, v = 0.001·g², bias correction of t = 3 (not 1): -0.0638812926...
  close(table.data[4]! - 0.5, -0.06388129260305671, 'first update of a row at step 3');
  assert.equal(adam.stepCount, 3);
  const state = adam.exportState();
  assert.deepEqual(Array.from(state.tables[0]!.rows), [0, 2]);
});

test('sparse Adagrad: two steps match hand-computed values (accumulator starts at 0.1)', () => {
  const table = tableWith(2, 0.5);
  const adagrad = createSparseOptimizer('adagrad', 0.1);
  adagrad.nextStep();
  adagrad.step(table, grad([1], [0.2, 0]));
  close(table.data[2]!, 0.44654775161751514, 'step 1'); // a = 0.14
  assert.equal(table.data[3], 0.5, 'a zero gradient does not move the parameter');
  adagrad.nextStep();
  adagrad.step(table, grad([1], [-0.4, 0]));
  close(table.data[2]!, 0.5195774259515373, 'step 2'); // a = 0.30
  assert.deepEqual(Array.from(table.data.subarray(0, 2)), [0.5, 0.5]);
  const [accumulator] = adagrad.exportState().tables[0]!.slots;
  close(accumulator![0]!, 0.3, 'accumulator');
  close(accumulator![1]!, 0.1, 'untouched accumulator entry keeps its initial value');
});

test('a row not yet initialized is initialized before its first update', () => {
  const table = new EmbeddingTable('lazy', 100, 3, 7);
  const reference = new EmbeddingTable('lazy', 100, 3, 7);
  const initial = Array.from(reference.data.subarray(reference.ensure(42), reference.ensure(42) + 3));
  const adagrad = createSparseOptimizer('adagrad', 0.5);
  adagrad.nextStep();
  adagrad.step(table, grad([42], [0, 0, 0]));
  assert.equal(table.isTouched(42), true);
  assert.deepEqual(Array.from(table.data.subarray(table.ensure(42), table.ensure(42) + 3)), initial);
});

for (const kind of OPTIMIZER_KINDS) {
  test(`${kind}: the dense optimizer and the sparse one agree, and both follow the textbook update in float64`, () => {
    const rng = new Rng(3);
    const dense = new Float32Array(10 * 2);
    const table = tableWith(10, 0);
    for (let i = 0; i < dense.length; i++) dense[i] = table.data[i] = Math.fround(rng.next() - 0.5);
    const reference = textbook(kind, 0.05, Float64Array.from(dense));
    const sparse = createSparseOptimizer(kind, 0.05);
    const denseOpt = createDenseOptimizer(kind, 0.05);
    const all = Array.from({ length: 10 }, (_, r) => r);
    for (let step = 0; step < 4; step++) {
      const g = Float32Array.from({ length: 20 }, () => rng.next() - 0.5);
      sparse.nextStep();
      sparse.step(table, { table: 0, rows: Int32Array.from(all), grad: g });
      denseOpt.step([dense], [g]);
      reference.step(g);
      // The kernels keep their slots in float32: agreement to float32 rounding, step after step.
      for (let i = 0; i < dense.length; i++) {
        const want = reference.params[i]!;
        assert.ok(Math.abs(dense[i]! - want) <= 1e-6 * Math.max(1, Math.abs(want)), `${kind} step ${step + 1}, value ${i}: ${dense[i]} vs textbook ${want}`);
      }
    }
    assert.deepEqual(Array.from(dense), Array.from(table.data.subarray(0, 20)));
    assert.equal(denseOpt.stepCount, 4);
  });

  test(`${kind}: export/import resumes bit for bit`, () => {
    const rng = new Rng(4);
    const grads = Array.from({ length: 6 }, () => grad([rng.int(10), 10 + rng.int(5)].sort((a, b) => a - b), Array.from({ length: 4 }, () => rng.next() - 0.5)));
    const fresh = () => new EmbeddingTable('t', 20, 2, 9);
    const straight = fresh();
    const opt = createSparseOptimizer(kind, 0.1);
    const params = [Float32Array.of(0.1, 0.2, 0.3)];
    const denseOpt = createDenseOptimizer(kind, 0.1);
    for (const g of grads.slice(0, 3)) {
      opt.nextStep();
      opt.step(straight, g);
      denseOpt.step(params, [Float32Array.of(g.grad[0]!, g.grad[1]!, g.grad[2]!)]);
    }
    const saved = opt.exportState();
    const savedDense = denseOpt.exportState();
    const savedRows = straight.exportRows();
    const savedParams = params[0]!.slice();

    const resumedTable = fresh();
    resumedTable.importRows(savedRows.rows, savedRows.data);
    const resumed = createSparseOptimizer(kind, 0.1);
    resumed.importState(saved, [resumedTable]);
    const resumedParams = [savedParams];
    const resumedDense = createDenseOptimizer(kind, 0.1);
    resumedDense.importState(savedDense);
    for (const g of grads.slice(3)) {
      for (const [o, t, d, p] of [
        [opt, straight, denseOpt, params],
        [resumed, resumedTable, resumedDense, resumedParams],
      ] as const) {
        o.nextStep();
        o.step(t, g);
        d.step(p, [Float32Array.of(g.grad[0]!, g.grad[1]!, g.grad[2]!)]);
      }
    }
    // Compare by row: the resumed table holds its rows in another arena order.
    const [a, b] = [resumedTable.exportRows(), straight.exportRows()];
    assert.deepEqual(Array.from(a.rows), Array.from(b.rows));
    assert.deepEqual(Array.from(a.data), Array.from(b.data));
    assert.deepEqual(resumed.exportState(), opt.exportState());
    assert.deepEqual(Array.from(resumedParams[0]!), Array.from(params[0]!));
    assert.equal(resumed.stepCount, 6);
  });
}

test('optimizer errors say what to do', () => {
  const table = tableWith(2, 0);
  const adam = createSparseOptimizer('adam', 0.1);
  assert.throws(() => adam.step(table, grad([0], [1, 1])), /call nextStep\(\) at the start of each training step/);
  adam.nextStep();
  assert.throws(() => adam.step(table, grad([0], [1])), /gradient has 1 values for 1 rows of dim 2/);
  adam.step(table, grad([0], [1, 1]));
  assert.throws(() => adam.step(tableWith(2, 0), grad([0], [1, 1])), /state for table "t" belongs to another table object; .*importState/);

  const adagrad = createSparseOptimizer('adagrad', 0.1);
  assert.throws(() => adagrad.importState(adam.exportState(), [table]), /saved by adam, cannot restore into adagrad/);
  const otherBeta = new RowSparseOptimizer({ kind: 'adam', lr: 0.1, beta1: 0.5, beta2: 0.999, eps: 1e-8 });
  assert.throws(() => otherBeta.importState(adam.exportState(), [table]), /beta1 0\.9 \(saved\) vs 0\.5/);
  const resumed = createSparseOptimizer('adam', 0.1);
  assert.throws(() => resumed.importState(adam.exportState(), []), /table "t": the model has no such table/);
  assert.throws(() => resumed.importState(adam.exportState(), [new EmbeddingTable('t', 11, 2, 0)]), /saved for 10 x 2 but the table is 11 x 2/);
  assert.throws(() => createSparseOptimizer('adam', 0), /learning rate must be a positive number, got 0/);
  assert.throws(() => new DenseOptimizer({ kind: 'adam', lr: 0.1, beta1: 1, beta2: 0.999, eps: 1e-8 }), /need 0 <= beta1, beta2 < 1/);

  const dense = createDenseOptimizer('adagrad', 0.1);
  dense.step([new Float32Array(3)], [new Float32Array(3)]);
  assert.throws(() => dense.step([new Float32Array(4)], [new Float32Array(4)]), /sizes \[4\] but the state is for \[3\]/);
  assert.throws(() => dense.step([new Float32Array(3)], [new Float32Array(2)]), /parameter 0 has 3 values but its gradient 2/);
});

test('setLearningRate changes later updates only', () => {
  const table = tableWith(1, 0);
  const adam = createSparseOptimizer('adam', 0.1);
  adam.nextStep();
  adam.setLearningRate(0.01);
  adam.step(table, grad([0], [1, -1]));
  close(table.data[0]!, -adamStepSize({ kind: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 }, 1) * 0.1 / (Math.sqrt(0.001) + 1e-8), 'lr 0.01');
  assert.equal(adam.hyper.lr, 0.01);
});

test('RowSet lists members in increasing order and counts each once', () => {
  const set = new RowSet(100);
  for (const r of [99, 0, 31, 32, 63, 64, 31]) set.add(r);
  assert.deepEqual(Array.from(set.toArray()), [0, 31, 32, 63, 64, 99]);
  assert.equal(set.size, 6);
  assert.equal(set.add(31), false);
  assert.equal(set.has(32), true);
  assert.equal(set.has(33), false);
  assert.equal(set.has(-1), false);
  assert.equal(set.has(100), false);
});

/**
 * Adam (Kingma & Ba, with TensorFlow's epsilon: lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t),
 * p -= lr_t * m / (sqrt(v) + eps); beta1 0.9, beta2 0.999, eps 1e-8) and Adagrad (accumulator from
 * 0.1, p -= lr * g / sqrt(accumulator)), written out in float64 independently of optim/kernels.ts.
 */
function textbook(kind: 'adam' | 'adagrad', lr: number, params: Float64Array): { params: Float64Array; step(g: ArrayLike<number>): void } {
  const n = params.length;
  const m = new Float64Array(n);
  const v = new Float64Array(n);
  const acc = new Float64Array(n).fill(0.1);
  let t = 0;
  return {
    params,
    step(g) {
      t++;
      for (let i = 0; i < n; i++) {
        const gi = g[i]!;
        if (kind === 'adam') {
          m[i] = 0.9 * m[i]! + 0.1 * gi;
          v[i] = 0.999 * v[i]! + 0.001 * gi * gi;
          const lrT = (lr * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
          params[i] = params[i]! - (lrT * m[i]!) / (Math.sqrt(v[i]!) + 1e-8);
        } else {
          acc[i] = acc[i]! + gi * gi;
          params[i] = params[i]! - (lr * gi) / Math.sqrt(acc[i]!);
        }
      }
    },
  };
}
