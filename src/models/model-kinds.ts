import type { DenseSpec } from './dense.js';

/**
 * A CVR model is a set of components, each an embedding collection plus a dense net, trained on
 * its own slice of the data with its own target; their outputs combine into pCTR, pCVR, pCTCVR.
 *
 * - esmm: ONE component with shared embeddings and two towers; loss CE(click, pCTR) +
 *   CE(click AND conversion, pCTR x pCVR); no direct CVR loss (Ma et al. 2018).
 * - base: the paper's BASE. A CVR net of the same shape trained on clicked impressions only
 *   (target: conversion), and an independently trained CTR net on all impressions (target:
 *   click); pCTCVR = pCTR x pCVR.
 */
export type ModelKind = 'esmm' | 'base';
export const MODEL_KINDS: readonly ModelKind[] = ['esmm', 'base'];

/** What a component learns. */
export type Target =
  | 'esmm' // click and click AND conversion, through the two towers
  | 'click'
  | 'conversion';

/** Which impressions a component trains on. */
export type SampleFilter = 'all' | 'clicked';

export interface ComponentDef {
  name: string;
  dense: DenseSpec;
  target: Target;
  filter: SampleFilter;
}

export interface DenseShape {
  inputDim: number;
  hidden: number[];
  dropout: number;
}

export function componentsOf(kind: ModelKind, shape: DenseShape): ComponentDef[] {
  const single: DenseSpec = { kind: 'single', ...shape };
  switch (kind) {
    case 'esmm':
      return [{ name: 'esmm', dense: { kind: 'esmm', ...shape }, target: 'esmm', filter: 'all' }];
    case 'base':
      return [
        { name: 'ctr', dense: single, target: 'click', filter: 'all' },
        { name: 'cvr', dense: single, target: 'conversion', filter: 'clicked' },
      ];
  }
}

export function parseModelKind(s: string): ModelKind {
  const k = s.toLowerCase();
  if ((MODEL_KINDS as readonly string[]).includes(k)) return k as ModelKind;
  throw new Error(`unknown model '${s}': choose one of ${MODEL_KINDS.join(', ')}`);
}
