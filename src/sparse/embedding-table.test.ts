import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddingTable } from './embedding-table.js';
import { Rng } from '../util/rng.js';

function rowValues(table: EmbeddingTable, row: number): number[] {
  const at = table.ensure(row);
  return Array.from(table.data.subarray(at, at + table.dim));
}

test('lazy init: a row\'s values do not depend on the order rows are touched in', () => {
  const rows = [5, 999, 0, 123, 77, 4095, 2048];
  const a = new EmbeddingTable('shop', 4096, 18, 42);
  const b = new EmbeddingTable('shop', 4096, 18, 42);
  for (const r of rows) a.ensure(r);
  for (const r of [...rows].reverse()) b.ensure(r);
  b.ensure(17); // an extra row touched first in b's history does not shift anything
  for (const r of rows) assert.deepEqual(rowValues(a, r), rowValues(b, r), `row ${r}`);
  // Only the place in the arena follows the touch order.
  assert.equal(a.ensure(5), 0);
  assert.equal(b.ensure(2048), 0);
  assert.deepEqual(Array.from(a.touchedRows()), [...rows].sort((x, y) => x - y));
  assert.equal(b.touchedCount, rows.length + 1);
});

test('lazy init: values depend on seed, table name and row, and are uniform in [-0.05, 0.05]', () => {
  const base = rowValues(new EmbeddingTable('shop', 100, 8, 1), 3);
  assert.notDeepEqual(rowValues(new EmbeddingTable('shop', 100, 8, 2), 3), base);
  assert.notDeepEqual(rowValues(new EmbeddingTable('brand', 100, 8, 1), 3), base);
  assert.notDeepEqual(rowValues(new EmbeddingTable('shop', 100, 8, 1), 4), base);
  // The same row of a bigger table is the same: the init does not depend on the bucket count.
  assert.deepEqual(rowValues(new EmbeddingTable('shop', 1000, 8, 1), 3), base);

  const table = new EmbeddingTable('205', 4096, 18, 9);
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  for (let r = 0; r < table.rows; r++) {
    for (const x of rowValues(table, r)) {
      assert.ok(x >= -0.05 && x <= 0.05, `value ${x} of row ${r}`);
      sum += x;
      sumSq += x * x;
      n++;
    }
  }
  const mean = sum / n;
  const variance = sumSq / n - mean * mean;
  // Uniform(-0.05, 0.05): mean 0, variance 0.1^2 / 12; n = 73,728 values.
  assert.ok(Math.abs(mean) < 0.001, `mean ${mean}`);
  assert.ok(Math.abs(variance / (0.01 / 12) - 1) < 0.02, `variance ${variance}`);
});

test('ensure hands out arena slots in first-touch order, initializes once, rejects rows outside', () => {
  const table = new EmbeddingTable('t', 10, 3, 0);
  assert.equal(table.isTouched(4), false);
  assert.equal(table.ensure(4), 0);
  assert.equal(table.ensure(9), 3);
  assert.equal(table.ensure(4), 0);
  assert.equal(table.isTouched(4), true);
  table.data[0] = 7;
  table.ensure(4);
  assert.equal(table.data[0], 7, 'a second ensure must not re-initialize');
  assert.deepEqual(Array.from(table.data.subarray(6)), new Array(24).fill(0), 'unused slots stay zero');
  for (const bad of [-1, 10, 2.5, NaN]) assert.throws(() => table.ensure(bad), /row .* is outside \[0, 10\)/);
  assert.equal(table.isTouched(10), false);
  assert.equal(table.touchedCount, 2);
  assert.throws(() => new EmbeddingTable('huge', 2 ** 31 - 1, 4, 0), /exceeds the 4294967296 values.*lower its buckets/);
});

test('exportRows / importRows round-trip touched rows; untouched rows re-derive from the seed', () => {
  const source = new EmbeddingTable('brand', 1000, 6, 3);
  for (const r of [900, 4, 250]) source.ensure(r);
  source.data[source.ensure(250) + 2] = 1.5; // a trained value
  const exported = source.exportRows();
  assert.deepEqual(Array.from(exported.rows), [4, 250, 900]);
  assert.equal(exported.data.length, 18);

  const restored = new EmbeddingTable('brand', 1000, 6, 3);
  restored.importRows(exported.rows, exported.data);
  assert.deepEqual(Array.from(restored.touchedRows()), [4, 250, 900]);
  for (const r of [4, 250, 900]) assert.deepEqual(rowValues(restored, r), rowValues(source, r));
  assert.deepEqual(rowValues(restored, 31), rowValues(source, 31));

  assert.throws(() => restored.importRows([1, 2], new Float32Array(6)), /got 2 rows but 6 values; expected rows x 6/);
  assert.throws(() => restored.importRows([1000], new Float32Array(6)), /row 1000 is outside \[0, 1000\)/);
});

test('a table of millions of buckets costs memory for the rows used, not the buckets', () => {
  const before = process.memoryUsage().rss;
  const table = new EmbeddingTable('205', 2 ** 22, 18, 1); // 302 MB of address space
  const rng = new Rng(5);
  for (let i = 0; i < 20000; i++) table.ensure(rng.int(table.rows));
  const grown = process.memoryUsage().rss - before;
  // 20,000 rows fill 1.4 MB of arena; the slot map is at most 16 MB. Rows stored at row * dim
  // would have made ~20,000 pages (78 MB) resident.
  assert.ok(grown < 32 * 2 ** 20, `resident memory grew by ${(grown / 2 ** 20).toFixed(1)} MB`);
  assert.equal(table.touchedCount, new Set(Array.from(table.touchedRows())).size);
});
