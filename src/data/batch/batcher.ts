/**
 * Builds training batches from a prepared split: picks samples of a block, collects the distinct
 * groups they join to, and hashes every feature entry to its field's embedding row.
 *
 *   const builder = new BatchBuilder(spec, split.fieldNames, split.groups);
 *   for (let start = 0; start < order.length; start += 1024)
 *     train(builder.build(block, order, start, Math.min(start + 1024, order.length)));
 *
 * Lifetimes: a returned Batch owns all of its arrays (keep it as long as you like; building the
 * next batch does not touch it), unless the builder was made with `reuseBuffers`: then every
 * batch is written into the same grow-only buffers and is valid until the next build(). That is
 * for one consumer at a time that is done with a batch before it builds the next (serving), where
 * a dozen fresh arrays per call are what the garbage collector spends its pauses on.
 * The builder's scratch (the group map and the per-(field, row) counters) is reused by every
 * build() call and sized to the largest batch so far; build() is synchronous and leaves the
 * scratch clean, so one builder serves any number of batches.
 */
import type { Batch, KeyedJagged } from './jagged-types.js';
import { PADDING_KEY, type FeatureRows, type GroupTable, type SampleBlock } from '../types.js';
import { bucketOf, tableSalt } from '../../features/hash.js';
import type { FeatureSpec } from '../../features/spec-types.js';

/** A split holds at most this many field names (fields are stored as Uint8). */
const MAX_SPLIT_FIELDS = 256;
const IGNORED = -1;
const OUTSIDE_DICTIONARY = -2;

export interface BatchBuilderOptions {
  /** Build every batch into the same buffers: a batch is valid until the next build(). */
  reuseBuffers?: boolean;
}

export class BatchBuilder {
  /** Split fields the spec does not have: their entries are left out of every batch. */
  readonly ignoredFields: string[] = [];
  private readonly numFields: number;
  /** Split field index -> spec field index, IGNORED, or OUTSIDE_DICTIONARY. */
  private readonly specFieldOf = new Int16Array(MAX_SPLIT_FIELDS).fill(OUTSIDE_DICTIONARY);
  /** Per spec field: its table's salt and bucket count, and whether values weight the pooling. */
  private readonly salts: Uint32Array;
  private readonly buckets: Int32Array;
  private readonly weighted: Uint8Array;
  /** Group table row -> local group row in the batch being built; -1 everywhere between builds. */
  private readonly localGroup: Int32Array;
  /** Local group row -> group table row, for the batch being built. */
  private groupRows: Int32Array = new Int32Array(64);
  /** Per (field, row) entry counts, then write cursors; F * rows + 1. */
  private cursors: Int32Array = new Int32Array(1);
  /** Where batch arrays come from: fresh ones, or the reused buffers. */
  private readonly out: BatchArrays;

  constructor(
    spec: FeatureSpec,
    fieldNames: readonly string[],
    private readonly groups: GroupTable,
    opts: BatchBuilderOptions = {},
  ) {
    this.out = new BatchArrays(opts.reuseBuffers === true);
    if (fieldNames.length > MAX_SPLIT_FIELDS) {
      throw new RangeError(`the split has ${fieldNames.length} field names; at most ${MAX_SPLIT_FIELDS} fit its Uint8 field column`);
    }
    this.numFields = spec.fields.length;
    const tables = new Map(spec.tables.map((t) => [t.name, t]));
    this.salts = new Uint32Array(this.numFields);
    this.buckets = new Int32Array(this.numFields);
    this.weighted = new Uint8Array(this.numFields);
    const specIndex = new Map<string, number>();
    spec.fields.forEach((field, f) => {
      const table = tables.get(field.table);
      if (table === undefined) throw new Error(`field "${field.name}" uses table "${field.table}" that the spec does not declare`);
      specIndex.set(field.name, f);
      this.salts[f] = tableSalt(table.name);
      this.buckets[f] = table.buckets;
      this.weighted[f] = field.weighted ? 1 : 0;
    });
    const seen = new Set<string>();
    fieldNames.forEach((name, i) => {
      if (seen.has(name)) throw new Error(`the split's field dictionary lists "${name}" twice; re-prepare the split`);
      seen.add(name);
      const f = specIndex.get(name);
      this.specFieldOf[i] = f ?? IGNORED;
      if (f === undefined) this.ignoredFields.push(name);
    });
    this.localGroup = new Int32Array(groups.count).fill(-1);
  }

  /** The batch of samples positions[start..end) of `block`, in that order. */
  build(block: SampleBlock, positions: ArrayLike<number>, start: number, end: number): Batch {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start > end || end > positions.length) {
      throw new RangeError(`build: need integers 0 <= start <= end <= positions.length (${positions.length}), got ${start}..${end}`);
    }
    const size = end - start;
    const out = this.out;
    const sampleIds = out.float64(Slot.SampleIds, size);
    const click = out.float32(Slot.Click, size);
    const conversion = out.float32(Slot.Conversion, size);
    const groupOf = out.int32(Slot.GroupOf, size);
    let numGroups = 0;
    try {
      for (let i = 0; i < size; i++) {
        const p = positions[start + i]!;
        if (!(p >= 0 && p < block.count && Number.isInteger(p))) {
          throw new RangeError(`build: position ${p} (index ${start + i}) is outside the block's ${block.count} samples`);
        }
        sampleIds[i] = block.sampleIds[p]!;
        click[i] = block.click[p]!;
        conversion[i] = block.conversion[p]!;
        const g = block.group[p]!;
        if (g < 0) {
          groupOf[i] = -1;
          continue;
        }
        if (g >= this.groups.count) {
          throw new RangeError(`build: sample ${p} joins group row ${g} but the group table has ${this.groups.count} rows; the block and group table do not belong together`);
        }
        let local = this.localGroup[g]!;
        if (local < 0) {
          local = numGroups++;
          this.localGroup[g] = local;
          if (local === this.groupRows.length) this.groupRows = grow(this.groupRows, local * 2);
          this.groupRows[local] = g;
        }
        groupOf[i] = local;
      }
      const samples = this.gather(block, positions, start, size, 'sample', Slot.SampleOffsets);
      const groups = this.gather(this.groups, this.groupRows, 0, numGroups, 'group', Slot.GroupOffsets);
      return { size, sampleIds, click, conversion, samples, groups, groupOf };
    } finally {
      for (let l = 0; l < numGroups; l++) this.localGroup[this.groupRows[l]!] = -1;
    }
  }

  /** Field-major keyed jagged features of src rows index[start..start+n), hashed and weighted. */
  private gather(src: FeatureRows, index: ArrayLike<number>, start: number, n: number, what: string, slots: Slot): KeyedJagged {
    const F = this.numFields;
    const cells = F * n;
    if (this.cursors.length < cells + 1) this.cursors = new Int32Array(Math.max(cells + 1, this.cursors.length * 2));
    const counts = this.cursors;
    counts.fill(0, 0, cells + 1);
    const { offsets: srcOffsets, fields, keys, values } = src;
    const specFieldOf = this.specFieldOf;

    for (let r = 0; r < n; r++) {
      const p = index[start + r]!;
      for (let e = srcOffsets[p]!, stop = srcOffsets[p + 1]!; e < stop; e++) {
        const f = specFieldOf[fields[e]!]!;
        if (f < 0) {
          if (f === OUTSIDE_DICTIONARY) {
            throw new RangeError(`build: ${what} row ${p} has field index ${fields[e]} beyond the split's field dictionary`);
          }
          continue;
        }
        if (keys[e] !== PADDING_KEY) counts[f * n + r]!++;
      }
    }

    // Exclusive prefix sums: offsets for the batch, and the same values as write cursors.
    const offsets = this.out.int32(slots, cells + 1);
    let total = 0;
    for (let c = 0; c < cells; c++) {
      const count = counts[c]!;
      offsets[c] = total;
      counts[c] = total;
      total += count;
    }
    offsets[cells] = total;

    const rows = this.out.int32(slots + 1, total);
    const weights = this.out.float32(slots + 2, total);
    const { salts, buckets, weighted } = this;
    for (let r = 0; r < n; r++) {
      const p = index[start + r]!;
      for (let e = srcOffsets[p]!, stop = srcOffsets[p + 1]!; e < stop; e++) {
        const f = specFieldOf[fields[e]!]!;
        const key = keys[e]!;
        if (f < 0 || key === PADDING_KEY) continue;
        const at = counts[f * n + r]!++;
        rows[at] = bucketOf(key, salts[f]!, buckets[f]!);
        weights[at] = weighted[f] === 1 ? values[e]! : 1;
      }
    }
    return { numFields: F, numRows: n, offsets, rows, weights };
  }
}

/** The arrays of a batch; a part's offsets, rows and weights take three consecutive slots. */
const enum Slot {
  SampleIds,
  Click,
  Conversion,
  GroupOf,
  SampleOffsets,
  GroupOffsets = SampleOffsets + 3,
  Count = GroupOffsets + 3,
}

/** Fresh arrays, or views of grow-only buffers (one per slot) when reusing. */
class BatchArrays {
  private readonly buffers: (Int32Array | Float32Array | Float64Array | undefined)[] = new Array(Slot.Count);

  constructor(private readonly reuse: boolean) {}

  int32(slot: Slot, n: number): Int32Array {
    return this.reuse ? this.view(slot, n, Int32Array) : new Int32Array(n);
  }

  float32(slot: Slot, n: number): Float32Array {
    return this.reuse ? this.view(slot, n, Float32Array) : new Float32Array(n);
  }

  float64(slot: Slot, n: number): Float64Array {
    return this.reuse ? this.view(slot, n, Float64Array) : new Float64Array(n);
  }

  private view<T extends Int32Array | Float32Array | Float64Array>(slot: Slot, n: number, Type: { new (n: number): T }): T {
    let buf = this.buffers[slot] as T | undefined;
    if (!buf || buf.length < n) this.buffers[slot] = buf = new Type(Math.max(n, 2 * (buf?.length ?? 0), 16));
    // Views of the exact length: consumers check lengths against the batch's shape.
    return (buf.length === n ? buf : buf.subarray(0, n)) as T;
  }
}

function grow(a: Int32Array, length: number): Int32Array {
  const b = new Int32Array(length);
  b.set(a);
  return b;
}
