/**
 * Backbones: what turns the pooled embeddings x into one input per task tower. A multi-task
 * model (compose.ts) is a backbone, one tower per task, and an objective (objectives.ts).
 *
 *   towers         every task's tower reads x itself (shared embeddings, separate towers: ESMM's way)
 *   shared-bottom  a shared MLP over x; every task reads its output (Caruana 1997)
 *   mmoe           E expert MLPs f_i(x); task k reads Σ_i g_k(x)_i f_i(x), g_k(x) = softmax(W_k x + b_k)
 *                  (Ma et al., KDD 2018)
 *   ple            levels of CGC: per level, experts of each task and shared experts; task k's gate
 *                  mixes its own and the shared experts, the shared gate (below the top level) mixes
 *                  all; the next level reads the gated mixtures (Tang et al., RecSys 2020); 1 level = CGC
 *
 * Gates are graph outputs `gate.<task>` ([batch, experts]; PLE: `gate.<task>` of the top level), so
 * the mean weight per expert is inspectable (a collapsed gate is visible).
 */
import type { GraphBuilder } from '../../nn/graph.js';
import { BATCH } from '../../nn/shape.js';
import { mlp, widthOf } from '../layers.js';

export const BACKBONES = ['towers', 'shared-bottom', 'mmoe', 'ple'] as const;
export type BackboneName = (typeof BACKBONES)[number];

export interface BackboneOptions {
  bottom: readonly number[];
  experts: number;
  expert: readonly number[];
  levels: number;
  taskExperts: number;
  sharedExperts: number;
  dropout: number;
}

/** The options each backbone reads (the others are refused when given). */
export const BACKBONE_OPTIONS: Readonly<Record<BackboneName, readonly (keyof BackboneOptions)[]>> = {
  towers: [],
  'shared-bottom': ['bottom'],
  mmoe: ['experts', 'expert'],
  ple: ['levels', 'taskExperts', 'sharedExperts', 'expert'],
};

export interface BackboneOutput {
  /** Each task's tower input, [batch, width]. */
  inputs: Record<string, string>;
  /** Values to expose as graph outputs for inspection (gate weights), by output name. */
  inspect: Record<string, string>;
}

export function buildBackbone(name: BackboneName, g: GraphBuilder, x: string, tasks: readonly string[], o: BackboneOptions): BackboneOutput {
  switch (name) {
    case 'towers':
      return { inputs: Object.fromEntries(tasks.map((t) => [t, x])), inspect: {} };
    case 'shared-bottom': {
      const h = mlp(g, 'bottom', x, o.bottom, o.dropout);
      return { inputs: Object.fromEntries(tasks.map((t) => [t, h])), inspect: {} };
    }
    case 'mmoe': {
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
    }
    case 'ple':
      return ple(g, x, tasks, o);
  }
}

function ple(g: GraphBuilder, x: string, tasks: readonly string[], o: BackboneOptions): BackboneOutput {
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
}

/** softmax(W v + b) over `n` experts, [batch, n]. Glorot-uniform W, zero b. */
function gateOf(g: GraphBuilder, scope: string, v: string, n: number): string {
  const fanIn = widthOf(g, v);
  const w = g.param(`${scope}.w`, [fanIn, n], { kind: 'glorot-uniform', fanIn, fanOut: n });
  const b = g.param(`${scope}.b`, [n], { kind: 'zeros' });
  return g.softmax(g.gemm(v, w, b), 1);
}

/** [batch, n, width] from n values of [batch, width]. */
function stack(g: GraphBuilder, vs: readonly string[]): string {
  const width = widthOf(g, vs[0]!);
  if (vs.length === 1) return g.reshape(vs[0]!, [BATCH, 1, width]);
  return g.concat(vs.map((v) => g.unsqueeze(v, [1])), 1);
}

/** Σ_i gate_i · expert_i: [batch, n] and [batch, n, width] to [batch, width]. */
function mix(g: GraphBuilder, gate: string, stacked: string): string {
  return g.reduceSum(g.mul(g.unsqueeze(gate, [2]), stacked), [1], false);
}
