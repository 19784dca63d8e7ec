/**
 * Shared-Bottom (Caruana 1997; the multi-task baseline every anchor library ships): a shared MLP
 * over the pooled embeddings, then one tower per task, trained as the anchors train it on Ali-CCP
 * (objective `independent`): the first head learns click, the second click-and-conversion over all
 * impressions, so it estimates pCTCVR directly, and pCVR = min(1, pCTCVR / pCTR).
 *
 *   x ── bottom MLP ─┬─ ctr tower ─── logit ─ sigmoid ─ pctr ───┐
 *                    └─ ctcvr tower ─ logit ─ sigmoid ─ pctcvr ─┴─ min(1, pctcvr / pctr) ─ pcvr
 *   loss = mean_i CE(click_i, pCTR_i) + CE(click_i ∧ conversion_i, pCTCVR_i)
 *
 * Defaults: DeepCTR's Shared_Bottom (deepctr/models/multitask/sharedbottom.py), bottom 128-128,
 * towers 64-32. See multitask/compose.ts.
 */
import { multiTaskModel } from '../multitask/compose.js';

export const SHARED_BOTTOM = multiTaskModel({
  kind: 'shared-bottom',
  title: 'Shared-Bottom',
  summary: 'a shared MLP, then a CTR tower and a CTCVR tower; pCVR = pCTCVR / pCTR (the anchors\' multi-task baseline)',
  source: '(Caruana 1997; defaults of DeepCTR\'s Shared_Bottom.)',
  defaults: { backbone: 'shared-bottom', objective: 'independent', tower: [64, 32], options: { bottom: [128, 128] } },
});
