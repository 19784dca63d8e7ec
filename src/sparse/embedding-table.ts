/**
 * One embedding table: `rows` hash buckets of `dim` float32 values each.
 *
 * Real tables have millions of buckets of which a run touches a fraction, and hashing scatters the
 * touched ones, so rows are not stored at row * dim. Instead `data` is an arena filled in the order
 * rows are first touched: `ensure(row)` gives a row its slot (writing its initial values) the first
 * time anything reads or updates it, and returns the row's offset in `data` ever after.
 *   - Resident memory is 76 bytes per touched row (dim 18, and its row id) plus 4 bytes per bucket
 *     for the slot map paged in as used: `data` is allocated at full size, but a fresh buffer is
 *     zero pages the OS maps on first write, so the unused tail costs address space only. (At row * dim, every
 *     touched row would make its whole 4 KiB page resident.)
 *   - Rows first seen together (a user's history) sit together, which keeps repeated pooling and
 *     the optimizers' row updates cache- and TLB-friendly.
 * Always go through ensure(row) for an offset; never index `data` by row.
 *
 * All of a table's state lives in SharedArrayBuffers (`memory()`), so a worker thread can
 * `attach()` the same table and pool or update it while this thread works on other tables
 * (see embedding-thread.ts). Two threads must never work on one table at the same time.
 *
 * Initial values: uniform in [-initRange, initRange] (default 0.05, Keras' Embedding default), a
 * pure function of (seed, table name, row, j), so values do not depend on the order rows are
 * touched in (only their place in `data` does), and a table rebuilt from the same seed reproduces
 * rows it never stored:
 *   tableSeed = mix32(mix32(seed) ^ tableSalt(name))
 *   rowKey    = mix32(tableSeed ^ mix32(row))
 *   value[j]  = (mix32(rowKey + (j + 1) * 0x9e3779b9) / 2^32 * 2 - 1) * initRange   (SplitMix32 steps)
 */
import { tableSalt } from '../features/hash.js';
import { mix32 } from '../util/rng.js';

export const DEFAULT_INIT_RANGE = 0.05;
/** Largest Float32Array Node 20 can allocate (elements). */
const MAX_ELEMENTS = 2 ** 32;
const GOLDEN_GAMMA = 0x9e3779b9;

/** The shared memory of a table, and what it was built from: what attach() needs. */
export interface TableMemory {
  name: string;
  rows: number;
  dim: number;
  seed: number;
  initRange: number;
  data: SharedArrayBuffer;
  slotPlusOne: SharedArrayBuffer;
  rowOfSlot: SharedArrayBuffer;
  /** [slots used]. */
  counters: SharedArrayBuffer;
}

/** Rows with values, as exported: increasing row ids and their values, rows.length * dim. */
export interface TableRows {
  rows: Int32Array;
  data: Float32Array;
}

export class EmbeddingTable {
  /** Arena of rows * dim values, filled from the front in first-touch order; see ensure(). */
  readonly data: Float32Array;
  /** Row -> its slot + 1 (0: not touched yet). */
  private readonly slotPlusOne: Int32Array;
  /** Slot -> row, for the slots in use (sized for every row: its pages fill from the front). */
  private readonly rowOfSlot: Int32Array;
  /** [slots used], shared with the threads attached to this table. */
  private readonly counters: Int32Array;
  private readonly tableSeed: number;

  constructor(
    readonly name: string,
    readonly rows: number,
    readonly dim: number,
    private readonly seed: number,
    readonly initRange: number = DEFAULT_INIT_RANGE,
    attached?: TableMemory,
  ) {
    if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(dim) || dim < 1) {
      throw new RangeError(`table "${name}": rows (${rows}) and dim (${dim}) must be positive integers`);
    }
    if (rows * dim > MAX_ELEMENTS) {
      throw new RangeError(
        `table "${name}": ${rows} buckets x ${dim} dims exceeds the ${MAX_ELEMENTS} values a Float32Array can hold; ` +
          'lower its buckets in the feature spec',
      );
    }
    // Fresh SharedArrayBuffers are zero pages too: untouched rows cost address space only.
    this.data = new Float32Array(attached?.data ?? new SharedArrayBuffer(rows * dim * 4));
    this.slotPlusOne = new Int32Array(attached?.slotPlusOne ?? new SharedArrayBuffer(rows * 4));
    this.rowOfSlot = new Int32Array(attached?.rowOfSlot ?? new SharedArrayBuffer(rows * 4));
    this.counters = new Int32Array(attached?.counters ?? new SharedArrayBuffer(4));
    if (this.data.length !== rows * dim || this.slotPlusOne.length !== rows || this.rowOfSlot.length !== rows) {
      throw new RangeError(`table "${name}": attached memory does not match ${rows} rows x ${dim} dims`);
    }
    this.tableSeed = mix32(mix32(seed) ^ tableSalt(name));
  }

  /** The same table seen from another thread, over `memory` (from memory() there). */
  static attach(memory: TableMemory): EmbeddingTable {
    return new EmbeddingTable(memory.name, memory.rows, memory.dim, memory.seed, memory.initRange, memory);
  }

  /** This table's shared memory, to attach() it in a worker thread. */
  memory(): TableMemory {
    const { name, rows, dim, seed, initRange } = this;
    return {
      name,
      rows,
      dim,
      seed,
      initRange,
      data: this.data.buffer as SharedArrayBuffer,
      slotPlusOne: this.slotPlusOne.buffer as SharedArrayBuffer,
      rowOfSlot: this.rowOfSlot.buffer as SharedArrayBuffer,
      counters: this.counters.buffer as SharedArrayBuffer,
    };
  }

  /** Offset of `row`'s values in `data`, giving it a slot with its initial values on first touch. */
  ensure(row: number): number {
    const slot = this.slotPlusOne[row]! - 1;
    // A row outside the table reads undefined (NaN here) and takes the checked slow path.
    return slot >= 0 ? slot * this.dim : this.initialize(row);
  }

  /**
   * Offset of a touched row's values, or -1 for a row that training never touched. Inference
   * reads through this: an id never trained pools as a zero vector and changes nothing.
   */
  offsetOf(row: number): number {
    const slot = (this.slotPlusOne[row] ?? 0) - 1;
    return slot >= 0 ? slot * this.dim : -1;
  }

  isTouched(row: number): boolean {
    return this.slotPlusOne[row]! > 0;
  }

  /** Number of rows with a slot. */
  get touchedCount(): number {
    return this.counters[0]!;
  }

  /** Touched rows in increasing order. */
  touchedRows(): Int32Array {
    return this.rowOfSlot.slice(0, this.counters[0]).sort();
  }

  /** Copies of the touched rows and their values (untouched rows are re-derived from the seed). */
  exportRows(): TableRows {
    const rows = this.touchedRows();
    const dim = this.dim;
    const data = new Float32Array(rows.length * dim);
    for (let i = 0; i < rows.length; i++) {
      const at = this.ensure(rows[i]!);
      data.set(this.data.subarray(at, at + dim), i * dim);
    }
    return { rows, data };
  }

  /** Overwrites the given rows with `data` (rows.length * dim), giving new rows a slot. */
  importRows(rows: ArrayLike<number>, data: Float32Array): void {
    const dim = this.dim;
    if (data.length !== rows.length * dim) {
      throw new RangeError(
        `table "${this.name}": importRows got ${rows.length} rows but ${data.length} values; expected rows x ${dim}`,
      );
    }
    for (let i = 0; i < rows.length; i++) {
      this.data.set(data.subarray(i * dim, (i + 1) * dim), this.ensure(rows[i]!));
    }
  }

  /**
   * Makes the table hold exactly `rows` with `data` (an exportRows() result): every other row
   * becomes untouched again (it pools as zero at inference and is not saved), as if training had
   * never reached it. Early stopping restores its best state with this; a row first touched after
   * that state must not survive in the model.
   */
  replaceRows(rows: ArrayLike<number>, data: Float32Array): void {
    const used = this.counters[0]!;
    for (let slot = 0; slot < used; slot++) this.slotPlusOne[this.rowOfSlot[slot]!] = 0;
    this.data.fill(0, 0, used * this.dim);
    this.counters[0] = 0;
    this.importRows(rows, data);
  }

  /** Gives `row` the next slot, writes its initial values there, and returns their offset. */
  private initialize(row: number): number {
    if (!Number.isInteger(row) || row < 0 || row >= this.rows) {
      throw new RangeError(`table "${this.name}": row ${row} is outside [0, ${this.rows}); was it hashed with another spec?`);
    }
    const slot = this.counters[0]!;
    this.counters[0] = slot + 1;
    this.rowOfSlot[slot] = row;
    this.slotPlusOne[row] = slot + 1;
    const dim = this.dim;
    const offset = slot * dim;
    const scale = (2 * this.initRange) / 4294967296;
    const rowKey = mix32(this.tableSeed ^ mix32(row));
    for (let j = 0; j < dim; j++) {
      this.data[offset + j] = mix32(rowKey + Math.imul(j + 1, GOLDEN_GAMMA)) * scale - this.initRange;
    }
    return offset;
  }
}
