/**
 * UNBIAS (Zhang et al. 2016): BASE whose CVR net trains on the clicked impressions kept by
 * rejection sampling with the trained CTR net's pCTR: each is kept with probability
 * min(1, c / pCTR), c the `unbiasQuantile` of pCTR over the clicked impressions, which undoes the
 * click selection wherever pCTR >= c (train/component-data.ts, rejectByPctr).
 */
import { ref } from '../combine.js';
import { defineModel } from '../definition.js';
import { real } from '../hyper.js';
import { CTR_COMPONENT, TOWER_HYPER, ctrNet, ctrTimesCvr, samplingSeed, singleTowerComponent } from '../nets.js';

export const UNBIAS = defineModel({
  kind: 'unbias',
  title: 'UNBIAS',
  summary: 'BASE whose CVR net learns from clicks rejection-sampled by pCTR',
  describe: (h) =>
    'BASE whose CVR net learns from the clicked impressions kept by rejection sampling: each is kept with probability ' +
    `min(1, c / pCTR), pCTR from the trained CTR net and c the ${h.unbiasQuantile} quantile of pCTR over the clicks (Zhang et al. 2016).`,
  hyper: {
    ...TOWER_HYPER,
    // 0.1: exact where pCTR >= c, i.e. for 90% of the clicked impressions; a lower quantile is exact
    // over more of the space but keeps fewer impressions (about c · E[1 / pCTR] of them).
    unbiasQuantile: real(0.1, 'c = this quantile of pCTR over the clicked impressions', { min: 0, max: 1, minInclusive: false }),
  },
  components: (h, ctx) => [
    ctrNet(h),
    singleTowerComponent('cvr', 'conversion', h, 'clicked', {
      kind: 'reject-by-pctr',
      quantile: h.unbiasQuantile,
      ctrComponent: CTR_COMPONENT,
      seed: samplingSeed('unbias', ctx.seed),
    }),
  ],
  combine: () => ctrTimesCvr(ref('cvr', 'p')),
  paper: { cvr: [66.65, 0.28], ctcvr: [63.56, 0.7] },
});
