/**
 * AITM (Xi et al., KDD 2021): a click tower and a purchase tower over shared embeddings; the
 * purchase head attends over its own tower output and an info layer's map of the click tower's,
 * and the loss adds the behavioural expectation calibrator α·max(pCTCVR − pCTR, 0), α = 0.6. The
 * purchase head learns click ∧ conversion over all impressions (pCTCVR); pCVR = min(1, pCTCVR /
 * pCTR). Towers 128-64-32 as the authors' code (which uses keep probabilities 0.9/0.7/0.7 per
 * layer; here one --dropout for all, default 0). See multitask/objectives.ts.
 */
import { multiTaskModel } from '../multitask/compose.js';

export const AITM = multiTaskModel({
  kind: 'aitm',
  title: 'AITM',
  summary: 'click then purchase with adaptive information transfer and the calibrator (Xi et al. 2021)',
  source: '(Xi et al., KDD 2021; towers as in the authors\' code.)',
  defaults: { backbone: 'towers', objective: 'aitm', tower: [128, 64, 32] },
});
