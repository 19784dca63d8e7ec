import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';

/**
 * A small container for named typed arrays (weights, embedding rows, optimizer state):
 *   "ESMMTNSR" | u32 header length | header JSON | zero padding to 8 | tensor bytes, each 8-aligned
 * Each tensor carries a CRC-32 of its bytes, so a truncated or corrupted file is detected when read.
 */
export type TensorData = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;

export interface NamedTensor {
  dims: number[];
  data: TensorData;
}

interface Entry {
  name: string;
  dtype: DType;
  dims: number[];
  offset: number;
  byteLength: number;
  crc32: number;
}

type DType = 'float32' | 'float64' | 'int32' | 'uint32' | 'uint8';
const MAGIC = Buffer.from('ESMMTNSR', 'latin1');

export function writeTensorFile(path: string, tensors: Map<string, NamedTensor>): void {
  const entries: Entry[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = asBytes(t.data);
    entries.push({ name, dtype: dtypeOf(t.data), dims: t.dims, offset, byteLength: bytes.length, crc32: crc32(bytes) });
    offset = align8(offset + bytes.length);
  }
  const header = Buffer.from(JSON.stringify({ version: 1, tensors: entries }), 'utf8');
  const start = align8(MAGIC.length + 4 + header.length);
  const prefix = Buffer.alloc(start);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(header.length, MAGIC.length);
  header.copy(prefix, MAGIC.length + 4);
  const fd = openSync(path, 'w');
  try {
    writeAll(fd, prefix);
    let pos = 0;
    const pad = Buffer.alloc(8);
    for (const [, t] of tensors) {
      const bytes = asBytes(t.data);
      writeAll(fd, bytes);
      pos += bytes.length;
      const aligned = align8(pos);
      if (aligned > pos) writeAll(fd, pad.subarray(0, aligned - pos));
      pos = aligned;
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function readTensorFile(path: string): Map<string, NamedTensor> {
  const buf = readFileSync(path);
  const fail = (why: string): never => {
    throw new Error(`${path}: not a valid tensor file (${why}); the file is damaged or truncated`);
  };
  if (buf.length < MAGIC.length + 4 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) fail('bad magic');
  const headerLen = buf.readUInt32LE(MAGIC.length);
  if (MAGIC.length + 4 + headerLen > buf.length) fail('header past end of file');
  let header: { version: number; tensors: Entry[] };
  try {
    header = JSON.parse(buf.toString('utf8', MAGIC.length + 4, MAGIC.length + 4 + headerLen));
  } catch {
    return fail('unreadable header');
  }
  const start = align8(MAGIC.length + 4 + headerLen);
  const out = new Map<string, NamedTensor>();
  for (const e of header.tensors) {
    const s = start + e.offset;
    if (s + e.byteLength > buf.length) fail(`tensor ${e.name} past end of file`);
    const bytes = buf.subarray(s, s + e.byteLength);
    if (crc32(bytes) !== e.crc32) fail(`checksum mismatch in tensor ${e.name}`);
    out.set(e.name, { dims: e.dims, data: fromBytes(bytes, e.dtype) });
  }
  return out;
}

function writeAll(fd: number, b: Uint8Array): void {
  let done = 0;
  while (done < b.length) done += writeSync(fd, b, done, b.length - done);
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

function asBytes(d: TensorData): Buffer {
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

function dtypeOf(d: TensorData): DType {
  if (d instanceof Float32Array) return 'float32';
  if (d instanceof Float64Array) return 'float64';
  if (d instanceof Int32Array) return 'int32';
  if (d instanceof Uint32Array) return 'uint32';
  return 'uint8';
}

/** Copies into a fresh, aligned buffer (the file buffer's offsets are not aligned in general). */
function fromBytes(bytes: Buffer, dtype: DType): TensorData {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  switch (dtype) {
    case 'float32':
      return new Float32Array(copy.buffer);
    case 'float64':
      return new Float64Array(copy.buffer);
    case 'int32':
      return new Int32Array(copy.buffer);
    case 'uint32':
      return new Uint32Array(copy.buffer);
    case 'uint8':
      return copy;
  }
}
