/** Test helpers of the sparse side: a spec with every pooling variant, and random batches for it. */
import type { Batch, KeyedJagged } from '../data/batch/jagged-types.js';
import type { FeatureSpec } from '../features/spec-types.js';
import type { Rng } from '../util/rng.js';

/** Every pooling variant, two shared tables, and a field that never has entries (dim 4). */
export const POOLING_SPEC: FeatureSpec = {
  format: 'esmm-feature-spec',
  version: 1,
  embeddingDim: 4,
  tables: [
    { name: 'A', buckets: 60 },
    { name: 'S', buckets: 40 },
    { name: 'M', buckets: 30 },
  ],
  fields: [
    { name: 'a', table: 'A', pooling: 'sum', weighted: false },
    { name: 's1', table: 'S', pooling: 'sum', weighted: true },
    { name: 's2', table: 'S', pooling: 'mean', weighted: true },
    { name: 'm1', table: 'M', pooling: 'mean', weighted: false },
    { name: 'm2', table: 'M', pooling: 'sum', weighted: true },
    { name: 'empty', table: 'A', pooling: 'mean', weighted: false },
  ],
};

/** [field][row] -> list of [embedding row, weight], as a field-major KeyedJagged. */
export function jagged(cells: [number, number][][][], numRows: number): KeyedJagged {
  const offsets = [0];
  const rows: number[] = [];
  const weights: number[] = [];
  for (const perRow of cells) {
    for (const entries of perRow) {
      for (const [row, w] of entries) {
        rows.push(row);
        weights.push(w);
      }
      offsets.push(rows.length);
    }
  }
  return { numFields: cells.length, numRows, offsets: Int32Array.from(offsets), rows: Int32Array.from(rows), weights: Float32Array.from(weights) };
}

/** The inverse of jagged(): [field][row] -> list of [embedding row, weight]. */
export function cellsOf(part: KeyedJagged): [number, number][][][] {
  const { numFields, numRows, offsets, rows, weights } = part;
  return Array.from({ length: numFields }, (_, f) =>
    Array.from({ length: numRows }, (_, r) => {
      const out: [number, number][] = [];
      for (let e = offsets[f * numRows + r]!; e < offsets[f * numRows + r + 1]!; e++) out.push([rows[e]!, weights[e]!]);
      return out;
    }),
  );
}

/**
 * A random batch for `spec`: up to maxEntries entries per field and row (none for a field named
 * "empty"), weighted fields with weights in [0, 2) (a fifth of them 0), samples in random groups.
 */
export function randomPoolingBatch(spec: FeatureSpec, rng: Rng, size: number, numGroups: number, maxEntries: number): Batch {
  const tableOfField = spec.fields.map((f) => spec.tables.findIndex((t) => t.name === f.table));
  const part = (numRows: number) =>
    jagged(
      spec.fields.map((field, f) =>
        Array.from({ length: numRows }, () =>
          field.name === 'empty'
            ? []
            : Array.from({ length: rng.int(maxEntries + 1) }, (): [number, number] => [
                rng.int(spec.tables[tableOfField[f]!]!.buckets),
                field.weighted ? (rng.int(5) === 0 ? 0 : Math.fround(rng.next() * 2)) : 1,
              ]),
        ),
      ),
      numRows,
    );
  return {
    size,
    sampleIds: new Float64Array(size),
    click: new Float32Array(size),
    conversion: new Float32Array(size),
    samples: part(size),
    groups: part(numGroups),
    groupOf: Int32Array.from({ length: size }, () => rng.int(numGroups + 1) - 1),
  };
}
