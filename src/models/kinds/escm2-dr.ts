/**
 * ESCM²-DR (Wang et al., SIGIR 2022): ESMM's losses plus the doubly robust CVR loss ê + o·(e − ê)/ô
 * and its imputation tower's o·(e − ê)²/ô (ê = the imputation tower's prediction of the error e),
 * each training its own tower with the other held fixed, as the paper's joint learning does;
 * λc = λg = 0.5 as PaddleRec's config. See multitask/objectives.ts.
 */
import { multiTaskModel } from '../multitask/compose.js';
import { DEFAULT_HIDDEN } from '../nets.js';

export const ESCM2_DR = multiTaskModel({
  kind: 'escm2-dr',
  title: 'ESCM²-DR',
  summary: 'ESMM plus the doubly robust counterfactual CVR loss and an imputation tower (Wang et al. 2022)',
  source: '(Wang et al., SIGIR 2022; λc, λg and the clip from PaddleRec\'s escm2.)',
  defaults: { backbone: 'towers', objective: 'escm2-dr', tower: DEFAULT_HIDDEN, options: { cvrWeight: 0.5, ctcvrWeight: 0.5 } },
});
