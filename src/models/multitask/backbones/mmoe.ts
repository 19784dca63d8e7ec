/**
 * The `mmoe` backbone (Ma et al., KDD 2018): E expert MLPs f_i(x); task k reads Σ_i g_k(x)_i f_i(x),
 * g_k(x) = softmax(W_k x + b_k). Each expert starts from its own random weights. The gates are
 * graph outputs `gate.<task>` ([batch, experts]), so a collapsed gate shows.
 */
import { integer } from '../../hyper.js';
import { mlp } from '../../layers.js';
import { defineBackbone } from '../part.js';
import { EXPERT_LAYERS, gateOf, mix, stack } from './experts.js';

export const MMOE_BACKBONE = defineBackbone({
  name: 'mmoe',
  options: {
    experts: integer(8, 'number of experts', { min: 1, max: 256 }),
    expert: EXPERT_LAYERS,
  },
  describe: (o) => `MMoE: ${o.experts} experts (${o.expert.join('-')}) and a softmax gate per task`,
  build: (g, x, tasks, o) => {
    const experts = Array.from({ length: o.experts }, (_, i) => mlp(g, `expert${i}`, x, o.expert, o.dropout));
    const stacked = stack(g, experts);
    const inputs: Record<string, string> = {};
    const inspect: Record<string, string> = {};
    for (const t of tasks) {
      const gate = gateOf(g, `gate.${t}`, x, o.experts);
      inputs[t] = mix(g, gate, stacked);
      inspect[`gate.${t}`] = gate;
    }
    return { inputs, inspect };
  },
  small: { experts: 3, expert: [4] },
});
