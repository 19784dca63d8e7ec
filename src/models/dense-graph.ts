/**
 * From a component's dense architecture to its ONNX graphs: the forward graph (inference: the
 * predictions; training: plus the batch-mean loss), the training graph (that forward graph
 * differentiated w.r.t. every parameter and x, src/nn/autodiff.ts), and the initial parameters
 * the graph declared.
 */
import { differentiate } from '../nn/autodiff.js';
import { GraphBuilder, type ElemType, type Graph, type ParamDecl, type ParamInit } from '../nn/graph.js';
import { BATCH } from '../nn/shape.js';
import type { Rng } from '../util/rng.js';
import type { DenseArch } from './definition.js';

/** Parameters by name; insertion order is the graph's declaration order. */
export type ParamSet = Map<string, { dims: number[]; data: Float32Array }>;

export interface DenseGraphOptions {
  training: boolean;
  elemType?: ElemType;
  /** Bake these parameters in as initializers; otherwise they are graph inputs. */
  params?: ParamSet;
  name?: string;
}

/**
 * The forward graph over x [batch, inputDim]: its outputs are the predictions the architecture
 * names; a training graph also outputs `loss`, the batch mean of the architecture's per-sample loss.
 */
export function buildDenseGraph(arch: DenseArch, inputDim: number, opts: DenseGraphOptions): Graph {
  if (!Number.isInteger(inputDim) || inputDim < 1) throw new Error(`dense input width must be a positive integer (got ${inputDim})`);
  const g = new GraphBuilder(opts.name ?? (opts.training ? 'dense_train' : 'dense'), opts.elemType ?? 'float', {
    training: opts.training,
    ...(opts.params ? { bake: opts.params } : {}),
  });
  const x = g.input('x', [BATCH, inputDim]);
  const values = arch.forward(g, x);
  const outputs = Object.keys(values).filter((n) => !n.startsWith('_'));
  if (outputs.length === 0) throw new Error('a dense architecture must output at least one prediction');
  for (const name of outputs) {
    const v = values[name]!;
    if (v !== name) g.identity(v, name);
    g.output(name);
  }
  if (opts.training) {
    const perSample = arch.loss(g, values);
    const s = g.shapeOf(perSample);
    if (s.length !== 1 || s[0] !== BATCH) throw new Error(`a loss must be per sample, [batch] (got [${s.join(', ')}])`);
    g.reduceMean(perSample, [0], false, 'loss');
    g.output('loss');
  }
  if (opts.params) validateParams(g.build().params, opts.params);
  return g.build();
}

/** The training graph: forward + loss, differentiated w.r.t. every parameter and x. */
export function buildTrainingGraph(arch: DenseArch, inputDim: number, elemType: ElemType = 'float'): Graph {
  const forward = buildDenseGraph(arch, inputDim, { training: true, elemType });
  return differentiate(forward, 'loss', [...forward.params.map((p) => p.name), 'x']);
}

/** The parameters an architecture declares, in declaration order. */
export function paramDecls(arch: DenseArch, inputDim: number): readonly ParamDecl[] {
  return buildDenseGraph(arch, inputDim, { training: false }).params;
}

/** Initial values of the declared parameters in declaration order; the random ones drawn from `rng`. */
export function initParams(decls: readonly ParamDecl[], rng: Rng): ParamSet {
  const params: ParamSet = new Map();
  for (const d of decls) {
    const size = d.dims.reduce((a, n) => a * n, 1);
    params.set(d.name, { dims: [...d.dims], data: initialValues(d.init, size, rng) });
  }
  return params;
}

function initialValues(init: ParamInit, size: number, rng: Rng): Float32Array {
  const data = new Float32Array(size);
  switch (init.kind) {
    case 'zeros':
      return data;
    case 'constant':
      return data.fill(init.value);
    case 'values':
      data.set(init.values);
      return data;
    case 'he-uniform':
    case 'glorot-uniform': {
      const limit = init.kind === 'he-uniform' ? Math.sqrt(6 / init.fanIn) : Math.sqrt(6 / (init.fanIn + init.fanOut));
      for (let j = 0; j < size; j++) data[j] = (2 * rng.next() - 1) * limit;
      return data;
    }
  }
}

/** Checks that `params` holds exactly the declared parameters with their dims. */
export function validateParams(decls: readonly ParamDecl[], params: ParamSet): void {
  const declared = new Map(decls.map((d) => [d.name, d]));
  for (const d of decls) {
    const p = params.get(d.name);
    if (!p) throw new Error(`dense parameters lack '${d.name}' [${d.dims.join(', ')}]`);
    const size = d.dims.reduce((a, n) => a * n, 1);
    if (p.dims.join() !== d.dims.join() || p.data.length !== size)
      throw new Error(`dense parameter '${d.name}' has dims [${p.dims.join(', ')}] (${p.data.length} values); the graph needs [${d.dims.join(', ')}]`);
  }
  for (const name of params.keys())
    if (!declared.has(name)) throw new Error(`dense parameter '${name}' is not part of this graph (it has: ${[...declared.keys()].join(', ')})`);
}
