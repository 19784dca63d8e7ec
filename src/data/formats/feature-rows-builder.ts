import type { FeatureRows } from '../types.js';

/** Where a parser puts the entries of the row it is reading. */
export interface EntrySink {
  push(field: number, key: number, value: number): void;
}

/**
 * Growable FeatureRows: typed arrays that double when full, filled row by row. A reader pushes a
 * row's entries, then either commits the row or rolls it back (a dropped row leaves no trace).
 */
export class FeatureRowsBuilder implements EntrySink {
  count = 0;
  entries = 0;
  offsets: Uint32Array;
  fields: Uint8Array;
  keys: Uint32Array;
  values: Float32Array;

  constructor(rowCapacity = 1024, entryCapacity = 16384) {
    this.offsets = new Uint32Array(Math.max(2, rowCapacity + 1));
    this.fields = new Uint8Array(Math.max(1, entryCapacity));
    this.keys = new Uint32Array(this.fields.length);
    this.values = new Float32Array(this.fields.length);
  }

  push(field: number, key: number, value: number): void {
    if (this.entries === this.keys.length) this.growEntries(this.entries + 1);
    const e = this.entries++;
    this.fields[e] = field;
    this.keys[e] = key;
    this.values[e] = value;
  }

  /** Entries pushed since the last commit or rollback. */
  get pending(): number {
    return this.entries - this.offsets[this.count]!;
  }

  /** Ends the current row; returns its index. */
  commitRow(): number {
    if (this.count + 2 > this.offsets.length) this.offsets = grow(this.offsets, this.count + 2);
    this.offsets[++this.count] = this.entries;
    return this.count - 1;
  }

  /** Drops the entries pushed since the last commit. */
  rollbackRow(): void {
    this.entries = this.offsets[this.count]!;
  }

  clear(): void {
    this.count = 0;
    this.entries = 0;
  }

  /** The committed rows as views (no copy): valid until the builder is changed. */
  view(): FeatureRows {
    const n = this.offsets[this.count]!;
    return {
      count: this.count,
      offsets: this.offsets.subarray(0, this.count + 1),
      fields: this.fields.subarray(0, n),
      keys: this.keys.subarray(0, n),
      values: this.values.subarray(0, n),
    };
  }

  private growEntries(min: number): void {
    this.fields = grow(this.fields, min);
    this.keys = grow(this.keys, min);
    this.values = grow(this.values, min);
  }
}

type Growable = Uint8Array | Uint32Array | Float32Array;

/** A copy with at least `min` elements: doubling up to 64M elements, then +50% (huge group tables). */
function grow<T extends Growable>(a: T, min: number): T {
  const next = a.length < 1 << 26 ? a.length * 2 : Math.ceil(a.length * 1.5);
  const out = new (a.constructor as new (n: number) => T)(Math.max(min, next));
  out.set(a);
  return out;
}
