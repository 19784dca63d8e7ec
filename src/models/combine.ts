/**
 * How a model's components make its three predictions: one declared rule per model, which the
 * native predictor evaluates (combinePredictions) and the ONNX export writes as graph nodes
 * (emitCombination), so the two cannot disagree.
 *
 *   ESMM (one component that emits all three):  fromComponent('esmm')
 *   BASE:     pctr = ctr.p, pcvr = cvr.p, pctcvr = pctr × pcvr
 *   DIVISION: pctr = ctr.p, pcvr = min(1, ctcvr.p / ctr.p), pctcvr = pctr × pcvr
 *
 * Each operation is rounded to float32 (Math.fround), as onnxruntime's float kernels round each
 * op's result, so both give the same bits.
 */
import type { GraphBuilder } from '../nn/graph.js';

export const PREDICTIONS = ['pctr', 'pcvr', 'pctcvr'] as const;
export type PredictionName = (typeof PREDICTIONS)[number];

export type Expr =
  /** Output `output` of component `component`. */
  | { ref: { component: string; output: string } }
  /** A prediction defined earlier in the same combination (pctr before pcvr before pctcvr). */
  | { prediction: PredictionName }
  | { constant: number }
  | { op: 'mul' | 'div' | 'min' | 'max'; a: Expr; b: Expr };

export type Combination = Readonly<Record<PredictionName, Expr>>;

export const ref = (component: string, output: string): Expr => ({ ref: { component, output } });
export const prediction = (name: PredictionName): Expr => ({ prediction: name });
export const constant = (value: number): Expr => ({ constant: value });
export const mul = (a: Expr, b: Expr): Expr => ({ op: 'mul', a, b });
export const div = (a: Expr, b: Expr): Expr => ({ op: 'div', a, b });
export const min = (a: Expr, b: Expr): Expr => ({ op: 'min', a, b });

/** A component whose graph emits pctr, pcvr and pctcvr itself. */
export function fromComponent(component: string): Combination {
  return { pctr: ref(component, 'pctr'), pcvr: ref(component, 'pcvr'), pctcvr: ref(component, 'pctcvr') };
}

/**
 * pCVR from a CTR head and a CTCVR head: pCVR = min(1, pCTCVR / pCTR) (pCTR is a sigmoid, never 0),
 * the way DIVISION and the models that learn click-and-conversion over all impressions give it.
 */
export function cvrFromCtcvr(pctr: Expr, pctcvr: Expr): Expr {
  return min(constant(1), div(pctcvr, pctr));
}

/** The components and outputs a combination reads. */
export function referencedOutputs(c: Combination): { component: string; output: string }[] {
  const out: { component: string; output: string }[] = [];
  const walk = (e: Expr): void => {
    if ('ref' in e) {
      if (!out.some((r) => r.component === e.ref.component && r.output === e.ref.output)) out.push(e.ref);
    } else if ('op' in e) {
      walk(e.a);
      walk(e.b);
    }
  };
  for (const name of PREDICTIONS) walk(c[name]);
  return out;
}

/** Evaluates the combination over a batch of `size`; `outputs` are the components' outputs by name. */
export function combinePredictions(
  c: Combination,
  outputs: (component: string, output: string) => Float32Array,
  size: number,
): Record<PredictionName, Float32Array> {
  const done: Partial<Record<PredictionName, Float32Array>> = {};
  const evaluate = (e: Expr): Float32Array | number => {
    if ('ref' in e) {
      const v = outputs(e.ref.component, e.ref.output);
      if (v.length !== size) throw new Error(`component '${e.ref.component}' gave ${v.length} '${e.ref.output}' values for ${size} samples`);
      return v;
    }
    if ('prediction' in e) {
      const v = done[e.prediction];
      if (!v) throw new Error(`combination reads ${e.prediction} before it is defined`);
      return v;
    }
    if ('constant' in e) return Math.fround(e.constant);
    const a = evaluate(e.a);
    const b = evaluate(e.b);
    const f = OPS[e.op];
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = f(typeof a === 'number' ? a : a[i]!, typeof b === 'number' ? b : b[i]!);
    return out;
  };
  for (const name of PREDICTIONS) {
    const v = evaluate(c[name]);
    // A prediction that is a component's output as it is gets its own copy: callers keep predictions
    // beyond the next call, while a component reuses its output buffers.
    done[name] = typeof v === 'number' ? new Float32Array(size).fill(v) : 'ref' in c[name] ? v.slice() : v;
  }
  return done as Record<PredictionName, Float32Array>;
}

/** Float32 results of each operation (assigning to a Float32Array rounds as a float kernel does). */
const OPS: Readonly<Record<'mul' | 'div' | 'min' | 'max', (a: number, b: number) => number>> = {
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  min: (a, b) => Math.min(a, b),
  max: (a, b) => Math.max(a, b),
};

/**
 * Writes the combination into a float graph; `outputs` gives the value name of a component's
 * output in it. Returns the three predictions' value names.
 */
export function emitCombination(g: GraphBuilder, c: Combination, outputs: (component: string, output: string) => string): Record<PredictionName, string> {
  const done: Partial<Record<PredictionName, string>> = {};
  const emit = (e: Expr): string => {
    if ('ref' in e) return outputs(e.ref.component, e.ref.output);
    if ('prediction' in e) {
      const v = done[e.prediction];
      if (v === undefined) throw new Error(`combination reads ${e.prediction} before it is defined`);
      return v;
    }
    if ('constant' in e) return g.scalar(e.constant);
    const a = emit(e.a);
    const b = emit(e.b);
    switch (e.op) {
      case 'mul':
        return g.mul(a, b);
      case 'div':
        return g.div(a, b);
      case 'min':
        return g.min(a, b);
      case 'max':
        return g.max(a, b);
    }
  };
  for (const name of PREDICTIONS) done[name] = emit(c[name]);
  return done as Record<PredictionName, string>;
}
