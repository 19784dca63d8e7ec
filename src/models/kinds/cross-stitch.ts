/**
 * Cross-Stitch (Misra et al., CVPR 2016) on ESMM: the CTR and CVR towers (360-200-80, the ESMM
 * paper's) become two columns joined by a cross-stitch unit after each hidden layer, a learned 2×2
 * matrix starting at 0.9 / 0.1 (the paper's best start); the logits read the last stitched layer,
 * and ESMM's objective trains it (pCTCVR = pCTR × pCVR, loss on CTR and CTCVR). See
 * multitask/backbones/cross-stitch.ts.
 */
import { multiTaskModel } from '../multitask/compose.js';

export const CROSS_STITCH = multiTaskModel({
  kind: 'cross-stitch',
  title: 'Cross-Stitch',
  summary: 'ESMM\'s two towers joined by cross-stitch units after each hidden layer (Misra et al. 2016)',
  source: '(Misra et al., CVPR 2016, with ESMM\'s objective and tower sizes.)',
  defaults: { backbone: 'cross-stitch', objective: 'esmm', tower: [] },
});
