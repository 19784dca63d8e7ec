/** OVERSAMPLING (Weiss 2004): BASE whose CVR net sees every conversion `oversamplingCopies` times. */
import { ref } from '../combine.js';
import { defineModel } from '../definition.js';
import { integer } from '../hyper.js';
import { TOWER_HYPER, ctrNet, ctrTimesCvr, singleTowerComponent } from '../nets.js';

export const OVERSAMPLING = defineModel({
  kind: 'oversampling',
  title: 'OVERSAMPLING',
  summary: 'BASE whose CVR net sees every conversion k times',
  describe: (h) => `BASE whose CVR net sees every conversion ${h.oversamplingCopies} times (Weiss 2004).`,
  hyper: {
    ...TOWER_HYPER,
    // 5: the middle of the paper's grid {2, 3, 5, 10} on a log scale.
    oversamplingCopies: integer(5, 'copies of each conversion the CVR net sees', { min: 1, max: 1000, flag: 'oversampling-k' }),
  },
  components: (h) => [
    ctrNet(h),
    singleTowerComponent('cvr', 'conversion', h, 'clicked', { kind: 'copy-conversions', copies: h.oversamplingCopies }),
  ],
  combine: () => ctrTimesCvr(ref('cvr', 'p')),
  paper: { cvr: [67.18, 0.32], ctcvr: [63.05, 0.48] },
});
