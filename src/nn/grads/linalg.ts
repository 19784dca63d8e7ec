/**
 * Gradients of Gemm and (2-D) MatMul, written as Gemm with transposes so no Transpose op is needed.
 * Gemm: Y = alpha * A'B' + beta * C with A' = transA ? Aᵀ : A and B' = transB ? Bᵀ : B.
 */
import { attr, input, sumToShape, type GradRule } from './rule.js';

export const linalgRules: Readonly<Record<string, GradRule>> = {
  Gemm: (ctx) => {
    const { b, dy } = ctx;
    const transA = attr(ctx, 'transA', 0) === 1;
    const transB = attr(ctx, 'transB', 0) === 1;
    const alpha = attr(ctx, 'alpha', 1);
    const beta = attr(ctx, 'beta', 1);
    const a = input(ctx, 0);
    const bm = input(ctx, 1);
    // dA' = alpha dY B'ᵀ, so dA = alpha dY B'ᵀ, or alpha B' dYᵀ when A was transposed.
    const dA = !ctx.needs(0)
      ? undefined
      : transA
        ? b.gemm(bm, dy, undefined, { transA: transB, transB: true, alpha })
        : b.gemm(dy, bm, undefined, { transB: !transB, alpha });
    // dB' = alpha A'ᵀ dY, so dB = alpha A'ᵀ dY, or alpha dYᵀ A' when B was transposed.
    const dB = !ctx.needs(1)
      ? undefined
      : transB
        ? b.gemm(dy, a, undefined, { transA: true, transB: transA, alpha })
        : b.gemm(a, dy, undefined, { transA: !transA, alpha });
    let dC: string | undefined;
    if (ctx.needs(2)) {
      dC = sumToShape(b, dy, b.shapeOf(input(ctx, 2)));
      if (beta !== 1) dC = b.mul(dC, b.scalar(beta));
    }
    return [dA, dB, dC];
  },

  // Y = A B (2-D): dA = dY Bᵀ, dB = Aᵀ dY.
  MatMul: (ctx) => {
    const { b, dy } = ctx;
    return [
      ctx.needs(0) ? b.gemm(dy, input(ctx, 1), undefined, { transB: true }) : undefined,
      ctx.needs(1) ? b.gemm(input(ctx, 0), dy, undefined, { transA: true }) : undefined,
    ];
  },
};
