import { statSync } from 'node:fs';
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
import type { EntrySink } from './feature-rows-builder.js';
import { indexOfComma, parseUnsigned, showBytes } from '../text/parse-bytes.js';
import { ProblemCounter } from '../problems.js';
import { RawFeatureListParser } from './raw-feature-list.js';
import { readLines, RowLabels } from '../text/read-lines.js';
import type { PhaseProgress } from '../text/read-progress.js';
import { DataError, type InputReport } from '../types.js';

const COMMA = 0x2c;
/** The group table's offsets are uint32. */
const MAX_GROUP_ENTRIES = 2 ** 32 - 1;

export interface RawReadOptions {
  /** The split's field names, shared by its common and skeleton files. */
  fields: FieldDictionary;
  strict: boolean;
  maxLineBytes: number;
  /** Most entries per row (MAX_ROW_ENTRIES by default in prepareSplit). */
  maxRowEntries: number;
}

/** Where a feature list goes: the group table or the sample block being filled. */
type FeatureSink = EntrySink & { rollbackRow(): void };

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
  const table = GroupTableBuilder.forFile(statSync(path).size);
  const rowOf = new Map<string, number>();
  const problems = new ProblemCounter(path, options.strict);
  const parser = new RawFeatureListParser(options.fields);
  await readLines(path, options, problems, progress, ({ buf, start, end, lineNo }) => {
    const c1 = indexOfComma(buf, start, end);
    const c2 = c1 < 0 ? -1 : indexOfComma(buf, c1 + 1, end);
    if (c2 < 0 || hasComma(buf, c2 + 1, end)) {
      problems.problem('malformed_line', lineNo, columnsDetail(buf, start, end, 3, 'common_feature_index,feature_num,feature_list'));
      return;
    }
    if (c1 === start) {
      problems.problem('malformed_line', lineNo, 'empty common_feature_index');
      return;
    }
    const featureNum = readFeatureNum(buf, c1 + 1, c2, options.maxRowEntries, problems, lineNo);
    if (featureNum < 0) return;
    const key = buf.toString('latin1', start, c1);
    if (rowOf.has(key)) {
      const detail = `common_feature_index "${showBytes(buf, start, c1)}" already read: this row is ignored`;
      problems.problem('duplicate_common_feature_index', lineNo, detail);
      return;
    }
    if (table.entries + featureNum > MAX_GROUP_ENTRIES) {
      const detail = `the common features of one split may hold at most ${MAX_GROUP_ENTRIES} entries (32-bit offsets); split the file`;
      throw new DataError(path, lineNo, 'io', detail);
    }
    if (!readFeatureList(parser, buf, c2 + 1, end, featureNum, table, options.fields, problems, lineNo)) return;
    rowOf.set(key, table.commitRow());
    problems.kept++;
  });
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
  const labels = new RowLabels();
  const rows = writer.rows;
  const commas = new Int32Array(5);
  // Consecutive samples usually share a user (same index): remember the last join.
  const lastKey = Buffer.alloc(256);
  let lastKeyLen = -1;
  let lastGroup = -1;
  await readLines(path, options, problems, progress, ({ buf, start, end, lineNo }) => {
    let c = start - 1;
    let found = 0;
    while (found < 5 && (c = indexOfComma(buf, c + 1, end)) >= 0) commas[found++] = c;
    let sampleId = found === 5 ? plainSample(buf, start, end, commas, parser, rows, labels, options) : -1;
    if (sampleId < 0) {
      // Not a plain row: every check again, in order, counting the first problem found.
      if (found < 5 || hasComma(buf, commas[4]! + 1, end)) {
        const names = 'sample_id,click,conversion,common_feature_index,feature_num,feature_list';
        problems.problem('malformed_line', lineNo, columnsDetail(buf, start, end, 6, names));
        return;
      }
      const c1 = commas[0]!;
      const c2 = commas[1]!;
      const c3 = commas[2]!;
      const c4 = commas[3]!;
      const c5 = commas[4]!;
      sampleId = parseUnsigned(buf, start, c1);
      if (sampleId < 0) {
        problems.problem('malformed_line', lineNo, `sample_id "${showBytes(buf, start, c1)}" is not a non-negative integer`);
        return;
      }
      if (c2 === c1 + 1 || c3 === c2 + 1) {
        problems.problem('malformed_line', lineNo, `empty ${c2 === c1 + 1 ? 'click' : 'conversion'} column`);
        return;
      }
      if (!labels.read(buf, c1 + 1, c2, c2 + 1, c3, problems, lineNo)) return;
      if (c4 === c3 + 1) {
        problems.problem('malformed_line', lineNo, 'empty common_feature_index');
        return;
      }
      const featureNum = readFeatureNum(buf, c4 + 1, c5, options.maxRowEntries, problems, lineNo);
      if (featureNum < 0) return;
      if (!readFeatureList(parser, buf, c5 + 1, end, featureNum, rows, options.fields, problems, lineNo)) return;
    }
    const c3 = commas[2]!;
    const c4 = commas[3]!;
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
      problems.problem('unknown_common_feature_index', lineNo, detail);
    }
    writer.commitSample(sampleId, labels.click, labels.conversion, lastGroup);
    problems.kept++;
  });
  return problems.report();
}

/**
 * The sample id of the skeleton row buf[start, end) whose first five commas are at `commas`,
 * after pushing its entries into `rows` (uncommitted) and setting `labels`, when the row is
 * plain: single-byte 0/1 labels, a valid sample_id, index and feature_num, and a list that
 * parses whole without a comma (a sixth column). Otherwise -1, with nothing pushed or counted:
 * the caller reads the row again the general way. This saves searching every list for a comma
 * before parsing it.
 */
function plainSample(
  buf: Buffer,
  start: number,
  end: number,
  commas: Int32Array,
  parser: RawFeatureListParser,
  rows: FeatureSink,
  labels: RowLabels,
  options: RawReadOptions,
): number {
  const c1 = commas[0]!;
  const c2 = commas[1]!;
  const c3 = commas[2]!;
  const c4 = commas[3]!;
  const c5 = commas[4]!;
  const click = buf[c1 + 1]! - 0x30;
  const conversion = buf[c2 + 1]! - 0x30;
  if (c2 !== c1 + 2 || c3 !== c2 + 2 || click >>> 0 > 1 || conversion >>> 0 > click || c4 === c3 + 1) return -1;
  const sampleId = parseUnsigned(buf, start, c1);
  const featureNum = parseUnsigned(buf, c4 + 1, c5);
  if (sampleId < 0 || featureNum < 0 || featureNum > options.maxRowEntries) return -1;
  const mark = options.fields.mark();
  if (parser.parse(buf, c5 + 1, end, rows, featureNum) !== featureNum || parser.commaSeen) {
    rows.rollbackRow();
    options.fields.rollback(mark);
    return -1;
  }
  labels.click = click;
  labels.conversion = conversion;
  return sampleId;
}

/** feature_num, or -1 after counting why the row is dropped (not a number, or beyond the row limit). */
function readFeatureNum(buf: Buffer, start: number, end: number, maxRowEntries: number, problems: ProblemCounter, lineNo: number): number {
  const featureNum = parseUnsigned(buf, start, end);
  if (featureNum < 0) {
    problems.problem('malformed_line', lineNo, `feature_num "${showBytes(buf, start, end)}" is not a non-negative integer`);
  } else if (featureNum > maxRowEntries) {
    problems.problem('line_too_long', lineNo, `feature_num ${featureNum} is above the limit of ${maxRowEntries} entries per row: skipped`);
    return -1;
  }
  return featureNum;
}

/**
 * Parses a feature_list of `featureNum` entries into `rows` (still uncommitted); on a bad entry or
 * another number of entries it rolls the row and its new field names back, counts the problem
 * and returns false.
 */
function readFeatureList(
  parser: RawFeatureListParser,
  buf: Buffer,
  start: number,
  end: number,
  featureNum: number,
  rows: FeatureSink,
  fields: FieldDictionary,
  problems: ProblemCounter,
  lineNo: number,
): boolean {
  const mark = fields.mark();
  // At most featureNum entries are stored: a longer list is counted, not held.
  const count = parser.parse(buf, start, end, rows, featureNum);
  if (count === featureNum) return true;
  rows.rollbackRow();
  fields.rollback(mark);
  if (count < 0) problems.problem(parser.failKind, lineNo, parser.failDetail);
  else problems.problem('feature_num_mismatch', lineNo, `feature_num is ${featureNum} but feature_list has ${count} entries`);
  return false;
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
