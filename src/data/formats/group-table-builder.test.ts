import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupTableBuilder } from './group-table-builder.js';

function concat<T extends Uint32Array | Float32Array | Uint8Array>(pieces: T[]): number[] {
  return pieces.flatMap((p) => Array.from(p));
}

/** Rows of the given sizes, kept or rolled back, into `builder`; the expected keys and offsets. */
function fill(builder: GroupTableBuilder, rows: readonly (readonly [number, boolean])[]) {
  const keys: number[] = [];
  const offsets = [0];
  let next = 0;
  const pushRow = (n: number, keep: boolean): void => {
    for (let i = 0; i < n; i++) builder.push(i % 200, next + i, (next + i) % 7);
    if (keep) {
      for (let i = 0; i < n; i++) keys.push(next + i);
      next += n;
      offsets.push(keys.length);
      builder.commitRow();
    } else {
      builder.rollbackRow();
    }
  };
  for (const [n, keep] of rows) pushRow(n, keep);
  return { keys, offsets };
}

const SMALL_ROWS = ([[7, true], [5, false], [3, true], [12, false], [1, true], [0, true], [9, true]] as const).map(
  ([n, keep]) => [n * 10, keep] as const,
);

test('any chunk size gives the same table; a builder sized for its file holds it in one piece', () => {
  const sizes = [1, 2, 3, 7, 64, 1024];
  const tables = sizes.map((chunk) => {
    const builder = new GroupTableBuilder(chunk);
    const expected = fill(builder, SMALL_ROWS);
    const s = builder.sections();
    assert.deepEqual(Array.from(s.offsets), expected.offsets, `chunk ${chunk}`);
    assert.deepEqual(concat(s.keys), expected.keys, `chunk ${chunk}`);
    assert.deepEqual(concat(s.values), expected.keys.map((k) => k % 7), `chunk ${chunk}`);
    assert.equal(concat(s.fields).length, expected.keys.length);
    return s;
  });
  assert.equal(tables[0]!.keys.length, 200, 'chunks of 1 entry: one piece per entry');
  // 200 entries kept, 170 more pushed and rolled back: a 2,000-byte file bounds them (5 bytes each).
  const sized = GroupTableBuilder.forFile(2000);
  const expected = fill(sized, SMALL_ROWS);
  const s = sized.sections();
  assert.equal(s.keys.length, 1, 'one piece');
  assert.deepEqual(Array.from(s.keys[0]!), expected.keys);
  assert.throws(() => new GroupTableBuilder(0), /chunk size must be an integer/);
});

test('rows spanning chunks, and rollbacks back across a chunk boundary, give the same table as flat arrays', () => {
  const builder = new GroupTableBuilder();
  const { keys, offsets } = fill(builder, [
    [700_000, true],
    [500_000, false], // would cross into chunk 2, then rolled back into chunk 1
    [300_000, true], // crosses for real
    [1_200_000, false],
    [48_576, true], // 700,000 + 300,000 + 48,576 = 2^20: ends exactly on the chunk boundary
    [0, true],
    [5, true],
  ]);
  const s = builder.sections();
  assert.equal(s.count, offsets.length - 1);
  assert.deepEqual(Array.from(s.offsets), offsets);
  const flatKeys = concat(s.keys);
  assert.equal(flatKeys.length, keys.length);
  assert.ok(flatKeys.every((k, i) => k === keys[i]), 'keys in order');
  assert.ok(concat(s.values).every((v, i) => v === keys[i]! % 7));
  assert.equal(concat(s.fields).length, keys.length);
  assert.equal(s.keys.length, 2, 'two chunks');
});
