/**
 * Writes the batches our trainer sees, hashed and jagged, for the PyTorch peer: one epoch of the
 * train split in training order (shuffled blocks, group-wise shuffled samples) and the test split
 * in file order. Layout per batch, little-endian: int32 B, G, sample entries, group entries; then
 * click f32[B], conversion f32[B], groupOf i32[B], sample offsets i32[F*B+1], rows i32, weights f32,
 * group offsets i32[F*G+1], rows i32, weights f32.
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BatchBuilder } from '../src/data/batch/batcher.js';
import type { Batch } from '../src/data/batch/jagged-types.js';
import type { PreparedSplit } from '../src/data/cache/prepare.js';
import type { FeatureSpec } from '../src/features/spec-types.js';
import { sampleOrder, type ShuffleMode } from '../src/train/shuffle.js';
import { Rng } from '../src/util/rng.js';

export function exportBatches(
  outDir: string,
  spec: FeatureSpec,
  train: PreparedSplit,
  test: PreparedSplit,
  opts: { batchSize: number; seed: number; shuffle: ShuffleMode },
): void {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, 'meta.json'),
    JSON.stringify({
      dim: spec.embeddingDim,
      tables: spec.tables,
      fields: spec.fields.map((f) => ({ name: f.name, table: spec.tables.findIndex((t) => t.name === f.table) })),
    }),
  );
  const rng = new Rng(opts.seed);
  writeSplit(join(outDir, 'train.bin'), spec, train, opts.batchSize, (n) => rng.shuffle(Int32Array.from({ length: n }, (_, i) => i)), (b) => sampleOrder(b, rng, opts.shuffle));
  writeSplit(join(outDir, 'test.bin'), spec, test, 4096, (n) => Int32Array.from({ length: n }, (_, i) => i), (b) => Int32Array.from({ length: b.count }, (_, i) => i));
}

function writeSplit(
  path: string,
  spec: FeatureSpec,
  split: PreparedSplit,
  batchSize: number,
  blockOrder: (n: number) => Int32Array,
  order: (b: ReturnType<PreparedSplit['readBlock']>) => Int32Array,
): void {
  const builder = new BatchBuilder(spec, split.fieldNames, split.groups);
  const fd = openSync(path, 'w');
  try {
    for (const bi of blockOrder(split.numBlocks)) {
      const block = split.readBlock(bi);
      const o = order(block);
      for (let s = 0; s < block.count; s += batchSize) writeBatch(fd, builder.build(block, o, s, Math.min(block.count, s + batchSize)));
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
