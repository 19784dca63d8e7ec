/**
 * `esmm experiment --tune`: one model's grid search on the validation split (grids.ts has the
 * grids and the plan). The learning rates are trained first with the knob at its starting value,
 * then the knob's other values at the best learning rate so far; every point is a model trained
 * on the training side and scored on the validation side, and the best of all the points trained
 * is kept (alive, for the test evaluation) while the others are released as soon as they lose.
 */
import type { HyperValue } from '../models/hyper.js';
import type { EarlyStoppingSummary } from '../train/early-stopping.js';
import type { EvalResult } from '../train/evaluate.js';
import { SELECTION_METRIC, sameValue, type TuningPlan } from './grids.js';

/** What early stopping chose for one component (model.json records the same). */
export type ComponentStopping = EarlyStoppingSummary & { component: string };

/** One trained point of a grid search, scored on the validation split. */
export interface TrainedPoint {
  /** The model's metrics on the validation split (the selection reads SELECTION_METRIC). */
  validation: EvalResult;
  trainSeconds: number;
  trainedSamples: number;
  /** Per own component, with epochs 'auto'. */
  earlyStopping: ComponentStopping[] | null;
}

/** Where one point of the grid is. */
export interface GridPoint {
  /** 'lr': the learning-rate stage (knob at its start); 'knob': the knob stage (at the best learning rate). */
  stage: 'lr' | 'knob';
  lr: number;
  /** The knob's value at this point; null for a model without a knob. */
  knob: HyperValue | null;
}

/** The index of the best value: the highest, NaN below every number, the first of equals. */
export function bestIndex(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) {
    const v = values[i]!;
    const b = values[best]!;
    if (Number.isNaN(b) ? !Number.isNaN(v) : v > b) best = i;
  }
  return best;
}

export interface SearchResult<M> {
  /** The chosen point's model (the caller evaluates it on test, then releases it). */
  model: M;
  points: (GridPoint & TrainedPoint)[];
  chosen: number;
}

/**
 * Runs the plan: `train` trains and scores one point (its model is returned alive), `release`
 * frees a model that is no longer the best.
 */
export async function searchGrid<M>(
  plan: TuningPlan,
  train: (point: GridPoint) => Promise<{ model: M; result: TrainedPoint }>,
  release: (model: M) => Promise<void>,
): Promise<SearchResult<M>> {
  const points: (GridPoint & TrainedPoint)[] = [];
  let best: M | null = null;
  const score = (i: number) => points[i]!.validation[SELECTION_METRIC];
  const visit = async (point: GridPoint) => {
    const { model, result } = await train(point);
    points.push({ ...point, ...result });
    const chosen = bestIndex(points.map((_, i) => score(i)));
    if (chosen === points.length - 1) {
      if (best !== null) await release(best);
      best = model;
    } else {
      await release(model);
    }
  };
  try {
    const start = plan.knob?.start ?? null;
    for (const lr of plan.lrs) await visit({ stage: 'lr', lr, knob: start });
    if (plan.knob) {
      const lr = points[bestIndex(points.map((_, i) => score(i)))]!.lr;
      for (const value of plan.knob.values) if (!sameValue(value, plan.knob.start)) await visit({ stage: 'knob', lr, knob: value });
    }
  } catch (e) {
    if (best !== null) await release(best);
    throw e;
  }
  return { model: best!, points, chosen: bestIndex(points.map((_, i) => score(i))) };
}
