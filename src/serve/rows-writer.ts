import type { FeatureRows } from '../data/types.js';

/**
 * Growable jagged rows, reused from request to request; finish() hands out trimmed copies. A
 * request used to allocate ~14 KB of typed arrays here, and that external memory is what made V8
 * run its stop-the-world mark-compact every second or two under load.
 */
export class RowsWriter {
  private offsets = new Uint32Array(0);
  private fields = new Uint8Array(256);
  private keys = new Uint32Array(256);
  private values = new Float32Array(256);
  private size = 0;
  private count = 0;

  /** Starts `count` new rows, forgetting what was written before. */
  reset(count: number): this {
    this.count = count;
    this.size = 0;
    if (this.offsets.length < count + 1) this.offsets = new Uint32Array(count + 1);
    return this;
  }

  push(field: number, key: number, value: number): void {
    if (this.size === this.keys.length) this.grow();
    this.fields[this.size] = field;
    this.keys[this.size] = key;
    this.values[this.size] = value;
    this.size++;
  }

  endRow(r: number): void {
    this.offsets[r + 1] = this.size;
  }

  finish(): FeatureRows {
    const n = this.size;
    return {
      count: this.count,
      offsets: this.offsets.slice(0, this.count + 1),
      fields: this.fields.slice(0, n),
      keys: this.keys.slice(0, n),
      values: this.values.slice(0, n),
    };
  }

  private grow(): void {
    const cap = this.keys.length * 2;
    const fields = new Uint8Array(cap);
    fields.set(this.fields);
    const keys = new Uint32Array(cap);
    keys.set(this.keys);
    const values = new Float32Array(cap);
    values.set(this.values);
    [this.fields, this.keys, this.values] = [fields, keys, values];
  }
}
