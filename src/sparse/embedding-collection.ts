/**
 * The embedding layer: every table of a spec, and field-wise pooling of a Batch into the dense
 * input of the towers, with its row-sparse gradient.
 *
 *   forward:  x[b, f*D .. f*D+D) = pool over the entries of field f in sample b's own part and in
 *             its group's part (group groupOf[b]) together:
 *               sum:  Σ w·e            mean: Σ w·e / Σ w  (zero vector when Σ w = 0, TF's div_no_nan)
 *             A field without entries pools to zeros.
 *   backward: dL/de_row = Σ over the entries that read row: w · gradX[b, f] (÷ Σ w for mean),
 *             returned per table as unique rows with their summed gradients.
 *
 * A group's entries (a user's hundreds of history ids) are pooled once per batch into a [G, D]
 * scratch that is then added to each of its samples; backward mirrors it: the samples' gradients
 * are summed per group first, then scattered once per group entry.
 *
 * The loops index typed arrays within bounds they were sized for (offsets and rows from the batch,
 * D-wide rows, scratch of [B, F*D] and [G, D]); their `!`s say so to the compiler, not a check.
 */
import type { FeatureBatch, KeyedJagged } from '../data/batch/jagged-types.js';
import type { FeatureSpec } from '../features/spec-types.js';
import { EmbeddingTable, DEFAULT_INIT_RANGE } from './embedding-table.js';
import { loadRows, loadSink } from './load-rows.js';

/** Gradient of one table: unique rows and their gradients, rows.length * dim. */
export interface SparseGrad {
  /** Index into EmbeddingCollection.tables. */
  table: number;
  rows: Int32Array;
  grad: Float32Array;
}

/** 'train' initializes the rows a batch reads; 'infer' reads untouched rows as zeros. */
export type PoolMode = 'train' | 'infer';

export class EmbeddingCollection {
  /** In spec.tables order. */
  readonly tables: EmbeddingTable[];
  readonly numFields: number;
  readonly dim: number;
  /** Per field: index of its table in `tables`. */
  readonly fieldTable: Int32Array;
  /** Per field: 1 for mean pooling. */
  private readonly fieldMean: Uint8Array;
  /** Per table: the row -> gradient accumulator that backward reuses. */
  private readonly accumulators: RowGradAccumulator[];
  /** Scratch reused by every call: per-group pooled vectors (or gradients) and weight sums. */
  private groupVectors = new Float64Array(0);
  private groupWeights = new Float64Array(0);
  private readonly acc: Float64Array;
  /** forward's scratch: each sample and group entry's offset in its table's data (see locate). */
  private sampleAt = new Int32Array(0);
  private groupAt = new Int32Array(0);

  /** `tables`: the spec's tables, already built (attached in a worker thread), instead of new ones. */
  constructor(
    readonly spec: FeatureSpec,
    seed: number,
    initRange: number = DEFAULT_INIT_RANGE,
    tables?: EmbeddingTable[],
  ) {
    this.dim = spec.embeddingDim;
    this.numFields = spec.fields.length;
    this.tables = tables ?? spec.tables.map((t) => new EmbeddingTable(t.name, t.buckets, spec.embeddingDim, seed, initRange));
    spec.tables.forEach((t, i) => {
      const table = this.tables[i];
      if (!table || table.name !== t.name || table.rows !== t.buckets || table.dim !== spec.embeddingDim) {
        throw new Error(`embedding collection: table ${i} is not "${t.name}" with ${t.buckets} rows of dim ${spec.embeddingDim}`);
      }
    });
    if (this.tables.length !== spec.tables.length) throw new Error(`embedding collection: ${this.tables.length} tables for a spec of ${spec.tables.length}`);
    const tableIndex = new Map(spec.tables.map((t, i) => [t.name, i]));
    this.fieldTable = new Int32Array(this.numFields);
    this.fieldMean = new Uint8Array(this.numFields);
    spec.fields.forEach((field, f) => {
      const t = tableIndex.get(field.table);
      if (t === undefined) throw new Error(`field "${field.name}" uses table "${field.table}" that the spec does not declare`);
      this.fieldTable[f] = t;
      switch (field.pooling) {
        case 'sum':
          this.fieldMean[f] = 0;
          break;
        case 'mean':
          this.fieldMean[f] = 1;
          break;
        default: {
          const never: never = field.pooling;
          throw new Error(`field "${field.name}": unknown pooling ${String(never)}`);
        }
      }
    });
    this.accumulators = this.tables.map(() => new RowGradAccumulator(spec.embeddingDim));
    this.acc = new Float64Array(this.dim);
  }

  /** Width of a forward output row: fields x dim. */
  get outputWidth(): number {
    return this.numFields * this.dim;
  }

  /**
   * Pooled embeddings [batch.size, F*D], row-major, field f at columns f*D..; written into `out`
   * when given (reuse it across batches). In 'train' mode it initializes the rows it reads (they
   * are about to be trained); in 'infer' mode rows that training never touched pool as zero vectors
   * (their weight still counts for mean pooling), so predicting changes no state and a saved model
   * predicts exactly what the trained one did.
   *
   * `onlyTable` (an index into `tables`): pool only that table's fields, leaving the other columns
   * of `out` as they are; two threads that split the tables fill one `out` together.
   */
  forward(batch: FeatureBatch, out?: Float32Array, mode: PoolMode = 'train', onlyTable?: number): Float32Array {
    const train = mode === 'train';
    this.checkShape(batch);
    const B = batch.size;
    const D = this.dim;
    const FD = this.numFields * D;
    const y = out ?? new Float32Array(B * FD);
    if (y.length !== B * FD) throw new RangeError(`forward: out has ${y.length} values; expected batch size ${B} x ${FD}`);
    const { offsets: sOff, weights: sW } = batch.samples;
    const groupOf = batch.groupOf;
    const G = batch.groups.numRows;
    const gVec = this.groupScratch(G);
    const gW = this.groupWeights;
    const { sampleAt, groupAt } = this.locate(batch, train, onlyTable);
    // One [D] accumulator, zeroed here and again as each pooled vector is written out.
    const acc = this.acc.fill(0);

    for (let f = 0; f < this.numFields; f++) {
      if (onlyTable !== undefined && this.fieldTable[f] !== onlyTable) continue;
      const data = this.tables[this.fieldTable[f]!]!.data;
      const mean = this.fieldMean[f] === 1;
      const withGroups = this.poolGroups(batch.groups, f, data, groupAt, gVec, gW);
      for (let b = 0; b < B; b++) {
        let weightSum = 0;
        for (let e = sOff[f * B + b]!, stop = sOff[f * B + b + 1]!; e < stop; e++) {
          const at = sampleAt[e]!;
          const w = sW[e]!;
          weightSum += w;
          if (at < 0) continue;
          for (let j = 0; j < D; j++) acc[j] = acc[j]! + w * data[at + j]!;
        }
        const g = groupOf[b]!;
        if (withGroups && g >= 0) {
          weightSum += gW[g]!;
          for (let j = 0, at = g * D; j < D; j++) acc[j] = acc[j]! + gVec[at + j]!;
        }
        const scale = mean ? (weightSum !== 0 ? 1 / weightSum : 0) : 1;
        for (let j = 0, o = b * FD + f * D; j < D; j++) {
          y[o + j] = acc[j]! * scale;
          acc[j] = 0;
        }
      }
    }
    return y;
  }

  /**
   * Where every entry's row sits in its table's data (-1: never trained, in 'infer' mode), found
   * before any pooling, in the order pooling touches the rows (so 'train' places new rows in
   * first-touch order), then loaded (see load-rows.ts). With the caches flushed, a single-impression
   * forward (219 ids) takes ~55 µs this way against ~191 µs for one pass that locates rows as it
   * pools (bench/serve-path.ts measures both); with warm caches the two are about the same.
   */
  private locate(batch: FeatureBatch, train: boolean, onlyTable: number | undefined): { sampleAt: Int32Array; groupAt: Int32Array } {
    const B = batch.size;
    const G = batch.groups.numRows;
    const { offsets: sOff, rows: sRows } = batch.samples;
    const { offsets: gOff, rows: gRows } = batch.groups;
    if (this.sampleAt.length < sRows.length) this.sampleAt = new Int32Array(Math.max(sRows.length, 2 * this.sampleAt.length));
    if (this.groupAt.length < gRows.length) this.groupAt = new Int32Array(Math.max(gRows.length, 2 * this.groupAt.length));
    const { sampleAt, groupAt } = this;
    for (let f = 0; f < this.numFields; f++) {
      if (onlyTable !== undefined && this.fieldTable[f] !== onlyTable) continue;
      const table = this.tables[this.fieldTable[f]!]!;
      for (let e = gOff[f * G]!, stop = gOff[(f + 1) * G]!; e < stop; e++) groupAt[e] = train ? table.ensure(gRows[e]!) : table.offsetOf(gRows[e]!);
      for (let e = sOff[f * B]!, stop = sOff[(f + 1) * B]!; e < stop; e++) sampleAt[e] = train ? table.ensure(sRows[e]!) : table.offsetOf(sRows[e]!);
    }
    let loaded = 0;
    for (let f = 0; f < this.numFields; f++) {
      if (onlyTable !== undefined && this.fieldTable[f] !== onlyTable) continue;
      const data = this.tables[this.fieldTable[f]!]!.data;
      loaded += loadRows(data, groupAt, gOff[f * G]!, gOff[(f + 1) * G]!, this.dim);
      loaded += loadRows(data, sampleAt, sOff[f * B]!, sOff[(f + 1) * B]!, this.dim);
    }
    loadSink.value = loaded;
    return { sampleAt, groupAt };
  }

  /**
   * Row-sparse gradient of L w.r.t. the tables, given gradX = dL/d forward(batch) [B, F*D]: one
   * SparseGrad per table (in `tables` order) holding every row the batch reads from it, each once
   * (a row whose entries all have weight 0 is listed with a zero gradient, as in TF). With
   * `onlyTable`, just that table's gradient.
   */
  backward(batch: FeatureBatch, gradX: Float32Array, onlyTable?: number): SparseGrad[] {
    this.checkShape(batch);
    const B = batch.size;
    const D = this.dim;
    const FD = this.numFields * D;
    if (gradX.length !== B * FD) throw new RangeError(`backward: gradX has ${gradX.length} values; expected batch size ${B} x ${FD}`);
    const { offsets: sOff, rows: sRows, weights: sW } = batch.samples;
    const { offsets: gOff, rows: gRows, weights: gWeights } = batch.groups;
    const groupOf = batch.groupOf;
    const G = batch.groups.numRows;
    const gGrad = this.groupScratch(G);
    const gW = this.groupWeights;
    for (const a of this.accumulators) a.reset();

    for (let f = 0; f < this.numFields; f++) {
      if (onlyTable !== undefined && this.fieldTable[f] !== onlyTable) continue;
      const accumulator = this.accumulators[this.fieldTable[f]!]!;
      const mean = this.fieldMean[f] === 1;
      const withGroups = hasGroupEntries(batch.groups, f);
      if (withGroups) {
        gGrad.fill(0, 0, G * D);
        if (mean) groupWeightSums(batch.groups, f, gW);
      }
      for (let b = 0; b < B; b++) {
        const first = sOff[f * B + b]!;
        const stop = sOff[f * B + b + 1]!;
        const g = groupOf[b]!;
        let scale = 1;
        if (mean) {
          let weightSum = withGroups && g >= 0 ? gW[g]! : 0;
          for (let e = first; e < stop; e++) weightSum += sW[e]!;
          scale = weightSum !== 0 ? 1 / weightSum : 0;
        }
        const o = b * FD + f * D;
        for (let e = first; e < stop; e++) {
          const at = accumulator.slot(sRows[e]!) * D;
          const grad = accumulator.grad;
          const w = sW[e]! * scale;
          for (let j = 0; j < D; j++) grad[at + j] = grad[at + j]! + w * gradX[o + j]!;
        }
        if (withGroups && g >= 0) {
          for (let j = 0, at = g * D; j < D; j++) gGrad[at + j] = gGrad[at + j]! + scale * gradX[o + j]!;
        }
      }
      if (!withGroups) continue;
      for (let g = 0; g < G; g++) {
        for (let e = gOff[f * G + g]!, stop = gOff[f * G + g + 1]!; e < stop; e++) {
          const at = accumulator.slot(gRows[e]!) * D;
          const grad = accumulator.grad;
          const w = gWeights[e]!;
          for (let j = 0, gAt = g * D; j < D; j++) grad[at + j] = grad[at + j]! + w * gGrad[gAt + j]!;
        }
      }
    }
    const grads: SparseGrad[] = [];
    this.accumulators.forEach((a, table) => {
      if (onlyTable === undefined || table === onlyTable) grads.push({ table, rows: a.uniqueRows(), grad: a.gradients() });
    });
    return grads;
  }

  /**
   * Full check of a batch against this collection (shapes, offsets, rows within each field's
   * table, groupOf): for batches from outside BatchBuilder. forward/backward only check shapes.
   */
  validate(batch: FeatureBatch): void {
    this.checkShape(batch);
    this.validatePart(batch.samples, 'samples');
    this.validatePart(batch.groups, 'groups');
    const G = batch.groups.numRows;
    batch.groupOf.forEach((g, b) => {
      if (!Number.isInteger(g) || g < -1 || g >= G) throw new RangeError(`batch.groupOf[${b}] = ${g} is outside [-1, ${G})`);
    });
  }

  private validatePart(part: KeyedJagged, what: string): void {
    const { offsets, rows, weights, numRows } = part;
    if (offsets[0] !== 0) throw new RangeError(`batch.${what}.offsets[0] is ${offsets[0]}; it must be 0`);
    const end = offsets[offsets.length - 1]!;
    if (end !== rows.length || end !== weights.length) {
      throw new RangeError(`batch.${what}: offsets end at ${end} but there are ${rows.length} rows and ${weights.length} weights`);
    }
    for (let c = 1; c < offsets.length; c++) {
      if (offsets[c]! < offsets[c - 1]!) throw new RangeError(`batch.${what}.offsets decrease at ${c}; they must be monotone`);
    }
    for (let f = 0; f < this.numFields; f++) {
      const table = this.tables[this.fieldTable[f]!]!;
      for (let e = offsets[f * numRows]!, stop = offsets[(f + 1) * numRows]!; e < stop; e++) {
        const row = rows[e]!;
        if (!(Number.isInteger(row) && row >= 0 && row < table.rows)) {
          throw new RangeError(`batch.${what}.rows[${e}] = ${row} is outside table "${table.name}" (${table.rows} rows) of field "${this.spec.fields[f]!.name}"`);
        }
        if (!Number.isFinite(weights[e]!)) throw new RangeError(`batch.${what}.weights[${e}] is ${weights[e]}; weights must be finite`);
      }
    }
  }

  private checkShape(batch: FeatureBatch): void {
    const F = this.numFields;
    const B = batch.size;
    const parts: [KeyedJagged, string, number][] = [
      [batch.samples, 'samples', B],
      [batch.groups, 'groups', batch.groups.numRows],
    ];
    for (const [part, what, rows] of parts) {
      if (part.numFields !== F || part.numRows !== rows || part.offsets.length !== F * rows + 1) {
        throw new RangeError(
          `batch.${what}: ${part.numFields} fields x ${part.numRows} rows with ${part.offsets.length} offsets; ` +
            `expected ${F} fields (the spec's) x ${rows} rows and ${F * rows + 1} offsets`,
        );
      }
    }
    if (batch.groupOf.length !== B) throw new RangeError(`batch.groupOf has ${batch.groupOf.length} entries; expected batch size ${B}`);
  }

  /** Pools field f of every group into gVec [G, D] and its weight sums into gW; false if none has entries. */
  private poolGroups(groups: KeyedJagged, f: number, data: Float32Array, groupAt: Int32Array, gVec: Float64Array, gW: Float64Array): boolean {
    if (!hasGroupEntries(groups, f)) return false;
    const G = groups.numRows;
    const { offsets, weights } = groups;
    const D = this.dim;
    gVec.fill(0, 0, G * D);
    for (let g = 0; g < G; g++) {
      let weightSum = 0;
      const at = g * D;
      for (let e = offsets[f * G + g]!, stop = offsets[f * G + g + 1]!; e < stop; e++) {
        const from = groupAt[e]!;
        const w = weights[e]!;
        weightSum += w;
        if (from < 0) continue;
        for (let j = 0; j < D; j++) gVec[at + j] = gVec[at + j]! + w * data[from + j]!;
      }
      gW[g] = weightSum;
    }
    return true;
  }

  /** The [G, D] group scratch (and G weight sums), grown as needed. */
  private groupScratch(G: number): Float64Array {
    if (this.groupWeights.length < G) {
      this.groupVectors = new Float64Array(G * 2 * this.dim);
      this.groupWeights = new Float64Array(G * 2);
    }
    return this.groupVectors;
  }
}

/** Whether any group of the batch has entries in field f (most fields are sample-only). */
function hasGroupEntries(groups: KeyedJagged, f: number): boolean {
  const G = groups.numRows;
  return G > 0 && groups.offsets[(f + 1) * G]! > groups.offsets[f * G]!;
}

/** Σ w over each group's entries of field f, into out[g]. */
function groupWeightSums(groups: KeyedJagged, f: number, out: Float64Array): void {
  const G = groups.numRows;
  const { offsets, weights } = groups;
  for (let g = 0; g < G; g++) {
    let sum = 0;
    for (let e = offsets[f * G + g]!, stop = offsets[f * G + g + 1]!; e < stop; e++) sum += weights[e]!;
    out[g] = sum;
  }
}

const FIBONACCI = 0x9e3779b1;

/**
 * Sums gradients per unique row: an open-addressing hash (row -> slot) whose entries are valid only
 * for the current generation, so reset() is O(1); memory follows the rows a batch touches, not the
 * table size.
 */
class RowGradAccumulator {
  private keys = new Int32Array(1024);
  private slots = new Int32Array(1024);
  private stamps = new Uint32Array(1024);
  /** 32 - log2(capacity): Fibonacci hashing takes the product's high bits. */
  private shift = 22;
  private generation = 1;
  private rows = new Int32Array(512);
  private count = 0;
  /** count * dim gradient sums, slot-major. */
  grad: Float64Array;

  constructor(private readonly dim: number) {
    this.grad = new Float64Array(512 * dim);
  }

  reset(): void {
    this.count = 0;
    if (++this.generation === 0xffffffff) {
      this.stamps.fill(0);
      this.generation = 1;
    }
  }

  /** Slot of `row`, allocating a zeroed one on first sight. */
  slot(row: number): number {
    const mask = this.keys.length - 1;
    let i = Math.imul(row, FIBONACCI) >>> this.shift;
    while (this.stamps[i] === this.generation) {
      if (this.keys[i] === row) return this.slots[i]!;
      i = (i + 1) & mask;
    }
    const s = this.count++;
    if (s === this.rows.length) this.growSlots();
    this.rows[s] = row;
    this.grad.fill(0, s * this.dim, (s + 1) * this.dim);
    this.stamps[i] = this.generation;
    this.keys[i] = row;
    this.slots[i] = s;
    // Keep the load factor at most 1/2 so probes stay short.
    if (this.count * 2 > this.keys.length) this.rehash(this.keys.length * 2);
    return s;
  }

  uniqueRows(): Int32Array {
    return this.rows.slice(0, this.count);
  }

  gradients(): Float32Array {
    return new Float32Array(this.grad.subarray(0, this.count * this.dim));
  }

  private growSlots(): void {
    const rows = new Int32Array(this.rows.length * 2);
    rows.set(this.rows);
    this.rows = rows;
    const grad = new Float64Array(rows.length * this.dim);
    grad.set(this.grad);
    this.grad = grad;
  }

  private rehash(capacity: number): void {
    this.keys = new Int32Array(capacity);
    this.slots = new Int32Array(capacity);
    this.stamps = new Uint32Array(capacity);
    this.shift = 32 - Math.log2(capacity);
    this.generation = 1;
    const mask = capacity - 1;
    for (let s = 0; s < this.count; s++) {
      const row = this.rows[s]!;
      let i = Math.imul(row, FIBONACCI) >>> this.shift;
      while (this.stamps[i] === 1) i = (i + 1) & mask;
      this.stamps[i] = 1;
      this.keys[i] = row;
      this.slots[i] = s;
    }
  }
}
