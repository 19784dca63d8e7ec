/**
 * Parts several model kinds share: the paper's tower hyper-parameters, a single-tower net that
 * learns one label, and the CTR net of the paper's baselines.
 */
import type { GraphBuilder } from '../nn/graph.js';
import { fnv1a32 } from '../util/fnv.js';
import { mix32 } from '../util/rng.js';
import { mul, prediction, ref, type Combination, type Expr } from './combine.js';
import type { ComponentDef, DenseArch, SampleFilter, Sampling } from './definition.js';
import { dropoutRate, layers } from './hyper.js';
import { towerLogit } from './layers.js';
import type { LabelName } from './labels.js';
import { logitCrossEntropy } from './losses.js';

/** The paper's towers: 360-200-80, ReLU. */
export const DEFAULT_HIDDEN: readonly number[] = [360, 200, 80];

/** Hyper-parameters of every model built from the paper's towers. */
export const TOWER_HYPER = {
  hidden: layers(DEFAULT_HIDDEN, 'tower hidden layer sizes'),
  dropout: dropoutRate(),
} as const;

export interface TowerShape {
  hidden: readonly number[];
  dropout: number;
}

/** The name every model with a separately trained CTR net gives it (the experiment shares it by that name). */
export const CTR_COMPONENT = 'ctr';

/** One tower over x to a logit, p = sigmoid(logit); loss CE(label, p). Parameters net.w0, net.b0, ... */
export function singleTower(label: LabelName, shape: TowerShape): DenseArch {
  return {
    forward: (g: GraphBuilder, x: string) => {
      const logit = towerLogit(g, 'net', x, shape.hidden, shape.dropout);
      return { p: g.sigmoid(logit, 'p'), _logit: logit };
    },
    loss: (g, v) => logitCrossEntropy(g, v._logit!, g.label(label)),
  };
}

/** A single-tower component: what it learns, from which impressions. */
export function singleTowerComponent(name: string, label: LabelName, shape: TowerShape, filter: SampleFilter, sampling: Sampling): ComponentDef {
  return {
    name,
    dense: singleTower(label, shape),
    embeddingCopies: 1,
    filter,
    sampling,
    signature: { arch: 'single-tower', label, hidden: shape.hidden, dropout: shape.dropout, filter, sampling },
  };
}

/** The baselines' CTR net: a single tower learning click over all impressions. */
export function ctrNet(shape: TowerShape): ComponentDef {
  return singleTowerComponent(CTR_COMPONENT, 'click', shape, 'all', { kind: 'none' });
}

/** The seed of a kind's random sampling, from the model seed. */
export function samplingSeed(kind: string, seed: number): number {
  return mix32(seed ^ fnv1a32(`${kind}:sampling`));
}

/** The baselines' predictions: pCTR from the CTR net, pCVR from `cvr`'s p, pCTCVR = pCTR × pCVR. */
export function ctrTimesCvr(cvr: Expr): Combination {
  return { pctr: ref(CTR_COMPONENT, 'p'), pcvr: cvr, pctcvr: mul(prediction('pctr'), prediction('pcvr')) };
}
