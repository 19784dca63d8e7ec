import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ByteWriter } from './byte-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'esmm-byte-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('numbers are written in canonical decimal, across many buffer flushes', () => {
  const path = join(dir, 'numbers.txt');
  const w = ByteWriter.create(path, 128); // tiny buffer: every few numbers flush
  const values = [0, 7, 9, 10, 99, 100, 12345, 4294967295, 2 ** 53 - 1];
  const expected: string[] = [];
  for (let round = 0; round < 50; round++) {
    for (const v of values) {
      w.uint(v);
      w.byte(0x2c);
      expected.push(String(v), ',');
    }
  }
  w.close();
  assert.equal(readFileSync(path, 'latin1'), expected.join(''));
  assert.equal(w.bytesWritten, expected.join('').length);
});

test('unitFixed writes exactly the requested decimals, rounding and clamping', () => {
  const path = join(dir, 'fixed.txt');
  const w = ByteWriter.create(path, 256);
  const cases: [number, string][] = [
    [0, '0.0000000000'],
    [1, '1.0000000000'],
    [0.5, '0.5000000000'],
    [0.0412345678949, '0.0412345679'],
    [1e-11, '0.0000000000'],
    [0.99999999999, '1.0000000000'],
    [-0.1, '0.0000000000'],
  ];
  for (const [x] of cases) {
    w.unitFixed(x, 10);
    w.byte(0x0a);
  }
  w.close();
  assert.deepEqual(readFileSync(path, 'latin1').split('\n').slice(0, -1), cases.map(([, s]) => s));
});

test('byte runs longer than the buffer are written through', () => {
  const path = join(dir, 'long.bin');
  const w = ByteWriter.create(path, 128);
  const big = new Uint8Array(1000).map((_, i) => i % 251);
  w.byte(1);
  w.bytes(big);
  w.bytes(new Uint8Array([2, 3]));
  w.close();
  const got = readFileSync(path);
  assert.equal(got.length, 1003);
  assert.equal(got[0], 1);
  assert.deepEqual(new Uint8Array(got.subarray(1, 1001)), big);
  assert.deepEqual([got[1001], got[1002]], [2, 3]);
});

test('the file appears under its name only on close; abort leaves nothing', () => {
  const path = join(dir, 'atomic.txt');
  const w = ByteWriter.create(path);
  w.ascii('hello\n');
  w.flush();
  assert.equal(existsSync(path), false);
  assert.equal(existsSync(path + '.partial'), true);
  w.close();
  assert.equal(readFileSync(path, 'latin1'), 'hello\n');
  assert.equal(existsSync(path + '.partial'), false);
  w.byte(1);
  assert.throws(() => w.flush(), /written after close/);

  const aborted = join(dir, 'aborted.txt');
  const a = ByteWriter.create(aborted);
  a.ascii('x');
  a.abort();
  assert.equal(existsSync(aborted), false);
  assert.equal(existsSync(aborted + '.partial'), false);
});
