/**
 * Shared-Bottom (Caruana 1997; the multi-task baseline every anchor library ships): a shared MLP
 * over the pooled embeddings, then one tower per task. Trained as the anchors train it on Ali-CCP
 * (torch-rechub's SharedBottom, PaddleRec's share_bottom): the first head learns click, the second
 * click-and-conversion over all impressions, so it estimates pCTCVR directly, and
 *
 *   pCVR = min(1, pCTCVR / pCTR)                      (as DIVISION derives it)
 *   loss = mean_i CE(click_i, pCTR_i) + CE(click_i ∧ conversion_i, pCTCVR_i)
 *
 *   x ── bottom MLP ─┬─ ctr tower ─── logit ─ sigmoid ─ pctr ───┐
 *                    └─ ctcvr tower ─ logit ─ sigmoid ─ pctcvr ─┴─ min(1, pctcvr / pctr) ─ pcvr
 *
 * Parameters: bottom.w<i>/b<i>, ctr.w<i>/b<i>, ctcvr.w<i>/b<i>.
 */
import { fromComponent } from '../combine.js';
import { defineModel } from '../definition.js';
import { dropoutRate, layers } from '../hyper.js';
import { mlp, towerLogit } from '../layers.js';
import { logitCrossEntropy } from '../losses.js';

const HYPER = {
  // DeepCTR's Shared_Bottom defaults (deepctr/models/multitask/sharedbottom.py): bottom 128-128, towers 64-32.
  bottom: layers([128, 128], 'shared bottom MLP layer sizes'),
  tower: layers([64, 32], 'layer sizes of each task tower', { allowEmpty: true }),
  dropout: dropoutRate('dropout after each hidden layer (bottom and towers)'),
} as const;

export const SHARED_BOTTOM = defineModel({
  kind: 'shared-bottom',
  title: 'Shared-Bottom',
  summary: 'a shared MLP, then a CTR tower and a CTCVR tower; pCVR = pCTCVR / pCTR (the anchors\' multi-task baseline)',
  describe: (h) =>
    `a shared bottom MLP (${h.bottom.join('-')}) over the pooled embeddings, then a CTR tower and a CTCVR tower ` +
    `(${h.tower.join('-') || 'linear'}); the CTCVR head learns click ∧ conversion over all impressions (pCTCVR), ` +
    'pCVR = min(1, pCTCVR / pCTR); loss CE(click, pCTR) + CE(click ∧ conversion, pCTCVR) (Caruana 1997; torch-rechub, PaddleRec).',
  hyper: HYPER,
  components: (h) => [
    {
      name: 'shared-bottom',
      embeddingCopies: 1,
      filter: 'all',
      sampling: { kind: 'none' },
      signature: { arch: 'shared-bottom', ...h },
      dense: {
        forward: (g, x) => {
          const shared = mlp(g, 'bottom', x, h.bottom, h.dropout);
          const ctr = towerLogit(g, 'ctr', shared, h.tower, h.dropout);
          const ctcvr = towerLogit(g, 'ctcvr', shared, h.tower, h.dropout);
          const pctr = g.sigmoid(ctr, 'pctr');
          const pctcvr = g.sigmoid(ctcvr, 'pctcvr');
          const pcvr = g.min(g.scalar(1), g.div(pctcvr, pctr), 'pcvr');
          return { pctr, pcvr, pctcvr, _ctrLogit: ctr, _ctcvrLogit: ctcvr };
        },
        loss: (g, v) => g.add(logitCrossEntropy(g, v._ctrLogit!, g.label('click')), logitCrossEntropy(g, v._ctcvrLogit!, g.label('ctcvr'))),
      },
    },
  ],
  combine: () => fromComponent('shared-bottom'),
});
