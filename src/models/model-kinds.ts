import { fnv1a32 } from '../util/fnv.js';
import { mix32 } from '../util/rng.js';
import type { DenseSpec } from './dense.js';

/**
 * A CVR model is a set of components, each an embedding collection plus a dense net, trained on
 * its own slice of the data with its own target; their outputs combine into pCTR, pCVR, pCTCVR.
 * These are the seven models of the ESMM paper's Table 2 (Ma et al. 2018), all with the same
 * Embedding&MLP base:
 *
 * - esmm: ONE component with shared embeddings and two towers; loss CE(click, pCTR) +
 *   CE(click AND conversion, pCTR x pCVR); no direct CVR loss.
 * - esmm-ns: ESMM without sharing the embeddings between the towers (the paper's ablation): each
 *   tower reads its own embedding vectors (dense.ts, kind 'esmm-ns').
 * - base: a CVR net trained on clicked impressions only (target: conversion), and an independently
 *   trained CTR net of the same shape on all impressions (target: click); pCTCVR = pCTR x pCVR.
 *   Every model below has this CTR net ('ctr', identical for the same seed) for its pCTR.
 * - aman: BASE whose CVR net also trains on a fraction `amanRate` of the UNclicked impressions as
 *   negatives: "all missing as negative" (Pan et al. 2008, one-class collaborative filtering) with negative
 *   sampling; an unclicked impression has no observed conversion, so it counts as a non-conversion.
 * - oversampling: BASE whose CVR net sees every conversion `oversamplingCopies` times.
 * - unbias: BASE whose CVR net trains on the clicked impressions kept by rejection sampling with
 *   the CTR net's pCTR (component-data.ts, `rejectByPctr`), which undoes the click selection.
 * - division: the CTR net and a CTCVR net (target click AND conversion, all impressions), trained
 *   separately; pCVR = pCTCVR / pCTR clamped to [0, 1].
 */
export type ModelKind = 'esmm' | 'base' | 'aman' | 'oversampling' | 'unbias' | 'division' | 'esmm-ns';
export const MODEL_KINDS: readonly ModelKind[] = ['esmm', 'base', 'aman', 'oversampling', 'unbias', 'division', 'esmm-ns'];

/** What a component learns. */
export type Target =
  | 'esmm' // click and click AND conversion, through the two towers
  | 'click'
  | 'conversion'
  | 'ctcvr'; // click AND conversion, one tower (DIVISION)

/** Which impressions a component trains on, before sampling. */
export type SampleFilter = 'all' | 'clicked';

/**
 * How the filtered impressions are sampled for training (component-data.ts applies it). Random
 * samplings carry their seed, derived from the model seed, so a run is reproducible.
 */
export type Sampling =
  | { kind: 'none' }
  /** Keep every clicked impression and each unclicked one with probability `rate` (AMAN). */
  | { kind: 'unclicked-negatives'; rate: number; seed: number }
  /** Every conversion `copies` times, every other impression once (OVERSAMPLING). */
  | { kind: 'copy-conversions'; copies: number }
  /**
   * Keep an impression with probability min(1, c / pCTR), pCTR from the trained component
   * `ctrComponent` and c the `quantile` of pCTR over the filtered impressions (UNBIAS).
   */
  | { kind: 'reject-by-pctr'; quantile: number; ctrComponent: string; seed: number };

export interface ComponentDef {
  name: string;
  dense: DenseSpec;
  target: Target;
  filter: SampleFilter;
  sampling: Sampling;
}

export interface DenseShape {
  inputDim: number;
  hidden: number[];
  dropout: number;
}

/** The baselines' sampling parameters (the paper searched each over a grid; see SAMPLING_DEFAULTS). */
export interface SamplingOptions {
  /** AMAN: fraction of the unclicked impressions used as negatives (paper's grid 0.1, 0.2, 0.5, 1). */
  amanRate: number;
  /** OVERSAMPLING: how many times each conversion is seen (paper's grid 2, 3, 5, 10). */
  oversamplingCopies: number;
  /** UNBIAS: c = this quantile of pCTR over the clicked impressions. */
  unbiasQuantile: number;
}

/**
 * - amanRate 0.1: the cheapest point of the paper's grid; at 4% CTR it already adds ~2.4
 *   unclicked negatives per clicked impression, which is what makes AMAN's pCVR lean towards pCTCVR.
 * - oversamplingCopies 5: the middle of the paper's grid {2, 3, 5, 10} on a log scale.
 * - unbiasQuantile 0.1: the rejection sampling is exact where pCTR >= c, i.e. for 90% of the clicked
 *   impressions; the lowest-pCTR 10% are always kept and stay under-represented. A lower quantile is
 *   exact over more of the space but keeps fewer impressions (about c · E[1 / pCTR] of them).
 */
export const SAMPLING_DEFAULTS: Readonly<SamplingOptions> = { amanRate: 0.1, oversamplingCopies: 5, unbiasQuantile: 0.1 };

/** The kinds whose training data depends on SamplingOptions (a saved model records them). */
export const SAMPLED_KINDS: readonly ModelKind[] = ['aman', 'oversampling', 'unbias'];

export function validateSampling(o: SamplingOptions): void {
  const bad = (what: string): never => {
    throw new Error(`invalid sampling option: ${what}`);
  };
  if (!(o.amanRate > 0 && o.amanRate <= 1)) bad(`AMAN rate must be in (0, 1] (got ${o.amanRate})`);
  if (!Number.isInteger(o.oversamplingCopies) || o.oversamplingCopies < 1 || o.oversamplingCopies > 1000)
    bad(`OVERSAMPLING copies must be an integer in [1, 1000] (got ${o.oversamplingCopies})`);
  if (!(o.unbiasQuantile > 0 && o.unbiasQuantile <= 1)) bad(`UNBIAS quantile must be in (0, 1] (got ${o.unbiasQuantile})`);
}

/** The name every model with a separately trained CTR net gives it (a shared CTR net keeps it). */
export const CTR_COMPONENT = 'ctr';

/**
 * The components of a model kind. `embeddingDim` is the feature spec's (ESMM-NS lays out its
 * per-tower embeddings with it); `seed` is the model's (random samplings derive theirs from it).
 */
export function componentsOf(
  kind: ModelKind,
  shape: DenseShape,
  opts: { embeddingDim: number; seed: number; sampling?: Partial<SamplingOptions> },
): ComponentDef[] {
  const sampling = { ...SAMPLING_DEFAULTS, ...opts.sampling };
  const seed = mix32(opts.seed ^ fnv1a32(`${kind}:sampling`));
  validateSampling(sampling);
  const single: DenseSpec = { kind: 'single', ...shape };
  const none: Sampling = { kind: 'none' };
  const ctr: ComponentDef = { name: CTR_COMPONENT, dense: single, target: 'click', filter: 'all', sampling: none };
  const cvr = (filter: SampleFilter, s: Sampling): ComponentDef[] => [
    ctr,
    { name: 'cvr', dense: single, target: 'conversion', filter, sampling: s },
  ];
  switch (kind) {
    case 'esmm':
      return [{ name: 'esmm', dense: { kind: 'esmm', ...shape }, target: 'esmm', filter: 'all', sampling: none }];
    case 'esmm-ns':
      return [
        {
          name: 'esmm-ns',
          // Per field, x holds the CTR tower's vector, then the CVR tower's: twice the width.
          dense: { kind: 'esmm-ns', ...shape, inputDim: 2 * shape.inputDim, fieldDim: opts.embeddingDim },
          target: 'esmm',
          filter: 'all',
          sampling: none,
        },
      ];
    case 'base':
      return cvr('clicked', none);
    case 'aman':
      return cvr('all', { kind: 'unclicked-negatives', rate: sampling.amanRate, seed });
    case 'oversampling':
      return cvr('clicked', { kind: 'copy-conversions', copies: sampling.oversamplingCopies });
    case 'unbias':
      return cvr('clicked', { kind: 'reject-by-pctr', quantile: sampling.unbiasQuantile, ctrComponent: CTR_COMPONENT, seed });
    case 'division':
      return [ctr, { name: 'ctcvr', dense: single, target: 'ctcvr', filter: 'all', sampling: none }];
  }
}

export function parseModelKind(s: string): ModelKind {
  const k = s.toLowerCase();
  if ((MODEL_KINDS as readonly string[]).includes(k)) return k as ModelKind;
  throw new Error(`unknown model '${s}': choose one of ${MODEL_KINDS.join(', ')}`);
}
