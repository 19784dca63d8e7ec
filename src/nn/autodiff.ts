/**
 * Reverse-mode differentiation over ONNX graphs: the training graph is the forward graph plus the
 * ops that the gradient rules append, walking the nodes backwards from the loss.
 *
 * Only nodes on a path from a `wrt` value to the loss get gradient work, and of their inputs only
 * those that depend on a `wrt` value (so labels, masks and example weights get none). A value read
 * by several nodes gets the sum of their contributions.
 */
import { GraphBuilder, type Graph } from './graph.js';
import { GRAD_RULES, NON_DIFFERENTIABLE, type GradRule } from './grads/index.js';
import { formatShape, sameShape, staticSize } from './shape.js';

/** Name of the output that holds the gradient of the loss with respect to `name`. */
export function gradName(name: string): string {
  return `grad:${name}`;
}

/**
 * Returns a graph that also outputs `grad:<w>` for every w in `wrt`, the gradient of the scalar
 * `lossName`. A w that does not affect the loss gets a zero gradient. `rules` is replaceable so
 * that tests can show a wrong rule is caught.
 */
export function differentiate(
  graph: Graph,
  lossName: string,
  wrt: readonly string[],
  rules: Readonly<Record<string, GradRule>> = GRAD_RULES,
): Graph {
  const b = GraphBuilder.from(graph);
  const lossType = b.typeOf(lossName);
  if (lossType.elem !== graph.elemType || staticSize(lossType.shape) !== 1)
    throw new Error(`loss '${lossName}' must be one ${graph.elemType}, got ${lossType.elem} ${formatShape(lossType.shape)}`);
  if (new Set(wrt).size !== wrt.length) throw new Error(`differentiate: repeated names in wrt: ${wrt.join(', ')}`);
  for (const w of wrt) {
    if (b.typeOf(w).elem !== graph.elemType) throw new Error(`cannot differentiate with respect to non-float '${w}'`);
    if (b.has(gradName(w))) throw new Error(`graph already has a value named '${gradName(w)}'`);
  }

  // Values that depend on some wrt value, and values that the loss depends on.
  const fromWrt = new Set(wrt);
  for (const node of graph.nodes)
    if (node.inputs.some((i) => fromWrt.has(i))) for (const o of node.outputs) fromWrt.add(o);
  const toLoss = new Set([lossName]);
  for (const node of [...graph.nodes].reverse())
    if (node.outputs.some((o) => toLoss.has(o))) for (const i of node.inputs) if (i !== '') toLoss.add(i);

  // Gradient contributions per value, summed when first needed.
  const parts = new Map<string, string[]>([[lossName, [b.tensor([1], lossType.shape as number[])]]]);
  const total = new Map<string, string | undefined>();
  const gradientOf = (name: string): string | undefined => {
    if (!total.has(name)) {
      const p = parts.get(name) ?? [];
      total.set(name, p.length === 0 ? undefined : b.sum(p));
    }
    return total.get(name);
  };

  for (const node of [...graph.nodes].reverse()) {
    if (!node.outputs.some((o) => toLoss.has(o) && fromWrt.has(o))) continue;
    if (NON_DIFFERENTIABLE.has(node.op)) continue;
    const rule = rules[node.op];
    if (!rule) throw new Error(`no gradient rule for op ${node.op} (output '${node.outputs[0]}'); add one in src/nn/grads/`);
    if (node.outputs.length !== 1) throw new Error(`cannot differentiate multi-output op ${node.op} ('${node.outputs[0]}')`);
    const dy = gradientOf(node.outputs[0]!);
    if (dy === undefined) continue;
    const needs = (i: number): boolean => {
      const name = node.inputs[i];
      return name !== undefined && name !== '' && fromWrt.has(name);
    };
    const grads = rule({ b, node, dy, needs });
    node.inputs.forEach((name, i) => {
      const g = grads[i];
      if (g === undefined || !needs(i)) return;
      if (!sameShape(b.shapeOf(g), b.shapeOf(name)))
        throw new Error(
          `gradient rule ${node.op} gave ${formatShape(b.shapeOf(g))} for input '${name}' of shape ${formatShape(b.shapeOf(name))}`,
        );
      const list = parts.get(name) ?? [];
      list.push(g);
      parts.set(name, list);
    });
  }

  for (const w of wrt) {
    const p = parts.get(w) ?? [];
    const out = gradName(w);
    const summed = total.get(w); // already summed when w is itself computed by a node on the path
    if (summed !== undefined) b.identity(summed, out);
    else if (p.length === 0) b.expandLike(b.scalar(0), w, out);
    else b.sum(p, out);
    b.output(out);
  }
  return b.build();
}
