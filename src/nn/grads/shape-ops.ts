/** Gradients of the ops that only move values: Concat, Squeeze, Unsqueeze, Reshape. */
import { attr, constantInput, input, type GradRule } from './rule.js';

export const shapeRules: Readonly<Record<string, GradRule>> = {
  // Each input gets its slice of dY along the axis.
  Concat: (ctx) => {
    const { b, dy } = ctx;
    const axis = attr(ctx, 'axis', 0);
    const sizes = ctx.node.inputs.map((x) => {
      const d = b.shapeOf(x)[axis < 0 ? axis + b.shapeOf(x).length : axis];
      if (typeof d !== 'number') throw new Error(`Concat gradient: ${x} has no static size on axis ${axis}`);
      return d;
    });
    const parts = b.split(dy, axis, sizes);
    return parts.map((p, i) => (ctx.needs(i) ? p : undefined));
  },

  Squeeze: (ctx) => [ctx.needs(0) ? ctx.b.unsqueeze(ctx.dy, constantInput(ctx, 1)) : undefined],

  Unsqueeze: (ctx) => [ctx.needs(0) ? ctx.b.squeeze(ctx.dy, constantInput(ctx, 1)) : undefined],

  Reshape: (ctx) => [ctx.needs(0) ? ctx.b.reshapeLike(ctx.dy, input(ctx, 0)) : undefined],
};
