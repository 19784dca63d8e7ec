/**
 * ESCM²-IPS (Wang et al., SIGIR 2022): ESMM's CTR and CTCVR losses plus λc·o·e(r, pCVR)/ô, the
 * inverse-propensity-weighted CVR loss (ô = pCTR, gradient stopped, 1/ô ≤ 15); λc = λg = 0.5 as
 * PaddleRec's config. Separate towers on shared embeddings as in the paper (the ESMM paper's
 * 360-200-80); `--backbone mmoe` gives PaddleRec's ESCM². See multitask/objectives.ts.
 */
import { multiTaskModel } from '../multitask/compose.js';
import { DEFAULT_HIDDEN } from '../nets.js';

export const ESCM2_IPS = multiTaskModel({
  kind: 'escm2-ips',
  title: 'ESCM²-IPS',
  summary: 'ESMM plus the inverse-propensity-weighted counterfactual CVR loss (Wang et al. 2022)',
  source: '(Wang et al., SIGIR 2022; λc, λg and the clip from PaddleRec\'s escm2.)',
  defaults: { backbone: 'towers', objective: 'escm2-ips', tower: DEFAULT_HIDDEN, options: { cvrWeight: 0.5, ctcvrWeight: 0.5 } },
});
