/**
 * MMoE (Ma et al., KDD 2018): expert MLPs, one softmax gate per task over the experts, one tower per
 * task; trained as the anchor libraries train it on Ali-CCP (objective `independent`: a CTR head and
 * a CTCVR head over all impressions, pCVR = min(1, pCTCVR / pCTR)). Defaults: torch-rechub's Ali-CCP
 * example, 8 experts of one layer of 16, towers of 8. See multitask/compose.ts.
 */
import { multiTaskModel } from '../multitask/compose.js';

export const MMOE = multiTaskModel({
  kind: 'mmoe',
  title: 'MMoE',
  summary: 'experts with a softmax gate per task, a CTR and a CTCVR tower (Ma et al. 2018, KDD)',
  source: '(Ma et al., KDD 2018; defaults of torch-rechub\'s Ali-CCP example.)',
  defaults: { backbone: 'mmoe', objective: 'independent', tower: [8], options: { experts: 8, expert: [16] } },
});
