import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FeatureSpec } from '../../features/spec-types.js';
import type { SampleSource } from '../sample-source.js';
import type { GroupTable, SampleBlock } from '../types.js';
import { fileOrderBatches } from './file-order.js';

const spec: FeatureSpec = {
  format: 'esmm-feature-spec',
  version: 1,
  embeddingDim: 2,
  tables: [{ name: 'item', buckets: 100 }],
  fields: [{ name: '205', table: 'item', pooling: 'sum', weighted: false }],
};
const groups: GroupTable = { count: 0, offsets: new Uint32Array(1), fields: new Uint8Array(0), keys: new Uint32Array(0), values: new Float32Array(0) };

/** A block of `count` samples with ids first, first + 1, ..., each with one item entry. */
function block(first: number, count: number): SampleBlock {
  return {
    count,
    offsets: Uint32Array.from({ length: count + 1 }, (_, i) => i),
    fields: new Uint8Array(count),
    keys: Uint32Array.from({ length: count }, (_, i) => first + i),
    values: new Float32Array(count).fill(1),
    sampleIds: Float64Array.from({ length: count }, (_, i) => first + i),
    click: new Uint8Array(count),
    conversion: new Uint8Array(count),
    group: new Int32Array(count).fill(-1),
  };
}

const blocks = [block(0, 5), block(5, 0), block(5, 3)];
const source: SampleSource = { fieldNames: ['205'], groups, numSamples: 8, numBlocks: blocks.length, readBlock: (i) => blocks[i]! };

test('fileOrderBatches: every sample once, in file order, cut at the batch size and at every block', () => {
  const seen = [...fileOrderBatches(source, spec, 2)].map(({ batch, block, start }) => ({
    ids: Array.from(batch.sampleIds),
    block: block === blocks[0] ? 0 : block === blocks[2] ? 2 : -1,
    start,
  }));
  assert.deepEqual(seen, [
    { ids: [0, 1], block: 0, start: 0 },
    { ids: [2, 3], block: 0, start: 2 },
    { ids: [4], block: 0, start: 4 },
    { ids: [5, 6], block: 2, start: 0 },
    { ids: [7], block: 2, start: 2 },
  ]);
  assert.deepEqual([...fileOrderBatches(source, spec, 100)].map(({ batch }) => batch.size), [5, 3]);
  assert.throws(() => fileOrderBatches(source, spec, 0).next(), /batch size must be a positive integer \(got 0\)/);
});
