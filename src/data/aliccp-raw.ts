/**
 * The raw Ali-CCP logs (Tianchi dataset 408), streamed:
 *
 *   common_features_{split}.csv   common_feature_index,feature_num,feature_list
 *   sample_skeleton_{split}.csv   sample_id,click,conversion,common_feature_index,feature_num,feature_list
 *
 * joined as `skeleton LEFT JOIN common USING (common_feature_index)`. The common file is read
 * first into a compact GroupTable (typed arrays, one Map entry per index); the skeleton is then
 * streamed into sample blocks. Every bad row is dropped whole and counted, except a sample whose
 * index has no common row: it is kept without common features (group -1), and counted.
 */
import type { SampleBlockWriter } from './block-writer.js';
import type { FieldDictionary } from './field-dictionary.js';
import { GroupTableBuilder } from './group-table-builder.js';
import { LineEvent, LineReader } from './line-reader.js';
import { parseLabel, parseUnsigned, showBytes } from './parse-bytes.js';
import { ProblemCounter } from './problems.js';
import { RawFeatureListParser } from './raw-feature-list.js';
import type { PhaseProgress } from './read-progress.js';
import type { InputReport } from './types.js';

const COMMA = 0x2c;

export interface RawReadOptions {
  /** The split's field names, shared by its common and skeleton files. */
  fields: FieldDictionary;
  strict: boolean;
  maxLineBytes: number;
}

/** The common features of a split, joined to samples by row index. */
export interface CommonFeatures {
  table: GroupTableBuilder;
  /** common_feature_index (latin1) to table row. */
  rowOf: Map<string, number>;
  report: InputReport;
}

/** Reads common_features_{split}.csv into memory. */
export async function readCommonFeatures(
  path: string,
  options: RawReadOptions,
  progress: PhaseProgress,
): Promise<CommonFeatures> {
  const table = new GroupTableBuilder();
  const rowOf = new Map<string, number>();
  const problems = new ProblemCounter(path, options.strict);
  const parser = new RawFeatureListParser(options.fields);
  const reader = new LineReader(path, { maxLineBytes: options.maxLineBytes });
  try {
    for (;;) {
      const event = reader.next();
      if (event === LineEvent.Eof) break;
      problems.lines++;
      progress.lines++;
      if (reader.bytesRead >= progress.nextAt) await progress.report(reader);
      if (event === LineEvent.TooLong) {
        problems.problem('line_too_long', reader.lineNo, `longer than ${reader.maxLineBytes} bytes: skipped (raise maxLineBytes to read it)`);
        continue;
      }
      const { buf, start, end } = reader;
      const c1 = indexOfComma(buf, start, end);
      const c2 = c1 < 0 ? -1 : indexOfComma(buf, c1 + 1, end);
      if (c2 < 0 || hasComma(buf, c2 + 1, end)) {
        problems.problem('malformed_line', reader.lineNo, columnsDetail(buf, start, end, 3, 'common_feature_index,feature_num,feature_list'));
        continue;
      }
      if (c1 === start) {
        problems.problem('malformed_line', reader.lineNo, 'empty common_feature_index');
        continue;
      }
      const featureNum = parseUnsigned(buf, c1 + 1, c2);
      if (featureNum < 0) {
        problems.problem('malformed_line', reader.lineNo, `feature_num "${showBytes(buf, c1 + 1, c2)}" is not a non-negative integer`);
        continue;
      }
      const key = buf.toString('latin1', start, c1);
      if (rowOf.has(key)) {
        const detail = `common_feature_index "${showBytes(buf, start, c1)}" already read: this row is ignored`;
        problems.problem('duplicate_common_feature_index', reader.lineNo, detail);
        continue;
      }
      const mark = options.fields.mark();
      const count = parser.parse(buf, c2 + 1, end, table);
      if (count < 0 || count !== featureNum) {
        table.rollbackRow();
        options.fields.rollback(mark);
        if (count < 0) problems.problem(parser.failKind, reader.lineNo, parser.failDetail);
        else problems.problem('feature_num_mismatch', reader.lineNo, `feature_num is ${featureNum} but feature_list has ${count} entries`);
        continue;
      }
      rowOf.set(key, table.commitRow());
      problems.kept++;
    }
    await progress.fileDone(reader);
  } finally {
    reader.close();
  }
  return { table, rowOf, report: problems.report() };
}

/** Streams sample_skeleton_{split}.csv into `writer`, joining each sample to its common row. */
export async function readSkeleton(
  path: string,
  common: CommonFeatures,
  options: RawReadOptions,
  writer: SampleBlockWriter,
  progress: PhaseProgress,
): Promise<InputReport> {
  const problems = new ProblemCounter(path, options.strict);
  const parser = new RawFeatureListParser(options.fields);
  const reader = new LineReader(path, { maxLineBytes: options.maxLineBytes });
  const rows = writer.rows;
  const commas = new Int32Array(5);
  // Consecutive samples usually share a user (same index): remember the last join.
  const lastKey = Buffer.alloc(256);
  let lastKeyLen = -1;
  let lastGroup = -1;
  try {
    for (;;) {
      const event = reader.next();
      if (event === LineEvent.Eof) break;
      problems.lines++;
      progress.lines++;
      if (reader.bytesRead >= progress.nextAt) await progress.report(reader);
      if (event === LineEvent.TooLong) {
        problems.problem('line_too_long', reader.lineNo, `longer than ${reader.maxLineBytes} bytes: skipped (raise maxLineBytes to read it)`);
        continue;
      }
      const { buf, start, end } = reader;
      let c = start - 1;
      let found = 0;
      while (found < 5 && (c = indexOfComma(buf, c + 1, end)) >= 0) commas[found++] = c;
      if (found < 5 || hasComma(buf, commas[4]! + 1, end)) {
        const names = 'sample_id,click,conversion,common_feature_index,feature_num,feature_list';
        problems.problem('malformed_line', reader.lineNo, columnsDetail(buf, start, end, 6, names));
        continue;
      }
      const c1 = commas[0]!;
      const c2 = commas[1]!;
      const c3 = commas[2]!;
      const c4 = commas[3]!;
      const c5 = commas[4]!;
      const sampleId = parseUnsigned(buf, start, c1);
      if (sampleId < 0) {
        problems.problem('malformed_line', reader.lineNo, `sample_id "${showBytes(buf, start, c1)}" is not a non-negative integer`);
        continue;
      }
      if (c2 === c1 + 1 || c3 === c2 + 1) {
        problems.problem('malformed_line', reader.lineNo, `empty ${c2 === c1 + 1 ? 'click' : 'conversion'} column`);
        continue;
      }
      const click = parseLabel(buf, c1 + 1, c2);
      const conversion = parseLabel(buf, c2 + 1, c3);
      if (click < 0 || conversion < 0) {
        const [s, e, name] = click < 0 ? [c1 + 1, c2, 'click'] : [c2 + 1, c3, 'conversion'];
        problems.problem('bad_label', reader.lineNo, `${name} must be 0 or 1, got "${showBytes(buf, s, e)}"`);
        continue;
      }
      if (click === 0 && conversion === 1) {
        problems.problem('illegal_label', reader.lineNo, 'conversion=1 without a click (z=1, y=0): dropped');
        continue;
      }
      if (c4 === c3 + 1) {
        problems.problem('malformed_line', reader.lineNo, 'empty common_feature_index');
        continue;
      }
      const featureNum = parseUnsigned(buf, c4 + 1, c5);
      if (featureNum < 0) {
        problems.problem('malformed_line', reader.lineNo, `feature_num "${showBytes(buf, c4 + 1, c5)}" is not a non-negative integer`);
        continue;
      }
      const mark = options.fields.mark();
      const count = parser.parse(buf, c5 + 1, end, rows);
      if (count < 0 || count !== featureNum) {
        rows.rollbackRow();
        options.fields.rollback(mark);
        if (count < 0) problems.problem(parser.failKind, reader.lineNo, parser.failDetail);
        else problems.problem('feature_num_mismatch', reader.lineNo, `feature_num is ${featureNum} but feature_list has ${count} entries`);
        continue;
      }
      const keyLen = c4 - (c3 + 1);
      let sameKey = keyLen === lastKeyLen;
      for (let i = 0; sameKey && i < keyLen; i++) sameKey = buf[c3 + 1 + i] === lastKey[i];
      if (!sameKey) {
        lastGroup = common.rowOf.get(buf.toString('latin1', c3 + 1, c4)) ?? -1;
        lastKeyLen = keyLen <= lastKey.length ? keyLen : -1;
        if (lastKeyLen >= 0) buf.copy(lastKey, 0, c3 + 1, c4);
      }
      if (lastGroup < 0) {
        // Counted before keeping, so strict mode stops here; otherwise the sample stays (LEFT JOIN).
        const detail = `common_feature_index "${showBytes(buf, c3 + 1, c4)}" has no row in the common features file: sample kept without them`;
        problems.problem('unknown_common_feature_index', reader.lineNo, detail);
      }
      writer.commitSample(sampleId, click, conversion, lastGroup);
      problems.kept++;
    }
    await progress.fileDone(reader);
  } finally {
    reader.close();
  }
  return problems.report();
}

/** Index of the first comma in buf[from, end), -1 if none. */
function indexOfComma(buf: Uint8Array, from: number, end: number): number {
  for (let i = from; i < end; i++) if (buf[i] === COMMA) return i;
  return -1;
}

/** Whether buf[from, end) holds a comma (native search: feature lists are long). */
function hasComma(buf: Buffer, from: number, end: number): boolean {
  const i = buf.indexOf(COMMA, from);
  return i >= 0 && i < end;
}

function columnsDetail(buf: Uint8Array, start: number, end: number, expected: number, names: string): string {
  let n = 1;
  for (let i = start; i < end; i++) if (buf[i] === COMMA) n++;
  return `expected ${expected} comma-separated columns (${names}), found ${n}: "${showBytes(buf, start, end)}"`;
}
