/**
 * A component's dense graph with its onnxruntime sessions. Everything it feeds it reads from the
 * graph: the parameters it declared, the labels its loss reads, and its dropout masks (drawn here,
 * from a seeded generator that checkpoints save).
 */
import { gradName } from '../nn/autodiff.js';
import type { Graph } from '../nn/graph.js';
import { toOnnxModel } from '../nn/onnx.js';
import { OrtSession, type HostTensor } from '../nn/session.js';
import { Rng } from '../util/rng.js';
import { buildDenseGraph, buildTrainingGraph, validateParams, type ParamSet } from './dense-graph.js';
import type { DenseArch } from './definition.js';

/** What a dense net is loaded for: training (and evaluation while training), or prediction alone. */
export type DenseNetMode = 'train' | 'predict';

export interface TrainStepResult {
  /** The mean loss of the batch. */
  loss: number;
  /** Gradient of the loss per parameter name. */
  grads: Map<string, Float32Array>;
  /** Gradient of the loss w.r.t. x, [batch, inputDim] row-major: what the embeddings backprop. */
  gradX: Float32Array;
  /** The predictions of this step (with dropout), by output name. */
  outputs: Record<string, Float32Array>;
}

/**
 * In 'train' mode the parameters are fed from `params` on every call, so an optimizer that updates
 * `params.get(name).data` in place between steps is all training needs. In 'predict' mode there is
 * no training session and the inference graph has the parameters baked in as constants, so
 * onnxruntime can pre-pack the weight matrices once (several times faster for a single
 * impression); later changes to `params` do not reach such a net.
 */
export class DenseNet {
  /** Reused dropout-mask buffers, one per mask input (grown to the largest batch seen). */
  private readonly masks = new Map<string, Float32Array>();
  /** The forward graph with its loss, for validation losses; built on first use (early stopping only). */
  private evaluation: Promise<OrtSession> | null = null;
  /** Masks of ones (dropout off) for the evaluation session, per mask input. */
  private readonly ones = new Map<string, Float32Array>();

  private constructor(
    /** The forward graph of a training graph: its parameters, labels, dropouts and outputs. */
    readonly graph: Graph,
    readonly inputDim: number,
    readonly params: ParamSet,
    private readonly training: OrtSession | null,
    private readonly inference: OrtSession,
    private readonly rng: Rng,
    private readonly arch: DenseArch,
    private readonly sessionOptions: { threads: number; spin: boolean },
  ) {}

  get mode(): DenseNetMode {
    return this.training ? 'train' : 'predict';
  }

  /** The prediction outputs, in graph order. */
  get outputNames(): readonly string[] {
    return this.graph.outputs.filter((o) => o !== 'loss');
  }

  /** The labels a training step needs (LABELS names). */
  get labelNames(): readonly string[] {
    return this.graph.labels;
  }

  /**
   * opts: intra-op threads per session (default 2), dropout seed (default 0), thread spinning (see
   * SessionOptions), mode (default 'train').
   */
  static async create(
    arch: DenseArch,
    inputDim: number,
    params: ParamSet,
    opts: { threads?: number; seed?: number; spin?: boolean; mode?: DenseNetMode } = {},
  ): Promise<DenseNet> {
    const graph = buildDenseGraph(arch, inputDim, { training: true });
    validateParams(graph.params, params);
    const session = { threads: opts.threads ?? 2, spin: opts.spin ?? false };
    const rng = new Rng(opts.seed ?? 0);
    if (opts.mode === 'predict') {
      const baked = toOnnxModel(buildDenseGraph(arch, inputDim, { training: false, params }));
      return new DenseNet(graph, inputDim, params, null, await OrtSession.create(baked, session), rng, arch, session);
    }
    const training = await OrtSession.create(toOnnxModel(buildTrainingGraph(arch, inputDim)), session);
    try {
      const inference = await OrtSession.create(toOnnxModel(buildDenseGraph(arch, inputDim, { training: false })), session);
      return new DenseNet(graph, inputDim, params, training, inference, rng, arch, session);
    } catch (e) {
      await training.release();
      throw e;
    }
  }

  /** One forward + backward pass; `labels` holds (at least) every label the graph reads, per sample. */
  async trainStep(x: Float32Array, batch: number, labels: Readonly<Record<string, Float32Array>>): Promise<TrainStepResult> {
    if (!this.training) throw new Error('this dense net was loaded for prediction only; load it in train mode to train it');
    const feeds = this.commonFeeds(x, batch);
    for (const name of this.graph.labels) {
      const data = labels[name];
      if (!data) throw new Error(`the training graph reads label '${name}', which was not given (given: ${Object.keys(labels).join(', ')})`);
      if (data.length !== batch) throw new Error(`label '${name}' has ${data.length} values for a batch of ${batch}`);
      feeds[name] = { data, dims: [batch] };
    }
    for (const d of this.graph.dropouts) {
      const dims = d.shape.map((s) => (typeof s === 'number' ? s : batch));
      feeds[d.mask] = { data: this.dropoutMask(d.mask, d.rate, dims.reduce((a, n) => a * n, 1)), dims };
    }

    const out = await this.training.run(feeds);
    const take = (name: string): Float32Array => out[name]!.data as Float32Array;
    const grads = new Map<string, Float32Array>();
    for (const name of this.params.keys()) grads.set(name, take(gradName(name)));
    const outputs: Record<string, Float32Array> = {};
    for (const name of this.outputNames) outputs[name] = take(name);
    return { loss: take('loss')[0]!, grads, gradX: take(gradName('x')), outputs };
  }

  /**
   * The batch mean of the graph's per-sample loss without dropout and without gradients: the loss
   * the model's predictions (as predict() makes them) score on labelled data. Its session is the
   * training forward graph fed masks of ones (inverted dropout with every unit kept is the
   * identity, as at inference), built the first time this is called. Draws nothing from the
   * dropout generator, so evaluating changes no later training step.
   */
  async evaluateLoss(x: Float32Array, batch: number, labels: Readonly<Record<string, Float32Array>>): Promise<number> {
    if (!this.training) throw new Error('this dense net was loaded for prediction only; load it in train mode to compute its training loss');
    this.evaluation ??= OrtSession.create(toOnnxModel(buildDenseGraph(this.arch, this.inputDim, { training: true })), this.sessionOptions);
    const session = await this.evaluation;
    const feeds = this.commonFeeds(x, batch);
    for (const name of this.graph.labels) {
      const data = labels[name];
      if (!data || data.length !== batch) throw new Error(`the loss reads label '${name}': give ${batch} values (given: ${Object.keys(labels).join(', ')})`);
      feeds[name] = { data, dims: [batch] };
    }
    for (const d of this.graph.dropouts) {
      const dims = d.shape.map((s) => (typeof s === 'number' ? s : batch));
      const size = dims.reduce((a, n) => a * n, 1);
      let buf = this.ones.get(d.mask);
      if (!buf || buf.length < size) this.ones.set(d.mask, (buf = new Float32Array(size).fill(1)));
      feeds[d.mask] = { data: buf.subarray(0, size), dims };
    }
    const out = await session.run(feeds);
    return (out['loss']!.data as Float32Array)[0]!;
  }

  /** Predictions without dropout, by output name. */
  async predict(x: Float32Array, batch: number): Promise<Record<string, Float32Array>> {
    const out = await this.inference.run(this.commonFeeds(x, batch));
    const result: Record<string, Float32Array> = {};
    for (const name of this.outputNames) result[name] = out[name]!.data as Float32Array;
    return result;
  }

  async release(): Promise<void> {
    if (this.evaluation) await (await this.evaluation).release();
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
    if (x.length !== batch * this.inputDim)
      throw new Error(`x has ${x.length} values; batch ${batch} × inputDim ${this.inputDim} needs ${batch * this.inputDim}`);
    const feeds: Record<string, HostTensor<Float32Array>> = { x: { data: x, dims: [batch, this.inputDim] } };
    if (this.training) for (const [name, p] of this.params) feeds[name] = p;
    return feeds;
  }

  /**
   * Inverted dropout: each unit is kept with probability 1 - rate and then scaled by 1 / (1 - rate).
   * Each uint32 draw decides two units from 16 bits each, so 1 - rate is resolved to 1/65536.
   */
  private dropoutMask(name: string, rate: number, size: number): Float32Array {
    let buf = this.masks.get(name);
    if (!buf || buf.length < size) this.masks.set(name, (buf = new Float32Array(size)));
    // The kept value's float bits ANDed with an all-ones or all-zeros word: no branch per unit
    // (a random branch is mispredicted half the time) and no int-to-float conversion.
    const bits = new Int32Array(buf.buffer, 0, size);
    const keepBelow = Math.round((1 - rate) * 65536);
    const scaleBits = new Int32Array(Float32Array.of(1 / (1 - rate)).buffer)[0]!;
    for (let i = 0; i < size; i += 2) {
      const r = this.rng.nextU32();
      bits[i] = scaleBits & (((r & 0xffff) - keepBelow) >> 31);
      if (i + 1 < size) bits[i + 1] = scaleBits & (((r >>> 16) - keepBelow) >> 31);
    }
    return buf.subarray(0, size);
  }
}
