/**
 * The prepared cache of one split, on disk:
 *
 *   <cache>/<split>/manifest.json   PreparedManifest (written last: its presence marks a complete cache)
 *   <cache>/<split>/groups.bin      the group table
 *   <cache>/<split>/samples.bin     sample blocks, one after another (byte ranges in the manifest)
 *
 * Binary files are little-endian typed-array sections, each starting on an 8-byte boundary, so a
 * block read into a fresh ArrayBuffer becomes typed views without copying:
 *
 *   block:  header (8 x u32: magic "EBLK", version, count, entries, flags, 0, 0, 0)
 *           sampleIds f64[count] | offsets u32[count+1] | group i32[count] | keys u32[entries]
 *           | values f32[entries] | (flags & 1: pClick f32[count] | pConvGivenClick f32[count])
 *           | click u8[count] | conversion u8[count] | fields u8[entries]
 *   groups: header (8 x u32: magic "EGRP", version, count, entries, 0, 0, 0, 0)
 *           offsets u32[count+1] | keys u32[entries] | values f32[entries] | fields u8[entries]
 *
 * Checksums: the manifest holds a CRC-32 of every block's bytes and of the group table's sections
 * (their contents, without header and padding), and one of itself (`checksum`, over its JSON
 * without that key). A damaged cache is never read as data: opening it fails (prepareSplit then
 * rebuilds it) or reading a damaged block fails with a DataError saying to delete the cache.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync, writeSync, writevSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { SourceFormat } from '../formats/split-files.js';
import { DataError, type FeatureRows, type GroupTable, type InputReport, type SampleBlock } from '../types.js';

export const PREPARED_FORMAT = 'esmm-prepared';
/** Bump when the bytes or the manifest change meaning: older caches are then rebuilt. */
export const PREPARED_VERSION = 2;

/** What every damaged-cache error ends with. */
export const REBUILD_HINT = 'delete the cache folder to have it rebuilt from the source files (prepareSplit with force does the same)';

export const MANIFEST_FILE = 'manifest.json';
export const GROUPS_FILE = 'groups.bin';
export const SAMPLES_FILE = 'samples.bin';

const BLOCK_MAGIC = 0x4b4c4245; // "EBLK"
const GROUPS_MAGIC = 0x50524745; // "EGRP"
const HEADER_BYTES = 32;
const FLAG_TRUTH = 1;
/** fs reads and writes take at most 2 GiB per call. */
const IO_CHUNK = 1 << 30;

/** A source file as the cache remembers it: any change of size or mtime makes the cache stale. */
export interface SourceFileStamp {
  path: string;
  size: number;
  mtimeMs: number;
}

export interface PreparedManifest {
  format: typeof PREPARED_FORMAT;
  version: number;
  split: string;
  source: { format: SourceFormat; files: SourceFileStamp[] };
  /** Options that change what gets prepared. */
  options: { maxLineBytes: number; maxRowEntries: number };
  fieldNames: string[];
  numSamples: number;
  numBlocks: number;
  /** numBlocks + 1 byte offsets into samples.bin: block i is [blockOffsets[i], blockOffsets[i+1]). */
  blockOffsets: number[];
  /** CRC-32 of each block's bytes. */
  blockCrcs: number[];
  /** CRC-32 of the group table's sections (see writeGroups). */
  groupsCrc: number;
  numEntries: number;
  clicks: number;
  conversions: number;
  numGroups: number;
  numGroupEntries: number;
  hasTruth: boolean;
  reports: InputReport[];
  /** Things a user should know that are not bad rows: ignored columns, abandoned truth. */
  warnings: string[];
  createdAt: string;
  /** CRC-32 of this manifest's JSON without this key (set by manifestText). */
  checksum?: number;
}

/** The manifest file's text, with its own checksum. */
export function manifestText(m: PreparedManifest): string {
  const { checksum: _old, ...body } = m;
  return JSON.stringify({ ...body, checksum: crc32(JSON.stringify(body)) }, null, 1);
}

/** A prepared split, opened: the group table in memory, blocks read on demand. */
export interface PreparedSplit {
  dir: string;
  split: string;
  format: SourceFormat;
  /** True when an existing cache was used without parsing the input. */
  reused: boolean;
  fieldNames: string[];
  numSamples: number;
  numBlocks: number;
  clicks: number;
  conversions: number;
  groups: GroupTable;
  hasTruth: boolean;
  reports: InputReport[];
  warnings: string[];
  /** Block i (synchronous read of its bytes; views over one fresh buffer). */
  readBlock(i: number): SampleBlock;
}

interface BlockLayout {
  sampleIds: number;
  offsets: number;
  group: number;
  keys: number;
  values: number;
  pClick: number;
  pConvGivenClick: number;
  click: number;
  conversion: number;
  fields: number;
  byteLength: number;
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

function blockLayout(count: number, entries: number, hasTruth: boolean): BlockLayout {
  let at = HEADER_BYTES;
  const take = (bytes: number): number => {
    const start = at;
    at = align8(at + bytes);
    return start;
  };
  const sampleIds = take(count * 8);
  const offsets = take((count + 1) * 4);
  const group = take(count * 4);
  const keys = take(entries * 4);
  const values = take(entries * 4);
  const pClick = hasTruth ? take(count * 4) : at;
  const pConvGivenClick = hasTruth ? take(count * 4) : at;
  const click = take(count);
  const conversion = take(count);
  const fields = take(entries);
  return { sampleIds, offsets, group, keys, values, pClick, pConvGivenClick, click, conversion, fields, byteLength: at };
}

/** Zero bytes for the padding between sections (at most 7 are needed). */
const PAD = new Uint8Array(8);

/**
 * Appends a block to `fd` straight from the arrays of `block` (one writev of its sections and
 * their padding: no copy into an encoding buffer) and returns its size and CRC-32. The bytes are
 * exactly BlockEncoder's.
 */
export function writeBlock(fd: number, block: SampleBlock): { byteLength: number; crc: number } {
  const count = block.count;
  const entries = block.offsets[count]!;
  const header = new Uint32Array(HEADER_BYTES / 4);
  header.set([BLOCK_MAGIC, PREPARED_VERSION, count, entries, block.truth ? FLAG_TRUTH : 0]);
  const pieces: Uint8Array[] = [];
  let at = 0;
  let crc = 0;
  const put = (a: ArrayBufferView, bytes: number): void => {
    const pad = align8(at + bytes) - (at + bytes);
    for (const piece of [new Uint8Array(a.buffer, a.byteOffset, bytes), PAD.subarray(0, pad)]) {
      if (piece.length === 0) continue; // Node 20's crc32 ignores the initial value for these
      pieces.push(piece);
      crc = crc32(piece, crc);
    }
    at += bytes + pad;
  };
  put(header, HEADER_BYTES);
  put(block.sampleIds, count * 8);
  put(block.offsets, (count + 1) * 4);
  put(block.group, count * 4);
  put(block.keys, entries * 4);
  put(block.values, entries * 4);
  if (block.truth) {
    put(block.truth.pClick, count * 4);
    put(block.truth.pConvGivenClick, count * 4);
  }
  put(block.click, count);
  put(block.conversion, count);
  put(block.fields, entries);
  const byteLength = blockLayout(count, entries, block.truth !== undefined).byteLength;
  if (at !== byteLength) throw new Error(`writeBlock wrote a ${at}-byte block, its layout says ${byteLength}`);
  writevAll(fd, pieces, at);
  return { byteLength, crc: crc >>> 0 };
}

/** writev that finishes a short write piece by piece. */
function writevAll(fd: number, pieces: Uint8Array[], total: number): void {
  let skip = writevSync(fd, pieces);
  if (skip === total) return;
  for (const piece of pieces) {
    if (skip >= piece.length) {
      skip -= piece.length;
      continue;
    }
    writeAll(fd, piece.subarray(skip));
    skip = 0;
  }
}

/**
 * Encodes blocks into one reusable buffer. `encode` returns a view of it, valid until the next
 * call. (prepare writes blocks with writeBlock; this is its plain reference.)
 */
export class BlockEncoder {
  private scratch = new Uint8Array(0);

  encode(block: SampleBlock): Uint8Array {
    const count = block.count;
    const entries = block.offsets[count]!;
    const layout = blockLayout(count, entries, block.truth !== undefined);
    if (this.scratch.length < layout.byteLength) this.scratch = new Uint8Array(align8(layout.byteLength * 1.25));
    const out = this.scratch.subarray(0, layout.byteLength);
    out.fill(0);
    const header = new Uint32Array(out.buffer, out.byteOffset, HEADER_BYTES / 4);
    header.set([BLOCK_MAGIC, PREPARED_VERSION, count, entries, block.truth ? FLAG_TRUTH : 0]);
    const put = (at: number, a: ArrayBufferView, n: number, bytesPer: number): void => {
      out.set(new Uint8Array(a.buffer, a.byteOffset, n * bytesPer), at);
    };
    put(layout.sampleIds, block.sampleIds, count, 8);
    put(layout.offsets, block.offsets, count + 1, 4);
    put(layout.group, block.group, count, 4);
    put(layout.keys, block.keys, entries, 4);
    put(layout.values, block.values, entries, 4);
    if (block.truth) {
      put(layout.pClick, block.truth.pClick, count, 4);
      put(layout.pConvGivenClick, block.truth.pConvGivenClick, count, 4);
    }
    put(layout.click, block.click, count, 1);
    put(layout.conversion, block.conversion, count, 1);
    put(layout.fields, block.fields, entries, 1);
    return out;
  }
}

/** Views over an encoded block; `bytes` must start on an 8-byte boundary of its buffer. */
export function decodeBlock(bytes: Uint8Array, where: string): SampleBlock {
  if (bytes.byteOffset % 8 !== 0) throw new RangeError('decodeBlock needs 8-byte aligned bytes');
  const corrupt = (why: string): DataError =>
    new DataError(where, 0, 'io', `corrupt prepared block (${why}): ${REBUILD_HINT}`);
  if (bytes.length < HEADER_BYTES) throw corrupt('too short');
  const header = new Uint32Array(bytes.buffer, bytes.byteOffset, HEADER_BYTES / 4);
  if (header[0] !== BLOCK_MAGIC || header[1] !== PREPARED_VERSION) throw corrupt('bad magic or version');
  const count = header[2]!;
  const entries = header[3]!;
  const hasTruth = (header[4]! & FLAG_TRUTH) !== 0;
  const layout = blockLayout(count, entries, hasTruth);
  if (layout.byteLength !== bytes.length) throw corrupt(`${bytes.length} bytes, expected ${layout.byteLength}`);
  const { buffer, byteOffset: o } = bytes;
  const block: SampleBlock = {
    count,
    offsets: new Uint32Array(buffer, o + layout.offsets, count + 1),
    fields: new Uint8Array(buffer, o + layout.fields, entries),
    keys: new Uint32Array(buffer, o + layout.keys, entries),
    values: new Float32Array(buffer, o + layout.values, entries),
    sampleIds: new Float64Array(buffer, o + layout.sampleIds, count),
    click: new Uint8Array(buffer, o + layout.click, count),
    conversion: new Uint8Array(buffer, o + layout.conversion, count),
    group: new Int32Array(buffer, o + layout.group, count),
  };
  if (hasTruth) {
    block.truth = {
      pClick: new Float32Array(buffer, o + layout.pClick, count),
      pConvGivenClick: new Float32Array(buffer, o + layout.pConvGivenClick, count),
    };
  }
  checkOffsets(block, corrupt);
  return block;
}

function checkOffsets(rows: FeatureRows, corrupt: (why: string) => Error): void {
  const { offsets, count } = rows;
  if (offsets[0] !== 0 || offsets[count] !== rows.keys.length) throw corrupt('offsets do not span the entries');
  for (let i = 0; i < count; i++) if (offsets[i]! > offsets[i + 1]!) throw corrupt(`offsets decrease at row ${i}`);
}

/** A group table as pieces: each section is the concatenation of its list (see GroupTableBuilder). */
export interface GroupSections {
  count: number;
  offsets: Uint32Array;
  fields: Uint8Array[];
  keys: Uint32Array[];
  values: Float32Array[];
}

export function groupSections(table: GroupTable): GroupSections {
  return { count: table.count, offsets: table.offsets, fields: [table.fields], keys: [table.keys], values: [table.values] };
}

/** The table that sections hold, in one piece (copied only when there are several). */
export function groupTableOf(sections: GroupSections): GroupTable {
  const join = <T extends Uint8Array | Uint32Array | Float32Array>(pieces: T[], make: (n: number) => T): T => {
    if (pieces.length === 1) return pieces[0]!;
    const out = make(pieces.reduce((n, a) => n + a.length, 0));
    let at = 0;
    for (const a of pieces) {
      out.set(a, at);
      at += a.length;
    }
    return out;
  };
  return {
    count: sections.count,
    offsets: sections.offsets.subarray(0, sections.count + 1),
    fields: join(sections.fields, (n) => new Uint8Array(n)),
    keys: join(sections.keys, (n) => new Uint32Array(n)),
    values: join(sections.values, (n) => new Float32Array(n)),
  };
}

/**
 * Writes groups.bin to an open file, section by section, piece by piece (tables can exceed 2 GiB).
 * Returns the CRC-32 of the sections' contents (offsets, keys, values, fields; no header, no padding).
 */
export function writeGroups(fd: number, groups: GroupSections): number {
  const entries = groups.offsets[groups.count]!;
  const pieceEntries = (list: ArrayBufferView[], bytesPer: number): number => list.reduce((n, a) => n + a.byteLength / bytesPer, 0);
  if (pieceEntries(groups.keys, 4) !== entries || pieceEntries(groups.values, 4) !== entries || pieceEntries(groups.fields, 1) !== entries) {
    throw new RangeError(`group sections do not hold the ${entries} entries the offsets say`);
  }
  const header = new Uint32Array(HEADER_BYTES / 4);
  header.set([GROUPS_MAGIC, PREPARED_VERSION, groups.count, entries]);
  let at = 0;
  let crc = 0;
  const put = (pieces: ArrayBufferView[], checked = true): void => {
    for (const a of pieces) {
      writeAll(fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      if (checked) crc = crcOf(a, crc);
      at += a.byteLength;
    }
    const pad = align8(at) - at;
    if (pad > 0) writeAll(fd, new Uint8Array(pad));
    at += pad;
  };
  put([header], false);
  put([groups.offsets.subarray(0, groups.count + 1)]);
  put(groups.keys);
  put(groups.values);
  put(groups.fields);
  return crc;
}

/**
 * CRC-32 of a view's bytes continuing from `initial`. Node 20's zlib.crc32 answers 0 for a view
 * of a zero-length ArrayBuffer whatever the initial value, so empty views are skipped here.
 */
function crcOf(a: ArrayBufferView, initial: number): number {
  return a.byteLength === 0 ? initial : crc32(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), initial);
}

/** Reads groups.bin into one typed array per section, checking the sections' CRC-32 when given. */
export function readGroups(path: string, expectedCrc?: number): GroupTable {
  const corrupt = (why: string): DataError =>
    new DataError(path, 0, 'io', `corrupt prepared group table (${why}): ${REBUILD_HINT}`);
  const fd = openFile(path);
  try {
    const size = fstatSync(fd).size;
    const header = new Uint32Array(HEADER_BYTES / 4);
    if (size < HEADER_BYTES) throw corrupt('too short');
    let at = readInto(fd, header, 0);
    if (header[0] !== GROUPS_MAGIC || header[1] !== PREPARED_VERSION) throw corrupt('bad magic or version');
    const count = header[2]!;
    const entries = header[3]!;
    const expected = HEADER_BYTES + align8((count + 1) * 4) + 2 * align8(entries * 4) + align8(entries);
    if (size !== expected) throw corrupt(`${size} bytes, expected ${expected}`);
    const offsets = new Uint32Array(count + 1);
    const keys = new Uint32Array(entries);
    const values = new Float32Array(entries);
    const fields = new Uint8Array(entries);
    at = align8(readInto(fd, offsets, at));
    at = align8(readInto(fd, keys, at));
    at = align8(readInto(fd, values, at));
    readInto(fd, fields, at);
    if (expectedCrc !== undefined) {
      const crc = [offsets, keys, values, fields].reduce((c, a) => crcOf(a, c), 0);
      if (crc !== expectedCrc) throw corrupt('checksum mismatch');
    }
    const groups: GroupTable = { count, offsets, fields, keys, values };
    checkOffsets(groups, corrupt);
    return groups;
  } finally {
    closeSync(fd);
  }
}

/** Writes all bytes, in chunks the fs calls accept. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) {
    done += writeSync(fd, bytes, done, Math.min(IO_CHUNK, bytes.length - done));
  }
}

/** Fills `target` from the file at `position`; returns the position after it. */
function readInto(fd: number, target: ArrayBufferView, position: number): number {
  const bytes = new Uint8Array(target.buffer, target.byteOffset, target.byteLength);
  let done = 0;
  while (done < bytes.length) {
    const n = readSync(fd, bytes, done, Math.min(IO_CHUNK, bytes.length - done), position + done);
    if (n === 0) throw new RangeError(`unexpected end of file at byte ${position + done}`);
    done += n;
  }
  return position + bytes.length;
}

function openFile(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    throw new DataError(path, 0, 'io', `cannot open the prepared cache file: ${(e as Error).message}; ${REBUILD_HINT}`);
  }
}

/** Reads and checks manifest.json of a prepared split folder. */
export function readManifest(dir: string): PreparedManifest {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) throw new DataError(path, 0, 'io', 'not a prepared split (no manifest.json): run prepare first');
  let m: Partial<PreparedManifest>;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as Partial<PreparedManifest>;
  } catch (e) {
    throw new DataError(path, 0, 'io', `unreadable manifest (${(e as Error).message}): ${REBUILD_HINT}`);
  }
  if (m?.format !== PREPARED_FORMAT) throw new DataError(path, 0, 'io', `not an ${PREPARED_FORMAT} manifest: ${REBUILD_HINT}`);
  if (m.version !== PREPARED_VERSION) {
    throw new DataError(path, 0, 'io', `prepared with format version ${String(m.version)}, this build reads ${PREPARED_VERSION}: prepare the split again`);
  }
  const ok =
    typeof m.split === 'string' &&
    Array.isArray(m.fieldNames) &&
    Array.isArray(m.blockOffsets) &&
    typeof m.numBlocks === 'number' &&
    m.blockOffsets.length === m.numBlocks + 1 &&
    typeof m.numSamples === 'number' &&
    typeof m.source?.format === 'string' &&
    Array.isArray(m.source.files) &&
    Array.isArray(m.reports) &&
    Array.isArray(m.blockCrcs) &&
    m.blockCrcs.length === m.numBlocks &&
    typeof m.groupsCrc === 'number';
  if (!ok) throw new DataError(path, 0, 'io', `incomplete manifest: ${REBUILD_HINT}`);
  const { checksum, ...body } = m;
  if (checksum !== crc32(JSON.stringify(body))) throw new DataError(path, 0, 'io', `manifest checksum mismatch: ${REBUILD_HINT}`);
  return m as PreparedManifest;
}

/** Opens a prepared split folder (`<cache>/<split>`): loads the group table, reads blocks lazily. */
export function openPreparedSplit(cacheSplitDir: string): PreparedSplit {
  if (endianness() !== 'LE') throw new Error('prepared caches are little-endian; this machine is big-endian');
  const manifest = readManifest(cacheSplitDir);
  const samplesPath = join(cacheSplitDir, SAMPLES_FILE);
  const expectedBytes = manifest.blockOffsets[manifest.numBlocks]!;
  const actualBytes = existsSync(samplesPath) ? statSync(samplesPath).size : -1;
  if (actualBytes !== expectedBytes) {
    const what = actualBytes < 0 ? 'missing' : `${actualBytes} bytes, expected ${expectedBytes}`;
    throw new DataError(samplesPath, 0, 'io', `${what}: ${REBUILD_HINT}`);
  }
  const groups = readGroups(join(cacheSplitDir, GROUPS_FILE), manifest.groupsCrc);
  if (groups.count !== manifest.numGroups) {
    const detail = `${groups.count} groups, the manifest says ${manifest.numGroups}: ${REBUILD_HINT}`;
    throw new DataError(join(cacheSplitDir, GROUPS_FILE), 0, 'io', detail);
  }
  return preparedSplitOf(cacheSplitDir, manifest, groups);
}

/**
 * The split a cache holds, given its manifest and its group table (read from groups.bin, or, right
 * after prepare wrote it, the table still in memory: reading back and checksumming what was just
 * written would add ~15% to prepare's time). Sample blocks are read, and checked, on demand.
 */
export function preparedSplitOf(cacheSplitDir: string, manifest: PreparedManifest, groups: GroupTable): PreparedSplit {
  const samplesPath = join(cacheSplitDir, SAMPLES_FILE);
  const offsets = manifest.blockOffsets;
  return {
    dir: cacheSplitDir,
    split: manifest.split,
    format: manifest.source.format,
    reused: true,
    fieldNames: manifest.fieldNames,
    numSamples: manifest.numSamples,
    numBlocks: manifest.numBlocks,
    clicks: manifest.clicks,
    conversions: manifest.conversions,
    groups,
    hasTruth: manifest.hasTruth,
    reports: manifest.reports,
    warnings: manifest.warnings ?? [],
    readBlock(i: number): SampleBlock {
      if (!Number.isInteger(i) || i < 0 || i >= manifest.numBlocks) {
        throw new RangeError(`block ${i} out of range: ${samplesPath} has ${manifest.numBlocks} blocks`);
      }
      const start = offsets[i]!;
      const bytes = new Uint8Array(offsets[i + 1]! - start);
      const fd = openFile(samplesPath);
      try {
        readInto(fd, bytes, start);
      } finally {
        closeSync(fd);
      }
      if (crc32(bytes) !== manifest.blockCrcs[i]) {
        throw new DataError(samplesPath, 0, 'io', `block ${i} does not match its checksum: the prepared cache is damaged; ${REBUILD_HINT}`);
      }
      const block = decodeBlock(bytes, `${samplesPath} block ${i}`);
      // Truth written before it was abandoned partway is not trusted.
      if (!manifest.hasTruth) delete block.truth;
      return block;
    },
  };
}
