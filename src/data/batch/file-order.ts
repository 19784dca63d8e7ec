/**
 * Every sample of a source in file order, in batches: what evaluation, prediction, validation and
 * inspection walk (training walks its own shuffled order, train/batch-order.ts).
 */
import type { FeatureSpec } from '../../features/spec-types.js';
import type { SampleSource } from '../sample-source.js';
import type { SampleBlock } from '../types.js';
import { BatchBuilder } from './batcher.js';
import type { Batch } from './jagged-types.js';

export interface FileOrderBatch {
  batch: Batch;
  /** The block the batch came from, and the position in it of the batch's first sample. */
  block: SampleBlock;
  start: number;
}

/**
 * The source's samples block by block, each block cut into batches of at most `batchSize` (a batch
 * never spans two blocks). A batch is valid until the next one is taken: the builder reuses its
 * arrays.
 */
export function* fileOrderBatches(source: SampleSource, spec: FeatureSpec, batchSize: number): Generator<FileOrderBatch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer (got ${batchSize})`);
  const builder = new BatchBuilder(spec, source.fieldNames, source.groups);
  let identity = new Int32Array(0);
  for (let b = 0; b < source.numBlocks; b++) {
    const block = source.readBlock(b);
    if (identity.length < block.count) identity = Int32Array.from({ length: block.count }, (_, i) => i);
    for (let start = 0; start < block.count; start += batchSize) {
      yield { batch: builder.build(block, identity, start, Math.min(block.count, start + batchSize)), block, start };
    }
  }
}
