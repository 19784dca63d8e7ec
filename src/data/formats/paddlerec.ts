/**
 * PaddleRec's Ali-CCP layout (models/multitask/esmm): no header, one impression per line,
 *
 *   idx,click,conversion,field:id,field:id,...
 *
 * ids already remapped to integers, feature values dropped (stored as 1), common features
 * already expanded into every line (so there is no group table). Sample ids are the 1-based data
 * line numbers, counted on over the split's files in order, so they stay unique.
 */
import type { SampleBlockWriter } from './block-writer.js';
import { featureKey } from '../text/feature-key.js';
import { tooManyFieldsDetail, type FieldDictionary } from './field-dictionary.js';
import { parseUnsigned, showBytes } from '../text/parse-bytes.js';
import { ProblemCounter } from '../problems.js';
import { readLines, RowLabels } from '../text/read-lines.js';
import type { PhaseProgress } from '../text/read-progress.js';
import type { InputReport } from '../types.js';

const COMMA = 0x2c;
const COLON = 0x3a;

export interface IdFileReadOptions {
  fields: FieldDictionary;
  strict: boolean;
  maxLineBytes: number;
  /** Most features per line (MAX_ROW_ENTRIES by default in prepareSplit). */
  maxRowEntries: number;
}

/** Reads one PaddleRec file into `writer`; `firstSampleId` continues the numbering of earlier files. */
export async function readPaddleRecFile(
  path: string,
  firstSampleId: number,
  options: IdFileReadOptions,
  writer: SampleBlockWriter,
  progress: PhaseProgress,
): Promise<InputReport> {
  const problems = new ProblemCounter(path, options.strict);
  const labels = new RowLabels();
  const rows = writer.rows;
  const fields = options.fields;
  await readLines(path, options, problems, progress, ({ buf, start, end, lineNo }) => {
    const sampleId = firstSampleId + problems.lines - 1;
    const c1 = indexOf(buf, COMMA, start, end);
    const c2 = c1 < 0 ? -1 : indexOf(buf, COMMA, c1 + 1, end);
    if (c2 < 0) {
      problems.problem('malformed_line', lineNo, `expected idx,click,conversion,field:id,... got "${showBytes(buf, start, end)}"`);
      return;
    }
    let c3 = indexOf(buf, COMMA, c2 + 1, end);
    if (c3 < 0) c3 = end; // an impression without features
    if (parseUnsigned(buf, start, c1) < 0) {
      problems.problem('malformed_line', lineNo, `idx "${showBytes(buf, start, c1)}" is not a non-negative integer`);
      return;
    }
    if (!labels.read(buf, c1 + 1, c2, c2 + 1, c3, problems, lineNo)) return;
    const mark = fields.mark();
    let failure: { kind: 'bad_feature' | 'too_many_fields' | 'line_too_long'; detail: string } | null = null;
    for (let p = c3 + 1, n = 1; p <= end && c3 < end; n++) {
      if (n > options.maxRowEntries) {
        failure = { kind: 'line_too_long', detail: `more than ${options.maxRowEntries} features (the limit per row): skipped` };
        break;
      }
      let tokenEnd = indexOf(buf, COMMA, p, end);
      if (tokenEnd < 0) tokenEnd = end;
      const colon = indexOf(buf, COLON, p, tokenEnd);
      if (colon <= p || colon === tokenEnd - 1) {
        const why = colon < 0 ? 'not field:id' : colon === p ? 'empty field name' : 'empty id';
        failure = { kind: 'bad_feature', detail: `feature ${n}: ${why}: "${showBytes(buf, p, tokenEnd)}"` };
        break;
      }
      const field = fields.indexOf(buf, p, colon);
      if (field < 0) {
        failure = { kind: 'too_many_fields', detail: tooManyFieldsDetail(showBytes(buf, p, colon)) };
        break;
      }
      rows.push(field, featureKey(buf, colon + 1, tokenEnd), 1);
      p = tokenEnd + 1;
    }
    if (failure) {
      rows.rollbackRow();
      fields.rollback(mark);
      problems.problem(failure.kind, lineNo, failure.detail);
      return;
    }
    writer.commitSample(sampleId, labels.click, labels.conversion, -1);
    problems.kept++;
  });
  return problems.report();
}

function indexOf(buf: Uint8Array, byte: number, from: number, end: number): number {
  for (let i = from; i < end; i++) if (buf[i] === byte) return i;
  return -1;
}
