/**
 * What the expert backbones (mmoe.ts, ple.ts) share: the experts' layer sizes, a softmax gate over
 * experts, and the gated mixture of the experts' outputs.
 */
import type { GraphBuilder } from '../../../nn/graph.js';
import { BATCH } from '../../../nn/shape.js';
import { layers } from '../../hyper.js';
import { widthOf } from '../../layers.js';

/** Each expert MLP's layer sizes: one declaration that every expert backbone reads. */
export const EXPERT_LAYERS = layers([16], 'each expert MLP\'s layer sizes');

/** softmax(W v + b) over `n` experts, [batch, n]. Glorot-uniform W, zero b. */
export function gateOf(g: GraphBuilder, scope: string, v: string, n: number): string {
  const fanIn = widthOf(g, v);
  const w = g.param(`${scope}.w`, [fanIn, n], { kind: 'glorot-uniform', fanIn, fanOut: n });
  const b = g.param(`${scope}.b`, [n], { kind: 'zeros' });
  return g.softmax(g.gemm(v, w, b), 1);
}

/** [batch, n, width] from n values of [batch, width]. */
export function stack(g: GraphBuilder, vs: readonly string[]): string {
  const width = widthOf(g, vs[0]!);
  if (vs.length === 1) return g.reshape(vs[0]!, [BATCH, 1, width]);
  return g.concat(vs.map((v) => g.unsqueeze(v, [1])), 1);
}

/** Σ_i gate_i · expert_i: [batch, n] and [batch, n, width] to [batch, width]. */
export function mix(g: GraphBuilder, gate: string, stacked: string): string {
  return g.reduceSum(g.mul(g.unsqueeze(gate, [2]), stacked), [1], false);
}
