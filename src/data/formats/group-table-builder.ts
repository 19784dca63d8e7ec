import type { EntrySink } from './feature-rows-builder.js';

/** Entries per chunk when no bound is known: 9 MiB of arrays. */
export const DEFAULT_CHUNK_ENTRIES = 1 << 20;
/** Largest chunk: its Float32Array stays well inside V8's typed array limits (8 GiB). */
const MAX_CHUNK_ENTRIES = 2 ** 31;
/** A pushed entry took at least this many bytes of its file: field, 0x02, id, 0x03, value. */
const MIN_BYTES_PER_ENTRY = 5;

/**
 * The group table while the common features file is read: entries go into fixed-size chunks
 * rather than one doubling array, so a table of a few GB is never copied while it grows and
 * never needs twice its size. Rows may span chunks; `sections()` lists the pieces in order for
 * writing groups.bin.
 *
 * forFile() sizes one chunk for every entry the file can hold (its bytes / 5). The operating
 * system commits a page of such an array only when it is first written, so the unused rest costs
 * address space, not memory, and the table ends in one piece: training gets it without a copy.
 * (Joining 1 MiB-entry chunks into one table afterwards would double prepare's peak memory: 2.5 GB
 * for 139M entries, past 16 GB extrapolated to the full Ali-CCP train split.)
 */
export class GroupTableBuilder implements EntrySink {
  count = 0;
  entries = 0;
  private offsets = new Uint32Array(1 << 16);
  private readonly fieldChunks: Uint8Array[] = [];
  private readonly keyChunks: Uint32Array[] = [];
  private readonly valueChunks: Float32Array[] = [];
  // The chunk being filled and the position in it.
  private fields: Uint8Array = new Uint8Array(0);
  private keys: Uint32Array = new Uint32Array(0);
  private values: Float32Array = new Float32Array(0);
  private local: number;

  constructor(private readonly chunkEntries = DEFAULT_CHUNK_ENTRIES) {
    if (!Number.isInteger(chunkEntries) || chunkEntries < 1 || chunkEntries > MAX_CHUNK_ENTRIES) {
      throw new RangeError(`chunk size must be an integer in [1, 2^31], got ${chunkEntries}`);
    }
    this.local = chunkEntries;
  }

  /**
   * A builder for the entries of a file of `fileBytes` bytes: one chunk that can hold them all
   * when the address space allows it (else the default chunks).
   */
  static forFile(fileBytes: number): GroupTableBuilder {
    const bound = Math.max(1024, Math.min(MAX_CHUNK_ENTRIES, Math.floor(fileBytes / MIN_BYTES_PER_ENTRY) + 1));
    const builder = new GroupTableBuilder(bound);
    try {
      builder.enterChunk(0);
    } catch (e) {
      // RangeError "Array buffer allocation failed": not that much address space (ulimit -v, or
      // strict overcommit). Fixed-size chunks need no more than the table.
      if (!(e instanceof RangeError)) throw e;
      return new GroupTableBuilder();
    }
    return builder;
  }

  push(field: number, key: number, value: number): void {
    if (this.local === this.chunkEntries) this.enterChunk(Math.floor(this.entries / this.chunkEntries));
    const i = this.local++;
    this.fields[i] = field;
    this.keys[i] = key;
    this.values[i] = value;
    this.entries++;
  }

  /** Ends the current row; returns its index. */
  commitRow(): number {
    if (this.count + 2 > this.offsets.length) {
      const grown = new Uint32Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[++this.count] = this.entries;
    return this.count - 1;
  }

  /** Drops the entries pushed since the last commit (possibly moving back into an earlier chunk). */
  rollbackRow(): void {
    this.entries = this.offsets[this.count]!;
    const chunk = Math.floor(this.entries / this.chunkEntries);
    if (chunk < this.keyChunks.length) {
      this.selectChunk(chunk);
      this.local = this.entries - chunk * this.chunkEntries;
    } else {
      this.local = this.chunkEntries; // the next push opens the chunk
    }
  }

  /** Offsets and the used parts of the chunks, in order: the concatenation is the table. */
  sections(): { count: number; offsets: Uint32Array; fields: Uint8Array[]; keys: Uint32Array[]; values: Float32Array[] } {
    const used = (chunk: number): number => Math.min(this.chunkEntries, this.entries - chunk * this.chunkEntries);
    const chunks = Math.ceil(this.entries / this.chunkEntries);
    const pick = <T extends Uint8Array | Uint32Array | Float32Array>(list: T[]): T[] =>
      list.slice(0, chunks).map((a, c) => a.subarray(0, used(c)) as T);
    return {
      count: this.count,
      offsets: this.offsets.subarray(0, this.count + 1),
      fields: pick(this.fieldChunks),
      keys: pick(this.keyChunks),
      values: pick(this.valueChunks),
    };
  }

  private enterChunk(chunk: number): void {
    if (chunk === this.keyChunks.length) {
      const n = this.chunkEntries;
      // All three or none: a failed allocation leaves the builder as it was.
      const chunk = [new Uint8Array(n), new Uint32Array(n), new Float32Array(n)] as const;
      this.fieldChunks.push(chunk[0]);
      this.keyChunks.push(chunk[1]);
      this.valueChunks.push(chunk[2]);
    }
    this.selectChunk(chunk);
    this.local = 0;
  }

  private selectChunk(chunk: number): void {
    this.fields = this.fieldChunks[chunk]!;
    this.keys = this.keyChunks[chunk]!;
    this.values = this.valueChunks[chunk]!;
  }
}
