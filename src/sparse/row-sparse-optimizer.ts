/**
 * The row-sparse optimizer of the embedding tables: a step updates only the rows in a gradient,
 * with the Adam and Adagrad kernels of optim/kernels.ts. Sparse Adam is lazy (TF LazyAdam, torch
 * SparseAdam): rows absent from a step keep their m and v untouched, and the bias correction uses
 * the global step t, counted by nextStep().
 *
 * The optimizer allocates a table's state on the table's first step, as long as table.data (zero
 * pages until rows are written) and at the same offsets, so it belongs to that table object:
 * exported states name rows, and importState(state, tables) places them in the tables of the
 * model being resumed.
 */
import type { EmbeddingTable } from './embedding-table.js';
import type { SparseGrad } from './embedding-collection.js';
import { loadRows, loadSink } from './load-rows.js';
import {
  OptimizerBase,
  adagradUpdateRange,
  adamStepSize,
  adamUpdateRange,
  checkSameHyper,
  defaultHyper,
  slotInitialValues,
  type OptimizerHyper,
  type OptimizerKind,
} from '../optim/kernels.js';

/** One table's optimizer state as exported: the rows that have state, and their slot values. */
export interface TableSlotsState {
  table: string;
  buckets: number;
  dim: number;
  /** Increasing row ids. */
  rows: Int32Array;
  /** One array per SLOT_NAMES[kind] entry, rows.length * dim each. */
  slots: Float32Array[];
}

export interface SparseOptimizerState {
  format: 'esmm-sparse-optimizer';
  version: 1;
  hyper: OptimizerHyper;
  /** Steps taken (nextStep calls): Adam's bias correction resumes from here. */
  step: number;
  tables: TableSlotsState[];
}

export interface SparseOptimizer {
  readonly kind: OptimizerKind;
  readonly hyper: Readonly<OptimizerHyper>;
  /** Steps started so far. */
  readonly stepCount: number;
  /** Starts a training step; call once per step before its step() calls. */
  nextStep(): void;
  /** Updates the rows of g (unique, as EmbeddingCollection.backward gives them) in `table`. */
  step(table: EmbeddingTable, g: SparseGrad): void;
  /**
   * The state of `table` (created on first use), for applyRowUpdates in another thread attached
   * to the same shared memory.
   */
  tableState(table: EmbeddingTable): TableSlots;
  /** Changes whenever a table's state object is created or replaced: attached threads re-attach. */
  readonly stateRevision: number;
  /** Learning-rate schedules; takes effect from the next update. */
  setLearningRate(lr: number): void;
  exportState(): SparseOptimizerState;
  /**
   * Restores steps and slots for the given tables (those of the model being resumed, matched by
   * name); the learning rate stays this optimizer's own.
   */
  importState(state: SparseOptimizerState, tables: readonly EmbeddingTable[]): void;
}

/** A table's optimizer state in shared memory, and the slot values it starts rows with. */
export interface SlotsMemory {
  initial: number[];
  slots: SharedArrayBuffer[];
  stepped: RowSetMemory;
}

/**
 * A table's state: slot arrays laid out like table.data (same offsets), and the rows they hold. It
 * lives in SharedArrayBuffers, so a worker thread attached to the table can update its rows too.
 */
export class TableSlots {
  readonly slots: Float32Array[];
  readonly stepped: RowSet;
  /** locate()'s offsets. */
  private at = new Int32Array(0);

  constructor(
    readonly table: EmbeddingTable,
    private readonly initial: readonly number[],
    attached?: SlotsMemory,
  ) {
    this.slots = initial.map((_, s) => new Float32Array(attached?.slots[s] ?? new SharedArrayBuffer(table.data.length * 4)));
    this.stepped = new RowSet(table.rows, attached?.stepped);
    if (this.slots.some((slot) => slot.length !== table.data.length)) {
      throw new RangeError(`optimizer state of table "${table.name}": attached slots do not match the table`);
    }
  }

  /** This state's shared memory, to attach it (to the same table, attached) in a worker thread. */
  memory(): SlotsMemory {
    return { initial: [...this.initial], slots: this.slots.map((a) => a.buffer as SharedArrayBuffer), stepped: this.stepped.memory() };
  }

  /** Offset of `row` in the table and in every slot, writing initial slot values on its first update. */
  offset(row: number): number {
    const at = this.table.ensure(row);
    if (this.stepped.add(row)) {
      this.initial.forEach((value, s) => {
        if (value !== 0) this.slots[s]!.fill(value, at, at + this.table.dim);
      });
    }
    return at;
  }

  /**
   * offset() of every row, in order, then each row loaded from the table and from every slot (see
   * load-rows.ts) before the updates use them. Valid until the next call.
   */
  locate(rows: Int32Array): Int32Array {
    if (this.at.length < rows.length) this.at = new Int32Array(Math.max(rows.length, 2 * this.at.length));
    const at = this.at;
    for (let i = 0; i < rows.length; i++) at[i] = this.offset(rows[i]!);
    let loaded = loadRows(this.table.data, at, 0, rows.length, this.table.dim);
    for (const slot of this.slots) loaded += loadRows(slot, at, 0, rows.length, this.table.dim);
    loadSink.value = loaded;
    return at;
  }
}

/**
 * Updates the rows of g (unique) in state.table, at global step t (1-based): the one row-sparse
 * kernel, shared by RowSparseOptimizer and the embedding worker thread.
 */
export function applyRowUpdates(h: Readonly<OptimizerHyper>, t: number, state: TableSlots, g: SparseGrad): void {
  const table = state.table;
  const dim = table.dim;
  const param = table.data;
  const { rows, grad } = g;
  const at = state.locate(rows);
  switch (h.kind) {
    case 'adam': {
      const [m, v] = state.slots as [Float32Array, Float32Array];
      const stepSize = adamStepSize(h, t);
      for (let i = 0; i < rows.length; i++) {
        adamUpdateRange(param, at[i]!, grad, i * dim, dim, m, v, h, stepSize);
      }
      break;
    }
    case 'adagrad': {
      const [accum] = state.slots as [Float32Array];
      for (let i = 0; i < rows.length; i++) {
        adagradUpdateRange(param, at[i]!, grad, i * dim, dim, accum, h.lr);
      }
      break;
    }
  }
}

/** The SparseOptimizer; construct it directly for hyper-parameters other than the defaults. */
export class RowSparseOptimizer extends OptimizerBase implements SparseOptimizer {
  private readonly tables = new Map<string, TableSlots>();
  private revision = 0;

  nextStep(): void {
    this.t++;
  }

  step(table: EmbeddingTable, g: SparseGrad): void {
    if (this.t === 0) throw new Error('sparse optimizer: call nextStep() at the start of each training step, before step()');
    const dim = table.dim;
    if (g.grad.length !== g.rows.length * dim) {
      throw new RangeError(`sparse optimizer: table "${table.name}" gradient has ${g.grad.length} values for ${g.rows.length} rows of dim ${dim}`);
    }
    applyRowUpdates(this.current, this.t, this.tableState(table), g);
  }

  /**
   * Changes whenever a table's state object is created or replaced (importState): a worker thread
   * that attached the states must attach them again.
   */
  get stateRevision(): number {
    return this.revision;
  }

  /** The state of `table`, created (empty) on first use; see applyRowUpdates. */
  tableState(table: EmbeddingTable): TableSlots {
    let state = this.tables.get(table.name);
    if (state === undefined) {
      state = new TableSlots(table, slotInitialValues(this.current));
      this.tables.set(table.name, state);
      this.revision++;
    } else if (state.table !== table) {
      // Offsets are per table object (rows sit in first-touch order), so state cannot move to another.
      throw new Error(
        `sparse optimizer: its state for table "${table.name}" belongs to another table object; ` +
          'to resume on a reloaded model, importState(state, tables) with its tables',
      );
    }
    return state;
  }

  exportState(): SparseOptimizerState {
    const tables: TableSlotsState[] = [];
    for (const [name, state] of this.tables) {
      const { table } = state;
      const dim = table.dim;
      const rows = state.stepped.toArray();
      const slots = state.slots.map((slot) => {
        const out = new Float32Array(rows.length * dim);
        rows.forEach((row, i) => {
          const at = table.ensure(row);
          out.set(slot.subarray(at, at + dim), i * dim);
        });
        return out;
      });
      tables.push({ table: name, buckets: table.rows, dim, rows, slots });
    }
    return { format: 'esmm-sparse-optimizer', version: 1, hyper: { ...this.current }, step: this.t, tables };
  }

  importState(state: SparseOptimizerState, tables: readonly EmbeddingTable[]): void {
    if (state.format !== 'esmm-sparse-optimizer' || state.version !== 1) {
      throw new Error(`sparse optimizer state: expected format esmm-sparse-optimizer version 1, got ${state.format} ${state.version}`);
    }
    checkSameHyper(this.current, state.hyper, 'sparse optimizer state');
    const initial = slotInitialValues(this.current);
    const byName = new Map(tables.map((t) => [t.name, t]));
    const restored = new Map<string, TableSlots>();
    for (const saved of state.tables) {
      const where = `sparse optimizer state, table "${saved.table}"`;
      const table = byName.get(saved.table);
      if (table === undefined) throw new Error(`${where}: the model has no such table; resume with the feature spec it was saved with`);
      if (table.rows !== saved.buckets || table.dim !== saved.dim) {
        throw new RangeError(`${where}: saved for ${saved.buckets} x ${saved.dim} but the table is ${table.rows} x ${table.dim}; resume with the same feature spec`);
      }
      const dim = saved.dim;
      if (saved.slots.length !== initial.length || saved.slots.some((values) => values.length !== saved.rows.length * dim)) {
        throw new RangeError(`${where}: expected ${initial.length} slot arrays of ${saved.rows.length} rows x ${dim} values`);
      }
      const slots = new TableSlots(table, initial);
      saved.rows.forEach((row, i) => {
        const at = slots.offset(row);
        saved.slots.forEach((values, s) => slots.slots[s]!.set(values.subarray(i * dim, (i + 1) * dim), at));
      });
      restored.set(saved.table, slots);
    }
    this.tables.clear();
    for (const [name, slots] of restored) this.tables.set(name, slots);
    this.revision++;
    this.t = state.step;
  }
}

export function createSparseOptimizer(kind: OptimizerKind, lr: number): SparseOptimizer {
  return new RowSparseOptimizer(defaultHyper(kind, lr));
}

/** A RowSet's shared memory: its bit words and [count]. */
export interface RowSetMemory {
  words: SharedArrayBuffer;
  counters: SharedArrayBuffer;
}

/** A set of rows in [0, capacity) as a bitset: 1 bit per bucket, sorted listing; in shared memory. */
export class RowSet {
  private readonly words: Uint32Array;
  /** [count]. */
  private readonly counters: Int32Array;

  constructor(
    readonly capacity: number,
    attached?: RowSetMemory,
  ) {
    this.words = new Uint32Array(attached?.words ?? new SharedArrayBuffer(Math.ceil(capacity / 32) * 4));
    this.counters = new Int32Array(attached?.counters ?? new SharedArrayBuffer(4));
    if (this.words.length !== Math.ceil(capacity / 32)) throw new RangeError(`row set: attached memory does not hold ${capacity} rows`);
  }

  memory(): RowSetMemory {
    return { words: this.words.buffer as SharedArrayBuffer, counters: this.counters.buffer as SharedArrayBuffer };
  }

  get size(): number {
    return this.counters[0]!;
  }

  /** For an integer row; false outside [0, capacity) (its word is undefined or its bit never set). */
  has(row: number): boolean {
    return (this.words[row >>> 5]! & (1 << (row & 31))) !== 0;
  }

  /** Adds `row` (in [0, capacity)); true when it was not there yet. */
  add(row: number): boolean {
    const word = row >>> 5;
    const bit = 1 << (row & 31);
    if ((this.words[word]! & bit) !== 0) return false;
    this.words[word] = this.words[word]! | bit;
    this.counters[0] = this.counters[0]! + 1;
    return true;
  }

  /** Members in increasing order. */
  toArray(): Int32Array {
    const out = new Int32Array(this.counters[0]!);
    let n = 0;
    const words = this.words;
    for (let w = 0; w < words.length; w++) {
      let bits = words[w]!;
      while (bits !== 0) {
        const low = bits & -bits;
        out[n++] = (w << 5) + (31 - Math.clz32(low));
        bits ^= low;
      }
    }
    return out;
  }
}
