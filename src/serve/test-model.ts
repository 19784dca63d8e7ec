/**
 * Small models for the serving tests, made in well under a second: a spec with every pooling
 * variant (sum, mean, value-weighted, a table shared by two fields, a big sparse table), random
 * dense weights, and embedding rows touched (given values) by pooling random instances in train
 * mode, scaled up so that predictions differ clearly from one instance to the next.
 */
import { BatchBuilder } from '../data/batch/batcher.js';
import { NO_GROUPS, type SampleBlock } from '../data/types.js';
import { parseSpec } from '../features/spec.js';
import type { FeatureSpec } from '../features/spec-types.js';
import { CvrModel } from '../models/cvr-model.js';
import type { ModelKind } from '../models/registry.js';
import { saveModel } from '../persist/model-dir.js';
import { InstanceParser } from './instances.js';
import { syntheticInstances } from './synthetic-instances.js';
import { smallHyper } from '../test-support/hyper.js';

export const TEST_SPEC: FeatureSpec = parseSpec(
  {
    format: 'esmm-feature-spec',
    version: 1,
    embeddingDim: 4,
    tables: [
      { name: 'user', buckets: 64 },
      { name: 'item', buckets: 4096 },
      { name: 'category', buckets: 97 },
      { name: 'big', buckets: 1 << 20 },
    ],
    fields: [
      { name: '101', table: 'user', pooling: 'sum', weighted: false },
      { name: '205', table: 'item', pooling: 'sum', weighted: false },
      { name: '206', table: 'category', pooling: 'mean', weighted: false },
      { name: '109_14', table: 'category', pooling: 'sum', weighted: true },
      { name: '216', table: 'big', pooling: 'mean', weighted: true },
      { name: '301', table: 'user', pooling: 'mean', weighted: false },
    ],
  },
  'serve test spec',
);


export async function makeTestModel(kind: ModelKind, seed: number, spec: FeatureSpec = TEST_SPEC): Promise<CvrModel> {
  const model = await CvrModel.create({ kind, spec, hyper: smallHyper(kind, [16, 8]), seed }, { threads: 1 });
  const rows = new InstanceParser(spec).parse(syntheticInstances(model, 400, seed, { maxEntries: 8 }));
  const n = rows.count;
  const block: SampleBlock = { ...rows, sampleIds: new Float64Array(n), click: new Uint8Array(n), conversion: new Uint8Array(n), group: new Int32Array(n).fill(-1) };
  const batch = new BatchBuilder(spec, spec.fields.map((f) => f.name), NO_GROUPS).build(block, Int32Array.from({ length: n }, (_, i) => i), 0, n);
  for (const c of model.components) {
    c.pool(batch, 'train');
    for (const table of c.embeddings.tables) {
      const { rows: touched, data } = table.exportRows();
      for (let i = 0; i < data.length; i++) data[i] = data[i]! * 20;
      table.importRows(touched, data);
    }
  }
  return model;
}

/** Saves a test model to `dir` and frees it. */
export async function writeTestModel(dir: string, kind: ModelKind, seed: number): Promise<void> {
  const model = await makeTestModel(kind, seed);
  try {
    saveModel(model, dir);
  } finally {
    await model.release();
  }
}
