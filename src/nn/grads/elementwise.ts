/** Gradients of the arithmetic ops with numpy broadcasting: Add, Sub, Mul, Div, Neg, Sum, Where, Identity. */
import { input, output, sumToShape, type GradContext, type GradRule } from './rule.js';

/** dY summed back to the shape of input i, or undefined when input i needs no gradient. */
function passTo(ctx: GradContext, i: number, grad: () => string): string | undefined {
  if (!ctx.needs(i)) return undefined;
  return sumToShape(ctx.b, grad(), ctx.b.shapeOf(input(ctx, i)));
}

export const elementwiseRules: Readonly<Record<string, GradRule>> = {
  Add: (ctx) => [passTo(ctx, 0, () => ctx.dy), passTo(ctx, 1, () => ctx.dy)],

  Sub: (ctx) => [passTo(ctx, 0, () => ctx.dy), passTo(ctx, 1, () => ctx.b.neg(ctx.dy))],

  Mul: (ctx) => [
    passTo(ctx, 0, () => ctx.b.mul(ctx.dy, input(ctx, 1))),
    passTo(ctx, 1, () => ctx.b.mul(ctx.dy, input(ctx, 0))),
  ],

  // y = a / b: da = dy / b, db = -dy * a / b² = -dy * y / b.
  Div: (ctx) => [
    passTo(ctx, 0, () => ctx.b.div(ctx.dy, input(ctx, 1))),
    passTo(ctx, 1, () => ctx.b.neg(ctx.b.div(ctx.b.mul(ctx.dy, output(ctx)), input(ctx, 1)))),
  ],

  Neg: (ctx) => [ctx.needs(0) ? ctx.b.neg(ctx.dy) : undefined],

  Identity: (ctx) => [ctx.needs(0) ? ctx.dy : undefined],

  Sum: (ctx) => ctx.node.inputs.map((_, i) => passTo(ctx, i, () => ctx.dy)),

  // The condition gets no gradient; each branch gets dY where it was chosen.
  Where: (ctx) => {
    const zero = ctx.b.scalar(0);
    const cond = input(ctx, 0);
    return [
      undefined,
      passTo(ctx, 1, () => ctx.b.where(cond, ctx.dy, zero)),
      passTo(ctx, 2, () => ctx.b.where(cond, zero, ctx.dy)),
    ];
  },
};
