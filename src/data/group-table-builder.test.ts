import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupTableBuilder } from './group-table-builder.js';

function concat<T extends Uint32Array | Float32Array | Uint8Array>(pieces: T[]): number[] {
  return pieces.flatMap((p) => Array.from(p));
}

test('rows spanning chunks, and rollbacks back across a chunk boundary, give the same table as flat arrays', () => {
  const builder = new GroupTableBuilder();
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
  pushRow(700_000, true);
  pushRow(500_000, false); // would cross into chunk 2, then rolled back into chunk 1
  pushRow(300_000, true); // crosses for real
  pushRow(1_200_000, false);
  pushRow(48_576, true); // 700,000 + 300,000 + 48,576 = 2^20: ends exactly on the chunk boundary
  pushRow(0, true);
  pushRow(5, true);
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
