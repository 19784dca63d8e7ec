import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../test-support/cli.js';
import { readTensorFile, writeTensorFile, type NamedTensor } from './tensor-file.js';

const dir = tempDir('tensors');
test.after(() => rmSync(dir, { recursive: true, force: true }));

function sample(): Map<string, NamedTensor> {
  return new Map<string, NamedTensor>([
    ['w', { dims: [2, 3], data: Float32Array.of(1, -2, 3.5, 4, 5, 6) }],
    ['rows', { dims: [3], data: Int32Array.of(7, 0, 2 ** 31 - 1) }],
    ['odd', { dims: [3], data: Uint8Array.of(1, 2, 3) }], // forces padding before the next tensor
    ['d', { dims: [1], data: Float64Array.of(Math.PI) }],
    ['empty', { dims: [0], data: new Float32Array(0) }],
  ]);
}

test('tensor file round-trips every dtype, dims and names', () => {
  const path = join(dir, 'a.tensors');
  writeTensorFile(path, sample());
  const back = readTensorFile(path);
  assert.deepEqual([...back.keys()], [...sample().keys()]);
  for (const [k, t] of sample()) {
    assert.deepEqual(back.get(k)!.dims, t.dims);
    assert.deepEqual(back.get(k)!.data, t.data);
  }
});

test('a corrupted or truncated tensor file is detected', () => {
  const path = join(dir, 'b.tensors');
  writeTensorFile(path, sample());
  const good = readFileSync(path);
  const flipped = Buffer.from(good);
  flipped[flipped.length - 4]! ^= 0xff; // inside the float64 tensor, the last bytes of the file
  writeFileSync(path, flipped);
  assert.throws(() => readTensorFile(path), /checksum mismatch in tensor d/);
  writeFileSync(path, good.subarray(0, good.length - 12));
  assert.throws(() => readTensorFile(path), /past end of file|checksum/);
  writeFileSync(path, Buffer.from('not a tensor file'));
  assert.throws(() => readTensorFile(path), /bad magic/);
});
