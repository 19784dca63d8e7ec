/**
 * Progress for long work: a redrawn bar on a terminal, plain log lines (every few seconds)
 * otherwise, so CI logs and pipes stay readable.
 */
export interface ProgressOptions {
  label: string;
  total: number;
  unit: string;
  stream?: NodeJS.WriteStream;
  /** Seconds between log lines when not on a terminal. */
  logEvery?: number;
  quiet?: boolean;
}

export class Progress {
  private done = 0;
  private readonly start = Date.now();
  private lastDraw = 0;
  private lastLog = Date.now();
  private extra = '';
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
  }

  /** Advances by n units; `extra` (e.g. "loss 0.123") is shown after the rate. */
  tick(n: number, extra?: string): void {
    this.update(this.done + n, extra);
  }

  /** Sets the amount done so far (for sources that report totals, like bytes read). */
  update(done: number, extra?: string): void {
    this.done = done;
    if (extra !== undefined) this.extra = extra;
    if (this.opts.quiet) return;
    const now = Date.now();
    if (this.tty) {
      if (now - this.lastDraw < 100) return;
      this.lastDraw = now;
      this.stream.write('\r' + this.line(true) + '\x1b[K');
    } else if (now - this.lastLog >= (this.opts.logEvery ?? 5) * 1000) {
      this.lastLog = now;
      this.stream.write(this.line(false) + '\n');
    }
  }

  /** Final line (always printed unless quiet). */
  finish(extra?: string): void {
    if (extra !== undefined) this.extra = extra;
    if (this.opts.quiet) return;
    this.stream.write((this.tty ? '\r' : '') + this.line(false) + (this.tty ? '\x1b[K\n' : '\n'));
  }

  get rate(): number {
    const s = (Date.now() - this.start) / 1000;
    return s > 0 ? this.done / s : 0;
  }

  private line(bar: boolean): string {
    const { label, total, unit } = this.opts;
    const frac = total > 0 ? Math.min(1, this.done / total) : 0;
    const secs = (Date.now() - this.start) / 1000;
    const rate = this.rate;
    const eta = rate > 0 && total > this.done ? (total - this.done) / rate : 0;
    const width = 24;
    const filled = Math.round(frac * width);
    const barText = bar ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` : '';
    return (
      `${label} ${barText}${(frac * 100).toFixed(1)}% ${fmt(this.done)}/${fmt(total)} ${unit}` +
      ` ${fmt(rate)} ${unit}/s ${secs.toFixed(0)}s` +
      (eta > 0 ? ` eta ${eta.toFixed(0)}s` : '') +
      (this.extra ? ` ${this.extra}` : '')
    );
  }
}

function fmt(n: number): string {
  if (n >= 1e9) return (n / 1e9).toFixed(2) + 'G';
  if (n >= 1e6) return (n / 1e6).toFixed(2) + 'M';
  if (n >= 1e4) return (n / 1e3).toFixed(1) + 'k';
  return String(Math.round(n));
}
