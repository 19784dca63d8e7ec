/**
 * Seeded fuzzing of the input readers: raw Ali-CCP (common features + skeleton), PaddleRec and
 * CSV. Every case is a file of good lines and corrupted ones (each corruption made so that its
 * problem kind is known), written with random line ends, blank lines and with or without a final
 * newline. The test computes independently what the reader must keep (ids, labels, feature keys
 * and values, joined common rows) and which kind each bad line must be counted under, then checks
 * the reader: same kept rows, same counts and first line numbers per kind, and in strict mode a
 * DataError naming the first bad line. Each case is timed (no hangs). Pure random bytes are fed
 * too, where only "no crash, consistent counts" can be checked.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Rng } from '../../util/rng.js';
import { readCommonFeatures, readSkeleton, type CommonFeatures } from './aliccp-raw.js';
import { SampleBlockWriter } from './block-writer.js';
import { planCsvFile, readCsvFile } from './csv-ids.js';
import { FieldDictionary, MAX_FIELDS } from './field-dictionary.js';
import { LineEvent, LineReader } from '../text/line-reader.js';
import { readPaddleRecFile } from './paddlerec.js';
import { openPreparedSplit, prepareSplit } from '../cache/prepare.js';
import { PhaseProgress } from '../text/read-progress.js';
import { dumpSamples, type DumpedEntry, type DumpedSample } from '../testing.js';
import { TruthReader } from './truth-reader.js';
import { DataError, PADDING_KEY, type InputProblemKind, type InputReport, type SampleBlock } from '../types.js';

/** Small limits, so gigantic lines and oversized rows are cheap to make. */
const MAX_LINE = 2048;
const MAX_ROW = 40;
/** A case that takes longer than this is a hang (typical cases take about a millisecond). */
const CASE_BUDGET_MS = 2000;
const FIELDS = ['101', '109_14', '205', '206', '210', '216', '301', '121', 'f\xe9'];

const scratch = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'esmm-fuzz-'));
test.after(() => { if (!process.env.FUZZ_KEEP) rmSync(scratch, { recursive: true, force: true }); });

// ---------------------------------------------------------------------------------------------
// What the readers must produce, computed without them.

/** The documented key of an id token: canonical decimals below 2^32-1 as is, "-1" padding, else FNV-1a. */
function expectedKey(token: string): number {
  if (token === '-1') return PADDING_KEY;
  if (/^(0|[1-9][0-9]{0,9})$/.test(token) && Number(token) < PADDING_KEY) return Number(token);
  let h = 0x811c9dc5;
  for (let i = 0; i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), 0x01000193);
  h >>>= 0;
  return h === PADDING_KEY ? PADDING_KEY - 1 : h;
}

interface Problem {
  line: number;
  kind: InputProblemKind;
}

/** One generated file: its bytes, the problems it must report, and its data line count. */
interface GeneratedFile {
  text: Buffer;
  problems: Problem[];
  dataLines: number;
}

/** Assembles a file line by line with random line ends, blank lines and final newline. */
class FileWriter {
  private readonly parts: string[] = [];
  private lineNo = 0;
  dataLines = 0;
  readonly problems: Problem[] = [];

  constructor(private readonly rng: Rng) {}

  /** Adds a data line (non-blank, no line break inside); returns its 1-based line number. */
  add(line: string, problem: InputProblemKind | null = null): number {
    while (this.rng.int(8) === 0) this.push('');
    this.push(line);
    this.dataLines++;
    if (problem) this.problems.push({ line: this.lineNo, kind: problem });
    return this.lineNo;
  }

  finish(): GeneratedFile {
    let text = this.parts.join('');
    // Drop the final line end half the time (a missing final newline).
    if (this.rng.int(2) === 0) text = text.replace(/\r?\n$/, '');
    return { text: Buffer.from(text, 'latin1'), problems: this.problems, dataLines: this.dataLines };
  }

  private push(line: string): void {
    this.parts.push(line + (this.rng.int(3) === 0 ? '\r\n' : '\n'));
    this.lineNo++;
  }
}

type Entry = [field: string, id: string, value: string];

function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[rng.int(list.length)]!;
}

function genId(rng: Rng): string {
  switch (rng.int(10)) {
    case 0:
      return pick(rng, ['-1', '0', '007', '4294967295', '4294967294', '99999999999', 'abc', 'x' + rng.int(1000), '3e5', '\xff\xfe']);
    default:
      return String(rng.nextU32() % 0xfffffffe);
  }
}

function genValue(rng: Rng): string {
  switch (rng.int(4)) {
    case 0:
      return pick(rng, ['1.0', '0.69315', '1e-05', '-2.5', '3.', '+0.5', '.25', '1', '2.5E+3', '0']);
    default:
      return (rng.next() * 10).toFixed(rng.int(7));
  }
}

function genEntries(rng: Rng, max: number): Entry[] {
  return Array.from({ length: rng.int(max + 1) }, (): Entry => [pick(rng, FIELDS), genId(rng), genValue(rng)]);
}

const rawList = (entries: Entry[]): string => entries.map(([f, id, v]) => `${f}\x02${id}\x03${v}`).join('\x01');
const dumped = (entries: Entry[]): DumpedEntry[] => entries.map(([f, id, v]) => [f, expectedKey(id), Math.fround(Number(v))]);

/** Random bytes without line breaks and commas: always a line with too few columns. */
function garbage(rng: Rng, length: number): string {
  let s = '';
  while (s.length < length) {
    const c = rng.int(256);
    if (c !== 0x0a && c !== 0x0d && c !== 0x2c) s += String.fromCharCode(c);
  }
  return s;
}

function nthIndexOf(s: string, ch: string, n: number): number {
  let at = -1;
  for (let i = 0; i < n; i++) at = s.indexOf(ch, at + 1);
  return at;
}

/** Byte offsets of each entry of a line's feature list: [start, position of its 0x03]. */
function entrySpans(line: string, listStart: number): [number, number][] {
  const spans: [number, number][] = [];
  let start = listStart;
  while (start < line.length) {
    const sep = line.indexOf('\x03', start);
    spans.push([start, sep]);
    const next = line.indexOf('\x01', sep);
    if (next < 0) break;
    start = next + 1;
  }
  return spans;
}

/**
 * A corrupted version of a raw line (`columns` comma-separated columns, the last one a feature
 * list of `entries`, feature_num the one before it) and the kind it must be counted under, or
 * null when this corruption does not apply to the line.
 */
function corruptRawLine(rng: Rng, line: string, columns: number, entries: Entry[], labelAt: number | null, prefilled: boolean): [string, InputProblemKind] | null {
  const cols = line.split(',');
  const numAt = columns - 2;
  const listStart = nthIndexOf(line, ',', columns - 1) + 1;
  const withColumn = (i: number, text: string): string => cols.map((c, j) => (j === i ? text : c)).join(',');
  switch (rng.int(19)) {
    case 0: // truncated within the columns before the feature list
      return [line.slice(0, 1 + rng.int(listStart - 1)), 'malformed_line'];
    case 1: {
      // truncated inside an entry, before its value
      if (entries.length === 0) return null;
      const [s, sep] = pick(rng, entrySpans(line, listStart));
      return [line.slice(0, s + 1 + rng.int(sep - s + 1)), 'bad_feature'];
    }
    case 2: {
      // a column missing
      const gone = rng.int(columns);
      return [cols.filter((_, j) => j !== gone).join(','), 'malformed_line'];
    }
    case 3: {
      // a column too many
      const at = rng.int(columns + 1);
      return [[...cols.slice(0, at), 'x', ...cols.slice(at)].join(','), 'malformed_line'];
    }
    case 4: // another column separator
      return [line.replaceAll(',', pick(rng, [';', '\t', '|', ' '])), 'malformed_line'];
    case 5: {
      // entries separated by commas instead of 0x01
      if (entries.length < 2) return null;
      return [line.replaceAll('\x01', ','), 'malformed_line'];
    }
    case 6: {
      // 0x02 and 0x03 swapped in one entry
      if (entries.length === 0) return null;
      const e = rng.int(entries.length);
      const swapped = entries.map(([f, id, v], i): string => (i === e ? `${f}\x03${id}\x02${v}` : `${f}\x02${id}\x03${v}`));
      return [line.slice(0, listStart) + swapped.join('\x01'), 'bad_feature'];
    }
    case 7: {
      // a value that is not a finite float32
      if (entries.length === 0) return null;
      const e = rng.int(entries.length);
      const bad = pick(rng, ['abc', 'NaN', 'Infinity', '-Infinity', 'inf', '1e39', '-1e39', '0x10', '', ' 1', '1..2', 'e5', '--1']);
      return [line.slice(0, listStart) + rawList(entries.map(([f, id, v], i): Entry => [f, id, i === e ? bad : v])), 'bad_feature'];
    }
    case 8: // feature_num not a non-negative integer
      return [withColumn(numAt, pick(rng, ['-1', 'x', '', '1.0', '99999999999999999', ' 3', '+1'])), 'malformed_line'];
    case 9: // feature_num beyond the row limit
      return [withColumn(numAt, String(MAX_ROW + 1 + rng.int(1e9))), 'line_too_long'];
    case 10: {
      // feature_num not the number of entries
      const n = entries.length;
      const wrong = n > 0 && rng.int(2) === 0 ? n - 1 : Math.min(MAX_ROW, n + 1 + rng.int(3));
      return wrong === n ? null : [withColumn(numAt, String(wrong)), 'feature_num_mismatch'];
    }
    case 11: {
      // more entries than a row may hold, feature_num telling the truth
      const many: Entry[] = Array.from({ length: MAX_ROW + 1 + rng.int(5) }, () => ['101', String(rng.int(100)), '1']);
      const text = cols.slice(0, numAt).join(',') + `,${many.length},` + rawList(many);
      return [text, 'line_too_long'];
    }
    case 12: // a gigantic line
      return [line + '\x01' + `101\x021\x031`.repeat(Math.ceil((MAX_LINE + rng.int(20000)) / 7)), 'line_too_long'];
    case 13: // binary garbage
      return [garbage(rng, 1 + rng.int(200)), 'malformed_line'];
    case 14: // only spaces
      return [' '.repeat(1 + rng.int(5)), 'malformed_line'];
    case 15: {
      // labels that are not 0/1
      if (labelAt === null) return null;
      const bad = pick(rng, ['2', 'yes', '-1', '0.5', '1e1', 'true', 'O']);
      return [withColumn(labelAt + rng.int(2), bad), 'bad_label'];
    }
    case 16: // conversion without a click
      return labelAt === null ? null : [cols.map((c, j) => (j === labelAt ? '0' : j === labelAt + 1 ? '1' : c)).join(','), 'illegal_label'];
    case 17: {
      // a field name that no longer fits the dictionary
      if (!prefilled || entries.length === 0) return null;
      const e = rng.int(entries.length);
      return [line.slice(0, listStart) + rawList(entries.map(([f, id, v], i): Entry => [i === e ? `new${rng.int(1000)}` : f, id, v])), 'too_many_fields'];
    }
    case 18: // a non-numeric sample id (skeleton) or an empty common_feature_index (common)
      return labelAt === null ? [withColumn(0, ''), 'malformed_line'] : [withColumn(0, pick(rng, ['x12', '-5', '1.5', '', '1e3'])), 'malformed_line'];
    default:
      throw new Error('unreachable');
  }
}

// ---------------------------------------------------------------------------------------------
// Raw Ali-CCP cases.

interface RawCase {
  common: GeneratedFile;
  /** Rows the common file must keep. */
  commonKept: number;
  skeleton: GeneratedFile;
  expected: DumpedSample[];
  prefilled: boolean;
}

function genCommonKey(rng: Rng): string {
  switch (rng.int(12)) {
    case 0:
      return 'k' + 'z'.repeat(300) + rng.nextU32(); // longer than the skeleton's join cache
    case 1:
      return 'k\xff\x01' + rng.nextU32();
    default:
      return rng.nextU32().toString(16).padStart(8, '0') + rng.nextU32().toString(16).padStart(8, '0');
  }
}

function genRawCase(rng: Rng): RawCase {
  const prefilled = rng.int(3) === 0;
  const badRate = rng.next() * 0.6;
  const commonFile = new FileWriter(rng);
  const kept = new Map<string, DumpedEntry[]>();
  const deadKeys: string[] = [];
  const commonLines = rng.int(4) === 0 ? 0 : rng.int(12);
  for (let i = 0; i < commonLines; i++) {
    const entries = genEntries(rng, 30);
    if (rng.next() < badRate) {
      if (kept.size > 0 && rng.int(6) === 0) {
        const key = pick(rng, [...kept.keys()]);
        commonFile.add(`${key},${entries.length},${rawList(entries)}`, 'duplicate_common_feature_index');
        continue;
      }
      const key = genCommonKey(rng);
      const bad = corruptRawLine(rng, `${key},${entries.length},${rawList(entries)}`, 3, entries, null, prefilled);
      if (bad) {
        commonFile.add(bad[0], bad[1]);
        deadKeys.push(key);
        continue;
      }
    }
    let key = genCommonKey(rng);
    while (kept.has(key)) key = genCommonKey(rng);
    commonFile.add(`${key},${entries.length},${rawList(entries)}`);
    kept.set(key, dumped(entries));
  }

  const skeletonFile = new FileWriter(rng);
  const expected: DumpedSample[] = [];
  const skeletonLines = rng.int(5) === 0 ? 0 : rng.int(30);
  for (let i = 0; i < skeletonLines; i++) {
    const id = rng.int(3) === 0 ? rng.int(1e6) : i + 1;
    const click = rng.int(2);
    const conversion = click === 1 ? rng.int(2) : 0;
    const r = rng.int(10);
    const key = r < 7 && kept.size > 0 ? pick(rng, [...kept.keys()]) : r < 8 && deadKeys.length > 0 ? pick(rng, deadKeys) : genCommonKey(rng);
    const entries = genEntries(rng, 8);
    const labels = pick(rng, [[String(click), String(conversion)], [`${click}.0`, `${conversion}.0`]]);
    const line = `${id},${labels[0]},${labels[1]},${key},${entries.length},${rawList(entries)}`;
    if (rng.next() < badRate) {
      const bad = corruptRawLine(rng, line, 6, entries, 1, prefilled);
      if (bad) {
        skeletonFile.add(bad[0], bad[1]);
        continue;
      }
    }
    const common = kept.get(key) ?? null;
    skeletonFile.add(line, common === null ? 'unknown_common_feature_index' : null);
    expected.push({ id, click, conversion, own: dumped(entries), common });
  }
  return { common: commonFile.finish(), commonKept: kept.size, skeleton: skeletonFile.finish(), expected, prefilled };
}

/** A field dictionary that is full: any name beyond FIELDS is one too many. */
function dictionary(prefilled: boolean): FieldDictionary {
  const fields = new FieldDictionary();
  if (prefilled) {
    for (const name of FIELDS) fields.indexOfName(name);
    for (let i = 0; fields.size < MAX_FIELDS; i++) fields.indexOfName(`pre${i}`);
  }
  return fields;
}

/**
 * Collects kept samples as plain objects while a reader fills blocks. One writer serves every
 * case (a SampleBlockWriter allocates a whole block's arrays): `start` empties it, including
 * the rows a strict-mode error left behind.
 */
class SampleCollector {
  samples: DumpedSample[] = [];
  readonly writer = new SampleBlockWriter((block) => this.collect(block));
  private fields = new FieldDictionary();
  private common: CommonFeatures | null = null;

  start(fields: FieldDictionary, common: CommonFeatures | null): SampleBlockWriter {
    this.writer.rows.clear();
    this.samples = [];
    this.fields = fields;
    this.common = common;
    return this.writer;
  }

  finish(): DumpedSample[] {
    this.writer.finish();
    return this.samples;
  }

  private collect(block: SampleBlock): void {
    const names = this.fields.names;
    const groups = this.common?.table.sections();
    const groupEntries = (g: number): DumpedEntry[] => {
      const list: DumpedEntry[] = [];
      for (let e = groups!.offsets[g]!; e < groups!.offsets[g + 1]!; e++) {
        const chunk = e >>> 20;
        const at = e & ((1 << 20) - 1);
        list.push([names[groups!.fields[chunk]![at]!]!, groups!.keys[chunk]![at]!, groups!.values[chunk]![at]!]);
      }
      return list;
    };
    for (let i = 0; i < block.count; i++) {
      const own: DumpedEntry[] = [];
      for (let e = block.offsets[i]!; e < block.offsets[i + 1]!; e++) own.push([names[block.fields[e]!]!, block.keys[e]!, block.values[e]!]);
      const g = block.group[i]!;
      this.samples.push({ id: block.sampleIds[i]!, click: block.click[i]!, conversion: block.conversion[i]!, own, common: g < 0 ? null : groupEntries(g) });
    }
  }
}

const collector = new SampleCollector();
const progress = (): PhaseProgress => new PhaseProgress('samples', 0);

async function readRawFiles(dir: string, prefilled: boolean, strict: boolean): Promise<{ samples: DumpedSample[]; reports: InputReport[] }> {
  const commonPath = join(dir, 'common_features_train.csv');
  const skeletonPath = join(dir, 'sample_skeleton_train.csv');
  const fields = dictionary(prefilled);
  const options = { fields, strict, maxLineBytes: MAX_LINE, maxRowEntries: MAX_ROW };
  const common = await readCommonFeatures(commonPath, options, progress());
  const skeletonReport = await readSkeleton(skeletonPath, common, options, collector.start(fields, common), progress());
  return { samples: collector.finish(), reports: [common.report, skeletonReport] };
}

/** Counts per kind and the first example lines, as a report must have them. */
function checkReport(report: InputReport, file: GeneratedFile, kept: number, what: string): void {
  const counts: Partial<Record<InputProblemKind, number>> = {};
  const lines: Partial<Record<InputProblemKind, number[]>> = {};
  for (const p of file.problems) {
    counts[p.kind] = (counts[p.kind] ?? 0) + 1;
    (lines[p.kind] ??= []).push(p.line);
  }
  const firstLines = Object.fromEntries(Object.entries(lines).map(([kind, list]) => [kind, list.slice(0, 5)]));
  const reported = Object.fromEntries(Object.entries(report.examples).map(([kind, list]) => [kind, list.map((e) => e.line)]));
  assert.deepEqual(reported, firstLines, `${what}: first lines per kind`);
  assert.deepEqual(report.problems, counts, `${what}: counts per kind`);
  assert.equal(report.lines, file.dataLines, `${what}: data lines`);
  assert.equal(report.kept, kept, `${what}: kept rows`);
}

/** Strict mode stops at the first problem of the files, in reading order, naming file and line. */
async function checkStrict(run: () => Promise<unknown>, files: { path: string; file: GeneratedFile }[], what: string): Promise<void> {
  const first = files.flatMap(({ path, file }) => file.problems.slice(0, 1).map((p) => ({ path, ...p })))[0];
  if (!first) {
    await run();
    return;
  }
  await assert.rejects(run(), (e: unknown) => {
    assert.ok(e instanceof DataError, `${what}: strict mode throws a DataError, got ${String(e)}`);
    assert.equal(`${e.file}:${e.line}:${e.kind}`, `${first.path}:${first.line}:${first.kind}`, what);
    assert.ok(e.message.startsWith(`${first.path}:${first.line}: ${first.kind}: `), e.message);
    return true;
  });
}

/** Runs `body` and fails when it takes longer than a case may. */
async function timed(what: string, body: () => Promise<void>, stats: { cases: number; slowestMs: number }): Promise<void> {
  const t0 = performance.now();
  await body();
  const ms = performance.now() - t0;
  stats.cases++;
  stats.slowestMs = Math.max(stats.slowestMs, ms);
  assert.ok(ms < CASE_BUDGET_MS, `${what} took ${ms.toFixed(0)} ms`);
}

test('raw Ali-CCP readers: corrupted common and skeleton files keep exactly the good rows and count every bad one', { timeout: 120_000 }, async (t) => {
  const rng = new Rng(20180708);
  const dir = join(scratch, 'raw');
  mkdirSync(dir);
  const stats = { cases: 0, slowestMs: 0 };
  const kinds = new Map<string, number>();
  for (let n = 0; n < 1000; n++) {
    const c = genRawCase(rng);
    const what = `raw case ${n}`;
    await timed(what, async () => {
      const files = [
        { path: join(dir, 'common_features_train.csv'), file: c.common },
        { path: join(dir, 'sample_skeleton_train.csv'), file: c.skeleton },
      ];
      for (const { path, file } of files) writeFileSync(path, file.text);
      const { samples, reports } = await readRawFiles(dir, c.prefilled, false);
      assert.deepEqual(samples, c.expected, `${what}: kept samples`);
      checkReport(reports[0]!, c.common, c.commonKept, `${what} common`);
      checkReport(reports[1]!, c.skeleton, c.expected.length, `${what} skeleton`);
      await checkStrict(() => readRawFiles(dir, c.prefilled, true), files, what);
      // Through the whole prepare path now and then: the cache holds the same samples.
      if (n % 50 === 0 && !c.prefilled) {
        const prepared = await prepareSplit({ dataDir: dir, split: 'train', cacheDir: join(dir, 'cache'), maxLineBytes: MAX_LINE, maxRowEntries: MAX_ROW, force: true });
        assert.deepEqual(dumpSamples(prepared), c.expected, `${what}: prepared cache`);
      }
    }, stats);
    for (const p of [...c.common.problems, ...c.skeleton.problems]) kinds.set(p.kind, (kinds.get(p.kind) ?? 0) + 1);
  }
  t.diagnostic(`${stats.cases} cases, slowest ${stats.slowestMs.toFixed(1)} ms; bad lines by kind: ${JSON.stringify(Object.fromEntries(kinds))}`);
  for (const kind of ['malformed_line', 'bad_label', 'illegal_label', 'feature_num_mismatch', 'bad_feature', 'unknown_common_feature_index', 'duplicate_common_feature_index', 'line_too_long', 'too_many_fields']) {
    assert.ok((kinds.get(kind) ?? 0) >= 50, `the generator made too few ${kind} lines`);
  }
});

// ---------------------------------------------------------------------------------------------
// PaddleRec cases.

interface IdCase {
  file: GeneratedFile;
  expected: DumpedSample[];
  prefilled: boolean;
}

function genPaddleRecCase(rng: Rng): IdCase {
  const prefilled = rng.int(3) === 0;
  const badRate = rng.next() * 0.6;
  const out = new FileWriter(rng);
  const expected: DumpedSample[] = [];
  const numLines = rng.int(6) === 0 ? 0 : rng.int(30);
  const plainId = (): string => (rng.int(8) === 0 ? pick(rng, ['-1', '007', 'abc', 'x:y', '99999999999']) : String(rng.nextU32() % 0xfffffffe));
  for (let i = 0; i < numLines; i++) {
    const click = rng.int(2);
    const conversion = click === 1 ? rng.int(2) : 0;
    const tokens = Array.from({ length: rng.int(12) }, (): [string, string] => [pick(rng, FIELDS), plainId()]);
    const head = `${rng.int(1e6)},${click},${conversion}`;
    const line = head + tokens.map(([f, id]) => `,${f}:${id}`).join('');
    let bad: [string, InputProblemKind] | null = null;
    if (rng.next() < badRate) {
      switch (rng.int(12)) {
        case 0:
          bad = [line.slice(0, 1 + rng.int(head.indexOf(',', head.indexOf(',') + 1) - 1)), 'malformed_line'];
          break;
        case 1:
          bad = [line.replace(',', pick(rng, [';', '\t', ' '])), 'malformed_line'];
          break;
        case 2:
          bad = [pick(rng, ['x', '-1', '1.5', '']) + line.slice(line.indexOf(',')), 'malformed_line'];
          break;
        case 3:
          bad = [line.replace(/^([^,]*),[^,]*/, (_, idx: string) => `${idx},${pick(rng, ['2', 'yes', '', '-1', '0.5'])}`), 'bad_label'];
          break;
        case 4:
          bad = [`${rng.int(100)},0,1` + line.slice(head.length), 'illegal_label'];
          break;
        case 5:
          bad = [line + ',' + pick(rng, ['nocolon', ':5', '210:', '']), 'bad_feature'];
          break;
        case 6:
          bad = [head + `,101:1`.repeat(MAX_ROW + 1 + rng.int(5)), 'line_too_long'];
          break;
        case 7:
          bad = [line + `,101:12345`.repeat(Math.ceil((MAX_LINE + rng.int(20000)) / 10)), 'line_too_long'];
          break;
        case 8:
          bad = [garbage(rng, 1 + rng.int(200)), 'malformed_line'];
          break;
        case 9:
          bad = prefilled ? [line + `,new${rng.int(99)}:1`, 'too_many_fields'] : null;
          break;
        case 10:
          bad = [line + `,${pick(rng, FIELDS)}${rng.int(1000)}`, 'bad_feature'];
          break;
        case 11:
          bad = [' '.repeat(1 + rng.int(4)), 'malformed_line'];
          break;
      }
    }
    if (bad) {
      out.add(bad[0], bad[1]);
      continue;
    }
    out.add(line);
    expected.push({ id: out.dataLines, click, conversion, own: tokens.map(([f, id]): DumpedEntry => [f, expectedKey(id), 1]), common: null });
  }
  return { file: out.finish(), expected, prefilled };
}

async function readPaddleRecPath(path: string, prefilled: boolean, strict: boolean): Promise<{ samples: DumpedSample[]; report: InputReport }> {
  const fields = dictionary(prefilled);
  const writer = collector.start(fields, null);
  const report = await readPaddleRecFile(path, 1, { fields, strict, maxLineBytes: MAX_LINE, maxRowEntries: MAX_ROW }, writer, progress());
  return { samples: collector.finish(), report };
}

/** Runs `count` generated single-file cases through `read`, checking rows, counts and strict mode. */
async function fuzzSingleFile(
  what: string,
  path: string,
  rng: Rng,
  count: number,
  generate: (rng: Rng) => IdCase,
  read: (path: string, prefilled: boolean, strict: boolean) => Promise<{ samples: DumpedSample[]; report: InputReport }>,
): Promise<string> {
  const stats = { cases: 0, slowestMs: 0 };
  for (let n = 0; n < count; n++) {
    const c = generate(rng);
    const name = `${what} case ${n}`;
    await timed(name, async () => {
      writeFileSync(path, c.file.text);
      const { samples, report } = await read(path, c.prefilled, false);
      assert.deepEqual(samples, c.expected, `${name}: kept samples`);
      checkReport(report, c.file, c.expected.length, name);
      await checkStrict(() => read(path, c.prefilled, true), [{ path, file: c.file }], name);
    }, stats);
  }
  return `${stats.cases} cases, slowest ${stats.slowestMs.toFixed(1)} ms`;
}

test('PaddleRec reader: corrupted lines are counted by kind and the good ones read as if alone', { timeout: 120_000 }, async (t) => {
  t.diagnostic(await fuzzSingleFile('paddlerec', join(scratch, 'train.txt'), new Rng(42), 1000, genPaddleRecCase, readPaddleRecPath));
});

// ---------------------------------------------------------------------------------------------
// CSV cases.

function genCsvCase(rng: Rng): IdCase {
  const ids = FIELDS.filter(() => rng.int(2) === 0);
  const dense = rng.int(2) === 0 ? ['D109_14', 'D853'] : [];
  const header = [...ids, ...dense];
  header.splice(rng.int(header.length + 1), 0, 'click');
  header.splice(rng.int(header.length + 1), 0, rng.int(2) === 0 ? 'purchase' : 'conversion');
  const out = new FileWriter(rng);
  out.add(header.join(','));
  const badRate = rng.next() * 0.6;
  const expected: DumpedSample[] = [];
  const numLines = rng.int(6) === 0 ? 0 : rng.int(30);
  for (let i = 0; i < numLines; i++) {
    const click = rng.int(2);
    const conversion = click === 1 ? rng.int(2) : 0;
    const cells = header.map((name) => {
      if (name === 'click') return String(click);
      if (name === 'purchase' || name === 'conversion') return String(conversion);
      if (name.startsWith('D')) return (rng.next() * 2).toFixed(3);
      return rng.int(8) === 0 ? pick(rng, ['-1', '007', 'abc', '99999999999']) : String(rng.nextU32() % 0xfffffffe);
    });
    const line = cells.join(',');
    const withCell = (name: string, text: string): string => cells.map((c, j) => (header[j] === name ? text : c)).join(',');
    let bad: [string, InputProblemKind] | null = null;
    if (rng.next() < badRate) {
      switch (rng.int(8)) {
        case 0: {
          const gone = rng.int(cells.length);
          bad = [cells.filter((_, j) => j !== gone).join(','), 'malformed_line'];
          break;
        }
        case 1:
          bad = [line + ',' + pick(rng, ['', '7', 'x']), 'malformed_line'];
          break;
        case 2:
          bad = [withCell('click', pick(rng, ['2', 'yes', '', '-1', '0.5'])), 'bad_label'];
          break;
        case 3:
          bad = [cells.map((c, j) => (header[j] === 'click' ? '0' : header[j] === 'purchase' || header[j] === 'conversion' ? '1' : c)).join(','), 'illegal_label'];
          break;
        case 4:
          bad = ids.length > 0 ? [withCell(pick(rng, ids), ''), 'bad_feature'] : null;
          break;
        case 5:
          bad = [line + ','.repeat(MAX_LINE + rng.int(20000)), 'line_too_long'];
          break;
        case 6:
          bad = [garbage(rng, 1 + rng.int(200)), 'malformed_line'];
          break;
        case 7:
          bad = [line.replaceAll(',', ';'), 'malformed_line'];
          break;
      }
    }
    if (bad) {
      out.add(bad[0], bad[1]);
      continue;
    }
    out.add(line);
    const own = header.flatMap((name, j): DumpedEntry[] => (ids.includes(name) ? [[name, expectedKey(cells[j]!), 1]] : []));
    expected.push({ id: out.dataLines - 1, click, conversion, own, common: null });
  }
  const file = out.finish();
  return { file: { ...file, dataLines: file.dataLines - 1 }, expected, prefilled: false };
}

async function readCsvPath(path: string, strict: boolean): Promise<{ samples: DumpedSample[]; report: InputReport }> {
  const fields = new FieldDictionary();
  const plan = planCsvFile(path, 'train', MAX_LINE);
  const report = await readCsvFile(plan, 1, { fields, strict, maxLineBytes: MAX_LINE }, collector.start(fields, null), progress());
  return { samples: collector.finish(), report };
}

test('CSV reader: corrupted rows are counted by kind and the good ones read as if alone', { timeout: 120_000 }, async (t) => {
  t.diagnostic(await fuzzSingleFile('csv', join(scratch, 'fuzz_train.csv'), new Rng(7), 1000, genCsvCase, (path, _prefilled, strict) => readCsvPath(path, strict)));
});

// ---------------------------------------------------------------------------------------------
// Pure random bytes: nothing to predict but "no crash, no hang, consistent counts".

function randomBytes(rng: Rng, length: number): Buffer {
  const alphabet = [0x0a, 0x0d, 0x2c, 0x01, 0x02, 0x03, 0x3a, 0x30, 0x31, 0x2d, 0x2e, 0x65];
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = rng.int(3) === 0 ? rng.int(256) : alphabet[rng.int(alphabet.length)]!;
  return b;
}

test('random bytes in every reader: never a crash or hang, only counted problems or a DataError', { timeout: 120_000 }, async (t) => {
  const rng = new Rng(99);
  const dir = join(scratch, 'bytes');
  mkdirSync(dir);
  const stats = { cases: 0, slowestMs: 0 };
  const consistent = (r: InputReport, what: string): void => {
    const problems = Object.values(r.problems).reduce((a, b) => a + (b ?? 0), 0);
    const keptWithProblem = r.problems.unknown_common_feature_index ?? 0;
    assert.equal(r.kept + problems - keptWithProblem, r.lines, `${what}: every line kept or counted once`);
  };
  for (let n = 0; n < 600; n++) {
    const what = `bytes case ${n}`;
    const size = rng.int(4) === 0 ? rng.int(20) : rng.int(6000);
    for (const name of ['common_features_train.csv', 'sample_skeleton_train.csv', 'train.txt', 'x_train.csv', 'truth_train.csv']) {
      writeFileSync(join(dir, name), randomBytes(rng, size));
    }
    await timed(what, async () => {
      for (const strict of [false, true]) {
        try {
          const { reports } = await readRawFiles(dir, false, strict);
          for (const r of reports) consistent(r, what);
        } catch (e) {
          assert.ok(strict && e instanceof DataError, `${what}: ${String(e)}`);
        }
        try {
          consistent((await readPaddleRecPath(join(dir, 'train.txt'), false, strict)).report, what);
        } catch (e) {
          assert.ok(strict && e instanceof DataError, `${what}: ${String(e)}`);
        }
        try {
          consistent((await readCsvPath(join(dir, 'x_train.csv'), strict)).report, what);
        } catch (e) {
          // A header without click/purchase is refused whatever the mode.
          assert.ok(e instanceof DataError, `${what}: ${String(e)}`);
        }
      }
      const truth = new TruthReader(join(dir, 'truth_train.csv'), MAX_LINE);
      try {
        for (let id = 1; id < 20; id++) if (!truth.match(id)) break;
      } finally {
        truth.close();
      }
    }, stats);
  }
  t.diagnostic(`${stats.cases} cases, slowest ${stats.slowestMs.toFixed(1)} ms`);
});

test('line reader: random files and tiny buffers give exactly the lines a plain split gives', () => {
  const rng = new Rng(5);
  const path = join(scratch, 'lines.txt');
  for (let n = 0; n < 500; n++) {
    const bytes = randomBytes(rng, rng.int(3000));
    writeFileSync(path, bytes);
    const maxLineBytes = 1 + rng.int(300);
    const expected: [number, string][] = [];
    bytes.toString('latin1').split('\n').forEach((raw, i, all) => {
      if (i === all.length - 1 && raw === '') return;
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.length > maxLineBytes) expected.push([i + 1, 'TOO LONG']);
      else if (line.length > 0) expected.push([i + 1, line]);
    });
    const reader = new LineReader(path, { maxLineBytes, chunkBytes: 1 + rng.int(2000) });
    const seen: [number, string][] = [];
    try {
      for (let event = reader.next(); event !== LineEvent.Eof; event = reader.next()) {
        seen.push([reader.lineNo, event === LineEvent.TooLong ? 'TOO LONG' : reader.buf.toString('latin1', reader.start, reader.end)]);
      }
    } finally {
      reader.close();
    }
    assert.deepEqual(seen, expected, `lines case ${n}`);
  }
});

// ---------------------------------------------------------------------------------------------
// The prepared cache: damaged bytes are refused, never read as data.

test('prepared cache: a flipped, cut or appended byte anywhere is refused with a DataError or changes nothing', { timeout: 120_000 }, async (t) => {
  const rng = new Rng(31);
  const source = join(scratch, 'cache-source');
  mkdirSync(source);
  let c = genRawCase(rng);
  while (c.expected.length < 10 || c.prefilled) c = genRawCase(rng);
  writeFileSync(join(source, 'common_features_train.csv'), c.common.text);
  writeFileSync(join(source, 'sample_skeleton_train.csv'), c.skeleton.text);
  const prepared = await prepareSplit({ dataDir: source, split: 'train', maxLineBytes: MAX_LINE, maxRowEntries: MAX_ROW });
  const expected = dumpSamples(prepared);
  assert.deepEqual(expected, c.expected);
  const files = ['samples.bin', 'groups.bin', 'manifest.json'].map((name) => ({ name, bytes: readFileSync(join(prepared.dir, name)) }));
  const copy = join(scratch, 'cache-copy');
  let refused = 0;
  let harmless = 0;
  for (let n = 0; n < 400; n++) {
    rmSync(copy, { recursive: true, force: true });
    mkdirSync(copy);
    const victim = rng.int(files.length);
    files.forEach(({ name, bytes }, i) => {
      let b = Buffer.from(bytes);
      if (i === victim) {
        switch (rng.int(3)) {
          case 0: {
            // A byte inside the file (rng.int(n) < n, and the file is not empty): flip one of its bits.
            const at = rng.int(b.length);
            b[at] = b[at]! ^ (1 << rng.int(8));
            break;
          }
          case 1:
            b = b.subarray(0, rng.int(b.length));
            break;
          case 2:
            b = Buffer.concat([b, Buffer.from([rng.int(256)])]);
            break;
        }
      }
      writeFileSync(join(copy, name), b);
    });
    try {
      const damaged = openPreparedSplit(copy);
      assert.deepEqual(dumpSamples(damaged), expected, `cache case ${n}: damage that passes must change nothing`);
      harmless++;
    } catch (e) {
      assert.ok(e instanceof DataError, `cache case ${n}: ${String(e)}`);
      assert.match(e.message, /delete the cache folder|prepare the split again/);
      refused++;
    }
  }
  t.diagnostic(`400 damaged caches: ${refused} refused, ${harmless} harmless (padding or layout whitespace)`);
  assert.ok(refused > 300);
});
