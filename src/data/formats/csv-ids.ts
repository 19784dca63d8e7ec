/**
 * Ali-CCP as CSV tables with one id per field and a header naming the columns:
 *
 *   torch-rechub ali_ccp_*.csv  click,purchase,101,...,301,109_14,...,150_14,D109_14,...,D853
 *   PaddleRec AITM              click,purchase,101,121,...,853,301
 *
 * Every column other than the labels is an id column (field = column name, value 1), except
 * torch-rechub's dense `D<field>` columns (min-max scaled values of the multi-valued fields): they
 * are ignored, and the split's warnings say so. A file whose first line is all numbers has no
 * header (AITM's test sample): it borrows the header of a sibling with the same name around the
 * split (aitm_test_sample.csv <- aitm_train_sample.csv), or preparing fails with what to add.
 * No quoting: a cell is the bytes between commas. Sample ids are 1-based data line numbers,
 * counted on over the split's files; there is no group table.
 */
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { SampleBlockWriter } from './block-writer.js';
import { featureKey } from '../text/feature-key.js';
import { MAX_FIELDS, type FieldDictionary } from './field-dictionary.js';
import { LineEvent, LineReader } from '../text/line-reader.js';
import { parseDecimal } from '../text/parse-bytes.js';
import { ProblemCounter } from '../problems.js';
import { MAX_ROW_ENTRIES, readLines, RowLabels } from '../text/read-lines.js';
import type { PhaseProgress } from '../text/read-progress.js';
import { DataError, type InputReport } from '../types.js';

const COMMA = 0x2c;

/** What each column holds. */
export type CsvColumnRole = 'click' | 'conversion' | 'id' | 'dense';

/** How to read one CSV file: its columns and where they came from. */
export interface CsvFilePlan {
  path: string;
  columns: string[];
  roles: CsvColumnRole[];
  /** True when line 1 is the header; false when the header was borrowed. */
  headerInFile: boolean;
  /** The sibling whose header is used, when the file has none. */
  headerFrom: string | null;
}

/** Column role by name: labels, torch-rechub dense columns ("D" + field id), else ids. */
export function columnRole(name: string): CsvColumnRole {
  if (name === 'click') return 'click';
  if (name === 'purchase' || name === 'conversion') return 'conversion';
  if (/^D\d/.test(name)) return 'dense';
  return 'id';
}

/** Reads the first line of each file and settles its header (borrowing one where needed). */
export function planCsvFile(path: string, split: string, maxLineBytes: number): CsvFilePlan {
  const first = readFirstLine(path, maxLineBytes);
  if (first === null) throw new DataError(path, 0, 'io', 'empty file: expected a header line naming click and purchase (or conversion)');
  let columns = first.cells;
  let headerFrom: string | null = null;
  if (first.allNumbers) {
    headerFrom = findHeaderSibling(path, split, first.cells.length, maxLineBytes);
    if (headerFrom === null) {
      throw new DataError(path, first.lineNo, 'io',
        `no header line (the first line is all numbers) and no sibling file named like it around "${split}" ` +
          `has a header with ${first.cells.length} columns: add a header line such as "click,purchase,101,..."`);
    }
    columns = readFirstLine(headerFrom, maxLineBytes)!.cells;
  }
  const roles = columns.map(columnRole);
  const where = headerFrom ? `${path} (header borrowed from ${headerFrom})` : path;
  if (!roles.includes('click')) throw new DataError(path, first.lineNo, 'io', `${where}: no "click" column in the header`);
  if (!roles.includes('conversion')) throw new DataError(path, first.lineNo, 'io', `${where}: no "purchase" (or "conversion") column in the header`);
  for (const role of ['click', 'conversion'] as const) {
    if (roles.filter((r) => r === role).length > 1) {
      throw new DataError(path, first.lineNo, 'io', `${where}: more than one ${role} column in the header`);
    }
  }
  return { path, columns, roles, headerInFile: headerFrom === null, headerFrom };
}

/** Reads one planned CSV file into `writer`. */
export async function readCsvFile(
  plan: CsvFilePlan,
  firstSampleId: number,
  options: { fields: FieldDictionary; strict: boolean; maxLineBytes: number },
  writer: SampleBlockWriter,
  progress: PhaseProgress,
): Promise<InputReport> {
  const numColumns = plan.columns.length;
  // Per column: -1 click, -2 conversion, -3 ignored, else the field index.
  const columnField = new Int16Array(numColumns);
  for (let i = 0; i < numColumns; i++) {
    const role = plan.roles[i]!;
    switch (role) {
      case 'click':
        columnField[i] = -1;
        break;
      case 'conversion':
        columnField[i] = -2;
        break;
      case 'dense':
        columnField[i] = -3;
        break;
      case 'id': {
        const field = options.fields.indexOfName(plan.columns[i]!);
        if (field < 0) throw new DataError(plan.path, 1, 'too_many_fields', `more than ${MAX_FIELDS} id columns in the header`);
        columnField[i] = field;
        break;
      }
      default: {
        const never: never = role;
        throw new Error(`unknown column role ${String(never)}`);
      }
    }
  }
  const problems = new ProblemCounter(plan.path, options.strict);
  const labels = new RowLabels();
  const rows = writer.rows;
  const readOptions = { maxLineBytes: options.maxLineBytes, skipHeader: plan.headerInFile };
  await readLines(plan.path, readOptions, problems, progress, ({ buf, start, end, lineNo }) => {
    const sampleId = firstSampleId + problems.lines - 1;
    let col = 0;
    let clickStart = 0, clickEnd = 0, convStart = 0, convEnd = 0;
    let badFeature = '';
    for (let p = start; ; ) {
      let q = p;
      while (q < end && buf[q] !== COMMA) q++;
      if (col < numColumns) {
        const field = columnField[col]!;
        if (field >= 0) {
          if (q === p) badFeature ||= `empty id in column ${plan.columns[col]}`;
          else rows.push(field, featureKey(buf, p, q), 1);
        } else if (field === -1) {
          clickStart = p;
          clickEnd = q;
        } else if (field === -2) {
          convStart = p;
          convEnd = q;
        }
      }
      col++;
      if (q === end) break;
      p = q + 1;
    }
    // Entries are pushed while the columns are scanned: a dropped row rolls them back.
    if (col !== numColumns) {
      rows.rollbackRow();
      problems.problem('malformed_line', lineNo, `expected ${numColumns} columns, found ${col}`);
      return;
    }
    if (!labels.read(buf, clickStart, clickEnd, convStart, convEnd, problems, lineNo)) {
      rows.rollbackRow();
      return;
    }
    if (badFeature) {
      rows.rollbackRow();
      problems.problem('bad_feature', lineNo, badFeature);
      return;
    }
    writer.commitSample(sampleId, labels.click, labels.conversion, -1);
    problems.kept++;
  });
  return problems.report();
}

/** The dense columns a plan ignores (for the split's warnings). */
export function ignoredColumns(plan: CsvFilePlan): string[] {
  return plan.columns.filter((_, i) => plan.roles[i] === 'dense');
}

interface FirstLine {
  cells: string[];
  allNumbers: boolean;
  lineNo: number;
}

function readFirstLine(path: string, maxLineBytes: number): FirstLine | null {
  const reader = new LineReader(path, { maxLineBytes, chunkBytes: 64 * 1024 });
  try {
    const event = reader.next();
    if (event === LineEvent.Eof) return null;
    if (event === LineEvent.TooLong) throw new DataError(path, reader.lineNo, 'line_too_long', 'the first line (the header) is too long');
    const { buf, start, end } = reader;
    let columns = 1;
    for (let i = start; i < end; i++) if (buf[i] === COMMA) columns++;
    if (columns > MAX_ROW_ENTRIES) {
      throw new DataError(path, reader.lineNo, 'line_too_long', `the first line has ${columns} columns, more than the limit of ${MAX_ROW_ENTRIES}`);
    }
    const cells: string[] = [];
    let allNumbers = true;
    for (let p = start; ; ) {
      let q = p;
      while (q < end && buf[q] !== COMMA) q++;
      if (!Number.isFinite(parseDecimal(buf, p, q))) allNumbers = false;
      cells.push(unquote(buf.toString('latin1', p, q).trim()));
      if (q === end) break;
      p = q + 1;
    }
    return { cells, allNumbers, lineNo: reader.lineNo };
  } finally {
    reader.close();
  }
}

function unquote(name: string): string {
  return name.length >= 2 && name.startsWith('"') && name.endsWith('"') ? name.slice(1, -1) : name;
}

/**
 * A sibling of `path` named the same around the split (aitm_<split>_sample.csv -> aitm_*_sample.csv)
 * whose first line is a header with the same number of columns; the first by name, or null.
 */
function findHeaderSibling(path: string, split: string, numColumns: number, maxLineBytes: number): string | null {
  const name = basename(path);
  const at = name.indexOf(split);
  if (at < 0) return null;
  const prefix = name.slice(0, at);
  const suffix = name.slice(at + split.length);
  const dir = dirname(path);
  const candidates = readdirSync(dir)
    .filter((n) => n !== name && n.startsWith(prefix) && n.endsWith(suffix) && n.length > prefix.length + suffix.length)
    .sort();
  for (const n of candidates) {
    const first = readFirstLine(join(dir, n), maxLineBytes);
    if (first && !first.allNumbers && first.cells.length === numColumns) return join(dir, n);
  }
  return null;
}
