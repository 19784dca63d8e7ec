/**
 * Objectives: which tasks a multi-task model's towers learn, how their outputs make pCTR, pCVR and
 * pCTCVR, and the loss. o = click, r = conversion (0 when not clicked), y = o ∧ r; e(z, p) is the
 * binary cross-entropy; every loss is a mean over the batch of the per-impression terms below.
 *
 *   independent  towers ctr, ctcvr: pCTR = σ(l_ctr), pCTCVR = σ(l_ctcvr) (a head that learns
 *                click ∧ conversion over all impressions estimates pCTCVR, never pCVR),
 *                pCVR = min(1, pCTCVR / pCTR); loss e(o, pCTR) + e(y, pCTCVR). The anchor
 *                libraries' way on Ali-CCP (torch-rechub, PaddleRec, EasyRec).
 *   esmm         towers ctr, cvr: pCTCVR = pCTR·pCVR; loss e(o, pCTR) + e(y, pCTCVR) (Ma et al. 2018).
 *   escm2-ips    esmm's towers; loss e(o, pCTR) + λc·o·e(r, pCVR)/ô + λg·e(y, pCTCVR), ô = pCTR with
 *                the gradient stopped, 1/ô at most `ipsClip` (Wang et al., SIGIR 2022; PaddleRec
 *                clips its inverse propensity at 15).
 *   escm2-dr     plus an imputation tower imp, ê = σ(l_imp), the predicted error: the CVR term is
 *                ê + o·(e − ê)/ô with ê held fixed, and the imputation term o·(e − ê)²/ô with
 *                e = e(r, pCVR) held fixed, both weighted λc; ô as for IPS. Doubly robust joint
 *                learning trains each model with the other fixed: the CVR tower learns only from the
 *                DR term, the imputation tower only from its own (PaddleRec's code lets the squared
 *                term train the CVR tower too, which raises every pCVR).
 *   dcmt         towers ctr, cvr (factual r̂) and cvr_cf (counterfactual r̂*): loss e(o, pCTR)
 *                + w_cvr·[o·e(r, r̂)/ô + (1 − o)·e(1, r̂*)/(1 − ô) + λ·|1 − (r̂ + r̂*)|]
 *                + w_ctcvr·e(y, pCTR·r̂), ô = pCTR with the gradient stopped, clipped to
 *                [c, 1 − c]; serves the factual r̂ (Zhu et al., ICDE 2023, as NISE restates it).
 *   aitm         towers ctr, ctcvr in sequence: an info layer maps the click tower's output p; the
 *                purchase head reads z = Σ_u w_u h3(u) over u ∈ {q, info(p)}, w = softmax_u(⟨h1(u),
 *                h2(u)⟩ / √d); loss e(o, pCTR) + e(y, pCTCVR) + α·max(pCTCVR − pCTR, 0) (the
 *                behavioural expectation calibrator), pCVR = min(1, pCTCVR / pCTR) (Xi et al., KDD 2021).
 *
 * Each loss is built from named terms (ObjectiveLoss.terms) so that tests can measure which
 * parameters each term reaches (multitask/gradient-reach.test.ts). Each objective is an entry below
 * (part.ts: its tasks, options, description, heads and loss); parts.ts lists them.
 */
import type { GraphBuilder } from '../../nn/graph.js';
import { real } from '../hyper.js';
import { logitLayer, widthOf } from '../layers.js';
import { logitCrossEntropy, probabilityCrossEntropy } from '../losses.js';
import { defineObjective } from './part.js';

/** The objectives' options, each declared once; an objective's entry lists those it reads. */
const OPTIONS = {
  cvrWeight: real(0.5, 'weight of the counterfactual CVR loss (λc, w_cvr)', { min: 0, max: 100 }),
  ctcvrWeight: real(0.5, 'weight of the CTCVR loss (λg, w_ctcvr)', { min: 0, max: 100 }),
  ipsClip: real(15, 'the largest inverse propensity 1/pCTR', { min: 1, max: 1e6 }),
  propensityClip: real(0.05, 'pCTR clipped to [c, 1 - c] as the propensity', { min: 0, max: 0.5, minInclusive: false }),
  constraintWeight: real(0.001, 'weight λ of the counterfactual constraint |1 - (r + r*)|', { min: 0, max: 100 }),
  alpha: real(0.6, 'weight of the behavioural expectation calibrator', { min: 0, max: 100 }),
} as const;

type Values = Readonly<Record<string, string>>;

/** Task `task`'s logit over `h` (default: its tower's last hidden layer). */
function logitOf(g: GraphBuilder, reps: Values, layer: number) {
  return (task: string, h = reps[task]!) => logitLayer(g, task, h, layer, `${task}.logit`);
}

/** pCTR and pCTCVR from their logits, pCVR = min(1, pCTCVR / pCTR): the heads of a CTCVR-learning objective. */
function ratioHeads(g: GraphBuilder, ctr: string, ctcvr: string): Record<string, string> {
  const pctr = g.sigmoid(ctr, 'pctr');
  const pctcvr = g.sigmoid(ctcvr, 'pctcvr');
  return { pctr, pcvr: g.min(g.scalar(1), g.div(pctcvr, pctr), 'pcvr'), pctcvr, _ctr: ctr, _ctcvr: ctcvr };
}

/** pCTR and pCVR from the ctr and cvr towers, pCTCVR = pCTR × pCVR: ESMM's heads. */
function productHeads(g: GraphBuilder, reps: Values, layer: number): Record<string, string> {
  const logit = logitOf(g, reps, layer);
  const ctr = logit('ctr');
  const cvr = logit('cvr');
  const pctr = g.sigmoid(ctr, 'pctr');
  const pcvr = g.sigmoid(cvr, 'pcvr');
  return { pctr, pcvr, pctcvr: g.mul(pctr, pcvr, 'pctcvr'), _ctr: ctr, _cvr: cvr };
}

/** e(o, pCTR), from the CTR logit. */
const ctrLoss = (g: GraphBuilder, v: Values) => logitCrossEntropy(g, v._ctr!, g.label('click'));

/** e(y, pCTCVR) with pCTCVR = pCTR × pCVR, the product clamped as the seed's Keras loss does. */
const productCtcvrLoss = (g: GraphBuilder, v: Values) => probabilityCrossEntropy(g, v.pctcvr!, g.label('ctcvr'));

/** ctr + λc·counterfactual + λg·ctcvr, the sum ESCM² and DCMT weight their terms by. */
function weightedTotal(g: GraphBuilder, ctr: string, counterfactual: string, ctcvr: string, o: { cvrWeight: number; ctcvrWeight: number }): string {
  return g.add(g.add(ctr, g.mul(g.scalar(o.cvrWeight), counterfactual)), g.mul(g.scalar(o.ctcvrWeight), ctcvr));
}

/** ESCM²'s 1/ô: ô = pCTR with its gradient stopped, 1/ô at most `ipsClip`. */
function inversePropensity(g: GraphBuilder, v: Values, ipsClip: number): string {
  return g.div(g.scalar(1), g.max(g.stopGradient(v.pctr!), g.scalar(1 / ipsClip)));
}

export const INDEPENDENT = defineObjective({
  name: 'independent',
  tasks: ['ctr', 'ctcvr'],
  options: {},
  describe: () => 'a CTR head and a CTCVR head over all impressions; pCVR = min(1, pCTCVR / pCTR)',
  heads: (g, reps, layer) => {
    const logit = logitOf(g, reps, layer);
    const ctr = logit('ctr');
    return ratioHeads(g, ctr, logit('ctcvr'));
  },
  loss: (g, v) => {
    const ctr = ctrLoss(g, v);
    const ctcvr = logitCrossEntropy(g, v._ctcvr!, g.label('ctcvr'));
    return { total: g.add(ctr, ctcvr), terms: { ctr, ctcvr } };
  },
});

export const ESMM_OBJECTIVE = defineObjective({
  name: 'esmm',
  tasks: ['ctr', 'cvr'],
  options: {},
  describe: () => 'ESMM\'s objective: pCTCVR = pCTR × pCVR, loss on CTR and CTCVR',
  heads: productHeads,
  loss: (g, v) => {
    const ctr = ctrLoss(g, v);
    const ctcvr = productCtcvrLoss(g, v);
    return { total: g.add(ctr, ctcvr), terms: { ctr, ctcvr } };
  },
});

export const ESCM2_IPS_OBJECTIVE = defineObjective({
  name: 'escm2-ips',
  tasks: ['ctr', 'cvr'],
  options: { cvrWeight: OPTIONS.cvrWeight, ctcvrWeight: OPTIONS.ctcvrWeight, ipsClip: OPTIONS.ipsClip },
  describe: (o) => `ESMM's objective plus the IPS counterfactual CVR loss (λc ${o.cvrWeight}, λg ${o.ctcvrWeight}, 1/pCTR ≤ ${o.ipsClip})`,
  heads: productHeads,
  loss: (g, v, o) => {
    const ctr = ctrLoss(g, v);
    const inverse = inversePropensity(g, v, o.ipsClip);
    const e = logitCrossEntropy(g, v._cvr!, g.label('conversion'));
    const cvr = g.mul(g.mul(g.label('click'), e), inverse);
    const ctcvr = productCtcvrLoss(g, v);
    return { total: weightedTotal(g, ctr, cvr, ctcvr, o), terms: { ctr, cvr, ctcvr } };
  },
});

export const ESCM2_DR_OBJECTIVE = defineObjective({
  name: 'escm2-dr',
  tasks: ['ctr', 'cvr', 'imp'],
  options: { cvrWeight: OPTIONS.cvrWeight, ctcvrWeight: OPTIONS.ctcvrWeight, ipsClip: OPTIONS.ipsClip },
  describe: (o) => `ESMM's objective plus the doubly robust CVR loss and its imputation tower (λc ${o.cvrWeight}, λg ${o.ctcvrWeight})`,
  heads: (g, reps, layer) => {
    const out = productHeads(g, reps, layer);
    out._imp = g.sigmoid(logitOf(g, reps, layer)('imp'));
    return out;
  },
  loss: (g, v, o) => {
    const click = g.label('click');
    const ctr = ctrLoss(g, v);
    const inverse = inversePropensity(g, v, o.ipsClip);
    const e = logitCrossEntropy(g, v._cvr!, g.label('conversion'));
    // ê + o(e − ê)/ô trains the CVR tower with the imputation fixed ...
    const fixedImputation = g.stopGradient(v._imp!);
    const cvr = g.add(fixedImputation, g.mul(g.mul(click, g.sub(e, fixedImputation)), inverse));
    // ... and o(e − ê)²/ô the imputation tower with the prediction's error fixed.
    const err = g.sub(g.stopGradient(e), v._imp!);
    const imputation = g.mul(g.mul(g.mul(click, err), err), inverse);
    const ctcvr = productCtcvrLoss(g, v);
    return { total: weightedTotal(g, ctr, g.add(cvr, imputation), ctcvr, o), terms: { ctr, cvr, imputation, ctcvr } };
  },
});

export const DCMT_OBJECTIVE = defineObjective({
  name: 'dcmt',
  tasks: ['ctr', 'cvr', 'cvr_cf'],
  options: { cvrWeight: OPTIONS.cvrWeight, ctcvrWeight: OPTIONS.ctcvrWeight, propensityClip: OPTIONS.propensityClip, constraintWeight: OPTIONS.constraintWeight },
  describe: (o) => `factual and counterfactual CVR towers with propensity-weighted losses and the constraint λ ${o.constraintWeight}`,
  heads: (g, reps, layer) => ({ ...productHeads(g, reps, layer), _cf: logitOf(g, reps, layer)('cvr_cf') }),
  loss: (g, v, o) => {
    const click = g.label('click');
    const one = g.scalar(1);
    const ctr = ctrLoss(g, v);
    const propensity = g.clip(g.stopGradient(v.pctr!), o.propensityClip, 1 - o.propensityClip);
    const factual = g.div(g.mul(click, logitCrossEntropy(g, v._cvr!, g.label('conversion'))), propensity);
    // The counterfactual label of an unclicked impression is 1 − r = 1: e(1, r̂*) = softplus(−l*).
    const counterfactual = g.div(g.mul(g.sub(one, click), g.softplus(g.neg(v._cf!))), g.sub(one, propensity));
    const constraint = g.abs(g.sub(one, g.add(v.pcvr!, g.sigmoid(v._cf!))));
    const dcmt = g.add(g.add(factual, counterfactual), g.mul(g.scalar(o.constraintWeight), constraint));
    const ctcvr = productCtcvrLoss(g, v);
    return { total: weightedTotal(g, ctr, dcmt, ctcvr, o), terms: { ctr, factual, counterfactual, constraint, ctcvr } };
  },
});

export const AITM_OBJECTIVE = defineObjective({
  name: 'aitm',
  tasks: ['ctr', 'ctcvr'],
  options: { alpha: OPTIONS.alpha },
  describe: (o) => `click then purchase with the attention transfer and the calibrator (α ${o.alpha})`,
  validate: (tower) => {
    if (tower.length === 0) throw new Error('--objective aitm transfers the click tower\'s last hidden layer: give the towers at least one layer (--tower)');
  },
  heads: (g, reps, layer, o) => {
    const p = reps.ctr!;
    const q = reps.ctcvr!;
    const d = widthOf(g, q);
    if (widthOf(g, p) !== d) throw new Error(`aitm: the click and purchase towers must end in the same width (${widthOf(g, p)} vs ${d})`);
    // The info layer: what the click task passes on, a ReLU dense layer as wide as the towers,
    // Glorot-uniform as the authors' Keras Dense. Its scale matters: the purchase head's attention
    // settles on one of its two inputs, and a larger info layer (He's) tips it onto the click
    // task's info, which costs CVR AUC (docs/models.md, "aitm").
    const wi = g.param('aitm.info.w', [d, d], { kind: 'glorot-uniform', fanIn: d, fanOut: d });
    const bi = g.param('aitm.info.b', [d], { kind: 'zeros' });
    const info = g.dropout(g.relu(g.gemm(p, wi, bi)), o.dropout, 'aitm.info.mask');
    const proj = (k: number) => g.param(`aitm.attention.w${k}`, [d, d], { kind: 'glorot-uniform', fanIn: d, fanOut: d });
    const [w1, w2, w3] = [proj(1), proj(2), proj(3)];
    const units = [q, info];
    const scale = g.scalar(1 / Math.sqrt(d));
    const scores = units.map((u) => g.unsqueeze(g.mul(g.reduceSum(g.mul(g.gemm(u, w1), g.gemm(u, w2)), [1], false), scale), [1]));
    const weights = g.softmax(g.concat(scores, 1), 1, 'attention');
    const weightOf = (k: number) => g.reduceSum(g.mul(weights, g.tensor(k === 0 ? [1, 0] : [0, 1], [2])), [1], true);
    const [a0, a1] = [weightOf(0), weightOf(1)];
    const z = g.add(g.mul(a0, g.gemm(q, w3)), g.mul(a1, g.gemm(info, w3)));
    const logit = logitOf(g, reps, layer);
    const ctr = logit('ctr');
    return { ...ratioHeads(g, ctr, logit('ctcvr', z)), attention: weights };
  },
  loss: (g, v, o) => {
    const ctr = ctrLoss(g, v);
    const ctcvr = logitCrossEntropy(g, v._ctcvr!, g.label('ctcvr'));
    const calibrator = g.max(g.sub(v.pctcvr!, v.pctr!), g.scalar(0));
    return { total: g.add(g.add(ctr, ctcvr), g.mul(g.scalar(o.alpha), calibrator)), terms: { ctr, ctcvr, calibrator } };
  },
});
