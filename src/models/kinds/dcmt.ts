/**
 * DCMT (Zhu et al., ICDE 2023): factual and counterfactual CVR towers over the entire space, the
 * propensity-weighted losses over clicked (factual) and unclicked (counterfactual label 1)
 * impressions and λ·|1 − (r̂ + r̂*)|; serves the factual tower. No public code exists: the loss is
 * the NISE paper's restatement (RecSys 2024, eq. 6); the clip 0.05 and λ = 0.001 come from a
 * third-party code and are unverified, and w_cvr = w_ctcvr = 1. See multitask/objectives.ts.
 */
import { multiTaskModel } from '../multitask/compose.js';
import { DEFAULT_HIDDEN } from '../nets.js';

export const DCMT = multiTaskModel({
  kind: 'dcmt',
  title: 'DCMT',
  summary: 'factual and counterfactual CVR towers with a counterfactual constraint (Zhu et al. 2023)',
  source: '(Zhu et al., ICDE 2023, as restated by NISE, RecSys 2024; clip and λ unverified.)',
  defaults: { backbone: 'towers', objective: 'dcmt', tower: DEFAULT_HIDDEN, options: { cvrWeight: 1, ctcvrWeight: 1 } },
});
