/**
 * A buffered byte writer for large text files: one reusable Buffer, flushed with fs.writeSync,
 * so a file of any size is written with constant memory and no string building. Numbers are
 * written digit by digit. The file is written as `<path>.partial` and renamed to `<path>` on
 * close, so an interrupted run never leaves a complete-looking file behind.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

/** Room every single write call reserves: longer than any number it writes. */
const SLACK = 32;

export class ByteWriter {
  private readonly buf: Buffer;
  private readonly limit: number;
  private pos = 0;
  private flushed = 0;
  private fd: number | null;

  private constructor(
    readonly path: string,
    private readonly partialPath: string,
    capacity: number,
  ) {
    if (capacity < 4 * SLACK) throw new Error(`ByteWriter capacity ${capacity} is below ${4 * SLACK} bytes`);
    this.buf = Buffer.allocUnsafe(capacity);
    this.limit = capacity - SLACK;
    this.fd = openSync(partialPath, 'w');
  }

  /** Opens `<path>.partial` for writing; `capacity` is the buffer size in bytes. */
  static create(path: string, capacity = 1 << 22): ByteWriter {
    return new ByteWriter(path, path + '.partial', capacity);
  }

  /** Bytes written so far (flushed or buffered). */
  get bytesWritten(): number {
    return this.flushed + this.pos;
  }

  byte(b: number): void {
    if (this.pos > this.limit) this.flush();
    this.buf[this.pos++] = b;
  }

  bytes(b: Uint8Array): void {
    if (this.pos + b.length > this.limit) {
      this.flush();
      if (b.length > this.limit) {
        this.writeOut(b);
        return;
      }
    }
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** ASCII text (headers); not for hot paths. */
  ascii(text: string): void {
    this.bytes(Buffer.from(text, 'latin1'));
  }

  /** A non-negative integer below 2^53, in decimal. */
  uint(n: number): void {
    if (this.pos > this.limit) this.flush();
    const buf = this.buf;
    let digits = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    do {
      const q = Math.floor(n / 10);
      buf[--p] = 48 + (n - q * 10);
      n = q;
    } while (n > 0);
  }

  /** A number in [0, 1] with exactly `decimals` (1..15) decimals, e.g. 0.0412345678. */
  unitFixed(x: number, decimals: number): void {
    const scale = 10 ** decimals;
    const scaled = Math.round(Math.min(1, Math.max(0, x)) * scale);
    const whole = scaled >= scale ? 1 : 0;
    let frac = scaled - whole * scale;
    if (this.pos > this.limit) this.flush();
    const buf = this.buf;
    buf[this.pos++] = 48 + whole;
    buf[this.pos++] = 0x2e; // '.'
    let p = this.pos + decimals;
    this.pos = p;
    for (let d = 0; d < decimals; d++) {
      const q = Math.floor(frac / 10);
      buf[--p] = 48 + (frac - q * 10);
      frac = q;
    }
  }

  flush(): void {
    if (this.pos === 0) return;
    this.writeOut(this.buf.subarray(0, this.pos));
    this.pos = 0;
  }

  /** Flushes, closes and renames the file to its final path. */
  close(): void {
    this.flush();
    closeSync(this.openFd());
    this.fd = null;
    renameSync(this.partialPath, this.path);
  }

  /** Closes and deletes the partial file (after an error). */
  abort(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    rmSync(this.partialPath, { force: true });
  }

  private writeOut(b: Uint8Array): void {
    const fd = this.openFd();
    let off = 0;
    while (off < b.length) off += writeSync(fd, b, off, b.length - off);
    this.flushed += b.length;
  }

  private openFd(): number {
    if (this.fd === null) throw new Error(`${this.path}: written after close`);
    return this.fd;
  }
}
