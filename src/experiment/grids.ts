/**
 * The grids `esmm experiment --tune` searches, declared here and nowhere else: the learning rate
 * for every model, and one knob per model, the first entry of KNOB_GRIDS whose option its kind
 * reads (ModelDef.reads: a multi-task kind reads its backbone's and objective's options only), so
 * DCMT searches its constraint weight and not the cvrWeight it also reads (constraintWeight comes
 * first), MMoE its experts. No kind is named here: a new kind that reads one of these options is
 * searched by it.
 *
 * The search, per model and run (experiment/tune.ts): the learning rates first, at the knob's
 * default; then the knob's other values at the best learning rate. The chosen point is the best of
 * all the points trained, by SELECTION_METRIC on the validation split.
 */
import { flagName, type HyperRecord, type HyperValue } from '../models/hyper.js';
import { modelDef, type ModelKind } from '../models/registry.js';
import { resolveHyper } from '../models/hyper.js';

/** The learning rates searched for every model. */
export const LR_GRID: readonly number[] = [3e-4, 1e-3, 3e-3];

export interface KnobGrid {
  /** The hyper-parameter's name in the kinds' declarations (models/hyper.ts). */
  param: string;
  values: readonly HyperValue[];
  /** Where the grid comes from. */
  source: string;
}

/** In order of precedence: a model searches the first one it declares and reads. */
export const KNOB_GRIDS: readonly KnobGrid[] = [
  { param: 'amanRate', values: [0.1, 0.2, 0.5, 1.0], source: 'AMAN: the ESMM paper, section 4.2 (its grid of the negative sampling rate)' },
  { param: 'oversamplingCopies', values: [2, 3, 5, 10], source: 'OVERSAMPLING: the ESMM paper, section 4.2 (its grid of k)' },
  { param: 'unbiasQuantile', values: [0.05, 0.1, 0.2, 0.5], source: 'UNBIAS: the quantile c of pCTR that bounds the acceptance; our grid around the default 0.1' },
  { param: 'alpha', values: [0.2, 0.6, 1.0], source: 'AITM: the calibrator weight α around the authors\' 0.6' },
  { param: 'constraintWeight', values: [0.001, 0.01, 0.1], source: 'DCMT: the constraint weight λ from the unverified 0.001 up by decades' },
  { param: 'cvrWeight', values: [0.1, 0.5, 1.0], source: 'ESCM²: the counterfactual CVR loss weight λc around PaddleRec\'s 0.5' },
  { param: 'experts', values: [4, 8], source: 'MMoE: half and all of torch-rechub\'s 8 experts' },
  { param: 'levels', values: [1, 2], source: 'PLE: CGC (one level) and the paper\'s two' },
];

/** The validation metric every model is chosen by (an EvalResult key: pCVR on clicked validation impressions; higher is better). */
export const SELECTION_METRIC = 'cvr_auc';

/** One model's search: the learning rates, and its knob (null when it has none). */
export interface TuningPlan {
  lrs: readonly number[];
  knob: { param: string; flag: string; values: readonly HyperValue[]; start: HyperValue } | null;
}

/**
 * The plan for `kind` with hyper-parameters `hyper` (resolved; the knob's value there is where
 * the learning-rate stage holds it, and must be one of its grid's values).
 */
export function tuningPlan(kind: ModelKind, hyper: HyperRecord): TuningPlan {
  const knob = knobOf(kind, hyper);
  if (!knob) return { lrs: LR_GRID, knob: null };
  const def = modelDef(kind);
  const p = def.hyper[knob.param]!;
  const start = hyper[knob.param] ?? p.default;
  if (!knob.values.some((v) => sameValue(v, start)))
    throw new Error(
      `--tune searches --${flagName(knob.param, p)} over ${knob.values.join(', ')} for ${kind}, starting from its value ${String(start)}, which is not in that grid: drop --${flagName(knob.param, p)}`,
    );
  return { lrs: LR_GRID, knob: { param: knob.param, flag: flagName(knob.param, p), values: knob.values, start } };
}

/** The knob `kind` searches with options `hyper`: the first grid whose option it reads. */
export function knobOf(kind: ModelKind, hyper: HyperRecord): KnobGrid | null {
  const def = modelDef(kind);
  const read = def.reads?.(resolveHyper(def.hyper, hyper, kind)) ?? Object.keys(def.hyper);
  return KNOB_GRIDS.find((grid) => read.includes(grid.param)) ?? null;
}

/** Trainings of one model's search: every learning rate, then the knob's other values. */
export function trainingsOf(plan: TuningPlan): number {
  return plan.lrs.length + (plan.knob ? plan.knob.values.length - 1 : 0);
}

export function sameValue(a: HyperValue, b: HyperValue): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
