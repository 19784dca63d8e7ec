import type { SampleBlock } from '../data/types.js';
import type { Rng } from '../util/rng.js';

/**
 * How a block's samples are ordered for one epoch.
 * - 'group': the block's groups (Ali-CCP common feature rows: one user session each, tens of
 *   impressions) in random order, each group's samples together in random order. A batch then
 *   holds a few dozen groups, so their hundreds of common features are pooled and updated once
 *   per group instead of once per impression; batches still mix many users.
 * - 'sample': every sample independently (each batch touches ~as many groups as samples).
 */
export type ShuffleMode = 'group' | 'sample';
export const SHUFFLE_MODES: readonly ShuffleMode[] = ['group', 'sample'];

export function sampleOrder(block: SampleBlock, rng: Rng, mode: ShuffleMode): Int32Array {
  const n = block.count;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  switch (mode) {
    case 'sample':
      return rng.shuffle(order);
    case 'group':
      return groupOrder(block, rng, order);
  }
}

/** Counting sort of the positions by a random rank per group; samples without a group stand alone. */
function groupOrder(block: SampleBlock, rng: Rng, positions: Int32Array): Int32Array {
  const n = block.count;
  const local = new Map<number, number>();
  const bucketOf = new Int32Array(n);
  let buckets = 0;
  for (let i = 0; i < n; i++) {
    const g = block.group[i]!;
    if (g < 0) {
      bucketOf[i] = buckets++;
      continue;
    }
    let b = local.get(g);
    if (b === undefined) {
      b = buckets++;
      local.set(g, b);
    }
    bucketOf[i] = b;
  }
  const rank = rng.shuffle(Int32Array.from({ length: buckets }, (_, i) => i));
  const start = new Int32Array(buckets + 1);
  for (let i = 0; i < n; i++) start[rank[bucketOf[i]!]! + 1]!++;
  for (let r = 0; r < buckets; r++) start[r + 1]! += start[r]!;
  const fill = start.slice(0, buckets);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[fill[rank[bucketOf[i]!]!]!++] = positions[i]!;
  // Shuffle within each group, so its samples do not always come in file order.
  for (let r = 0; r < buckets; r++) rng.shuffle(out.subarray(start[r]!, start[r + 1]!));
  return out;
}
