/**
 * Static shapes whose symbolic dimensions are named: the batch, and in the whole-model export the
 * entry count of each jagged field. Shapes are known at graph-build time so that the autodiff knows
 * which axes a broadcast added (and must sum its gradient over) without running anything.
 */

/** A dimension: a fixed size or a symbolic one (an ONNX dim_param such as "batch"). */
export type Dim = number | string;
export type Shape = readonly Dim[];

export const BATCH = 'batch' as const;

export function formatShape(s: Shape): string {
  return `[${s.join(', ')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** True when every dimension is a number. */
export function isStatic(s: Shape): s is readonly number[] {
  return s.every((d) => typeof d === 'number');
}

/** Product of the dimensions; undefined when a symbolic one is among them. */
export function staticSize(s: Shape): number | undefined {
  let n = 1;
  for (const d of s) {
    if (typeof d !== 'number') return undefined;
    n *= d;
  }
  return n;
}

/** Numpy (multidirectional) broadcasting of several shapes; `what` names the op for the error. */
export function broadcastShapes(shapes: readonly Shape[], what: string): Dim[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Dim[] = new Array<Dim>(rank).fill(1);
  for (const s of shapes) {
    const lead = rank - s.length;
    s.forEach((d, i) => {
      const cur = out[lead + i]!;
      if (cur === d || d === 1) return;
      if (cur === 1) out[lead + i] = d;
      else
        throw new Error(
          `${what}: shapes ${shapes.map(formatShape).join(' and ')} do not broadcast (axis ${lead + i}: ${cur} vs ${d})`,
        );
    });
  }
  return out;
}

/**
 * Which axes of a broadcast result `from` must be summed to get back an operand of shape `to`:
 * the leading axes that `to` lacks (summed away), and the axes where `to` has 1 but `from` does not
 * (summed with keepdims).
 */
export function broadcastAxes(from: Shape, to: Shape): { leading: number[]; kept: number[] } {
  const lead = from.length - to.length;
  if (lead < 0) throw new Error(`cannot sum shape ${formatShape(from)} down to the larger ${formatShape(to)}`);
  const leading = Array.from({ length: lead }, (_, i) => i);
  const kept: number[] = [];
  to.forEach((d, i) => {
    const f = from[lead + i]!;
    if (d === f) return;
    if (d === 1) kept.push(i);
    else throw new Error(`shape ${formatShape(to)} is not a broadcast operand of ${formatShape(from)}`);
  });
  return { leading, kept };
}

/** An axis in [-rank, rank) as a non-negative index. */
export function normalizeAxis(axis: number, rank: number, what: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank)
    throw new Error(`${what}: axis ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}
