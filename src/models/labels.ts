/**
 * The labels a training graph can read with g.label(name), each computed from a batch: the graph
 * names what it learns, and the runtime feeds exactly those.
 */
import type { Batch } from '../data/batch/jagged-types.js';

export const LABELS = {
  /** 1 when the impression was clicked. */
  click: (b: Batch): Float32Array => b.click,
  /** 1 when it converted (only a clicked impression can). */
  conversion: (b: Batch): Float32Array => b.conversion,
  /** click AND conversion over all impressions: what pCTCVR estimates. */
  ctcvr: (b: Batch): Float32Array => {
    const y = new Float32Array(b.size);
    for (let i = 0; i < b.size; i++) y[i] = b.click[i]! * b.conversion[i]!;
    return y;
  },
} as const satisfies Record<string, (b: Batch) => Float32Array>;

export type LabelName = keyof typeof LABELS;

export function isLabelName(name: string): name is LabelName {
  return Object.hasOwn(LABELS, name);
}

/** The labels `names` of a batch, by name; an unknown name is refused with the known ones. */
export function labelsOf(batch: Batch, names: readonly string[]): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const name of names) {
    if (!isLabelName(name)) throw new Error(`unknown label '${name}': a graph can read ${Object.keys(LABELS).join(', ')}`);
    out[name] = LABELS[name](batch);
  }
  return out;
}
