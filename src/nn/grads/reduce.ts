/**
 * Gradients of ReduceSum and ReduceMean (opset 18: axes are an input; absent = all axes): the
 * gradient is dY put back on the reduced axes and broadcast over them (divided by the count for
 * the mean).
 */
import { staticSize } from '../shape.js';
import { attr, constantInput, input, output, type GradContext, type GradRule } from './rule.js';

/** The reduced axes, sorted and non-negative. */
function reducedAxes(ctx: GradContext): number[] {
  const rank = ctx.b.shapeOf(input(ctx, 0)).length;
  const axes = ctx.node.inputs.length > 1 && ctx.node.inputs[1] !== '' ? constantInput(ctx, 1) : [];
  if (axes.length === 0) {
    if (attr(ctx, 'noop_with_empty_axes', 0) === 1) throw new Error(`${ctx.node.op} with noop_with_empty_axes is not supported`);
    return Array.from({ length: rank }, (_, i) => i);
  }
  return axes.map((a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q);
}

/** dY broadcast back over the reduced axes to the shape of the input. */
function spread(ctx: GradContext): string {
  const { b, dy } = ctx;
  const keepdims = attr(ctx, 'keepdims', 1) === 1;
  const kept = keepdims ? dy : b.unsqueeze(dy, reducedAxes(ctx));
  return b.expandLike(kept, input(ctx, 0));
}

export const reduceRules: Readonly<Record<string, GradRule>> = {
  ReduceSum: (ctx) => [ctx.needs(0) ? spread(ctx) : undefined],

  ReduceMean: (ctx) => {
    if (!ctx.needs(0)) return [];
    const { b } = ctx;
    const x = input(ctx, 0);
    const shape = b.shapeOf(x);
    const count = staticSize(reducedAxes(ctx).map((a) => shape[a]!));
    // 1/count, or size(y)/size(x) at run time when the batch axis is reduced.
    const scale =
      count !== undefined ? b.scalar(1 / count) : b.div(b.runtimeSize(output(ctx)), b.runtimeSize(x));
    return [b.mul(spread(ctx), scale)];
  },
};
