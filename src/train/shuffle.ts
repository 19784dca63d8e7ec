import type { SampleBlock } from '../data/types.js';
import type { Rng } from '../util/rng.js';

/**
 * How a block's samples are ordered for one epoch.
 * - 'group': each group's samples (Ali-CCP common feature rows: one user session each, tens of
 *   impressions) are shuffled and cut into runs of at most `chunk` samples, and the runs of the
 *   whole block are shuffled. A batch of 1,024 then holds ~130 groups instead of ~750, so their
 *   hundreds of common features are pooled and updated once per run instead of once per
 *   impression. Measured on the 1M-impression demo data (2 seeds each): whole sessions together
 *   (no cut) trained 2.2x faster than 'sample' but lost ~0.008 CTR AUC; runs of 8 kept the AUCs of
 *   'sample' (CTR -0.001, CVR +0.009, CTCVR +0.001) at 1.6x its speed.
 * - 'sample': every sample independently (each batch touches about as many groups as samples).
 */
export type ShuffleMode = 'group' | 'sample';
export const SHUFFLE_MODES: readonly ShuffleMode[] = ['group', 'sample'];

/** Longest run of one group's samples in 'group' order. */
export const GROUP_CHUNK = 8;

export function sampleOrder(block: SampleBlock, rng: Rng, mode: ShuffleMode, chunk = GROUP_CHUNK): Int32Array {
  const n = block.count;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  switch (mode) {
    case 'sample':
      return rng.shuffle(order);
    case 'group':
      return shuffleRuns(groupOrder(block, rng, order), block, rng, chunk);
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

/** Cuts a group-contiguous order into runs of at most `chunk` samples of one group, in random order. */
function shuffleRuns(order: Int32Array, block: SampleBlock, rng: Rng, chunk: number): Int32Array {
  const n = order.length;
  const starts: number[] = [];
  for (let i = 0, runStart = 0; i < n; i++) {
    if (i === runStart || block.group[order[i]!] !== block.group[order[runStart]!] || i - runStart === chunk) {
      starts.push(i);
      runStart = i;
    }
  }
  const runs = rng.shuffle(Int32Array.from(starts.keys()));
  const out = new Int32Array(n);
  let k = 0;
  for (const r of runs) {
    const end = r + 1 < starts.length ? starts[r + 1]! : n;
    out.set(order.subarray(starts[r]!, end), k);
    k += end - starts[r]!;
  }
  return out;
}
