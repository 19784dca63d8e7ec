import type { EntrySink } from './feature-rows-builder.js';

/** Entries per chunk: 9 MiB of arrays. */
const CHUNK_ENTRIES = 1 << 20;
const CHUNK_SHIFT = 20;

/**
 * The group table while the common features file is read: entries go into fixed-size chunks
 * rather than one doubling array, so a table of a few GB is never copied while it grows and
 * never needs twice its size. Rows may span chunks; `sections()` lists the pieces in order for
 * writing groups.bin.
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
  private local = CHUNK_ENTRIES;

  push(field: number, key: number, value: number): void {
    if (this.local === CHUNK_ENTRIES) this.enterChunk(this.entries >>> CHUNK_SHIFT);
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
    const chunk = this.entries >>> CHUNK_SHIFT;
    if (chunk < this.keyChunks.length) {
      this.selectChunk(chunk);
      this.local = this.entries - chunk * CHUNK_ENTRIES;
    } else {
      this.local = CHUNK_ENTRIES; // the next push opens the chunk
    }
  }

  /** Offsets and the used parts of the chunks, in order: the concatenation is the table. */
  sections(): { count: number; offsets: Uint32Array; fields: Uint8Array[]; keys: Uint32Array[]; values: Float32Array[] } {
    const used = (chunk: number): number => Math.min(CHUNK_ENTRIES, this.entries - chunk * CHUNK_ENTRIES);
    const chunks = Math.ceil(this.entries / CHUNK_ENTRIES);
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
      this.fieldChunks.push(new Uint8Array(CHUNK_ENTRIES));
      this.keyChunks.push(new Uint32Array(CHUNK_ENTRIES));
      this.valueChunks.push(new Float32Array(CHUNK_ENTRIES));
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
