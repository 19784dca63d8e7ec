import type { Batch } from '../data/batch/jagged-types.js';
import type { FeatureSpec } from '../features/spec-types.js';
import { EmbeddingCollection, type PoolMode } from '../sparse/embedding-collection.js';
import type { EmbeddingThread } from '../sparse/embedding-thread.js';
import { fnv1a32 } from '../util/fnv.js';
import { Rng, mix32 } from '../util/rng.js';
import { initParams, paramDecls, type ParamSet } from './dense-graph.js';
import { DenseNet, type DenseNetMode } from './dense-net.js';
import type { ComponentDef } from './definition.js';

/** Embeddings + dense net of one component, built from its definition. */
export class Component {
  private pooled = new Float32Array(0);
  /** Dense inputs of predict calls, reused but never shared by two calls in flight. */
  private readonly spareInputs: Float32Array[] = [];

  private constructor(
    readonly def: ComponentDef,
    readonly embeddings: EmbeddingCollection,
    readonly net: DenseNet,
  ) {}

  /** Width of the dense input: every field's pooled vector (one per embedding copy). */
  get inputDim(): number {
    return this.net.inputDim;
  }

  /**
   * Seeds derive from (model seed, component name), so the components of one model start
   * differently and the same seed always gives the same start.
   */
  static async create(
    def: ComponentDef,
    spec: FeatureSpec,
    seed: number,
    opts: { threads?: number; params?: ParamSet; mode?: DenseNetMode } = {},
  ): Promise<Component> {
    const salt = fnv1a32(def.name);
    const embeddingSpec = embeddingSpecOf(def, spec);
    const inputDim = embeddingSpec.fields.length * embeddingSpec.embeddingDim;
    const embeddings = new EmbeddingCollection(embeddingSpec, mix32(seed ^ salt));
    const params = opts.params ?? initParams(paramDecls(def.dense, inputDim), new Rng(mix32(seed + salt)));
    let net: DenseNet;
    try {
      net = await DenseNet.create(def.dense, inputDim, params, {
        threads: opts.threads ?? 2,
        seed: mix32(seed ^ (salt + 1)),
        ...(opts.mode ? { mode: opts.mode } : {}),
      });
    } catch (e) {
      throw new Error(`component '${def.name}': ${(e as Error).message}`);
    }
    return new Component(def, embeddings, net);
  }

  /** Pools the batch into the dense input (reused buffer: valid until the next call). */
  pool(batch: Batch, mode: PoolMode): Float32Array {
    const width = batch.size * this.inputDim;
    if (this.pooled.length < width) this.pooled = new Float32Array(width);
    return this.embeddings.forward(batch, this.pooled.subarray(0, width), mode);
  }

  /**
   * Safe to call again before an earlier call has resolved (each call pools into its own buffer);
   * with `thread` (started on this component's embeddings), pooling runs on two threads, one call
   * at a time.
   */
  async predict(batch: Batch, thread?: EmbeddingThread): Promise<Record<string, Float32Array>> {
    if (thread) {
      if (thread.collection !== this.embeddings) throw new Error(`component '${this.def.name}': the embedding thread was started on another component's embeddings`);
      return this.net.predict(await thread.forward(batch, 'infer'), batch.size);
    }
    const width = batch.size * this.inputDim;
    let x = this.spareInputs.pop();
    if (!x || x.length < width) x = new Float32Array(width);
    try {
      return await this.net.predict(this.embeddings.forward(batch, x.subarray(0, width), 'infer'), batch.size);
    } finally {
      this.spareInputs.push(x);
    }
  }

  async release(): Promise<void> {
    await this.net.release();
  }
}

/**
 * The spec of a component's embedding collection: the model's, with rows wide enough for every
 * tower that reads its own vectors (`embeddingCopies`). The tables keep their names and bucket
 * counts, so the rows a Batch (built from the model's spec) points at are the same.
 */
export function embeddingSpecOf(def: ComponentDef, spec: FeatureSpec): FeatureSpec {
  const copies = def.embeddingCopies;
  if (!Number.isInteger(copies) || copies < 1) throw new Error(`component '${def.name}': embeddingCopies must be a positive integer (got ${copies})`);
  return copies === 1 ? spec : { ...spec, embeddingDim: spec.embeddingDim * copies };
}
