import type { Batch } from '../data/jagged-types.js';
import type { FeatureSpec } from '../features/spec-types.js';
import { EmbeddingCollection, type PoolMode } from '../sparse/embedding-collection.js';
import { fnv1a32 } from '../util/fnv.js';
import { Rng, mix32 } from '../util/rng.js';
import { DenseNet, initParams, type ParamSet } from './dense.js';
import type { ComponentDef } from './model-kinds.js';

/** Embeddings + dense net of one component, built from its definition. */
export class Component {
  private pooled = new Float32Array(0);

  private constructor(
    readonly def: ComponentDef,
    readonly embeddings: EmbeddingCollection,
    readonly net: DenseNet,
  ) {}

  /**
   * Seeds derive from (model seed, component name), so the components of one model start
   * differently and the same seed always gives the same start.
   */
  static async create(
    def: ComponentDef,
    spec: FeatureSpec,
    seed: number,
    opts: { threads?: number; params?: ParamSet } = {},
  ): Promise<Component> {
    const salt = fnv1a32(def.name);
    const embeddings = new EmbeddingCollection(spec, mix32(seed ^ salt));
    const params = opts.params ?? initParams(def.dense, new Rng(mix32(seed + salt)));
    const net = await DenseNet.create(def.dense, params, {
      threads: opts.threads ?? 2,
      seed: mix32(seed ^ (salt + 1)),
    });
    return new Component(def, embeddings, net);
  }

  /** Pools the batch into the dense input (reused buffer: valid until the next call). */
  pool(batch: Batch, mode: PoolMode): Float32Array {
    const width = batch.size * this.def.dense.inputDim;
    if (this.pooled.length < width) this.pooled = new Float32Array(width);
    return this.embeddings.forward(batch, this.pooled.subarray(0, width), mode);
  }

  async predict(batch: Batch): Promise<Record<string, Float32Array>> {
    return this.net.predict(this.pool(batch, 'infer'), batch.size);
  }

  async release(): Promise<void> {
    await this.net.release();
  }
}
