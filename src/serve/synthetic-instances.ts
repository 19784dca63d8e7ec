/**
 * Instances made up for checks (the ONNX export's self-check, tests): most of their ids land on
 * embedding rows that training touched, so a check that compares two implementations compares
 * real lookups, not zero vectors. Such ids are found by running the hash backwards:
 *   bucketOf(key, salt, buckets) = mix32(key ^ salt) % buckets, and mix32 is a bijection of uint32,
 *   so key = mix32⁻¹(row + j * buckets) ^ salt hits `row` for any j.
 * The rest are padding (-1), string ids, ids of untouched rows, [id, value] pairs with values of
 * either sign (and zero), and empty or missing fields.
 */
import { PADDING_KEY } from '../data/types.js';
import { tableSalt } from '../features/hash.js';
import type { CvrModel } from '../models/cvr-model.js';
import { Rng } from '../util/rng.js';
import type { FeatureEntry, FeatureId, Instance } from './instances.js';

/** Multiplicative inverse of an odd uint32 modulo 2^32 (Newton: each step doubles the correct bits). */
function inverseOdd(c: number): number {
  let inv = c;
  for (let i = 0; i < 5; i++) inv = Math.imul(inv, 2 - Math.imul(c, inv));
  return inv >>> 0;
}

const INV_M1 = inverseOdd(0x85ebca6b);
const INV_M2 = inverseOdd(0xc2b2ae35);

/** The inverse of mix32 (util/rng.ts): invMix32(mix32(x)) = x. */
export function invMix32(h: number): number {
  let x = h >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, INV_M2) >>> 0;
  x = (x ^ (x >>> 13) ^ (x >>> 26)) >>> 0;
  x = Math.imul(x, INV_M1) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** A feature key (never padding) that the table with `salt` and `buckets` rows hashes to `row`. */
export function keyForRow(row: number, salt: number, buckets: number, rng: Rng): number {
  const spread = Math.floor((2 ** 32 - 1 - row) / buckets) + 1;
  for (;;) {
    const key = (invMix32(row + rng.int(spread) * buckets) ^ salt) >>> 0;
    if (key !== PADDING_KEY) return key;
  }
}

export interface SyntheticOptions {
  /** Most entries per field (default 6). */
  maxEntries?: number;
  /** Share of ids that hit a touched row (default 0.7). */
  touchedShare?: number;
}

/** `count` instances for `model` (its spec, and the rows its components' tables hold), from `seed`. */
export function syntheticInstances(model: CvrModel, count: number, seed: number, opts: SyntheticOptions = {}): Instance[] {
  const rng = new Rng(seed);
  const maxEntries = opts.maxEntries ?? 6;
  const touchedShare = opts.touchedShare ?? 0.7;
  const spec = model.config.spec;
  const tableIndex = new Map(spec.tables.map((t, i) => [t.name, i]));
  // Touched rows per (component, table): any component's rows are worth hitting.
  const touched = model.components.map((c) => c.embeddings.tables.map((t) => t.touchedRows()));
  const instances: Instance[] = [];
  for (let i = 0; i < count; i++) {
    const instance: Record<string, FeatureEntry[]> = {};
    for (const field of spec.fields) {
      if (rng.next() < 0.15) continue; // missing field
      const t = tableIndex.get(field.table)!;
      const table = spec.tables[t]!;
      const salt = tableSalt(table.name);
      const entries: FeatureEntry[] = [];
      const n = rng.int(maxEntries + 1);
      for (let e = 0; e < n; e++) {
        const rows = touched[rng.int(touched.length)]![t]!;
        const u = rng.next();
        let id: FeatureId;
        if (u < touchedShare) {
          const key = rows.length > 0 ? keyForRow(rows[rng.int(rows.length)]!, salt, table.buckets, rng) : rng.nextU32() % PADDING_KEY;
          id = rng.next() < 0.8 ? key : String(key);
        } else if (u < touchedShare + 0.08) {
          id = -1;
        } else if (u < touchedShare + 0.16) {
          id = `item-${rng.int(1000)}`;
        } else {
          id = rng.nextU32() % PADDING_KEY;
        }
        if (rng.next() < 0.5) {
          const r = rng.next();
          const value = r < 0.05 ? 0 : r < 0.15 ? -rng.next() : Math.fround(rng.next() * 5);
          entries.push([id, value]);
        } else {
          entries.push(id);
        }
      }
      instance[field.name] = entries;
    }
    instances.push(instance);
  }
  return instances;
}
