/**
 * The `ple` backbone (Tang et al., RecSys 2020): levels of CGC; per level, experts of each task and
 * shared experts; task k's gate mixes its own and the shared experts, the shared gate (below the
 * top level) mixes all; the next level reads the gated mixtures. One level is CGC. The top level's
 * gates are graph outputs `gate.<task>`.
 */
import { integer } from '../../hyper.js';
import { mlp } from '../../layers.js';
import { defineBackbone } from '../part.js';
import { EXPERT_LAYERS, gateOf, mix, stack } from './experts.js';

export const PLE_BACKBONE = defineBackbone({
  name: 'ple',
  options: {
    levels: integer(2, 'extraction levels (1 is CGC)', { min: 1, max: 8 }),
    taskExperts: integer(2, 'experts of each task per level', { min: 1, max: 64 }),
    sharedExperts: integer(1, 'shared experts per level', { min: 1, max: 64 }),
    expert: EXPERT_LAYERS,
  },
  describe: (o) => `PLE: ${o.levels} level${o.levels > 1 ? 's' : ''} of ${o.taskExperts} task and ${o.sharedExperts} shared experts (${o.expert.join('-')})`,
  build: (g, x, tasks, o) => {
    let taskIn: Record<string, string> = Object.fromEntries(tasks.map((t) => [t, x]));
    let sharedIn = x;
    let inspect: Record<string, string> = {};
    for (let level = 0; level < o.levels; level++) {
      const top = level === o.levels - 1;
      const scope = `ple${level}`;
      const own = Object.fromEntries(
        tasks.map((t) => [t, Array.from({ length: o.taskExperts }, (_, i) => mlp(g, `${scope}.${t}.expert${i}`, taskIn[t]!, o.expert, o.dropout))]),
      );
      const shared = Array.from({ length: o.sharedExperts }, (_, i) => mlp(g, `${scope}.shared.expert${i}`, sharedIn, o.expert, o.dropout));
      const next: Record<string, string> = {};
      inspect = {};
      for (const t of tasks) {
        const candidates = [...own[t]!, ...shared];
        const gate = gateOf(g, `${scope}.gate.${t}`, taskIn[t]!, candidates.length);
        next[t] = mix(g, gate, stack(g, candidates));
        inspect[`gate.${t}`] = gate;
      }
      if (!top) {
        const all = [...tasks.flatMap((t) => own[t]!), ...shared];
        sharedIn = mix(g, gateOf(g, `${scope}.gate.shared`, sharedIn, all.length), stack(g, all));
      }
      taskIn = next;
    }
    return { inputs: taskIn, inspect };
  },
  small: { levels: 2, taskExperts: 2, sharedExperts: 1, expert: [4] },
});
