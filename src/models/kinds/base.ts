/**
 * BASE, the paper's baseline: a CVR net trained on the clicked impressions only (label:
 * conversion), and an independently trained CTR net of the same shape on all impressions;
 * pCTCVR = pCTR × pCVR. Its CVR net never sees the 96% of impressions that were not clicked: the
 * sample selection bias ESMM addresses.
 */
import { ref } from '../combine.js';
import { defineModel } from '../definition.js';
import { TOWER_HYPER, ctrNet, ctrTimesCvr, singleTowerComponent } from '../nets.js';

export const BASE = defineModel({
  kind: 'base',
  title: 'BASE',
  summary: 'a CTR net on all impressions and a CVR net on clicked impressions, trained apart (the paper\'s baseline)',
  describe: (h) =>
    `a CVR net on the clicked impressions only and an independently trained CTR net of the same shape (${h.hidden.join('-')}); ` +
    'pCTCVR = pCTR × pCVR (Ma et al. 2018, Table 2).',
  hyper: TOWER_HYPER,
  components: (h) => [ctrNet(h), singleTowerComponent('cvr', 'conversion', h, 'clicked', { kind: 'none' })],
  combine: () => ctrTimesCvr(ref('cvr', 'p')),
  paper: { cvr: [66.0, 0.37], ctcvr: [62.07, 0.45] },
});
