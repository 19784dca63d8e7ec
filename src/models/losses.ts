/** The loss terms the model kinds use, as graph code: per-sample values [batch] that the graph averages. */
import type { GraphBuilder } from '../nn/graph.js';

/** Probabilities are clipped to [EPSILON, 1 - EPSILON] before a log, as Keras does. */
export const EPSILON = 1e-7;

/** CE(y, sigmoid(l)) from the logit, stable for any l: softplus(l) - y·l. */
export function logitCrossEntropy(g: GraphBuilder, logit: string, y: string): string {
  return g.sub(g.softplus(logit), g.mul(y, logit));
}

/** Keras binary_crossentropy on a probability: -(z log p + (1 - z) log(1 - p)), p clipped to [ε, 1 - ε]. */
export function probabilityCrossEntropy(g: GraphBuilder, p: string, z: string): string {
  const one = g.scalar(1);
  const clipped = g.clip(p, EPSILON, 1 - EPSILON);
  const pos = g.mul(z, g.log(clipped));
  const neg = g.mul(g.sub(one, z), g.log(g.sub(one, clipped)));
  return g.neg(g.add(pos, neg));
}
