import { fileOrderBatches } from '../data/batch/file-order.js';
import type { Batch } from '../data/batch/jagged-types.js';
import type { SampleSource } from '../data/sample-source.js';
import type { SampleBlock } from '../data/types.js';
import type { CvrModel, Predictions } from '../models/cvr-model.js';
import { embeddingThreadByDefault } from '../sparse/embedding-thread.js';
import { Progress } from '../util/progress.js';

export interface PredictAllOptions {
  batchSize?: number;
  quiet?: boolean;
  label?: string;
  /** Pool on two threads (EmbeddingThread); default: when the machine has 2 or more cores. */
  embeddingThreads?: boolean;
}

/**
 * Runs the model over every sample of the source in file order and hands each batch's
 * predictions, with the block and the positions they came from, to `visit`.
 */
export async function predictAll(
  model: CvrModel,
  source: SampleSource,
  visit: (p: Predictions, batch: Batch, block: SampleBlock, start: number) => void | Promise<void>,
  opts: PredictAllOptions = {},
): Promise<void> {
  const batchSize = opts.batchSize ?? 4096;
  const progress = new Progress({
    label: opts.label ?? 'predict',
    total: source.numSamples,
    unit: 'samples',
    quiet: opts.quiet ?? false,
  });
  const threads = (opts.embeddingThreads ?? embeddingThreadByDefault()) ? await model.startEmbeddingThreads() : undefined;
  try {
    for (const { batch, block, start } of fileOrderBatches(source, model.config.spec, batchSize)) {
      const p = await model.predict(batch, threads);
      await visit(p, batch, block, start);
      progress.tick(batch.size);
    }
  } finally {
    for (const t of threads?.values() ?? []) await t.close();
  }
  progress.finish();
}
