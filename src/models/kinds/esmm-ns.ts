/**
 * ESMM-NS, the paper's ablation: ESMM whose towers do not share embeddings. Each table row holds
 * the CTR tower's vector and then the CVR tower's ([f0 ctr | f0 cvr | f1 ctr | ...]), so x is
 * twice as wide and each tower reads its own halves (layers.ts, towerSlice): two embedding sets for
 * one lookup per id.
 */
import { fromComponent } from '../combine.js';
import { defineModel } from '../definition.js';
import { towerSlice } from '../layers.js';
import { TOWER_HYPER } from '../nets.js';
import { esmmArch } from './esmm.js';

export const ESMM_NS = defineModel({
  kind: 'esmm-ns',
  title: 'ESMM-NS',
  summary: 'ESMM without shared embeddings: each tower has its own (the paper\'s ablation)',
  describe: (h) => `ESMM whose CTR and CVR towers (${h.hidden.join('-')}) each read their own embedding vectors (Ma et al. 2018, ablation).`,
  hyper: TOWER_HYPER,
  components: (h, ctx) => [
    {
      name: 'esmm-ns',
      dense: esmmArch(h, (g, x) => [towerSlice(g, x, ctx.embeddingDim, 2, 0, 'ctr.input'), towerSlice(g, x, ctx.embeddingDim, 2, 1, 'cvr.input')]),
      embeddingCopies: 2,
      filter: 'all',
      sampling: { kind: 'none' },
      signature: { arch: 'esmm-ns', ...h },
    },
  ],
  combine: () => fromComponent('esmm-ns'),
  paper: { cvr: [68.25, 0.44], ctcvr: [64.44, 0.62] },
});
