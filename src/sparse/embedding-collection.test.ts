import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddingCollection, type SparseGrad } from './embedding-collection.js';
import { BatchBuilder } from '../data/batch/batcher.js';
import type { Batch } from '../data/batch/jagged-types.js';
import { PADDING_KEY, type FeatureRows, type SampleBlock } from '../data/types.js';
import { bucketOf, tableSalt } from '../features/hash.js';
import { Rng } from '../util/rng.js';
import { POOLING_SPEC, cellsOf, jagged, randomPoolingBatch } from './testing.js';

const { spec, D } = { spec: POOLING_SPEC, D: POOLING_SPEC.embeddingDim };
const F = spec.fields.length;
const tableOfField = spec.fields.map((f) => spec.tables.findIndex((t) => t.name === f.table));
const randomBatch = (rng: Rng, size: number, numGroups: number, maxEntries: number) => randomPoolingBatch(spec, rng, size, numGroups, maxEntries);

/** The same batch with every group's entries copied into each of its samples and no groups. */
function expandGroups(batch: Batch): Batch {
  const samples = cellsOf(batch.samples);
  const groups = cellsOf(batch.groups);
  const merged = samples.map((perRow, f) => perRow.map((entries, b) => {
    const g = batch.groupOf[b]!;
    return g >= 0 ? [...entries, ...groups[f]![g]!] : entries;
  }));
  return { ...batch, samples: jagged(merged, batch.size), groups: jagged(spec.fields.map(() => []), 0), groupOf: new Int32Array(batch.size).fill(-1) };
}

type Embeddings = Map<string, Float64Array>;
const key = (table: number, row: number) => `${table}:${row}`;

/** Float64 copies of every row the batch reads (initializing them in the collection). */
function snapshot(collection: EmbeddingCollection, batch: Batch): Embeddings {
  const e: Embeddings = new Map();
  for (const part of [batch.samples, batch.groups]) {
    cellsOf(part).forEach((perRow, f) => {
      const table = collection.tables[tableOfField[f]!]!;
      for (const entries of perRow) {
        for (const [row] of entries) {
          const at = table.ensure(row);
          e.set(key(tableOfField[f]!, row), Float64Array.from(table.data.subarray(at, at + D)));
        }
      }
    });
  }
  return e;
}

/** The pooling written out directly in float64: per sample and field, over both parts' entries. */
function referenceForward(batch: Batch, e: Embeddings): Float64Array {
  const out = new Float64Array(batch.size * F * D);
  const samples = cellsOf(batch.samples);
  const groups = cellsOf(batch.groups);
  for (let b = 0; b < batch.size; b++) {
    for (let f = 0; f < F; f++) {
      const g = batch.groupOf[b]!;
      const entries = [...samples[f]![b]!, ...(g >= 0 ? groups[f]![g]! : [])];
      const pooled = new Float64Array(D);
      let weightSum = 0;
      for (const [row, w] of entries) {
        const v = e.get(key(tableOfField[f]!, row))!;
        for (let j = 0; j < D; j++) pooled[j] = pooled[j]! + w * v[j]!;
        weightSum += w;
      }
      const mean = spec.fields[f]!.pooling === 'mean';
      for (let j = 0; j < D; j++) {
        out[(b * F + f) * D + j] = mean ? (weightSum === 0 ? 0 : pooled[j]! / weightSum) : pooled[j]!;
      }
    }
  }
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    assert.ok(diff <= tolerance * (1 + Math.abs(expected[i]!)), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

/** SparseGrad list as a map "table:row" -> gradient, checking rows are unique. */
function gradMap(grads: SparseGrad[]): Map<string, Float32Array> {
  const m = new Map<string, Float32Array>();
  assert.deepEqual(grads.map((g) => g.table), spec.tables.map((_, t) => t));
  for (const g of grads) {
    assert.equal(g.grad.length, g.rows.length * D);
    g.rows.forEach((row, i) => {
      assert.ok(!m.has(key(g.table, row)), `row ${row} of table ${g.table} listed twice`);
      m.set(key(g.table, row), g.grad.subarray(i * D, (i + 1) * D));
    });
  }
  return m;
}

test('forward matches a float64 reference: sum/mean, weighted/unweighted, shared tables, groups', () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 5; trial++) {
    const collection = new EmbeddingCollection(spec, 100 + trial);
    const batch = randomBatch(rng, 9, 3, 4);
    collection.validate(batch);
    const e = snapshot(collection, batch);
    const y = collection.forward(batch);
    assert.equal(y.length, 9 * F * D);
    assertClose(y, referenceForward(batch, e), 1e-6, `trial ${trial}`);
    // The field without entries pools to zeros everywhere.
    for (let b = 0; b < 9; b++) assert.deepEqual(Array.from(y.subarray((b * F + 5) * D, (b * F + 6) * D)), [0, 0, 0, 0]);
  }
});

test('backward equals finite differences of L = Σ c ⊙ forward over every row the batch reads', () => {
  const rng = new Rng(12);
  const collection = new EmbeddingCollection(spec, 5);
  const batch = randomBatch(rng, 7, 3, 3);
  const c = Float32Array.from({ length: 7 * F * D }, () => rng.next() * 2 - 1);
  const grads = gradMap(collection.backward(batch, c));
  const e = snapshot(collection, batch);
  assert.deepEqual([...grads.keys()].sort(), [...e.keys()].sort(), 'the gradient lists exactly the rows the batch reads');

  const loss = () => referenceForward(batch, e).reduce((s, y, i) => s + c[i]! * y, 0);
  const h = 1e-3;
  for (const [k, v] of e) {
    const numeric = new Float64Array(D);
    for (let j = 0; j < D; j++) {
      const x = v[j]!;
      v[j] = x + h;
      const up = loss();
      v[j] = x - h;
      const down = loss();
      v[j] = x;
      numeric[j] = (up - down) / (2 * h);
    }
    assertClose(grads.get(k)!, numeric, 1e-5, `dL/d row ${k}`);
  }
});

test('pooling a group once equals expanding its entries into every sample (forward and backward)', () => {
  const rng = new Rng(13);
  const batch = randomBatch(rng, 12, 4, 5);
  const expanded = expandGroups(batch);
  const grouped = new EmbeddingCollection(spec, 8);
  const flat = new EmbeddingCollection(spec, 8);
  assertClose(grouped.forward(batch), flat.forward(expanded), 1e-6, 'forward');
  const c = Float32Array.from({ length: 12 * F * D }, () => rng.next() - 0.5);
  const a = gradMap(grouped.backward(batch, c));
  const b = gradMap(flat.backward(expanded, c));
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, g] of a) assertClose(g, b.get(k)!, 1e-5, `grad ${k}`);
});

test('backward reuses its accumulators: a second call is independent of the first', () => {
  const rng = new Rng(14);
  const collection = new EmbeddingCollection(spec, 3);
  const big = randomBatch(rng, 40, 6, 6); // grows the row hash past its initial capacity
  const small = randomBatch(rng, 5, 2, 3);
  const c = (n: number) => Float32Array.from({ length: n * F * D }, (_, i) => Math.sin(i));
  const fresh = gradMap(new EmbeddingCollection(spec, 3).backward(small, c(5)));
  collection.backward(big, c(40));
  const reused = gradMap(collection.backward(small, c(5)));
  assert.deepEqual([...reused.keys()], [...fresh.keys()]);
  for (const [k, g] of reused) assert.deepEqual(Array.from(g), Array.from(fresh.get(k)!));
});

function rowsOf(rows: [field: number, key: number, value: number][][]): FeatureRows {
  const entries = rows.flat();
  const offsets = new Uint32Array(rows.length + 1);
  rows.forEach((r, i) => (offsets[i + 1] = offsets[i]! + r.length));
  return {
    count: rows.length,
    offsets,
    fields: Uint8Array.from(entries.map((x) => x[0])),
    keys: Uint32Array.from(entries.map((x) => x[1])),
    values: Float32Array.from(entries.map((x) => x[2])),
  };
}

test('through the batch builder: padding pools to nothing, empty and zero-weight means give zeros', () => {
  const names = spec.fields.map((f) => f.name);
  const [a, s1, s2, m1] = [0, 1, 2, 3];
  const groups = rowsOf([[[s2, 70, 0], [a, 1, 1]]]);
  const block = (withPadding: boolean): SampleBlock => {
    const pad = (field: number): [number, number, number][] => (withPadding ? [[field, PADDING_KEY, 1]] : []);
    return {
      ...rowsOf([
        [[a, 5, 1], ...pad(a), [s1, 9, 0.5], ...pad(s1), [s2, 9, 0], [m1, 3, 1]],
        [...pad(a), ...pad(m1)],
      ]),
      sampleIds: Float64Array.of(1, 2),
      click: Uint8Array.of(1, 0),
      conversion: Uint8Array.of(0, 0),
      group: Int32Array.of(0, -1),
    };
  };
  const collection = new EmbeddingCollection(spec, 21);
  const builder = new BatchBuilder(spec, names, groups);
  const padded = builder.build(block(true), [0, 1], 0, 2);
  const y = collection.forward(padded);
  assert.deepEqual(Array.from(y), Array.from(collection.forward(builder.build(block(false), [0, 1], 0, 2))));
  const pooled = (b: number, f: number) => Array.from(y.subarray((b * F + f) * D, (b * F + f + 1) * D));
  const embedding = (t: number, id: number) => {
    const table = collection.tables[t]!;
    const at = table.ensure(bucketOf(id, tableSalt(table.name), table.rows));
    return Array.from(table.data.subarray(at, at + D));
  };
  // Sample 1 has only padding: every field is zero.
  for (let f = 0; f < F; f++) assert.deepEqual(pooled(1, f), [0, 0, 0, 0]);
  // a of sample 0: its own id 5 plus its group's id 1.
  assertClose(pooled(0, a), embedding(0, 5).map((x, j) => x + embedding(0, 1)[j]!), 1e-6, 'a');
  // m1: the mean over one unweighted id is that id's row.
  assertClose(pooled(0, m1), embedding(2, 3), 1e-7, 'm1');
  // s2: weights 0 (own) and 0 (group): Σ w = 0 gives a zero vector ...
  assert.deepEqual(pooled(0, s2), [0, 0, 0, 0]);
  // ... and zero gradient; its rows are still listed, as TF lists every looked-up id.
  const grads = gradMap(collection.backward(padded, new Float32Array(2 * F * D).fill(1)));
  const rowOf = (id: number) => bucketOf(id, tableSalt('S'), 40);
  const expected = new Map<number, number>([[rowOf(70), 0]]);
  expected.set(rowOf(9), (expected.get(rowOf(9)) ?? 0) + 0.5); // s1: weight 0.5, d/dx = 1
  const sRows = [...grads.keys()].filter((k) => k.startsWith('1:')).map((k) => Number(k.slice(2)));
  assert.deepEqual(sRows.sort(), [...expected.keys()].sort());
  for (const [row, g] of expected) assert.deepEqual(Array.from(grads.get(`1:${row}`)!), [g, g, g, g], `S row ${row}`);
});

test('forward writes into a given buffer; shape errors and validate() name the problem', () => {
  const rng = new Rng(15);
  const collection = new EmbeddingCollection(spec, 1);
  const batch = randomBatch(rng, 3, 1, 2);
  const out = new Float32Array(3 * F * D).fill(9);
  assert.equal(collection.forward(batch, out), out);
  assert.deepEqual(Array.from(out), Array.from(collection.forward(batch)));
  assert.throws(() => collection.forward(batch, new Float32Array(5)), /out has 5 values; expected batch size 3 x 24/);
  assert.throws(() => collection.backward(batch, new Float32Array(5)), /gradX has 5 values/);
  assert.equal(collection.outputWidth, 24);

  const wrongFields = { ...batch, samples: { ...batch.samples, numFields: 2 } };
  assert.throws(() => collection.forward(wrongFields), /batch\.samples: 2 fields x 3 rows .* expected 6 fields/);
  const rowsInM = batch.samples.offsets[3 * 3 + 3]! - batch.samples.offsets[3 * 3]!;
  assert.ok(rowsInM > 0, 'the fixture has m1 entries');
  // Row 59 fits table A (60 rows) but not M (30).
  const badRow = { ...batch, samples: { ...batch.samples, rows: batch.samples.rows.map(() => 59) } };
  assert.throws(() => collection.validate(badRow), /rows\[\d+\] = 59 is outside table "(S|M)" \((40|30) rows\) of field "(s1|s2|m1|m2)"/);
  const badGroupOf = { ...batch, groupOf: Int32Array.of(0, 1, -1) };
  assert.throws(() => collection.validate(badGroupOf), /batch\.groupOf\[1\] = 1 is outside \[-1, 1\)/);
  const decreasing = { ...batch, groups: { ...batch.groups, offsets: batch.groups.offsets.map((o, i) => (i === 1 ? 1000 : o)) } };
  assert.throws(() => collection.validate(decreasing), /offsets decrease at 2/);
});

test("infer mode: untouched rows pool as zeros and touch nothing; touched rows pool as in train mode", () => {
  const rng = new Rng(5);
  const batch = randomBatch(rng, 9, 3, 4);
  const fresh = new EmbeddingCollection(spec, 7);
  const y0 = fresh.forward(batch, undefined, 'infer');
  assert.ok(y0.every((v) => v === 0), 'no row was ever trained: everything pools to zero');
  assert.ok(fresh.tables.every((t) => t.touchedCount === 0), 'inference touched no row');

  const trained = new EmbeddingCollection(spec, 7);
  const yTrain = trained.forward(batch, undefined, 'train');
  assert.deepEqual(trained.forward(batch, undefined, 'infer'), yTrain, 'all rows touched: both modes agree');

  // Half the rows trained: infer equals the float64 reference with the untouched rows set to zero.
  const half = new EmbeddingCollection(spec, 7);
  const e = snapshot(half, batch); // touches every row the batch reads ...
  const partial = new EmbeddingCollection(spec, 7);
  const zeroed: Embeddings = new Map();
  for (const [k, v] of e) {
    const [t, row] = k.split(':').map(Number) as [number, number];
    if (row % 2 === 0) {
      partial.tables[t]!.ensure(row); // ... while `partial` only trains the even rows
      zeroed.set(k, v);
    } else zeroed.set(k, new Float64Array(D));
  }
  assertClose(partial.forward(batch, undefined, 'infer'), referenceForward(batch, zeroed), 1e-6, 'partially trained');
});
