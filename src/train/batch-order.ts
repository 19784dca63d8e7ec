import { BatchBuilder } from '../data/batch/batcher.js';
import type { Batch } from '../data/batch/jagged-types.js';
import type { SampleSource } from '../data/sample-source.js';
import type { FeatureSpec } from '../features/spec-types.js';
import { fnv1a32 } from '../util/fnv.js';
import { Rng, mix32 } from '../util/rng.js';
import { sampleOrder, type ShuffleMode } from './shuffle.js';

/**
 * The order in which the trainer visits a component's data, shared by the trainer and by anything
 * that must see the same batches (the PyTorch peer's export in bench/export-batches.ts), so the
 * two cannot drift apart. Per epoch, from one generator per component: the block order
 * (`drawBlockOrder`), then, as each block is reached, its sample order (`sampleOrder`).
 */

/** The generator of a component's data order: a function of the training seed and the component's name. */
export function dataOrderRng(seed: number, component: string): Rng {
  return new Rng(mix32(seed ^ 0x2545f491) ^ fnv1a32(component));
}

/** One epoch's block order, drawn from `rng` at the start of the epoch. */
export function drawBlockOrder(rng: Rng, numBlocks: number): Int32Array {
  return rng.shuffle(Int32Array.from({ length: numBlocks }, (_, i) => i));
}

/**
 * The batches trainModel trains `component` on, in its order, for `epochs` whole epochs from the
 * start (no resume, no early stopping): the same draws from the same generator, the same cuts of
 * each block into batches of `batchSize`. `source` is the component's slice of the data
 * (trainingSource in component-data.ts; for ESMM the data itself).
 */
export function* trainingBatches(
  spec: FeatureSpec,
  source: SampleSource,
  component: string,
  config: { seed: number; batchSize: number; epochs: number; shuffle?: ShuffleMode },
): Generator<Batch> {
  const builder = new BatchBuilder(spec, source.fieldNames, source.groups);
  const rng = dataOrderRng(config.seed, component);
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    for (const b of drawBlockOrder(rng, source.numBlocks)) {
      const block = source.readBlock(b);
      const positions = sampleOrder(block, rng, config.shuffle ?? 'group');
      for (let s = 0; s < block.count; s += config.batchSize) yield builder.build(block, positions, s, Math.min(block.count, s + config.batchSize));
    }
  }
}
