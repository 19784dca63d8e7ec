import type { Batch } from '../data/batch/jagged-types.js';
import type { FeatureSpec } from '../features/spec-types.js';
import { EmbeddingThread } from '../sparse/embedding-thread.js';
import { combinePredictions, referencedOutputs, type Combination, type PredictionName } from './combine.js';
import { Component } from './component.js';
import type { ParamSet } from './dense-graph.js';
import type { DenseNetMode } from './dense-net.js';
import { resolveOptions, type AnyModelDef, type ComponentDef } from './definition.js';
import type { HyperRecord } from './hyper.js';
import { modelDef, type ModelKind } from './registry.js';

/** What every model predicts for a batch, one value per impression. */
export type Predictions = Record<PredictionName, Float32Array>;

export interface ModelConfig {
  kind: ModelKind;
  spec: FeatureSpec;
  /** The kind's hyper-parameters; defaults fill in what is absent (CvrModel.config holds every one the kind reads). */
  hyper?: Readonly<Record<string, unknown>>;
  seed: number;
}

/** A model's configuration with every hyper-parameter it reads resolved. */
export interface ResolvedModelConfig extends ModelConfig {
  /** What the kind reads (resolveOptions' `record`): what model.json records. */
  hyper: HyperRecord;
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

/** The resolved configuration and component definitions of a model (checked, nothing built). */
export function resolveModel(config: ModelConfig): { def: AnyModelDef; config: ResolvedModelConfig; components: ComponentDef[]; combination: Combination } {
  const def = modelDef(config.kind);
  const { values, record } = resolveOptions(def, config.hyper ?? {}, `model '${def.kind}'`);
  const components = def.components(values, { embeddingDim: config.spec.embeddingDim, seed: config.seed });
  const names = components.map((c) => c.name);
  if (new Set(names).size !== names.length) throw new Error(`model '${def.kind}' declares component names twice: ${names.join(', ')}`);
  const combination = def.combine(values);
  for (const r of referencedOutputs(combination))
    if (!names.includes(r.component)) throw new Error(`model '${def.kind}' combines output '${r.output}' of '${r.component}', which is not one of its components (${names.join(', ')})`);
  return { def, config: { ...config, kind: def.kind, hyper: record }, components, combination };
}

/** A trained or training CVR model: its components and how their outputs combine. */
export class CvrModel {
  private constructor(
    readonly def: AnyModelDef,
    readonly config: ResolvedModelConfig,
    readonly components: Component[],
    readonly combination: Combination,
    private readonly owned: ReadonlySet<Component>,
  ) {}

  static async create(config: ModelConfig, opts: CreateOptions = {}): Promise<CvrModel> {
    const resolved = resolveModel(config);
    const components: Component[] = [];
    const owned = new Set<Component>();
    try {
      for (const def of resolved.components) {
        const shared = opts.shared?.find((c) => c.def.name === def.name);
        if (shared) {
          checkShared(resolved.def.kind, def, shared);
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
      for (const r of referencedOutputs(resolved.combination)) {
        const c = components.find((x) => x.def.name === r.component)!;
        if (!c.net.outputNames.includes(r.output))
          throw new Error(`model '${resolved.def.kind}' combines output '${r.output}' of '${r.component}', whose graph gives ${c.net.outputNames.join(', ')}`);
      }
    } catch (e) {
      for (const c of owned) await c.release();
      throw e;
    }
    return new CvrModel(resolved.def, resolved.config, components, resolved.combination, owned);
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
   * pCTR, pCVR, pCTCVR per sample, as the model's combination makes them from its components'
   * outputs. With `threads` (from startEmbeddingThreads), each component pools on two threads: for
   * one caller predicting batch after batch.
   */
  async predict(batch: Batch, threads?: ReadonlyMap<Component, EmbeddingThread>): Promise<Predictions> {
    const outputs = await this.componentOutputs(batch, threads);
    return combinePredictions(this.combination, (component, output) => outputs.get(component)![output]!, batch.size);
  }

  /**
   * Every output of every component's graph for the batch, by component name: the predictions
   * the combination reads, and what a graph exposes for inspection (MMoE/PLE gate weights,
   * AITM's attention), row-major [batch, width]. Valid until the component's next call.
   */
  async componentOutputs(batch: Batch, threads?: ReadonlyMap<Component, EmbeddingThread>): Promise<Map<string, Record<string, Float32Array>>> {
    const outputs = new Map<string, Record<string, Float32Array>>();
    for (const c of this.components) outputs.set(c.def.name, await c.predict(batch, threads?.get(c)));
    return outputs;
  }

  /** Releases the components this model created (not the shared ones). */
  async release(): Promise<void> {
    for (const c of this.components) if (this.owned.has(c)) await c.release();
  }
}

/** A shared component must be the one this kind would have built: same name and signature. */
function checkShared(kind: string, def: ComponentDef, shared: Component): void {
  const mine = JSON.stringify(def.signature);
  const theirs = JSON.stringify(shared.def.signature);
  if (mine !== theirs)
    throw new Error(`the shared component '${def.name}' is not what a ${kind} model builds under that name (shared: ${theirs}; ${kind}: ${mine})`);
}
