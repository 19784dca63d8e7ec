import type { Batch } from '../data/jagged-types.js';
import type { FeatureSpec } from '../features/spec-types.js';
import { Component } from './component.js';
import type { ParamSet } from './dense.js';
import { componentsOf, type DenseShape, type ModelKind } from './model-kinds.js';

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
}

/** A trained or training CVR model: its components and how their outputs combine. */
export class CvrModel {
  private constructor(
    readonly config: ModelConfig,
    readonly components: Component[],
  ) {}

  static async create(
    config: ModelConfig,
    opts: { threads?: number; params?: Map<string, ParamSet> } = {},
  ): Promise<CvrModel> {
    const components: Component[] = [];
    for (const def of componentsOf(config.kind, config.shape)) {
      const params = opts.params?.get(def.name);
      components.push(
        await Component.create(def, config.spec, config.seed, {
          ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
          ...(params ? { params } : {}),
        }),
      );
    }
    return new CvrModel(config, components);
  }

  component(name: string): Component {
    const c = this.components.find((x) => x.def.name === name);
    if (!c) throw new Error(`model has no component '${name}'`);
    return c;
  }

  async predict(batch: Batch): Promise<Predictions> {
    switch (this.config.kind) {
      case 'esmm': {
        const out = await this.component('esmm').predict(batch);
        return { pctr: out.pctr!, pcvr: out.pcvr!, pctcvr: out.pctcvr! };
      }
      case 'base': {
        const pctr = (await this.component('ctr').predict(batch)).p!.slice();
        const pcvr = (await this.component('cvr').predict(batch)).p!.slice();
        const pctcvr = new Float32Array(batch.size);
        for (let i = 0; i < batch.size; i++) pctcvr[i] = pctr[i]! * pcvr[i]!;
        return { pctr, pcvr, pctcvr };
      }
    }
  }

  async release(): Promise<void> {
    for (const c of this.components) await c.release();
  }
}
