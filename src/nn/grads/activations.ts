/** Gradients of the unary activations: Relu, Sigmoid, Tanh, Log, Exp, Softplus, Sqrt, Abs, Clip, Softmax. */
import { attr, input, output, type GradContext, type GradRule } from './rule.js';

/** Rule for a one-input op whose gradient is dY combined with the node's input and output. */
function unary(grad: (ctx: GradContext) => string): GradRule {
  return (ctx) => [ctx.needs(0) ? grad(ctx) : undefined];
}

export const activationRules: Readonly<Record<string, GradRule>> = {
  // dX = dY where y > 0 (x = 0 counts as off, as in TensorFlow and PyTorch), as dY * float(y > 0):
  // in onnxruntime's CPU kernels Greater + Cast + Mul took about half the time of Where or Sign.
  Relu: unary((ctx) => {
    const { b } = ctx;
    return b.mul(ctx.dy, b.cast(b.greater(output(ctx), b.scalar(0)), b.elemType));
  }),

  // dX = dY * y * (1 - y).
  Sigmoid: unary((ctx) => {
    const { b, dy } = ctx;
    const y = output(ctx);
    return b.mul(b.mul(dy, y), b.sub(b.scalar(1), y));
  }),

  // dX = dY * (1 - y²).
  Tanh: unary((ctx) => {
    const { b, dy } = ctx;
    const y = output(ctx);
    return b.mul(dy, b.sub(b.scalar(1), b.mul(y, y)));
  }),

  Log: unary((ctx) => ctx.b.div(ctx.dy, input(ctx, 0))),

  // dX = dY / (2 y).
  Sqrt: unary((ctx) => ctx.b.div(ctx.dy, ctx.b.mul(ctx.b.scalar(2), output(ctx)))),

  // dX = dY * sign(x): 0 at x = 0, as in PyTorch and TensorFlow.
  Abs: unary((ctx) => ctx.b.mul(ctx.dy, ctx.b.sign(input(ctx, 0)))),

  // dX = y * (dY - Σ_axis dY * y): the Jacobian of softmax along its one axis, applied to dY.
  Softmax: unary((ctx) => {
    const { b, dy } = ctx;
    const y = output(ctx);
    const axis = attr(ctx, 'axis', -1);
    return b.mul(y, b.sub(dy, b.reduceSum(b.mul(dy, y), [axis], true)));
  }),

  Exp: unary((ctx) => ctx.b.mul(ctx.dy, output(ctx))),

  // d/dx log(1 + e^x) = sigmoid(x).
  Softplus: unary((ctx) => ctx.b.mul(ctx.dy, ctx.b.sigmoid(input(ctx, 0)))),

  // dY passes where min <= x <= max, both bounds inclusive (as in PyTorch's clamp), so none when
  // min > max; the bounds themselves get no gradient. Pinned in edges.test.ts.
  Clip: (ctx) => {
    if (!ctx.needs(0)) return [];
    const { b, dy } = ctx;
    const x = input(ctx, 0);
    const min = ctx.node.inputs[1] ?? '';
    const max = ctx.node.inputs[2] ?? '';
    const conds: string[] = [];
    if (min !== '') conds.push(b.greaterOrEqual(x, min));
    if (max !== '') conds.push(b.lessOrEqual(x, max));
    if (conds.length === 0) return [dy];
    const inside = conds.length === 1 ? conds[0]! : b.and(conds[0]!, conds[1]!);
    return [b.where(inside, dy, b.scalar(0))];
  },
};
