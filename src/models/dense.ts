/**
 * The dense part of the models: MLP towers over the pooled embeddings `x` [batch, inputDim], as
 * ONNX graphs run by onnxruntime.
 *
 *   esmm:   x ─┬─ ctr tower ─ logit_ctr ─ sigmoid ─ pctr ─┐
 *              └─ cvr tower ─ logit_cvr ─ sigmoid ─ pcvr ─┴─ × ─ pctcvr
 *           loss = mean_i w_i (CE(click_i, pctr_i) + CE(ctcvr_i, pctcvr_i))   (no CVR loss: ESMM)
 *   esmm-ns: the same with no input shared: x holds, per field, the CTR tower's fieldDim values
 *           then the CVR tower's ([f0 ctr | f0 cvr | f1 ctr | f1 cvr | ...], what an embedding
 *           table of width 2·fieldDim pools to), and each tower reads only its own halves:
 *             x_ctr = reshape(ReduceSum(reshape(x, [B, F, 2, D]) · [1, 0]ᵀ, axis 2), [B, F·D])
 *           so two towers with separate embeddings cost one lookup per id (ESMM-NS, the paper's
 *           ablation), and the selection is a Mul and a ReduceSum that autodiff already knows.
 *   single: x ── net tower ─ logit ─ sigmoid ─ p;  loss = mean_i w_i CE(label_i, p_i)
 *
 * A tower is Gemm → ReLU → dropout per hidden layer, then a Gemm to one logit. The training graph
 * is this forward graph plus the loss, differentiated (src/nn/autodiff.ts) w.r.t. every parameter
 * and x; the inference graph is the forward graph alone, with the parameters as inputs or baked in.
 */
import { differentiate, gradName } from '../nn/autodiff.js';
import { GraphBuilder, type ElemType, type Graph } from '../nn/graph.js';
import { toOnnxModel } from '../nn/onnx.js';
import { OrtSession, type HostTensor } from '../nn/session.js';
import { BATCH } from '../nn/shape.js';
import { Rng } from '../util/rng.js';

export interface DenseSpec {
  kind: 'esmm' | 'esmm-ns' | 'single';
  /** Width of x. */
  inputDim: number;
  /** Hidden layer widths (the paper's towers: DEFAULT_HIDDEN). */
  hidden: number[];
  /** Dropout rate after each hidden layer, in [0, 1). */
  dropout: number;
  /** esmm-ns only: width of one field's vector per tower (x is fields × 2 × fieldDim wide). */
  fieldDim?: number;
}

export const DEFAULT_HIDDEN: readonly number[] = [360, 200, 80];

/** Parameters by name; insertion order is the canonical order (paramNames). */
export type ParamSet = Map<string, { dims: number[]; data: Float32Array }>;

export type DenseLabels = { click: Float32Array; ctcvr: Float32Array } | { label: Float32Array };

export interface TrainStepResult {
  /** The weighted mean loss of the batch. */
  loss: number;
  /** Gradient of the loss per parameter name. */
  grads: Map<string, Float32Array>;
  /** Gradient of the loss w.r.t. x, [batch, inputDim] row-major: what the embeddings backprop. */
  gradX: Float32Array;
  /** The predictions of this step (with dropout): esmm pctr, pcvr, pctcvr; single p. */
  outputs: Record<string, Float32Array>;
}

/** Probabilities are clipped to [EPSILON, 1 - EPSILON] before a log, as Keras does. */
const EPSILON = 1e-7;

export function towersOf(spec: DenseSpec): string[] {
  switch (spec.kind) {
    case 'esmm':
    case 'esmm-ns':
      return ['ctr', 'cvr'];
    case 'single':
      return ['net'];
  }
}

export function outputNames(spec: DenseSpec): string[] {
  switch (spec.kind) {
    case 'esmm':
    case 'esmm-ns':
      return ['pctr', 'pcvr', 'pctcvr'];
    case 'single':
      return ['p'];
  }
}

/** Widths from a tower's input to its logit: [towerInputDim, ...hidden, 1]. */
function layerWidths(spec: DenseSpec): number[] {
  return [towerInputDim(spec), ...spec.hidden, 1];
}

/** Width of what one tower reads: all of x, or its half of it (esmm-ns). */
export function towerInputDim(spec: DenseSpec): number {
  switch (spec.kind) {
    case 'esmm':
    case 'single':
      return spec.inputDim;
    case 'esmm-ns':
      return spec.inputDim / 2;
  }
}

/**
 * How many embedding vectors of width fieldDim one table row holds: 2 for esmm-ns (the CTR
 * tower's and the CVR tower's, side by side), 1 otherwise (one vector, read by every tower).
 */
export function embeddingCopies(spec: DenseSpec): number {
  switch (spec.kind) {
    case 'esmm':
    case 'single':
      return 1;
    case 'esmm-ns':
      return 2;
  }
}

/** Parameter names and dims in canonical order: per tower w0, b0, w1, b1, ... */
export function paramShapes(spec: DenseSpec): Map<string, number[]> {
  validateSpec(spec);
  const widths = layerWidths(spec);
  const shapes = new Map<string, number[]>();
  for (const tower of towersOf(spec))
    for (let i = 0; i + 1 < widths.length; i++) {
      shapes.set(`${tower}.w${i}`, [widths[i]!, widths[i + 1]!]);
      shapes.set(`${tower}.b${i}`, [widths[i + 1]!]);
    }
  return shapes;
}

export function paramNames(spec: DenseSpec): string[] {
  return [...paramShapes(spec).keys()];
}

/** Dropout mask inputs of the training graph: one per tower and hidden layer, [batch, width]. */
export function maskShapes(spec: DenseSpec): Map<string, number> {
  const masks = new Map<string, number>();
  if (spec.dropout > 0)
    for (const tower of towersOf(spec)) spec.hidden.forEach((width, i) => masks.set(`${tower}.mask${i}`, width));
  return masks;
}

/**
 * Deterministic initial parameters: He uniform for the layers followed by a ReLU, Glorot uniform
 * (the seed's tf.layers.dense default) for the logit layer, zero biases.
 */
export function initParams(spec: DenseSpec, rng: Rng): ParamSet {
  validateSpec(spec);
  const widths = layerWidths(spec);
  const params: ParamSet = new Map();
  for (const tower of towersOf(spec))
    for (let i = 0; i + 1 < widths.length; i++) {
      const [fanIn, fanOut] = [widths[i]!, widths[i + 1]!];
      const limit = i < spec.hidden.length ? Math.sqrt(6 / fanIn) : Math.sqrt(6 / (fanIn + fanOut));
      const w = new Float32Array(fanIn * fanOut);
      for (let j = 0; j < w.length; j++) w[j] = (2 * rng.next() - 1) * limit;
      params.set(`${tower}.w${i}`, { dims: [fanIn, fanOut], data: w });
      params.set(`${tower}.b${i}`, { dims: [fanOut], data: new Float32Array(fanOut) });
    }
  return params;
}

export function validateSpec(spec: DenseSpec): void {
  const bad = (what: string): never => {
    throw new Error(`invalid dense spec: ${what}`);
  };
  if (spec.kind !== 'esmm' && spec.kind !== 'esmm-ns' && spec.kind !== 'single')
    bad(`kind must be 'esmm', 'esmm-ns' or 'single' (got ${String(spec.kind)})`);
  if (!Number.isInteger(spec.inputDim) || spec.inputDim < 1) bad(`inputDim must be a positive integer (got ${spec.inputDim})`);
  if (spec.kind === 'esmm-ns') {
    const d = spec.fieldDim;
    if (d === undefined || !Number.isInteger(d) || d < 1) bad(`an esmm-ns net needs fieldDim, a positive integer (got ${d})`);
    else if (spec.inputDim % (2 * d) !== 0)
      bad(`esmm-ns inputDim ${spec.inputDim} is not fields × 2 × fieldDim ${d}: each field needs one vector per tower`);
  }
  if (!spec.hidden.every((h) => Number.isInteger(h) && h >= 1))
    bad(`hidden widths must be positive integers (got [${spec.hidden.join(', ')}])`);
  if (!(spec.dropout >= 0 && spec.dropout < 1)) bad(`dropout must be in [0, 1) (got ${spec.dropout})`);
}

/** Checks that `params` holds exactly the spec's parameters with the right dims. */
export function validateParams(spec: DenseSpec, params: ParamSet): void {
  const shapes = paramShapes(spec);
  for (const [name, dims] of shapes) {
    const p = params.get(name);
    if (!p) throw new Error(`dense parameters lack '${name}' (a ${spec.kind} net with hidden [${spec.hidden.join(', ')}])`);
    const size = dims.reduce((a, d) => a * d, 1);
    if (p.dims.join() !== dims.join() || p.data.length !== size)
      throw new Error(
        `dense parameter '${name}' has dims [${p.dims.join(', ')}] (${p.data.length} values); the spec needs [${dims.join(', ')}]`,
      );
  }
  for (const name of params.keys())
    if (!shapes.has(name))
      throw new Error(`dense parameter '${name}' is not part of a ${spec.kind} net with hidden [${spec.hidden.join(', ')}]`);
}

export interface DenseGraphOptions {
  elemType?: ElemType;
  /** true: dropout masks, labels, weights and the `loss` output (not yet differentiated). */
  training: boolean;
  /** Bake these parameters in as initializers; otherwise they are graph inputs. */
  params?: ParamSet;
}

/** The forward graph, plus the loss when training. */
export function buildDenseGraph(spec: DenseSpec, opts: DenseGraphOptions): Graph {
  validateSpec(spec);
  const elemType = opts.elemType ?? 'float';
  const b = new GraphBuilder(`dense_${spec.kind}${opts.training ? '_train' : ''}`, elemType);
  const x = b.input('x', [BATCH, spec.inputDim]);
  if (opts.params) validateParams(spec, opts.params);
  for (const [name, dims] of paramShapes(spec)) {
    const baked = opts.params?.get(name);
    if (!baked) b.input(name, dims);
    else b.initializer(name, elemType === 'float' ? baked.data : Float64Array.from(baked.data), dims);
  }
  const dropout = opts.training ? maskShapes(spec) : new Map<string, number>();
  for (const [name, width] of dropout) b.input(name, [BATCH, width]);

  const logit = (tower: string, input: string): string => {
    let h = input;
    for (let i = 0; i <= spec.hidden.length; i++) {
      h = b.gemm(h, `${tower}.w${i}`, `${tower}.b${i}`);
      if (i === spec.hidden.length) break;
      h = b.relu(h);
      if (dropout.has(`${tower}.mask${i}`)) h = b.mul(h, `${tower}.mask${i}`);
    }
    return b.squeeze(h, [1], `${tower}.logit`);
  };

  switch (spec.kind) {
    case 'esmm':
    case 'esmm-ns': {
      const [ctrIn, cvrIn] = spec.kind === 'esmm' ? [x, x] : [towerHalf(b, x, spec, 0), towerHalf(b, x, spec, 1)];
      const ctr = logit('ctr', ctrIn);
      const pctr = b.sigmoid(ctr, 'pctr');
      const pctcvr = b.mul(pctr, b.sigmoid(logit('cvr', cvrIn), 'pcvr'), 'pctcvr');
      for (const o of outputNames(spec)) b.output(o);
      if (opts.training) {
        const [click, ctcvr, weight] = ['click', 'ctcvr', 'weight'].map((n) => b.input(n, [BATCH])) as [string, string, string];
        const ce = b.add(logitCrossEntropy(b, ctr, click), probabilityCrossEntropy(b, pctcvr, ctcvr));
        b.reduceMean(b.mul(weight, ce), [0], false, 'loss');
        b.output('loss');
      }
      break;
    }
    case 'single': {
      const l = logit('net', x);
      b.sigmoid(l, 'p');
      b.output('p');
      if (opts.training) {
        const [label, weight] = ['label', 'weight'].map((n) => b.input(n, [BATCH])) as [string, string];
        b.reduceMean(b.mul(weight, logitCrossEntropy(b, l, label)), [0], false, 'loss');
        b.output('loss');
      }
      break;
    }
  }
  return b.build();
}

/** esmm-ns: the fields' vectors of one tower (0: CTR, 1: CVR), [batch, fields × fieldDim]. */
function towerHalf(b: GraphBuilder, x: string, spec: DenseSpec, half: 0 | 1): string {
  const d = spec.fieldDim!;
  const fields = spec.inputDim / (2 * d);
  const perField = b.reshape(x, [BATCH, fields, 2, d]);
  const pick = b.tensor(half === 0 ? [1, 0] : [0, 1], [2, 1]);
  return b.reshape(b.reduceSum(b.mul(perField, pick), [2], false), [BATCH, fields * d], `${half === 0 ? 'ctr' : 'cvr'}.input`);
}

/** CE(y, sigmoid(l)) from the logit, stable for any l: softplus(l) - y l. */
function logitCrossEntropy(b: GraphBuilder, logit: string, y: string): string {
  return b.sub(b.softplus(logit), b.mul(y, logit));
}

/** Keras binary_crossentropy on a probability: -(z log p + (1 - z) log(1 - p)), p clipped. */
function probabilityCrossEntropy(b: GraphBuilder, p: string, z: string): string {
  const one = b.scalar(1);
  const clipped = b.clip(p, EPSILON, 1 - EPSILON);
  const pos = b.mul(z, b.log(clipped));
  const neg = b.mul(b.sub(one, z), b.log(b.sub(one, clipped)));
  return b.neg(b.add(pos, neg));
}

/** The forward + loss graph differentiated w.r.t. every parameter and x. */
export function buildTrainingGraph(spec: DenseSpec, elemType: ElemType = 'float'): Graph {
  const forward = buildDenseGraph(spec, { elemType, training: true });
  return differentiate(forward, 'loss', [...paramNames(spec), 'x']);
}

/** ONNX training model: inputs x, params, masks, labels, weight; outputs predictions, loss, grad:<param>, grad:x. */
export function buildTrainingModel(spec: DenseSpec, elemType: ElemType = 'float'): Uint8Array {
  return toOnnxModel(buildTrainingGraph(spec, elemType));
}

/** ONNX inference model: input x (+ the params unless baked in); outputs the predictions. */
export function buildInferenceModel(spec: DenseSpec, params?: ParamSet, elemType: ElemType = 'float'): Uint8Array {
  return toOnnxModel(buildDenseGraph(spec, { elemType, training: false, ...(params ? { params } : {}) }));
}

/** What a dense net is loaded for: training (and evaluation while training), or prediction alone. */
export type DenseNetMode = 'train' | 'predict';

/**
 * A dense net with its onnxruntime sessions. In 'train' mode the parameters are fed from `params`
 * on every call, so an optimizer that updates `params.get(name).data` in place between steps is all
 * training needs. In 'predict' mode there is no training session and the inference graph has the
 * parameters baked in as constants, so onnxruntime can pre-pack the weight matrices once: a
 * single-impression call of the paper's towers took 0.24 ms instead of 0.61 ms. Later changes to
 * `params` do not reach such a net.
 */
export class DenseNet {
  /** Reused dropout-mask buffers, one per mask input (grown to the largest batch seen). */
  private readonly masks = new Map<string, Float32Array>();

  private constructor(
    readonly spec: DenseSpec,
    readonly params: ParamSet,
    private readonly training: OrtSession | null,
    private readonly inference: OrtSession,
    private readonly rng: Rng,
  ) {}

  get mode(): DenseNetMode {
    return this.training ? 'train' : 'predict';
  }

  /**
   * opts: intra-op threads per session (default 2), dropout seed (default 0), thread spinning (see
   * SessionOptions), mode (default 'train').
   */
  static async create(
    spec: DenseSpec,
    params: ParamSet,
    opts: { threads?: number; seed?: number; spin?: boolean; mode?: DenseNetMode } = {},
  ): Promise<DenseNet> {
    validateParams(spec, params);
    const session = { threads: opts.threads ?? 2, spin: opts.spin ?? false };
    const rng = new Rng(opts.seed ?? 0);
    if (opts.mode === 'predict') return new DenseNet(spec, params, null, await OrtSession.create(buildInferenceModel(spec, params), session), rng);
    const training = await OrtSession.create(buildTrainingModel(spec), session);
    try {
      const inference = await OrtSession.create(buildInferenceModel(spec), session);
      return new DenseNet(spec, params, training, inference, rng);
    } catch (e) {
      await training.release();
      throw e;
    }
  }

  async trainStep(x: Float32Array, batch: number, labels: DenseLabels, weight: Float32Array): Promise<TrainStepResult> {
    if (!this.training) throw new Error('this dense net was loaded for prediction only; load it in train mode to train it');
    const feeds = this.commonFeeds(x, batch);
    feeds.weight = this.perSample('weight', weight, batch);
    switch (this.spec.kind) {
      case 'esmm':
      case 'esmm-ns':
        if (!('click' in labels)) throw new Error(`an ${this.spec.kind} net trains on { click, ctcvr } labels, got { label }`);
        feeds.click = this.perSample('click', labels.click, batch);
        feeds.ctcvr = this.perSample('ctcvr', labels.ctcvr, batch);
        break;
      case 'single':
        if (!('label' in labels)) throw new Error('a single-tower net trains on { label }, got { click, ctcvr }');
        feeds.label = this.perSample('label', labels.label, batch);
        break;
    }
    for (const [name, width] of maskShapes(this.spec)) feeds[name] = { data: this.dropoutMask(name, batch * width), dims: [batch, width] };

    const out = await this.training.run(feeds);
    const take = (name: string): Float32Array => out[name]!.data as Float32Array;
    const grads = new Map<string, Float32Array>();
    for (const name of this.params.keys()) grads.set(name, take(gradName(name)));
    const outputs: Record<string, Float32Array> = {};
    for (const name of outputNames(this.spec)) outputs[name] = take(name);
    return { loss: take('loss')[0]!, grads, gradX: take(gradName('x')), outputs };
  }

  /** Predictions without dropout: esmm and esmm-ns pctr, pcvr, pctcvr; single p. */
  async predict(x: Float32Array, batch: number): Promise<Record<string, Float32Array>> {
    const out = await this.inference.run(this.commonFeeds(x, batch));
    const result: Record<string, Float32Array> = {};
    for (const name of outputNames(this.spec)) result[name] = out[name]!.data as Float32Array;
    return result;
  }

  async release(): Promise<void> {
    await this.training?.release();
    await this.inference.release();
  }

  /** The dropout generator's state: a checkpoint saves it so a resumed run draws the same masks. */
  getDropoutRngState(): ReturnType<Rng['getState']> {
    return this.rng.getState();
  }

  setDropoutRngState(state: ReturnType<Rng['getState']>): void {
    this.rng.setState(state);
  }

  /** x and (unless baked in) the parameters, wrapped without copying. */
  private commonFeeds(x: Float32Array, batch: number): Record<string, HostTensor<Float32Array>> {
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a positive integer (got ${batch})`);
    if (x.length !== batch * this.spec.inputDim)
      throw new Error(`x has ${x.length} values; batch ${batch} × inputDim ${this.spec.inputDim} needs ${batch * this.spec.inputDim}`);
    const feeds: Record<string, HostTensor<Float32Array>> = { x: { data: x, dims: [batch, this.spec.inputDim] } };
    if (this.training) for (const [name, p] of this.params) feeds[name] = p;
    return feeds;
  }

  private perSample(what: string, data: Float32Array, batch: number): HostTensor<Float32Array> {
    if (data.length !== batch) throw new Error(`${what} has ${data.length} values for a batch of ${batch}`);
    return { data, dims: [batch] };
  }

  /**
   * Inverted dropout: each unit is kept with probability 1 - p and then scaled by 1 / (1 - p).
   * Each uint32 draw decides two units from 16 bits each, so 1 - p is resolved to 1/65536.
   */
  private dropoutMask(name: string, size: number): Float32Array {
    let buf = this.masks.get(name);
    if (!buf || buf.length < size) this.masks.set(name, (buf = new Float32Array(size)));
    // The kept value's float bits ANDed with an all-ones or all-zeros word: no branch per unit
    // (a random branch is mispredicted half the time) and no int-to-float conversion.
    const bits = new Int32Array(buf.buffer, 0, size);
    const keepBelow = Math.round((1 - this.spec.dropout) * 65536);
    const scaleBits = new Int32Array(Float32Array.of(1 / (1 - this.spec.dropout)).buffer)[0]!;
    for (let i = 0; i < size; i += 2) {
      const r = this.rng.nextU32();
      bits[i] = scaleBits & (((r & 0xffff) - keepBelow) >> 31);
      if (i + 1 < size) bits[i + 1] = scaleBits & (((r >>> 16) - keepBelow) >> 31);
    }
    return buf.subarray(0, size);
  }
}
