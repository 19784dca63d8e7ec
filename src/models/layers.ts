/**
 * Graph building blocks the model kinds compose: MLPs, towers, and the selection of one tower's
 * embedding vectors. Parameters are declared where they are used, named `<scope>.w<i>` and
 * `<scope>.b<i>`, so a model's parameter names say where each one sits.
 */
import type { GraphBuilder } from '../nn/graph.js';
import { BATCH } from '../nn/shape.js';

/**
 * Gemm → ReLU → dropout per width of `hidden`: the hidden layers of a tower or an expert, [batch,
 * last width] (x itself when `hidden` is empty). He-uniform weights (they feed a ReLU), zero biases.
 */
export function mlp(g: GraphBuilder, scope: string, x: string, hidden: readonly number[], dropout: number, firstLayer = 0): string {
  let h = x;
  hidden.forEach((width, k) => {
    const i = firstLayer + k;
    const fanIn = widthOf(g, h);
    const w = g.param(`${scope}.w${i}`, [fanIn, width], { kind: 'he-uniform', fanIn });
    const b = g.param(`${scope}.b${i}`, [width], { kind: 'zeros' });
    h = g.dropout(g.relu(g.gemm(h, w, b)), dropout, `${scope}.mask${i}`);
  });
  return h;
}

/** A dense layer to one logit per sample, [batch]: Glorot-uniform weights (the seed's tf.layers.dense default). */
export function logitLayer(g: GraphBuilder, scope: string, h: string, layer: number, out?: string): string {
  const fanIn = widthOf(g, h);
  const w = g.param(`${scope}.w${layer}`, [fanIn, 1], { kind: 'glorot-uniform', fanIn, fanOut: 1 });
  const b = g.param(`${scope}.b${layer}`, [1], { kind: 'zeros' });
  return g.squeeze(g.gemm(h, w, b), [1], out);
}

/** The paper's tower: the hidden layers of `hidden`, then a logit; parameters `<scope>.w0, b0, ...`. */
export function towerLogit(g: GraphBuilder, scope: string, x: string, hidden: readonly number[], dropout: number): string {
  return logitLayer(g, scope, mlp(g, scope, x, hidden, dropout), hidden.length, `${scope}.logit`);
}

/**
 * The vectors of one tower from an x that holds `copies` vectors of `fieldDim` per field, side by
 * side ([f0 t0 | f0 t1 | f1 t0 | ...], what a table of width copies·fieldDim pools to):
 *   x_t = reshape(ReduceSum(reshape(x, [B, F, copies, D]) · onehot(t), axis 2), [B, F·D])
 * so towers with their own embeddings cost one lookup per id, and the selection is a Mul and a
 * ReduceSum that the autodiff already knows.
 */
export function towerSlice(g: GraphBuilder, x: string, fieldDim: number, copies: number, tower: number, out?: string): string {
  const width = widthOf(g, x);
  if (width % (copies * fieldDim) !== 0) throw new Error(`x of width ${width} is not fields × ${copies} × ${fieldDim}`);
  const fields = width / (copies * fieldDim);
  const perField = g.reshape(x, [BATCH, fields, copies, fieldDim]);
  const pick = g.tensor(Array.from({ length: copies }, (_, i) => (i === tower ? 1 : 0)), [copies, 1]);
  return g.reshape(g.reduceSum(g.mul(perField, pick), [2], false), [BATCH, fields * fieldDim], out);
}

/** The static width of a [batch, width] value. */
export function widthOf(g: GraphBuilder, v: string): number {
  const s = g.shapeOf(v);
  const w = s[s.length - 1];
  if (s.length !== 2 || typeof w !== 'number') throw new Error(`'${v}' must be [batch, width] with a fixed width (is [${s.join(', ')}])`);
  return w;
}
