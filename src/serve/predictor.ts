/**
 * The in-process predictor: a saved model that predicts raw instances.
 *
 *   const predictor = await loadPredictor('model');
 *   const [p] = await predictor.predict([{ '205': [4015078], '109_14': [[600123, 1.94591]] }]);
 *   p.pctr; p.pcvr; p.pctcvr;
 *   await predictor.release();
 *
 * Instances go through the same code as `esmm predict`: ids become feature keys as the raw reader
 * makes them, the BatchBuilder hashes them with the model's spec, and CvrModel.predict pools
 * (never-trained rows as zeros) and runs the dense part. Concurrent calls are safe and share dense
 * calls (BatchQueue). An instance's features all sit in its own row; `esmm predict` pools a
 * user's common features separately and adds them, so the two can differ in the last float32 bit.
 */
import { BatchBuilder } from '../data/batch/batcher.js';
import { NO_GROUPS, type SampleBlock } from '../data/types.js';
import type { FeatureSpec } from '../features/spec-types.js';
import type { CvrModel, Predictions } from '../models/cvr-model.js';
import { loadModel } from '../persist/model-dir.js';
import { BatchQueue, DEFAULT_BATCHING, type BatchingOptions } from './batch-queue.js';
import { DEFAULT_LIMITS, InstanceParser, type Instance, type InstanceLimits, type InstanceRows } from './instances.js';

export interface PredictorOptions {
  /** onnxruntime intra-op threads per session (default 1: serving runs many small calls). */
  threads?: number;
  limits?: Partial<InstanceLimits>;
  batching?: Partial<BatchingOptions>;
  /** Called with the instance count of every dense call (metrics). */
  onBatch?: (instances: number) => void;
}

export interface InstancePrediction {
  pctr: number;
  pcvr: number;
  pctcvr: number;
}

export class Predictor {
  private readonly builder: BatchBuilder;
  private readonly queue: BatchQueue;
  private positions = new Int32Array(0);
  private columns = { sampleIds: new Float64Array(0), zeros: new Uint8Array(0), noGroup: new Int32Array(0) };
  private released = false;

  private constructor(
    readonly model: CvrModel,
    readonly parser: InstanceParser,
    batching: BatchingOptions,
  ) {
    const spec = model.config.spec;
    // One dense call at a time (BatchQueue), each done with its batch before the next is built.
    this.builder = new BatchBuilder(spec, spec.fields.map((f) => f.name), NO_GROUPS, { reuseBuffers: true });
    this.queue = new BatchQueue((rows) => this.runDense(rows), batching);
  }

  static async load(dir: string, opts: PredictorOptions = {}): Promise<Predictor> {
    const model = await loadModel(dir, { threads: opts.threads ?? 1, mode: 'predict' });
    try {
      return Predictor.fromModel(model, opts);
    } catch (e) {
      await model.release();
      throw e;
    }
  }

  /** Serves a model already in memory; release() releases it. */
  static fromModel(model: CvrModel, opts: PredictorOptions = {}): Predictor {
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    const predictor = new Predictor(model, new InstanceParser(model.config.spec, limits), { ...DEFAULT_BATCHING, ...opts.batching });
    predictor.queue.onBatch = opts.onBatch ?? null;
    return predictor;
  }

  get spec(): FeatureSpec {
    return this.model.config.spec;
  }

  /** Checks instances (as parsed from JSON) against the spec; throws InstanceError with the path. */
  parse(instances: unknown, path?: string): InstanceRows {
    return this.parser.parse(instances, path);
  }

  /** pCTR, pCVR, pCTCVR per row (float32), possibly batched with concurrent calls. */
  predictRows(rows: InstanceRows): Promise<Predictions> {
    if (this.released) return Promise.reject(new Error('this predictor was released'));
    return this.queue.submit(rows);
  }

  async predict(instances: readonly Instance[]): Promise<InstancePrediction[]> {
    const p = await this.predictRows(this.parse(instances));
    return Array.from(p.pctr, (pctr, i) => ({ pctr, pcvr: p.pcvr[i]!, pctcvr: p.pctcvr[i]! }));
  }

  /** Waits for queued calls, then frees the model (its onnxruntime sessions). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.queue.idle();
    await this.model.release();
  }

  private runDense(rows: InstanceRows): Promise<Predictions> {
    const n = rows.count;
    if (this.positions.length < n) this.growColumns(Math.max(n, 2 * this.positions.length));
    const c = this.columns;
    // A literal of one fixed shape, columns reused: nothing here outlives the call.
    const block: SampleBlock = {
      count: n,
      offsets: rows.offsets,
      fields: rows.fields,
      keys: rows.keys,
      values: rows.values,
      sampleIds: c.sampleIds,
      click: c.zeros,
      conversion: c.zeros,
      group: c.noGroup,
    };
    return this.model.predict(this.builder.build(block, this.positions, 0, n));
  }

  /** Identity positions and the block columns that serving leaves constant, for n rows. */
  private growColumns(n: number): void {
    this.positions = Int32Array.from({ length: n }, (_, i) => i);
    this.columns = { sampleIds: new Float64Array(n), zeros: new Uint8Array(n), noGroup: new Int32Array(n).fill(-1) };
  }
}

/** A saved model as a predictor of raw instances (see Predictor). */
export function loadPredictor(dir: string, opts: PredictorOptions = {}): Promise<Predictor> {
  return Predictor.load(dir, opts);
}
