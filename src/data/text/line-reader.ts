import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DataError } from '../types.js';

/**
 * Longest line accepted (bytes, without the line break). Real Ali-CCP common rows reach a few
 * hundred KB; a longer line is counted as `line_too_long` and skipped without being held.
 */
export const MAX_LINE_BYTES = 256 * 1024 * 1024;

/** Bytes read per system call: big enough that syscalls and copies vanish next to parsing. */
export const READ_CHUNK_BYTES = 256 * 1024;

/** What `LineReader.next()` found. */
export const enum LineEvent {
  Eof = 0,
  /** A non-blank line is in buf[start, end). */
  Line = 1,
  /** A line longer than maxLineBytes was skipped; `lineNo` is its number. */
  TooLong = 2,
}

export interface LineReaderOptions {
  maxLineBytes?: number;
  /** Buffer size (at most the file size + 1); it grows (up to maxLineBytes + 2) only for a line longer than it. */
  chunkBytes?: number;
}

/**
 * Reads a file as lines of bytes without making strings: each call to `next()` exposes one line
 * as `buf[start, end)`, valid until the next call. Splits on 0x0A, strips a trailing 0x0D,
 * accepts a missing final newline and skips blank lines (they still count in `lineNo`, so
 * numbers match an editor). Reads are synchronous into one reusable buffer; callers that run
 * for long yield to the event loop between chunks themselves.
 */
export class LineReader {
  /** The buffer holding the current line. */
  buf: Buffer;
  start = 0;
  end = 0;
  /** 1-based number of the current line (or of the skipped too-long line). */
  lineNo = 0;
  /** Bytes read from the file so far. */
  bytesRead = 0;
  readonly size: number;
  readonly maxLineBytes: number;

  private readonly fd: number;
  /** buf[0, filled) holds file bytes; `view` is that range (indexOf must not see stale bytes). */
  private filled = 0;
  private view: Buffer;
  /** Where the next line starts in buf. */
  private pos = 0;
  private eof = false;
  private closed = false;

  constructor(
    readonly path: string,
    options: LineReaderOptions = {},
  ) {
    this.maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
    if (!(this.maxLineBytes >= 1)) throw new RangeError(`maxLineBytes must be >= 1, got ${this.maxLineBytes}`);
    try {
      this.fd = openSync(path, 'r');
      this.size = fstatSync(this.fd).size;
    } catch (e) {
      throw new DataError(path, 0, 'io', `cannot read: ${(e as Error).message}`);
    }
    // A small file gets a buffer of its size, not a whole chunk (the buffer grows if the file does).
    this.buf = Buffer.allocUnsafe(Math.max(1024, Math.min(options.chunkBytes ?? READ_CHUNK_BYTES, this.size + 1)));
    this.view = this.buf.subarray(0, 0);
  }

  next(): LineEvent {
    for (;;) {
      const nl = this.pos < this.filled ? this.view.indexOf(0x0a, this.pos) : -1;
      if (nl >= 0) {
        const lineStart = this.pos;
        this.pos = nl + 1;
        this.lineNo++;
        const event = this.expose(lineStart, nl);
        if (event !== null) return event;
        continue;
      }
      if (this.eof) {
        if (this.pos >= this.filled) return LineEvent.Eof;
        // Last line without a final newline.
        const lineStart = this.pos;
        this.pos = this.filled;
        this.lineNo++;
        const event = this.expose(lineStart, this.filled);
        if (event !== null) return event;
        continue;
      }
      // The pending line may end with \r before its \n: one byte beyond the limit is still fine.
      if (this.filled - this.pos > this.maxLineBytes + 1) return this.skipLongLine();
      this.refill();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  /** Sets start/end for buf[lineStart, lineEnd) minus a \r; null for a blank line. */
  private expose(lineStart: number, lineEnd: number): LineEvent | null {
    if (lineEnd > lineStart && this.buf[lineEnd - 1] === 0x0d) lineEnd--;
    if (lineEnd === lineStart) return null;
    if (lineEnd - lineStart > this.maxLineBytes) return LineEvent.TooLong;
    this.start = lineStart;
    this.end = lineEnd;
    return LineEvent.Line;
  }

  /** Moves the pending partial line to the front (growing the buffer if it is full) and reads. */
  private refill(): void {
    const pending = this.filled - this.pos;
    if (this.pos > 0) {
      this.buf.copyWithin(0, this.pos, this.filled);
      this.pos = 0;
      this.filled = pending;
    }
    if (this.filled === this.buf.length) {
      const size = Math.min(this.buf.length * 2, this.maxLineBytes + 2);
      const grown = Buffer.allocUnsafe(Math.max(size, this.buf.length + 1));
      this.buf.copy(grown, 0, 0, this.filled);
      this.buf = grown;
    }
    const n = this.read(this.filled);
    if (n === 0) this.eof = true;
    this.filled += n;
    this.view = this.buf.subarray(0, this.filled);
  }

  /** Discards bytes up to the next newline (or the end of file) without holding them. */
  private skipLongLine(): LineEvent {
    this.lineNo++;
    for (;;) {
      const n = this.read(0);
      if (n === 0) {
        this.eof = true;
        this.pos = this.filled = 0;
        this.view = this.buf.subarray(0, 0);
        return LineEvent.TooLong;
      }
      this.filled = n;
      this.view = this.buf.subarray(0, n);
      const nl = this.view.indexOf(0x0a);
      if (nl >= 0) {
        this.pos = nl + 1;
        return LineEvent.TooLong;
      }
    }
  }

  private read(at: number): number {
    try {
      const n = readSync(this.fd, this.buf, at, this.buf.length - at, null);
      this.bytesRead += n;
      return n;
    } catch (e) {
      throw new DataError(this.path, this.lineNo, 'io', `read failed: ${(e as Error).message}`);
    }
  }
}
