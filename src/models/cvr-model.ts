import type { Batch } from '../data/batch/jagged-types.js';
import type { FeatureSpec } from '../features/spec-types.js';
import { EmbeddingThread } from '../sparse/embedding-thread.js';
import { Component } from './component.js';
import type { DenseNetMode, ParamSet } from './dense.js';
import { componentsOf, type ComponentDef, type DenseShape, type ModelKind, type SamplingOptions } from './model-kinds.js';

/** What every model predicts for a batch, one value per impression. */
export interface Predictions {
  pctr: Float32Array;
  pcvr: Float32Array;
  pctcvr: Float32Array;
}

export interface ModelConfig {
  kind: ModelKind;
  spec: FeatureSpec;
  shape: DenseShape;
  seed: number;
  /** The baselines' sampling parameters (AMAN, OVERSAMPLING, UNBIAS); defaults when absent. */
  sampling?: Partial<SamplingOptions>;
}

export interface CreateOptions {
  threads?: number;
  /** Dense parameters per component name (a loaded model). */
  params?: Map<string, ParamSet>;
  /**
   * Already built components to use instead of creating them, by name: a CTR net trained once and
   * shared by several models. The model does not own them: release() leaves them to their owner.
   */
  shared?: readonly Component[];
  /** 'predict': no training sessions, weights baked into the inference graphs (see DenseNet). */
  mode?: DenseNetMode;
}

/** A trained or training CVR model: its components and how their outputs combine. */
export class CvrModel {
  private constructor(
    readonly config: ModelConfig,
    readonly components: Component[],
    private readonly owned: ReadonlySet<Component>,
  ) {}

  static async create(config: ModelConfig, opts: CreateOptions = {}): Promise<CvrModel> {
    const components: Component[] = [];
    const owned = new Set<Component>();
    try {
      for (const def of componentsOf(config.kind, config.shape, {
        embeddingDim: config.spec.embeddingDim,
        seed: config.seed,
        sampling: config.sampling ?? {},
      })) {
        const shared = opts.shared?.find((c) => c.def.name === def.name);
        if (shared) {
          checkShared(config.kind, def, shared);
          components.push(shared);
          continue;
        }
        const params = opts.params?.get(def.name);
        const c = await Component.create(def, config.spec, config.seed, {
          ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
          ...(params ? { params } : {}),
          ...(opts.mode ? { mode: opts.mode } : {}),
        });
        components.push(c);
        owned.add(c);
      }
    } catch (e) {
      for (const c of owned) await c.release();
      throw e;
    }
    return new CvrModel(config, components, owned);
  }

  /** An embedding thread per component, for predict(batch, threads); close them when done. */
  async startEmbeddingThreads(): Promise<Map<Component, EmbeddingThread>> {
    const threads = new Map<Component, EmbeddingThread>();
    try {
      for (const c of this.components) threads.set(c, await EmbeddingThread.start(c.embeddings));
    } catch (e) {
      for (const t of threads.values()) await t.close();
      throw e;
    }
    return threads;
  }

  component(name: string): Component {
    const c = this.components.find((x) => x.def.name === name);
    if (!c) throw new Error(`model has no component '${name}'`);
    return c;
  }

  /**
   * pCTR, pCVR, pCTCVR per sample. With `threads` (from startEmbeddingThreads), each component
   * pools on two threads: for one caller predicting batch after batch.
   */
  async predict(batch: Batch, threads?: ReadonlyMap<Component, EmbeddingThread>): Promise<Predictions> {
    const run = (c: Component) => c.predict(batch, threads?.get(c));
    switch (this.config.kind) {
      case 'esmm':
      case 'esmm-ns': {
        const out = await run(this.components[0]!);
        return { pctr: out.pctr!, pcvr: out.pcvr!, pctcvr: out.pctcvr! };
      }
      case 'base':
      case 'aman':
      case 'oversampling':
      case 'unbias': {
        const pctr = (await run(this.component('ctr'))).p!.slice();
        const pcvr = (await run(this.component('cvr'))).p!.slice();
        return { pctr, pcvr, pctcvr: product(pctr, pcvr) };
      }
      case 'division': {
        const pctr = (await run(this.component('ctr'))).p!.slice();
        const ctcvr = (await run(this.component('ctcvr'))).p!;
        // pCVR = pCTCVR / pCTR, clamped to [0, 1]; pCTR is a sigmoid, never 0.
        const pcvr = new Float32Array(batch.size);
        for (let i = 0; i < batch.size; i++) pcvr[i] = Math.min(1, ctcvr[i]! / pctr[i]!);
        return { pctr, pcvr, pctcvr: product(pctr, pcvr) };
      }
    }
  }

  /** Releases the components this model created (not the shared ones). */
  async release(): Promise<void> {
    for (const c of this.components) if (this.owned.has(c)) await c.release();
  }
}

function product(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! * b[i]!;
  return out;
}

/** A shared component must be the one this kind would have built: same target, data and net. */
function checkShared(kind: ModelKind, def: ComponentDef, shared: Component): void {
  const same = JSON.stringify({ ...shared.def, name: def.name }) === JSON.stringify(def);
  if (!same)
    throw new Error(
      `the shared component '${def.name}' is not what a ${kind} model builds under that name` +
        ` (shared: ${JSON.stringify(shared.def)}; ${kind}: ${JSON.stringify(def)})`,
    );
}
