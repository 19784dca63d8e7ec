/**
 * What every line-based reader (raw common and skeleton files, PaddleRec, CSV) does the same way:
 * the line loop with its counting and progress, and the click / conversion label checks. One
 * implementation, so the readers count, report and word these problems identically.
 */
import { LineEvent, LineReader } from './line-reader.js';
import { parseLabel, showBytes } from './parse-bytes.js';
import type { ProblemCounter } from '../problems.js';
import type { PhaseProgress } from './read-progress.js';

/** The current line: buf[start, end) is valid only during the callback. */
export type CurrentLine = Pick<LineReader, 'buf' | 'start' | 'end' | 'lineNo'>;

/**
 * Most feature entries one row may hold (a skeleton row, a common-features row, a PaddleRec or CSV
 * line). Real Ali-CCP rows hold up to a few thousand; a row claiming or holding more is rejected as
 * `line_too_long` before its entries are stored, so one bad row cannot take gigabytes of memory.
 */
export const MAX_ROW_ENTRIES = 1 << 20;

export interface ReadLinesOptions {
  maxLineBytes: number;
  /** Skip line 1 (a header read elsewhere); it is not counted as a data line. */
  skipHeader?: boolean;
}

/**
 * Calls `onLine` for every non-blank data line of `path` within the line-size limit. Every line,
 * too long or not, counts in `problems.lines` and `progress.lines`; a line beyond maxLineBytes is
 * counted as `line_too_long` without being buffered. Yields to the event loop whenever progress
 * is due (parsing itself is synchronous).
 */
export async function readLines(
  path: string,
  options: ReadLinesOptions,
  problems: ProblemCounter,
  progress: PhaseProgress,
  onLine: (line: CurrentLine) => void,
): Promise<void> {
  const reader = new LineReader(path, { maxLineBytes: options.maxLineBytes });
  try {
    if (options.skipHeader) reader.next(); // at the end of an empty file, next() keeps returning Eof
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
      onLine(reader);
    }
    await progress.fileDone(reader);
  } finally {
    reader.close();
  }
}

/**
 * The 0/1 labels of one row. `read` parses click and conversion from their byte ranges; on a
 * label that is not 0/1 (bad_label) or a conversion without a click (illegal_label) it counts the
 * problem and returns false: the row is dropped.
 */
export class RowLabels {
  click = 0;
  conversion = 0;

  read(
    buf: Uint8Array,
    clickStart: number,
    clickEnd: number,
    conversionStart: number,
    conversionEnd: number,
    problems: ProblemCounter,
    lineNo: number,
  ): boolean {
    const click = parseLabel(buf, clickStart, clickEnd);
    const conversion = parseLabel(buf, conversionStart, conversionEnd);
    if (click < 0 || conversion < 0) {
      const [s, e, name] = click < 0 ? [clickStart, clickEnd, 'click'] : [conversionStart, conversionEnd, 'conversion'];
      problems.problem('bad_label', lineNo, `${name} must be 0 or 1, got "${showBytes(buf, s, e)}"`);
      return false;
    }
    if (click === 0 && conversion === 1) {
      problems.problem('illegal_label', lineNo, 'conversion=1 without a click (z=1, y=0): dropped');
      return false;
    }
    this.click = click;
    this.conversion = conversion;
    return true;
  }
}
