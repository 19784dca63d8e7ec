/**
 * A small ONNX graph IR and its builder. Every op method checks its operands, infers the static
 * output shape (batch symbolic) and returns the output name, so a model reads like code:
 *
 *   const b = new GraphBuilder('tower', 'float');
 *   const x = b.input('x', [BATCH, 4]);
 *   const w = b.input('w', [4, 1]);
 *   const p = b.sigmoid(b.gemm(x, w), 'p');   // p: [batch, 1]
 *   b.output(p);
 *   const graph = b.build();
 *
 * Nodes are appended in order and may only read names that already exist, so `nodes` is always
 * topologically sorted (the autodiff relies on it).
 */
import { BATCH, broadcastShapes, formatShape, isStatic, normalizeAxis, sameShape, type Dim, type Shape } from './shape.js';

/** Element type of the float tensors of a graph: float for training and serving, double for gradient checks. */
export type ElemType = 'float' | 'double';
/** Element types a value can have: the graph's float type, or int64/bool for shapes, axes and masks. */
export type ValueElem = ElemType | 'int64' | 'bool';

export interface ValueType {
  elem: ValueElem;
  shape: Shape;
}

export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: readonly number[] };

export interface GraphNode {
  op: string;
  /** Operator set domain: '' is the default ONNX domain (e.g. 'ai.onnx.ml' for LabelEncoder). */
  domain?: string;
  /** Input names; '' marks an omitted optional input. */
  inputs: readonly string[];
  outputs: readonly string[];
  attrs: Readonly<Record<string, Attr>>;
}

export type InitializerData = Float32Array | Float64Array | BigInt64Array;

export interface Initializer {
  name: string;
  dims: readonly number[];
  data: InitializerData;
}

/**
 * How a parameter starts. He uniform U(±√(6/fanIn)) for layers followed by a ReLU, Glorot uniform
 * U(±√(6/(fanIn + fanOut))) otherwise (Keras' dense default), zeros for biases; `values`: exactly
 * these values, row-major, one per element (a cross-stitch unit's near-identity matrix). Only the
 * two uniform kinds draw from the model's random generator.
 */
export type ParamInit =
  | { kind: 'zeros' }
  | { kind: 'constant'; value: number }
  | { kind: 'values'; values: readonly number[] }
  | { kind: 'he-uniform'; fanIn: number }
  | { kind: 'glorot-uniform'; fanIn: number; fanOut: number };

/** A trainable parameter the graph declared with `param()`. */
export interface ParamDecl {
  name: string;
  dims: readonly number[];
  init: ParamInit;
}

/** A dropout the graph declared with `dropout()` in a training graph: its mask is a graph input. */
export interface DropoutDecl {
  /** The mask input, [batch, ...] of the masked value's shape: 0 or 1 / (1 - rate) per unit. */
  mask: string;
  rate: number;
  shape: Shape;
}

export interface Graph {
  name: string;
  elemType: ElemType;
  /** Built for training (dropout masks are inputs, losses may read labels) or for inference. */
  training: boolean;
  /** Parameters in declaration order: the canonical order of a model's dense parameters. */
  params: readonly ParamDecl[];
  /** Label inputs ([batch] each), by the label's name: what the caller feeds from the data. */
  labels: readonly string[];
  /** Dropout masks in declaration order: the order their random draws are made in. */
  dropouts: readonly DropoutDecl[];
  /** Graph input names, in order (types in `types`). */
  inputs: readonly string[];
  initializers: ReadonlyMap<string, Initializer>;
  /** Topologically sorted. */
  nodes: readonly GraphNode[];
  outputs: readonly string[];
  /** Type of every value: inputs, initializers and node outputs. */
  types: ReadonlyMap<string, ValueType>;
}

export interface GemmOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
}

/** What a builder makes: a training graph (dropout active, labels allowed), parameters fed or baked in. */
export interface BuildMode {
  /** Default false: dropout() is the identity and label() is refused. */
  training?: boolean;
  /** Bake these parameters in as initializers (inference graphs for serving and export). */
  bake?: ReadonlyMap<string, { dims: readonly number[]; data: Float32Array }>;
}

export class GraphBuilder {
  readonly training: boolean;
  private readonly bake: BuildMode['bake'];
  private readonly params: ParamDecl[] = [];
  private readonly labels: string[] = [];
  private readonly dropouts: DropoutDecl[] = [];
  private readonly nodes: GraphNode[] = [];
  private readonly inputs: string[] = [];
  private readonly outputs: string[] = [];
  private readonly initializers = new Map<string, Initializer>();
  private readonly types = new Map<string, ValueType>();
  /** Deduplicates small constants: key → initializer name. */
  private readonly constants = new Map<string, string>();
  private counter = 0;

  constructor(
    readonly name: string,
    readonly elemType: ElemType,
    mode: BuildMode = {},
  ) {
    this.training = mode.training ?? false;
    this.bake = mode.bake;
  }

  /** A builder that continues an existing graph (the autodiff appends the backward pass this way). */
  static from(graph: Graph): GraphBuilder {
    const b = new GraphBuilder(graph.name, graph.elemType, { training: graph.training });
    b.params.push(...graph.params);
    b.labels.push(...graph.labels);
    b.dropouts.push(...graph.dropouts);
    b.nodes.push(...graph.nodes);
    b.inputs.push(...graph.inputs);
    b.outputs.push(...graph.outputs);
    for (const [k, v] of graph.initializers) b.initializers.set(k, v);
    for (const [k, v] of graph.types) b.types.set(k, v);
    return b;
  }

  build(): Graph {
    return {
      name: this.name,
      elemType: this.elemType,
      training: this.training,
      params: [...this.params],
      labels: [...this.labels],
      dropouts: [...this.dropouts],
      inputs: [...this.inputs],
      initializers: new Map(this.initializers),
      nodes: [...this.nodes],
      outputs: [...this.outputs],
      types: new Map(this.types),
    };
  }

  has(name: string): boolean {
    return this.types.has(name);
  }

  typeOf(name: string): ValueType {
    const t = this.types.get(name);
    if (!t) throw new Error(`graph '${this.name}' has no value named '${name}'`);
    return t;
  }

  shapeOf(name: string): Shape {
    return this.typeOf(name).shape;
  }

  /** The values of a float initializer (of the graph's type), or undefined when `name` is not one. */
  constantFloats(name: string): number[] | undefined {
    const init = this.initializers.get(name);
    if (!init || init.data instanceof BigInt64Array) return undefined;
    return Array.from(init.data);
  }

  /** The values of an int64 initializer (axes, shapes), or undefined when `name` is not one. */
  constantInts(name: string): number[] | undefined {
    const init = this.initializers.get(name);
    if (!init || !(init.data instanceof BigInt64Array)) return undefined;
    return Array.from(init.data, Number);
  }

  /** A fresh value name starting with `hint`. */
  fresh(hint: string): string {
    for (;;) {
      const name = `${hint}_${this.counter++}`;
      if (!this.types.has(name)) return name;
    }
  }

  // ---- graph inputs, constants and outputs ----

  /** A graph input, of the graph's float type unless `elem` says otherwise. */
  input(name: string, shape: Shape, elem: ValueElem = this.elemType): string {
    this.declare(name, { elem, shape });
    this.inputs.push(name);
    return name;
  }

  /**
   * A trainable parameter: a graph input fed on every run, or (when the build mode bakes it) an
   * initializer holding its value. Either way the graph records its dims and initialization.
   */
  param(name: string, dims: readonly number[], init: ParamInit): string {
    if (!dims.every((d) => Number.isInteger(d) && d >= 1)) throw new Error(`parameter '${name}': dims ${formatShape(dims)} must be positive integers`);
    if (init.kind === 'values') {
      const size = dims.reduce((a, d) => a * d, 1);
      if (init.values.length !== size || !init.values.every(Number.isFinite))
        throw new Error(`parameter '${name}' ${formatShape(dims)} needs ${size} finite initial values (got ${init.values.length}: ${init.values.join(', ')})`);
    }
    this.params.push({ name, dims: [...dims], init });
    const baked = this.bake?.get(name);
    if (!baked) return this.input(name, dims);
    if (baked.dims.join() !== dims.join() || baked.data.length !== dims.reduce((a, d) => a * d, 1))
      throw new Error(`parameter '${name}' has dims ${formatShape(baked.dims)} (${baked.data.length} values); the graph needs ${formatShape(dims)}`);
    return this.initializer(name, this.elemType === 'float' ? baked.data : Float64Array.from(baked.data), dims);
  }

  /** A per-sample label input [batch] named after the label (click, conversion, ...); training graphs only. */
  label(name: string): string {
    if (!this.training) throw new Error(`graph '${this.name}': label '${name}' read outside a training graph (losses belong to training)`);
    if (this.labels.includes(name)) return name;
    this.labels.push(name);
    return this.input(name, [BATCH]);
  }

  /**
   * Inverted dropout of `x` at `rate`: in a training graph x times a mask input (each unit 0 or
   * 1 / (1 - rate), drawn by whoever runs the graph); the identity otherwise or at rate 0.
   */
  dropout(x: string, rate: number, maskName?: string): string {
    if (!(rate >= 0 && rate < 1)) throw new Error(`dropout rate must be in [0, 1) (got ${rate})`);
    if (!this.training || rate === 0) return x;
    const shape = this.shapeOf(x);
    const mask = this.input(maskName ?? this.fresh(`${x}.mask`), shape);
    this.dropouts.push({ mask, rate, shape: [...shape] });
    return this.mul(x, mask);
  }

  /** `x` as a value the autodiff passes no gradient through (torch's detach, TF's stop_gradient). */
  stopGradient(x: string, out?: string): string {
    return this.emit(STOP_GRADIENT, [x], {}, [this.typeOf(x)], [out])[0]!;
  }

  initializer(name: string, data: InitializerData, dims: readonly number[]): string {
    const size = dims.reduce((a, d) => a * d, 1);
    if (data.length !== size)
      throw new Error(`initializer '${name}': ${data.length} values for dims ${formatShape(dims)} (${size} expected)`);
    const elem: ValueElem = data instanceof BigInt64Array ? 'int64' : data instanceof Float64Array ? 'double' : 'float';
    if (elem !== 'int64' && elem !== this.elemType)
      throw new Error(`initializer '${name}' is ${elem} but graph '${this.name}' is ${this.elemType}`);
    this.declare(name, { elem, shape: dims });
    this.initializers.set(name, { name, dims: [...dims], data });
    return name;
  }

  /** A float constant of the graph's element type. */
  tensor(values: ArrayLike<number>, dims: readonly number[]): string {
    const data = this.elemType === 'float' ? Float32Array.from(values) : Float64Array.from(values);
    return this.cachedConstant(`${this.elemType}${formatShape(dims)}:${keyOf(data)}`, () =>
      this.initializer(this.fresh('const'), data, dims),
    );
  }

  /** A constant of any element type (the export's int64 hashing and float64 pooling in a float graph). */
  typedConstant(elem: ValueElem, values: readonly number[], dims: readonly number[]): string {
    if (elem === 'bool') throw new Error('bool constants are not supported');
    return this.cachedConstant(`${elem}${formatShape(dims)}:${values.join(',')}`, () => {
      const name = this.fresh('const');
      const data = elem === 'int64' ? BigInt64Array.from(values, (v) => BigInt(v)) : elem === 'double' ? Float64Array.from(values) : Float32Array.from(values);
      const size = dims.reduce((a, d) => a * d, 1);
      if (data.length !== size) throw new Error(`constant: ${data.length} values for dims ${formatShape(dims)}`);
      this.declare(name, { elem, shape: dims });
      this.initializers.set(name, { name, dims: [...dims], data });
      return name;
    });
  }

  /**
   * Appends another graph's nodes and initializers with every name prefixed, its inputs bound to
   * values of this graph (`bind`: its input name → this graph's value). Returns its outputs'
   * names here. The other graph must have all its parameters baked in (no unbound inputs).
   */
  inline(graph: Graph, prefix: string, bind: Readonly<Record<string, string>>): Record<string, string> {
    const rename = (n: string): string => (n === '' ? '' : (bind[n] ?? prefix + n));
    for (const input of graph.inputs) if (bind[input] === undefined) throw new Error(`inline '${graph.name}': input '${input}' is not bound`);
    for (const [name, init] of graph.initializers) {
      this.declare(rename(name), { elem: graph.types.get(name)!.elem, shape: init.dims });
      this.initializers.set(rename(name), { ...init, name: rename(name) });
    }
    for (const node of graph.nodes) {
      for (const o of node.outputs) this.declare(rename(o), graph.types.get(o)!);
      this.nodes.push({ ...node, inputs: node.inputs.map(rename), outputs: node.outputs.map(rename) });
    }
    return Object.fromEntries(graph.outputs.map((o) => [o, rename(o)]));
  }

  /** A rank-0 float constant of the graph's element type. */
  scalar(value: number): string {
    return this.tensor([value], []);
  }

  /** A 1-D int64 constant (axes, shapes, split sizes). */
  int64s(values: readonly number[]): string {
    return this.cachedConstant(`int64:${values.join(',')}`, () =>
      this.initializer(this.fresh('ints'), BigInt64Array.from(values, (v) => BigInt(v)), [values.length]),
    );
  }

  output(name: string): void {
    this.typeOf(name);
    if (this.outputs.includes(name)) throw new Error(`'${name}' is already an output of graph '${this.name}'`);
    this.outputs.push(name);
  }

  // ---- elementwise ----

  add(a: string, b: string, out?: string): string {
    return this.binary('Add', a, b, out);
  }
  sub(a: string, b: string, out?: string): string {
    return this.binary('Sub', a, b, out);
  }
  mul(a: string, b: string, out?: string): string {
    return this.binary('Mul', a, b, out);
  }
  div(a: string, b: string, out?: string): string {
    return this.binary('Div', a, b, out);
  }
  neg(x: string, out?: string): string {
    return this.unary('Neg', x, out);
  }
  relu(x: string, out?: string): string {
    return this.unary('Relu', x, out);
  }
  sigmoid(x: string, out?: string): string {
    return this.unary('Sigmoid', x, out);
  }
  log(x: string, out?: string): string {
    return this.unary('Log', x, out);
  }
  exp(x: string, out?: string): string {
    return this.unary('Exp', x, out);
  }
  softplus(x: string, out?: string): string {
    return this.unary('Softplus', x, out);
  }
  tanh(x: string, out?: string): string {
    return this.unary('Tanh', x, out);
  }
  sqrt(x: string, out?: string): string {
    return this.unary('Sqrt', x, out);
  }
  abs(x: string, out?: string): string {
    return this.unary('Abs', x, out);
  }
  sign(x: string, out?: string): string {
    return this.unary('Sign', x, out);
  }
  /** Elementwise minimum of two values, broadcast. */
  min(a: string, b: string, out?: string): string {
    return this.binary('Min', a, b, out);
  }
  /** Elementwise maximum of two values, broadcast. */
  max(a: string, b: string, out?: string): string {
    return this.binary('Max', a, b, out);
  }
  /** x to a constant power. */
  pow(x: string, exponent: number, out?: string): string {
    return this.binary('Pow', x, this.scalar(exponent), out);
  }

  /** Softmax along `axis` (opset 13+: over that one axis). */
  softmax(x: string, axis: number, out?: string): string {
    this.expectFloat('Softmax', x);
    const ax = normalizeAxis(axis, this.shapeOf(x).length, 'Softmax');
    return this.emit('Softmax', [x], { axis: { kind: 'int', value: ax } }, [this.typeOf(x)], [out])[0]!;
  }
  identity(x: string, out?: string): string {
    return this.unary('Identity', x, out);
  }

  /** Clip to [min, max]; a bound left undefined is open. */
  clip(x: string, min: number | undefined, max: number | undefined, out?: string): string {
    this.expectFloat('Clip', x);
    const lo = min === undefined ? '' : this.scalar(min);
    const hi = max === undefined ? '' : this.scalar(max);
    return this.emit('Clip', trimOptional([x, lo, hi]), {}, [this.typeOf(x)], [out])[0]!;
  }

  /** Sum of any number of same-typed values, broadcast. */
  sum(xs: readonly string[], out?: string): string {
    if (xs.length === 0) throw new Error('Sum needs at least one input');
    if (xs.length === 1) return out === undefined ? xs[0]! : this.identity(xs[0]!, out);
    if (xs.length === 2) return this.add(xs[0]!, xs[1]!, out);
    for (const x of xs) this.expectFloat('Sum', x);
    const shape = broadcastShapes(xs.map((x) => this.shapeOf(x)), 'Sum');
    return this.emit('Sum', xs, {}, [{ elem: this.elemType, shape }], [out])[0]!;
  }

  // ---- comparisons and selection ----

  greater(a: string, b: string, out?: string): string {
    return this.compare('Greater', a, b, out);
  }
  less(a: string, b: string, out?: string): string {
    return this.compare('Less', a, b, out);
  }
  greaterOrEqual(a: string, b: string, out?: string): string {
    return this.compare('GreaterOrEqual', a, b, out);
  }
  lessOrEqual(a: string, b: string, out?: string): string {
    return this.compare('LessOrEqual', a, b, out);
  }
  and(a: string, b: string, out?: string): string {
    this.expectElem('And', a, 'bool');
    this.expectElem('And', b, 'bool');
    const shape = broadcastShapes([this.shapeOf(a), this.shapeOf(b)], 'And');
    return this.emit('And', [a, b], {}, [{ elem: 'bool', shape }], [out])[0]!;
  }
  where(cond: string, a: string, b: string, out?: string): string {
    this.expectElem('Where', cond, 'bool');
    this.expectFloat('Where', a);
    this.expectFloat('Where', b);
    const shape = broadcastShapes([this.shapeOf(cond), this.shapeOf(a), this.shapeOf(b)], 'Where');
    return this.emit('Where', [cond, a, b], {}, [{ elem: this.elemType, shape }], [out])[0]!;
  }

  // ---- linear algebra ----

  /** Y = alpha * A' B' + beta * C, with A' = transA ? Aᵀ : A (2-D operands); C broadcasts to Y. */
  gemm(a: string, b: string, c?: string, opts: GemmOptions = {}, out?: string): string {
    const { transA = false, transB = false, alpha = 1, beta = 1 } = opts;
    for (const v of c === undefined ? [a, b] : [a, b, c]) this.expectFloat('Gemm', v);
    const sa = this.expectRank('Gemm', a, 2);
    const sb = this.expectRank('Gemm', b, 2);
    const [m, ka] = transA ? [sa[1]!, sa[0]!] : [sa[0]!, sa[1]!];
    const [kb, n] = transB ? [sb[1]!, sb[0]!] : [sb[0]!, sb[1]!];
    if (ka !== kb)
      throw new Error(
        `Gemm: inner dimensions differ: ${a} ${formatShape(sa)}, ${b} ${formatShape(sb)} (transA=${transA}, transB=${transB})`,
      );
    const shape: Dim[] = [m, n];
    if (c !== undefined) {
      const full = broadcastShapes([shape, this.shapeOf(c)], `Gemm bias ${c}`);
      if (!sameShape(full, shape))
        throw new Error(`Gemm: C ${formatShape(this.shapeOf(c))} does not broadcast to ${formatShape(shape)}`);
    }
    const attrs: Record<string, Attr> = {};
    if (transA) attrs.transA = { kind: 'int', value: 1 };
    if (transB) attrs.transB = { kind: 'int', value: 1 };
    if (alpha !== 1) attrs.alpha = { kind: 'float', value: alpha };
    if (beta !== 1) attrs.beta = { kind: 'float', value: beta };
    return this.emit('Gemm', c === undefined ? [a, b] : [a, b, c], attrs, [{ elem: this.elemType, shape }], [out])[0]!;
  }

  /** Matrix product of two 2-D values. */
  matMul(a: string, b: string, out?: string): string {
    this.expectFloat('MatMul', a);
    this.expectFloat('MatMul', b);
    const sa = this.expectRank('MatMul', a, 2);
    const sb = this.expectRank('MatMul', b, 2);
    if (sa[1] !== sb[0]) throw new Error(`MatMul: inner dimensions differ: ${a} ${formatShape(sa)}, ${b} ${formatShape(sb)}`);
    return this.emit('MatMul', [a, b], {}, [{ elem: this.elemType, shape: [sa[0]!, sb[1]!] }], [out])[0]!;
  }

  // ---- reductions ----

  /** Sum over `axes` (all axes when undefined). Opset 18: axes are an input. */
  reduceSum(x: string, axes: readonly number[] | undefined, keepdims: boolean, out?: string): string {
    return this.reduce('ReduceSum', x, axes, keepdims, out);
  }
  reduceMean(x: string, axes: readonly number[] | undefined, keepdims: boolean, out?: string): string {
    return this.reduce('ReduceMean', x, axes, keepdims, out);
  }

  // ---- shapes ----

  concat(xs: readonly string[], axis: number, out?: string): string {
    if (xs.length === 0) throw new Error('Concat needs at least one input');
    const shapes = xs.map((x) => this.shapeOf(x));
    const rank = shapes[0]!.length;
    const ax = normalizeAxis(axis, rank, 'Concat');
    let total = 0;
    for (const [i, s] of shapes.entries()) {
      this.expectFloat('Concat', xs[i]!);
      const d = s[ax];
      if (s.length !== rank || s.some((v, j) => j !== ax && v !== shapes[0]![j]))
        throw new Error(`Concat: shapes ${shapes.map(formatShape).join(', ')} differ off axis ${ax}`);
      if (typeof d !== 'number') throw new Error(`Concat along the batch axis is not supported (${xs[i]})`);
      total += d;
    }
    const shape = shapes[0]!.map((d, j) => (j === ax ? total : d));
    return this.emit('Concat', xs, { axis: { kind: 'int', value: ax } }, [{ elem: this.elemType, shape }], [out])[0]!;
  }

  /** Splits along a static axis into pieces of the given sizes. */
  split(x: string, axis: number, sizes: readonly number[]): string[] {
    const s = this.shapeOf(x);
    const ax = normalizeAxis(axis, s.length, 'Split');
    if (s[ax] !== sizes.reduce((a, v) => a + v, 0))
      throw new Error(`Split: sizes ${sizes.join('+')} do not add up to axis ${ax} of ${formatShape(s)}`);
    const types = sizes.map((n) => ({ elem: this.typeOf(x).elem, shape: s.map((d, j) => (j === ax ? n : d)) }));
    return this.emit('Split', [x, this.int64s(sizes)], { axis: { kind: 'int', value: ax } }, types, []);
  }

  squeeze(x: string, axes: readonly number[], out?: string): string {
    const s = this.shapeOf(x);
    const norm = axes.map((a) => normalizeAxis(a, s.length, 'Squeeze'));
    for (const a of norm) if (s[a] !== 1) throw new Error(`Squeeze: axis ${a} of ${x} ${formatShape(s)} is not 1`);
    const shape = s.filter((_, i) => !norm.includes(i));
    return this.emit('Squeeze', [x, this.int64s(norm)], {}, [{ elem: this.typeOf(x).elem, shape }], [out])[0]!;
  }

  unsqueeze(x: string, axes: readonly number[], out?: string): string {
    const s = this.shapeOf(x);
    const rank = s.length + axes.length;
    const norm = axes.map((a) => normalizeAxis(a, rank, 'Unsqueeze'));
    if (new Set(norm).size !== norm.length) throw new Error(`Unsqueeze: repeated axes ${axes.join(',')}`);
    const shape: Dim[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : s[k++]!);
    return this.emit('Unsqueeze', [x, this.int64s(norm)], {}, [{ elem: this.typeOf(x).elem, shape }], [out])[0]!;
  }

  /** Reshape to `shape`; at most one batch dimension, which is passed to ONNX as -1. */
  reshape(x: string, shape: Shape, out?: string): string {
    const from = this.shapeOf(x);
    const symbolsIn = from.filter((d) => typeof d === 'string');
    const symbolsOut = shape.filter((d) => typeof d === 'string');
    const fixed = (s: Shape) => s.reduce<number>((a, d) => (typeof d === 'string' ? a : a * d), 1);
    if (symbolsOut.length > 1 || symbolsIn.join() !== symbolsOut.join() || fixed(from) !== fixed(shape))
      throw new Error(`Reshape: ${x} ${formatShape(from)} cannot become ${formatShape(shape)}`);
    const target = this.int64s(shape.map((d) => (typeof d === 'string' ? -1 : d)));
    return this.emit('Reshape', [x, target], {}, [{ elem: this.typeOf(x).elem, shape }], [out])[0]!;
  }

  /** Reshape `x` to the runtime shape of `like` (same element count). */
  reshapeLike(x: string, like: string, out?: string): string {
    const shape = this.shapeOf(like);
    return this.emit('Reshape', [x, this.runtimeShape(like)], {}, [{ elem: this.typeOf(x).elem, shape }], [out])[0]!;
  }

  /** Broadcast `x` to the shape of `like`. */
  expandLike(x: string, like: string, out?: string): string {
    const shape = this.shapeOf(like);
    const full = broadcastShapes([this.shapeOf(x), shape], 'Expand');
    if (!sameShape(full, shape))
      throw new Error(`Expand: ${x} ${formatShape(this.shapeOf(x))} does not broadcast to ${formatShape(shape)}`);
    return this.emit('Expand', [x, this.runtimeShape(like)], {}, [{ elem: this.typeOf(x).elem, shape }], [out])[0]!;
  }

  /** Number of elements of `x` as a rank-0 float of the graph's type (computed at run time). */
  runtimeSize(x: string): string {
    const size = this.emit('Size', [x], {}, [{ elem: 'int64', shape: [] }], [])[0]!;
    return this.cast(size, this.elemType);
  }

  cast(x: string, to: ValueElem, out?: string): string {
    const attrs: Record<string, Attr> = { to: { kind: 'int', value: ONNX_ELEM_CODE[to] } };
    return this.emit('Cast', [x], attrs, [{ elem: to, shape: this.shapeOf(x) }], [out])[0]!;
  }

  /**
   * Any op, with its output types given by the caller instead of inferred: for the integer and
   * domain-specific ops of the whole-model export (hashing, LabelEncoder, CumSum, ...).
   */
  op(
    op: string,
    inputs: readonly string[],
    outTypes: readonly ValueType[],
    attrs: Record<string, Attr> = {},
    opts: { domain?: string; outputs?: readonly string[] } = {},
  ): string[] {
    return this.emit(op, inputs, attrs, outTypes, opts.outputs ?? [], opts.domain);
  }

  // ---- internals ----

  /** The shape of `like` as an int64 tensor: a constant when static, else a Shape node. */
  private runtimeShape(like: string): string {
    const s = this.shapeOf(like);
    if (isStatic(s)) return this.int64s(s);
    return this.emit('Shape', [like], {}, [{ elem: 'int64', shape: [s.length] }], [])[0]!;
  }

  private unary(op: string, x: string, out?: string): string {
    this.expectFloat(op, x);
    return this.emit(op, [x], {}, [this.typeOf(x)], [out])[0]!;
  }

  private binary(op: string, a: string, b: string, out?: string): string {
    this.expectFloat(op, a);
    this.expectFloat(op, b);
    const shape = broadcastShapes([this.shapeOf(a), this.shapeOf(b)], `${op}(${a}, ${b})`);
    return this.emit(op, [a, b], {}, [{ elem: this.elemType, shape }], [out])[0]!;
  }

  private compare(op: string, a: string, b: string, out?: string): string {
    this.expectFloat(op, a);
    this.expectFloat(op, b);
    const shape = broadcastShapes([this.shapeOf(a), this.shapeOf(b)], `${op}(${a}, ${b})`);
    return this.emit(op, [a, b], {}, [{ elem: 'bool', shape }], [out])[0]!;
  }

  private reduce(op: string, x: string, axes: readonly number[] | undefined, keepdims: boolean, out?: string): string {
    this.expectFloat(op, x);
    const s = this.shapeOf(x);
    // ONNX reads empty axes as "all axes": ask for that with undefined, never by accident.
    if (axes?.length === 0) throw new Error(`${op}(${x}): empty axes; pass undefined to reduce over all axes`);
    const norm = axes === undefined ? s.map((_, i) => i) : axes.map((a) => normalizeAxis(a, s.length, op));
    const shape = keepdims ? s.map((d, i) => (norm.includes(i) ? 1 : d)) : s.filter((_, i) => !norm.includes(i));
    const inputs = axes === undefined ? [x] : [x, this.int64s(norm)];
    const attrs: Record<string, Attr> = { keepdims: { kind: 'int', value: keepdims ? 1 : 0 } };
    return this.emit(op, inputs, attrs, [{ elem: this.elemType, shape }], [out])[0]!;
  }

  private emit(
    op: string,
    inputs: readonly string[],
    attrs: Record<string, Attr>,
    outTypes: readonly ValueType[],
    outNames: readonly (string | undefined)[],
    domain = '',
  ): string[] {
    for (const i of inputs) if (i !== '') this.typeOf(i);
    const outputs = outTypes.map((t, k) => {
      const name = outNames[k] ?? this.fresh(op.toLowerCase());
      this.declare(name, t);
      return name;
    });
    this.nodes.push({ op, inputs: [...inputs], outputs, attrs, ...(domain ? { domain } : {}) });
    return outputs;
  }

  private declare(name: string, type: ValueType): void {
    if (name === '') throw new Error(`graph '${this.name}': empty value name`);
    if (this.types.has(name)) throw new Error(`graph '${this.name}' already has a value named '${name}'`);
    this.types.set(name, { elem: type.elem, shape: [...type.shape] });
  }

  private cachedConstant(key: string, make: () => string): string {
    const hit = this.constants.get(key);
    if (hit !== undefined) return hit;
    const name = make();
    this.constants.set(key, name);
    return name;
  }

  private expectElem(op: string, x: string, elem: ValueElem): void {
    const t = this.typeOf(x);
    if (t.elem !== elem) throw new Error(`${op}: '${x}' is ${t.elem}, expected ${elem}`);
  }

  private expectFloat(op: string, x: string): void {
    this.expectElem(op, x, this.elemType);
  }

  private expectRank(op: string, x: string, rank: number): Shape {
    const s = this.shapeOf(x);
    if (s.length !== rank) throw new Error(`${op}: '${x}' has shape ${formatShape(s)}, expected rank ${rank}`);
    return s;
  }
}

/**
 * The graph's own op for stopGradient(): ONNX has none, so it is written out as Identity (see
 * nn/onnx.ts) and the autodiff passes no gradient through it.
 */
export const STOP_GRADIENT = 'StopGradient';

/** TensorProto.DataType codes of the element types we use (onnx.proto). */
export const ONNX_ELEM_CODE: Readonly<Record<ValueElem, number>> = { float: 1, int64: 7, bool: 9, double: 11 };

/** Drops trailing omitted ('') optional inputs, as ONNX allows. */
function trimOptional(inputs: string[]): string[] {
  let n = inputs.length;
  while (n > 0 && inputs[n - 1] === '') n--;
  return inputs.slice(0, n);
}

/** Exact text key of float constants (distinguishes -0 and keeps full precision). */
function keyOf(data: Float32Array | Float64Array): string {
  return Array.from(data, (v) => (Object.is(v, -0) ? '-0' : String(v))).join(',');
}
