import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { test } from 'node:test';
import { BlockEncoder, decodeBlock, groupSections, readGroups, writeBlock, writeGroups } from './prepared-format.js';
import { tempDir } from '../testing.js';
import { DataError, type GroupTable, type SampleBlock } from '../types.js';

function sampleBlock(withTruth: boolean): SampleBlock {
  const block: SampleBlock = {
    count: 3,
    offsets: Uint32Array.of(0, 2, 2, 5),
    fields: Uint8Array.of(0, 1, 2, 2, 3),
    keys: Uint32Array.of(10, 0xffffffff, 7, 8, 9),
    values: Float32Array.of(1, 0.5, 2, 3, 4),
    sampleIds: Float64Array.of(1, 2, 9007199254740991),
    click: Uint8Array.of(1, 0, 1),
    conversion: Uint8Array.of(1, 0, 0),
    group: Int32Array.of(7, -1, 0),
  };
  if (withTruth) block.truth = { pClick: Float32Array.of(0.1, 0.2, 0.3), pConvGivenClick: Float32Array.of(0.4, 0.5, 0.6) };
  return block;
}

test('blocks round-trip through their bytes, with and without truth; sections are 8-byte aligned views', () => {
  const encoder = new BlockEncoder();
  for (const withTruth of [true, false]) {
    const original = sampleBlock(withTruth);
    const bytes = new Uint8Array(encoder.encode(original)); // a copy at offset 0, as readBlock has
    assert.equal(bytes.length % 8, 0);
    const decoded = decodeBlock(bytes, 'test');
    assert.deepEqual(decoded, original);
    for (const a of [decoded.offsets, decoded.keys, decoded.values, decoded.sampleIds, decoded.group, decoded.fields, decoded.click]) {
      assert.equal(a.buffer, bytes.buffer, 'a view, not a copy');
      assert.equal(a.byteOffset % 8, 0);
    }
  }
});

test('writeBlock appends exactly the bytes BlockEncoder encodes, and their CRC-32', () => {
  const { dir, cleanup } = tempDir();
  try {
    const empty: SampleBlock = { ...sampleBlock(false), count: 0, offsets: Uint32Array.of(0), fields: new Uint8Array(0), keys: new Uint32Array(0), values: new Float32Array(0) };
    const blocks = [sampleBlock(true), sampleBlock(false), empty, sampleBlock(true)];
    const path = join(dir, 'samples.bin');
    const fd = openSync(path, 'w');
    const written = blocks.map((block) => writeBlock(fd, block));
    closeSync(fd);
    const file = readFileSync(path);
    let at = 0;
    const encoder = new BlockEncoder();
    blocks.forEach((block, i) => {
      const expected = encoder.encode(block);
      assert.equal(written[i]!.byteLength, expected.length);
      assert.deepEqual(new Uint8Array(file.subarray(at, at + expected.length)), expected, `block ${i}`);
      assert.equal(written[i]!.crc, crc32(expected));
      at += expected.length;
    });
    assert.equal(at, file.length);
  } finally {
    cleanup();
  }
});

test('corrupt blocks are refused with a hint to prepare again', () => {
  const bytes = new Uint8Array(new BlockEncoder().encode(sampleBlock(false)));
  const isCorrupt = (e: unknown): boolean => e instanceof DataError && /corrupt prepared block.*delete the cache folder to have it rebuilt/.test(e.message);
  assert.throws(() => decodeBlock(bytes.subarray(0, bytes.length - 8).slice(), 'x'), isCorrupt);
  const badMagic = bytes.slice();
  badMagic[0] = 0;
  assert.throws(() => decodeBlock(badMagic, 'x'), isCorrupt);
  const badOffsets = bytes.slice();
  // offsets section starts after the 32-byte header and 3 f64 sample ids; make offsets[1] > offsets[2].
  new Uint32Array(badOffsets.buffer, 32 + 24, 4)[1] = 4;
  assert.throws(() => decodeBlock(badOffsets, 'x'), isCorrupt);
});

test('group tables round-trip through groups.bin, empty ones included', () => {
  const { dir, cleanup } = tempDir();
  try {
    const tables: GroupTable[] = [
      { count: 2, offsets: Uint32Array.of(0, 3, 4), fields: Uint8Array.of(0, 1, 1, 2), keys: Uint32Array.of(1, 2, 3, 4), values: Float32Array.of(1, 0.69315, 1.94591, 1) },
      { count: 0, offsets: Uint32Array.of(0), fields: new Uint8Array(0), keys: new Uint32Array(0), values: new Float32Array(0) },
    ];
    for (const [i, table] of tables.entries()) {
      const path = join(dir, `g${i}.bin`);
      const fd = openSync(path, 'w');
      const crc = writeGroups(fd, groupSections(table));
      closeSync(fd);
      assert.deepEqual(readGroups(path), table);
      assert.deepEqual(readGroups(path, crc), table, 'the checksum of the sections matches');
      if (table.count > 0) {
        // A flipped bit in a value is caught by the checksum (the layout checks cannot see it).
        const bytes = readFileSync(path);
        bytes[bytes.length - 16]! ^= 0x10;
        writeFileSync(path, bytes);
        assert.throws(() => readGroups(path, crc), (e: unknown) => e instanceof DataError && /checksum mismatch.*delete the cache folder/.test(e.message));
      }
    }
  } finally {
    cleanup();
  }
});
