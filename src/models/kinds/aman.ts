/**
 * AMAN, "all missing as negative" (Pan et al. 2008, one-class collaborative filtering) with negative
 * sampling: BASE whose CVR net also trains on a share `amanRate` of the unclicked impressions as
 * negatives (an unclicked impression has no observed conversion, so it counts as a non-conversion).
 */
import { ref } from '../combine.js';
import { defineModel } from '../definition.js';
import { real } from '../hyper.js';
import { TOWER_HYPER, ctrNet, ctrTimesCvr, samplingSeed, singleTowerComponent } from '../nets.js';

export const AMAN = defineModel({
  kind: 'aman',
  title: 'AMAN',
  summary: 'BASE whose CVR net also learns from a share of the unclicked impressions as negatives',
  describe: (h) =>
    `BASE whose CVR net also learns from a share ${h.amanRate} of the unclicked impressions as negatives ` +
    '("all missing as negative" with negative sampling; Pan et al. 2008).',
  hyper: {
    ...TOWER_HYPER,
    // 0.1 is the cheapest point of the paper's grid {0.1, 0.2, 0.5, 1}; at 4% CTR it already adds
    // ~2.4 unclicked negatives per clicked impression, which makes AMAN's pCVR lean towards pCTCVR.
    amanRate: real(0.1, 'share of the unclicked impressions used as negatives', { min: 0, max: 1, minInclusive: false }),
  },
  components: (h, ctx) => [
    ctrNet(h),
    singleTowerComponent('cvr', 'conversion', h, 'all', { kind: 'unclicked-negatives', rate: h.amanRate, seed: samplingSeed('aman', ctx.seed) }),
  ],
  combine: () => ctrTimesCvr(ref('cvr', 'p')),
  paper: { cvr: [65.21, 0.59], ctcvr: [63.53, 0.57] },
});
