import type { LineReader } from './line-reader.js';

/** Progress of prepareSplit, for a bar: bytes of the phase's input files done / total. */
export interface PrepareProgress {
  phase: 'common' | 'samples' | 'truth';
  /** The file being read now. */
  file: string;
  /** Bytes of this phase's files read so far, and in all (several files for sharded splits). */
  bytesDone: number;
  bytesTotal: number;
  /** Lines read in this phase so far. */
  lines: number;
}

/** Report and yield about this often: rare enough to cost nothing, frequent enough for a bar. */
const REPORT_EVERY_BYTES = 16 * 1024 * 1024;

/**
 * Tracks one phase over its files. Readers check `reader.bytesRead >= progress.nextAt` per line
 * (one compare) and only then await `report()`, which calls the callback and lets the event loop
 * run (timers, signals), since the parsing itself is synchronous.
 */
export class PhaseProgress {
  nextAt = REPORT_EVERY_BYTES;
  lines = 0;
  private bytesBefore = 0;

  constructor(
    readonly phase: PrepareProgress['phase'],
    readonly bytesTotal: number,
    private readonly onProgress?: (p: PrepareProgress) => void,
  ) {}

  async report(reader: LineReader): Promise<void> {
    this.nextAt = reader.bytesRead + REPORT_EVERY_BYTES;
    this.onProgress?.({
      phase: this.phase,
      file: reader.path,
      bytesDone: this.bytesBefore + reader.bytesRead,
      bytesTotal: this.bytesTotal,
      lines: this.lines,
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Call when a file is done: reports it complete and moves the byte base past it. */
  async fileDone(reader: LineReader): Promise<void> {
    await this.report(reader);
    this.bytesBefore += reader.bytesRead;
    this.nextAt = REPORT_EVERY_BYTES;
  }
}
