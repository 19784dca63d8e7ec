/**
 * Writes what the PyTorch peer needs to train exactly what our trainer trains, from the same
 * starting point:
 *
 * - train.bin: one epoch (or `epochs`) of the train split as our trainer sees it, batch by batch, in its order:
 *   `trainingBatches` (src/train/batch-order.ts) replays the trainer's own generator, block order
 *   and sample order (tested against the trainer bit for bit), so the export cannot drift from it.
 * - test.bin: the test split in file order, batches of 4096.
 * - init.json + init.bin: our model's initial parameters: every dense parameter (name, dims, values
 *   as the graph stores them, [in, out] for a weight) and, per embedding table, every row the
 *   epoch touches with the initial values our table gives it on first touch (its seeded rule, in
 *   src/sparse/embedding-table.ts). Rows the epoch never touches are not written: our tables pool
 *   them as zeros at inference, and so does the peer.
 *
 * Layout of a batch, little-endian: int32 B, G, sample entries, group entries; then click f32[B],
 * conversion f32[B], groupOf i32[B], sample offsets i32[F*B+1], rows i32, weights f32, group
 * offsets i32[F*G+1], rows i32, weights f32 (offsets field-major: field f's bags are f*B..f*B+B).
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BatchBuilder } from '../src/data/batch/batcher.js';
import type { Batch } from '../src/data/batch/jagged-types.js';
import type { PreparedSplit } from '../src/data/cache/prepare.js';
import type { FeatureSpec } from '../src/features/spec-types.js';
import type { CvrModel } from '../src/models/cvr-model.js';
import { sourceFor } from '../src/train/component-data.js';
import { trainingBatches } from '../src/train/batch-order.js';
import type { ShuffleMode } from '../src/train/shuffle.js';

export interface ExportSummary {
  batches: number;
  samples: number;
  touchedRows: number;
}

/**
 * `model` is a fresh model of one component that trains on all impressions (ESMM, or a multi-task
 * kind such as AITM for bench/reference_multitask.py) built with the config the run trains (same
 * seed): its initial dense parameters are written, and its tables are asked for the touched rows'
 * initial values (this touches them: use a model that will not be trained).
 */
export function exportBatches(
  outDir: string,
  spec: FeatureSpec,
  model: CvrModel,
  train: PreparedSplit,
  test: PreparedSplit,
  opts: { batchSize: number; seed: number; shuffle: ShuffleMode; epochs?: number },
): ExportSummary {
  mkdirSync(outDir, { recursive: true });
  const component = model.components[0]!;
  if (model.components.length !== 1 || component.def.filter !== 'all' || component.def.sampling.kind !== 'none')
    throw new Error('exportBatches: expects a model of one component that trains on all impressions (ESMM, a multi-task kind)');
  writeFileSync(
    join(outDir, 'meta.json'),
    JSON.stringify({
      dim: spec.embeddingDim,
      tables: spec.tables,
      fields: spec.fields.map((f) => ({ name: f.name, table: spec.tables.findIndex((t) => t.name === f.table) })),
    }),
  );
  const fieldTable = spec.fields.map((f) => spec.tables.findIndex((t) => t.name === f.table));
  const touched = spec.tables.map(() => new Set<number>());
  const F = spec.fields.length;
  const note = (rows: Int32Array, offsets: Int32Array, n: number) => {
    for (let f = 0; f < F; f++) {
      const set = touched[fieldTable[f]!]!;
      for (let k = offsets[f * n]!; k < offsets[(f + 1) * n]!; k++) set.add(rows[k]!);
    }
  };
  let batches = 0;
  let samples = 0;
  const source = sourceFor(component.def, train);
  const fd = openSync(join(outDir, 'train.bin'), 'w');
  try {
    for (const b of trainingBatches(spec, source, component.def.name, { seed: opts.seed, batchSize: opts.batchSize, epochs: opts.epochs ?? 1, shuffle: opts.shuffle })) {
      note(b.samples.rows, b.samples.offsets, b.size);
      note(b.groups.rows, b.groups.offsets, b.groups.numRows);
      writeBatch(fd, b);
      batches++;
      samples += b.size;
    }
  } finally {
    closeSync(fd);
  }
  writeTest(join(outDir, 'test.bin'), spec, test);

  // Initial parameters.
  const parts: Uint8Array[] = [];
  let offset = 0;
  const put = (a: Float32Array | Int32Array) => {
    parts.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    const at = offset;
    offset += a.byteLength;
    return at;
  };
  const dense = [...component.net.params].map(([name, p]) => ({ name, dims: p.dims, offset: put(p.data.slice()) }));
  let touchedRows = 0;
  const tables = component.embeddings.tables.map((table, t) => {
    const rows = Int32Array.from(touched[t]!).sort();
    const values = new Float32Array(rows.length * table.dim);
    rows.forEach((r, i) => {
      const at = table.ensure(r);
      values.set(table.data.subarray(at, at + table.dim), i * table.dim);
    });
    touchedRows += rows.length;
    return { name: table.name, count: rows.length, rows: put(rows), values: put(values) };
  });
  const fdInit = openSync(join(outDir, 'init.bin'), 'w');
  try {
    for (const p of parts) writeSync(fdInit, p);
  } finally {
    closeSync(fdInit);
  }
  writeFileSync(join(outDir, 'init.json'), JSON.stringify({ seed: model.config.seed, kind: model.config.kind, hyper: model.config.hyper, dense, tables }));
  return { batches, samples, touchedRows };
}

function writeTest(path: string, spec: FeatureSpec, split: PreparedSplit): void {
  const builder = new BatchBuilder(spec, split.fieldNames, split.groups);
  const fd = openSync(path, 'w');
  try {
    for (let bi = 0; bi < split.numBlocks; bi++) {
      const block = split.readBlock(bi);
      const o = Int32Array.from({ length: block.count }, (_, i) => i);
      for (let s = 0; s < block.count; s += 4096) writeBatch(fd, builder.build(block, o, s, Math.min(block.count, s + 4096)));
    }
  } finally {
    closeSync(fd);
  }
}

function writeBatch(fd: number, b: Batch): void {
  const head = Int32Array.of(b.size, b.groups.numRows, b.samples.rows.length, b.groups.rows.length);
  for (const a of [head, b.click, b.conversion, b.groupOf, b.samples.offsets, b.samples.rows, b.samples.weights, b.groups.offsets, b.groups.rows, b.groups.weights]) {
    writeSync(fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
}
