import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchBuilder } from './batcher.js';
import type { Batch, KeyedJagged } from './jagged-types.js';
import { PADDING_KEY, type FeatureRows, type GroupTable, type SampleBlock } from '../types.js';
import { bucketOf, tableSalt } from '../../features/hash.js';
import type { FeatureSpec } from '../../features/spec-types.js';
import { Rng } from '../../util/rng.js';

type Entry = [field: number, key: number, value: number];

function featureRows(rows: Entry[][]): FeatureRows {
  const entries = rows.flat();
  const offsets = new Uint32Array(rows.length + 1);
  rows.forEach((r, i) => (offsets[i + 1] = offsets[i]! + r.length));
  return {
    count: rows.length,
    offsets,
    fields: Uint8Array.from(entries.map((e) => e[0])),
    keys: Uint32Array.from(entries.map((e) => e[1])),
    values: Float32Array.from(entries.map((e) => e[2])),
  };
}

function sampleBlock(rows: Entry[][], group: number[]): SampleBlock {
  return {
    ...featureRows(rows),
    sampleIds: Float64Array.from(rows.map((_, i) => 1000 + i)),
    click: Uint8Array.from(rows.map((_, i) => (i % 2 === 0 ? 1 : 0))),
    conversion: Uint8Array.from(rows.map((_, i) => (i % 4 === 0 ? 1 : 0))),
    group: Int32Array.from(group),
  };
}

// Spec order (101, 109_14, 205, 206) differs from the split's dictionary order on purpose.
const spec: FeatureSpec = {
  format: 'esmm-feature-spec',
  version: 1,
  embeddingDim: 4,
  tables: [
    { name: 'user', buckets: 50 },
    { name: 'category', buckets: 100 },
    { name: 'item', buckets: 1000 },
  ],
  fields: [
    { name: '101', table: 'user', pooling: 'sum', weighted: false },
    { name: '109_14', table: 'category', pooling: 'sum', weighted: true },
    { name: '205', table: 'item', pooling: 'sum', weighted: false },
    { name: '206', table: 'category', pooling: 'mean', weighted: false },
  ],
};
const fieldNames = ['205', '999', '109_14', '101', '206'];
const [F205, F999, F109, F101, F206] = [0, 1, 2, 3, 4];
const user = (k: number) => bucketOf(k, tableSalt('user'), 50);
const category = (k: number) => bucketOf(k, tableSalt('category'), 100);
const item = (k: number) => bucketOf(k, tableSalt('item'), 1000);

const groups: GroupTable = featureRows([
  [[F101, 7, 1], [F109, 11, 0.5], [F109, 12, 2]],
  [[F101, 8, 1], [F109, PADDING_KEY, 0]],
  [[F101, 9, 1], [F999, 5, 1]],
]);
const block = sampleBlock(
  [
    [[F205, 100, 1], [F206, 11, 1], [F999, 3, 1]],
    [[F205, PADDING_KEY, 1], [F206, 12, 3]],
    [[F205, 101, 1], [F205, 102, 1]],
    [],
    [[F206, 13, 1]],
  ],
  [1, -1, 0, 1, 2],
);

function plain(part: KeyedJagged) {
  return {
    numFields: part.numFields,
    numRows: part.numRows,
    offsets: Array.from(part.offsets),
    rows: Array.from(part.rows),
    weights: Array.from(part.weights),
  };
}

test('build: samples in position order, distinct groups, spec field order, hashing, weights, padding skipped', () => {
  const builder = new BatchBuilder(spec, fieldNames, groups);
  assert.deepEqual(builder.ignoredFields, ['999']);
  const batch = builder.build(block, [4, 0, 3, 2, 1], 1, 5); // samples 0, 3, 2, 1
  assert.equal(batch.size, 4);
  assert.deepEqual(Array.from(batch.sampleIds), [1000, 1003, 1002, 1001]);
  assert.deepEqual(Array.from(batch.click), [1, 0, 1, 0]);
  assert.deepEqual(Array.from(batch.conversion), [1, 0, 0, 0]);
  // Samples 0 and 3 share group row 1 (local 0); sample 2 joins group row 0 (local 1); sample 1 has none.
  assert.deepEqual(Array.from(batch.groupOf), [0, 0, 1, -1]);

  assert.deepEqual(plain(batch.samples), {
    numFields: 4,
    numRows: 4,
    //        101        109_14     205 (s0 | s3 | s2 s2 | s1: padding)   206 (s0 | - | - | s1)
    offsets: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3, 3, 4, 4, 4, 5],
    rows: [item(100), item(101), item(102), category(11), category(12)],
    weights: [1, 1, 1, 1, 1], // 206 is unweighted even though the value is 3
  });
  assert.deepEqual(plain(batch.groups), {
    numFields: 4,
    numRows: 2,
    //        101 (g1, g0)  109_14 (g1: padding, g0)  205   206
    offsets: [0, 1, 2, 2, 4, 4, 4, 4, 4],
    rows: [user(8), user(7), category(11), category(12)],
    weights: [1, 1, 0.5, 2],
  });
  // 109_14 and 206 share `category`: the same id lands on the same row from either field.
  assert.equal(batch.groups.rows[2], batch.samples.rows[3]);
});

test('build: a returned batch survives later builds, and the group map is clean between builds', () => {
  const builder = new BatchBuilder(spec, fieldNames, groups);
  const first = builder.build(block, [0, 2, 4], 0, 3);
  const snapshot = JSON.stringify([plain(first.samples), plain(first.groups), Array.from(first.groupOf)]);
  const second = builder.build(block, Int32Array.from([4, 3]), 0, 2);
  assert.equal(JSON.stringify([plain(first.samples), plain(first.groups), Array.from(first.groupOf)]), snapshot);
  // Group row 2 is local 0 now (it was local 2 in the first batch).
  assert.deepEqual(Array.from(second.groupOf), [0, 1]);
  assert.deepEqual(plain(second.groups).rows, [user(9), user(8)]);
  const empty = builder.build(block, [1], 1, 1);
  assert.equal(empty.size, 0);
  assert.deepEqual(Array.from(empty.samples.offsets), [0]);
  assert.equal(empty.groups.numRows, 0);
});

test('build: errors name what does not fit', () => {
  const builder = new BatchBuilder(spec, fieldNames, groups);
  assert.throws(() => builder.build(block, [0, 1], 1, 3), /0 <= start <= end <= positions\.length \(2\), got 1\.\.3/);
  assert.throws(() => builder.build(block, [0, 5], 0, 2), /position 5 \(index 1\) is outside the block's 5 samples/);
  const badGroup = sampleBlock([[[F205, 1, 1]]], [3]);
  assert.throws(() => builder.build(badGroup, [0], 0, 1), /joins group row 3 but the group table has 3 rows/);
  const badField = sampleBlock([[[7, 1, 1]]], [-1]);
  assert.throws(() => builder.build(badField, [0], 0, 1), /sample row 0 has field index 7 beyond the split's field dictionary/);
  // A failed build leaves the builder usable.
  assert.deepEqual(Array.from(builder.build(block, [2, 0], 0, 2).groupOf), [0, 1]);
  assert.throws(() => new BatchBuilder(spec, ['205', '205'], groups), /lists "205" twice/);
});

/** The batch built the obvious way: per sample and field, a filtered list of entries. */
function naiveBatch(b: SampleBlock, g: GroupTable, positions: number[]): Pick<Batch, 'groupOf'> & { samples: unknown; groups: unknown } {
  const salts = spec.fields.map((f) => tableSalt(f.table));
  const buckets = spec.fields.map((f) => spec.tables.find((t) => t.name === f.table)!.buckets);
  const specIndex = spec.fields.map((f) => fieldNames.indexOf(f.name));
  const localOf = new Map<number, number>();
  const groupOf = Int32Array.from(positions.map((p) => {
    const row = b.group[p]!;
    if (row < 0) return -1;
    if (!localOf.has(row)) localOf.set(row, localOf.size);
    return localOf.get(row)!;
  }));
  const jag = (src: FeatureRows, rowList: number[]) => {
    const offsets = [0];
    const rows: number[] = [];
    const weights: number[] = [];
    spec.fields.forEach((field, f) => {
      for (const r of rowList) {
        for (let e = src.offsets[r]!; e < src.offsets[r + 1]!; e++) {
          if (src.fields[e] !== specIndex[f] || src.keys[e] === PADDING_KEY) continue;
          rows.push(bucketOf(src.keys[e]!, salts[f]!, buckets[f]!));
          weights.push(field.weighted ? src.values[e]! : 1);
        }
        offsets.push(rows.length);
      }
    });
    return { numFields: spec.fields.length, numRows: rowList.length, offsets, rows, weights };
  };
  return { groupOf, samples: jag(b, positions), groups: jag(g, [...localOf.keys()]) };
}

test('build matches a naive builder on random data across batches of varying size, fresh or reused buffers', () => {
  const rng = new Rng(7);
  const randomRows = (n: number, maxEntries: number): Entry[][] =>
    Array.from({ length: n }, () =>
      Array.from({ length: rng.int(maxEntries + 1) }, (): Entry => [
        rng.int(fieldNames.length),
        rng.int(10) === 0 ? PADDING_KEY : rng.nextU32(),
        Math.fround(rng.next() * 3),
      ]),
    );
  const g = featureRows(randomRows(30, 40));
  const b = sampleBlock(randomRows(300, 12), Array.from({ length: 300 }, () => rng.int(31) - 1));
  const order = rng.shuffle(Array.from({ length: 300 }, (_, i) => i));
  const sizes = Array.from({ length: 12 }, () => 1 + rng.int(90));
  for (const reuseBuffers of [false, true]) {
    const builder = new BatchBuilder(spec, fieldNames, g, { reuseBuffers });
    for (let start = 0, i = 0; start < order.length; start += sizes[i++ % sizes.length]!) {
      const end = Math.min(start + sizes[i % sizes.length]!, order.length);
      const batch = builder.build(b, order, start, end);
      const want = naiveBatch(b, g, order.slice(start, end));
      assert.deepEqual(Array.from(batch.sampleIds), order.slice(start, end).map((p) => 1000 + p));
      assert.deepEqual(Array.from(batch.groupOf), Array.from(want.groupOf));
      assert.deepEqual(plain(batch.samples), want.samples);
      assert.deepEqual(plain(batch.groups), want.groups);
    }
  }
});

test('build with reuseBuffers: every batch is written into the same buffers, grown when too small', () => {
  const builder = new BatchBuilder(spec, fieldNames, groups, { reuseBuffers: true });
  const first = builder.build(block, [0, 2, 4], 0, 3);
  const firstRows = Array.from(first.samples.rows);
  const second = builder.build(block, [4, 3], 0, 2);
  // Same memory, exact lengths: the first batch now shows the second's values.
  assert.equal(second.samples.rows.buffer, first.samples.rows.buffer);
  assert.equal(second.groupOf.buffer, first.groupOf.buffer);
  assert.equal(second.samples.offsets.length, 4 * 2 + 1);
  assert.deepEqual(Array.from(second.groupOf), [0, 1]);
  assert.notDeepEqual(Array.from(first.samples.rows), firstRows);
  // A batch larger than every earlier one gets new buffers, and the right values.
  const many = Array.from({ length: 40 }, (_, i) => i % 5);
  const large = builder.build(block, many, 0, many.length);
  assert.notEqual(large.samples.offsets.buffer, second.samples.offsets.buffer);
  const fresh = new BatchBuilder(spec, fieldNames, groups).build(block, many, 0, many.length);
  assert.deepEqual([plain(large.samples), plain(large.groups), Array.from(large.groupOf)], [plain(fresh.samples), plain(fresh.groups), Array.from(fresh.groupOf)]);
});
