/**
 * ESMM (Ma et al., SIGIR 2018): one embedding collection shared by a CTR tower and a CVR tower;
 * pCTCVR = pCTR × pCVR, and the loss has no direct CVR term:
 *
 *   x ─┬─ ctr tower ─ logit_ctr ─ sigmoid ─ pctr ─┐
 *      └─ cvr tower ─ logit_cvr ─ sigmoid ─ pcvr ─┴─ × ─ pctcvr
 *   loss = mean_i CE(click_i, pctr_i) + CE(click_i ∧ conversion_i, pctcvr_i)
 *
 * Both losses are over all impressions, so the CVR tower learns over the entire space through the
 * product, which is the paper's answer to sample selection bias and data sparsity.
 */
import type { GraphBuilder } from '../../nn/graph.js';
import { fromComponent } from '../combine.js';
import { defineModel, type DenseArch } from '../definition.js';
import { towerLogit } from '../layers.js';
import { logitCrossEntropy, probabilityCrossEntropy } from '../losses.js';
import { TOWER_HYPER, type TowerShape } from '../nets.js';

/** The ESMM graph over the CTR tower's and the CVR tower's inputs (the same x, or ESMM-NS's two slices). */
export function esmmArch(shape: TowerShape, inputs: (g: GraphBuilder, x: string) => [ctr: string, cvr: string]): DenseArch {
  return {
    forward: (g, x) => {
      const [ctrIn, cvrIn] = inputs(g, x);
      const ctr = towerLogit(g, 'ctr', ctrIn, shape.hidden, shape.dropout);
      const pctr = g.sigmoid(ctr, 'pctr');
      const pcvr = g.sigmoid(towerLogit(g, 'cvr', cvrIn, shape.hidden, shape.dropout), 'pcvr');
      const pctcvr = g.mul(pctr, pcvr, 'pctcvr');
      return { pctr, pcvr, pctcvr, _ctrLogit: ctr };
    },
    loss: (g, v) => g.add(logitCrossEntropy(g, v._ctrLogit!, g.label('click')), probabilityCrossEntropy(g, v.pctcvr!, g.label('ctcvr'))),
  };
}

export const ESMM = defineModel({
  kind: 'esmm',
  title: 'ESMM',
  summary: 'shared embeddings, CTR and CVR towers, pCTCVR = pCTR × pCVR, loss on CTR and CTCVR (Ma et al. 2018)',
  describe: (h) =>
    `shared embeddings, a CTR tower and a CVR tower (${h.hidden.join('-')}, ReLU), pCTCVR = pCTR × pCVR; ` +
    'loss CE(click, pCTR) + CE(click ∧ conversion, pCTCVR) over all impressions, no direct CVR loss (Ma et al., SIGIR 2018).',
  hyper: TOWER_HYPER,
  components: (h) => [
    { name: 'esmm', dense: esmmArch(h, (_g, x) => [x, x]), embeddingCopies: 1, filter: 'all', sampling: { kind: 'none' }, signature: { arch: 'esmm', ...h } },
  ],
  combine: () => fromComponent('esmm'),
  paper: { cvr: [68.56, 0.37], ctcvr: [65.32, 0.49] },
});
