/**
 * DIVISION: the CTR net and a CTCVR net (label click ∧ conversion, all impressions), trained apart;
 * pCVR = min(1, pCTCVR / pCTR), pCTCVR reported as pCTR × pCVR.
 */
import { cvrFromCtcvr, mul, prediction, ref } from '../combine.js';
import { defineModel } from '../definition.js';
import { CTR_COMPONENT, TOWER_HYPER, ctrNet, singleTowerComponent } from '../nets.js';

export const DIVISION = defineModel({
  kind: 'division',
  title: 'DIVISION',
  summary: 'a CTR net and a CTCVR net trained apart; pCVR = pCTCVR / pCTR',
  describe: (h) => `a CTR net and a CTCVR net (${h.hidden.join('-')}) trained apart on all impressions; pCVR = min(1, pCTCVR / pCTR) (Ma et al. 2018, Table 2).`,
  hyper: TOWER_HYPER,
  components: (h) => [ctrNet(h), singleTowerComponent('ctcvr', 'ctcvr', h, 'all', { kind: 'none' })],
  combine: () => ({
    pctr: ref(CTR_COMPONENT, 'p'),
    pcvr: cvrFromCtcvr(ref(CTR_COMPONENT, 'p'), ref('ctcvr', 'p')),
    pctcvr: mul(prediction('pctr'), prediction('pcvr')),
  }),
  paper: { cvr: [67.56, 0.48], ctcvr: [63.62, 0.09] },
});
