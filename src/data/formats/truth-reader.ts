import type { TruthSource } from './block-writer.js';
import { LineEvent, LineReader } from '../text/line-reader.js';
import { bytesEqualAscii, indexOfComma, parseDecimal, parseUnsigned, showBytes } from '../text/parse-bytes.js';
import { ProblemCounter } from '../problems.js';
import type { InputReport } from '../types.js';

export const TRUTH_HEADER = 'sample_id,p_click,p_conv_given_click';

/**
 * truth_{split}.csv written by the simulator: one row per skeleton row, same order. Read in step
 * with the skeleton: `match(id)` moves forward to the row of that sample id, passing over rows of
 * samples that were dropped. When a kept sample has no row (or a row is unreadable) the truth is
 * abandoned: `warning` says why and the split is prepared without truth; it is never fatal.
 */
export class TruthReader implements TruthSource {
  pClick = 0;
  pConvGivenClick = 0;
  /** Why the truth was abandoned; null while it is intact. */
  warning: string | null = null;
  private readonly reader: LineReader;
  /** Rows read and matched. Truth trouble is a warning, never a problem count: strict mode must not fail on it. */
  private readonly counter: ProblemCounter;

  constructor(
    readonly path: string,
    maxLineBytes: number,
  ) {
    this.reader = new LineReader(path, { maxLineBytes, chunkBytes: 1 << 20 });
    this.counter = new ProblemCounter(path, false);
    const event = this.reader.next();
    const { buf, start, end } = this.reader;
    if (event !== LineEvent.Line || !bytesEqualAscii(buf, start, end, TRUTH_HEADER)) {
      this.abandon(`${path}: the first line must be "${TRUTH_HEADER}": prepared without truth`);
    }
  }

  match(sampleId: number): boolean {
    if (this.warning !== null) return false;
    const reader = this.reader;
    for (;;) {
      const event = reader.next();
      if (event === LineEvent.Eof) {
        return this.abandon(`${this.path} has no row for kept sample_id ${sampleId} (rows must follow the skeleton order): prepared without truth`);
      }
      this.counter.lines++;
      if (event === LineEvent.TooLong) return this.abandon(`${this.path}:${reader.lineNo}: line too long: prepared without truth`);
      const { buf, start, end } = reader;
      const c1 = indexOfComma(buf, start, end);
      const c2 = c1 < 0 ? -1 : indexOfComma(buf, c1 + 1, end);
      const id = c1 < 0 ? -1 : parseUnsigned(buf, start, c1);
      if (c2 < 0 || id < 0) return this.malformed(`expected sample_id,p_click,p_conv_given_click, got "${showBytes(buf, start, end)}"`);
      if (id !== sampleId) continue; // the row of a dropped sample
      const pClick = parseDecimal(buf, c1 + 1, c2);
      const pConv = parseDecimal(buf, c2 + 1, end);
      if (!(pClick >= 0 && pClick <= 1 && pConv >= 0 && pConv <= 1)) {
        return this.malformed(`probabilities must be numbers in [0, 1], got "${showBytes(buf, c1 + 1, end)}"`);
      }
      this.pClick = pClick;
      this.pConvGivenClick = pConv;
      this.counter.kept++;
      return true;
    }
  }

  report(): InputReport {
    return this.counter.report();
  }

  close(): void {
    this.reader.close();
  }

  private malformed(detail: string): false {
    return this.abandon(`${this.path}:${this.reader.lineNo}: ${detail}: prepared without truth`);
  }

  private abandon(warning: string): false {
    this.warning ??= warning;
    return false;
  }
}
