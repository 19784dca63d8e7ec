/**
 * The batch size of a component that trains on a selection of the impressions (BASE's CVR net on
 * clicked ones, AMAN's, OVERSAMPLING's, UNBIAS's).
 *
 *   scaled  the batch shrinks with the selection's share of the training impressions, so that the
 *           component takes as many steps per epoch as one trained on all impressions: the pace at
 *           which multi-task code trains a masked loss (each batch of all impressions, each task
 *           learning from its own rows of it). With --batch-size 1024 and 4% clicks, BASE's CVR
 *           net takes batches of ~41 clicked impressions.
 *   full    every component takes --batch-size samples a step, so a component on 4% of the data
 *           takes 25x fewer steps an epoch than one on all of it.
 *
 * A component on all impressions gets --batch-size either way.
 */
export const SLICE_BATCHES = ['scaled', 'full'] as const;
export type SliceBatch = (typeof SLICE_BATCHES)[number];
export const DEFAULT_SLICE_BATCH: SliceBatch = 'scaled';

/** Samples per step of a component whose slice holds `sliceSamples` of the `allSamples` training impressions. */
export function sliceBatchSize(batchSize: number, sliceSamples: number, allSamples: number, mode: SliceBatch): number {
  if (mode === 'full' || sliceSamples >= allSamples || allSamples === 0) return batchSize;
  return Math.max(1, Math.round((batchSize * sliceSamples) / allSamples));
}
