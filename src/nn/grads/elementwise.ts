/** Gradients of the arithmetic ops with numpy broadcasting: Add, Sub, Mul, Div, Neg, Sum, Where, Identity. */
import { input, output, sumToShape, type GradContext, type GradRule } from './rule.js';

/** dY summed back to the shape of input i, or undefined when input i needs no gradient. */
function passTo(ctx: GradContext, i: number, grad: () => string): string | undefined {
  if (!ctx.needs(i)) return undefined;
  return sumToShape(ctx.b, grad(), ctx.b.shapeOf(input(ctx, i)));
}

/** Min/Max: dY to a where `firstChosen(a, b)`, else to b. */
function selectBy(ctx: GradContext, firstChosen: (a: string, b: string) => string): (string | undefined)[] {
  const { b, dy } = ctx;
  const zero = b.scalar(0);
  if (ctx.node.inputs.length !== 2) throw new Error(`${ctx.node.op}: only the two-input form is differentiated`);
  const chosen = firstChosen(input(ctx, 0), input(ctx, 1));
  return [passTo(ctx, 0, () => b.where(chosen, dy, zero)), passTo(ctx, 1, () => b.where(chosen, zero, dy))];
}

/** The single value of the float constant input i (a Pow exponent). */
function constantScalar(ctx: GradContext, i: number): number {
  const values = ctx.b.constantFloats(input(ctx, i));
  if (values?.length !== 1) throw new Error(`${ctx.node.op} (output ${ctx.node.outputs[0]}): input ${i} must be a scalar constant to differentiate`);
  return values[0]!;
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

  // The chosen operand gets dY; on a tie the first one does and the second gets exactly 0 (a
  // deterministic subgradient: 1 and 0, so the total is dY, never 2·dY or 0). A broadcast operand
  // sums the dY of only the elements it won. Pinned in edges.test.ts.
  Min: (ctx) => selectBy(ctx, (a, b) => ctx.b.lessOrEqual(a, b)),
  Max: (ctx) => selectBy(ctx, (a, b) => ctx.b.greaterOrEqual(a, b)),

  // y = x^p with a constant p: dx = dy · p · x^(p-1). The exponent gets no gradient. x^0 = 1
  // everywhere (0^0 too, in ONNX), so p = 0 gives none: the formula would be 0 · 0^-1 = NaN at x = 0.
  Pow: (ctx) => {
    const p = constantScalar(ctx, 1);
    if (p === 0) return [undefined, undefined];
    return [passTo(ctx, 0, () => ctx.b.mul(ctx.dy, ctx.b.mul(ctx.b.scalar(p), ctx.b.pow(input(ctx, 0), p - 1))))];
  },

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
