import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { prepareSplit } from '../data/cache/prepare.js';
import { generateDataset } from '../simulate/generate.js';
import type { SampleSource } from '../data/sample-source.js';
import { BLOCK_SAMPLES, NO_GROUPS, type SampleBlock } from '../data/types.js';
import type { Batch } from '../data/batch/jagged-types.js';
import { defaultSpec } from '../features/spec.js';
import { CvrModel } from '../models/cvr-model.js';
import { resolveModel } from '../models/cvr-model.js';
import { buildDenseGraph } from '../models/dense-graph.js';
import type { ComponentDef } from '../models/definition.js';
import { labelsOf } from '../models/labels.js';
import type { ModelKind } from '../models/registry.js';
import { tempDir } from '../test-support/cli.js';
import { Rng } from '../util/rng.js';
import { rejectByPctr, sourceFor, trainingSource } from './component-data.js';
import { predictAll } from './predict-all.js';
import { trainModel } from './trainer.js';

/** Blocks of featureless samples with the given labels; sample ids are 0, 1, 2, ... */
function labelsOnlySource(click: Uint8Array, conversion: Uint8Array, blockSize = BLOCK_SAMPLES): SampleSource {
  const blocks: SampleBlock[] = [];
  for (let start = 0; start < click.length; start += blockSize) {
    const n = Math.min(blockSize, click.length - start);
    blocks.push({
      count: n,
      offsets: new Uint32Array(n + 1),
      fields: new Uint8Array(0),
      keys: new Uint32Array(0),
      values: new Float32Array(0),
      sampleIds: Float64Array.from({ length: n }, (_, i) => start + i),
      click: click.slice(start, start + n),
      conversion: conversion.slice(start, start + n),
      group: new Int32Array(n).fill(-1),
    });
  }
  return {
    fieldNames: [],
    groups: NO_GROUPS,
    numSamples: click.length,
    numBlocks: blocks.length,
    readBlock: (i) => blocks[i]!,
  };
}

/** n impressions: clicked with probability ctr, converted (when clicked) with probability cvr. */
function randomLabels(n: number, ctr: number, cvr: number, seed: number) {
  const rng = new Rng(seed);
  const click = new Uint8Array(n);
  const conversion = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    click[i] = rng.next() < ctr ? 1 : 0;
    conversion[i] = click[i] && rng.next() < cvr ? 1 : 0;
  }
  return { click, conversion };
}

function ids(source: SampleSource): number[] {
  const out: number[] = [];
  for (let b = 0; b < source.numBlocks; b++) out.push(...source.readBlock(b).sampleIds);
  return out;
}

const SPEC = { ...defaultSpec(), embeddingDim: 2 };
const componentsOf = (kind: ModelKind, seed = 1, hyper = {}): ComponentDef[] =>
  resolveModel({ kind, spec: SPEC, hyper: { hidden: [4], dropout: 0, ...hyper }, seed }).components;
const cvrDef = (kind: ModelKind, seed = 1, hyper = {}): ComponentDef => componentsOf(kind, seed, hyper).find((d) => d.name === 'cvr')!;
/** The labels a component's training graph reads, computed for `batch`. */
const labelsFor = (def: ComponentDef, batch: Batch): Record<string, Float32Array> =>
  labelsOf(batch, buildDenseGraph(def.dense, SPEC.fields.length * SPEC.embeddingDim * def.embeddingCopies, { training: true }).labels);

/** Binomial check: |observed - n p| within 5 standard deviations (and a little slack). */
function assertBinomial(observed: number, n: number, p: number, what: string): void {
  const sd = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(observed - n * p) <= 5 * sd + 1, `${what}: ${observed} of ${n}, expected about ${(n * p).toFixed(1)}`);
}

test('BASE: the CVR net trains on the clicked impressions, the CTR net on all', () => {
  const { click, conversion } = randomLabels(5000, 0.1, 0.2, 1);
  const data = labelsOnlySource(click, conversion);
  const clicked = [...click.keys()].filter((i) => click[i]);
  assert.deepEqual(ids(sourceFor(cvrDef('base'), data)), clicked);
  const ctr = componentsOf('base')[0]!;
  assert.equal(sourceFor(ctr, data), data);
});

test('AMAN: every clicked impression plus a seeded fraction of the unclicked ones as negatives', () => {
  const { click, conversion } = randomLabels(40_000, 0.05, 0.2, 2);
  const data = labelsOnlySource(click, conversion, 10_000);
  const kept = ids(sourceFor(cvrDef('aman', 1, { amanRate: 0.2 }), data));
  const keptSet = new Set(kept);
  const unclicked = click.length - click.reduce((a, c) => a + c, 0);
  for (let i = 0; i < click.length; i++) if (click[i]) assert.ok(keptSet.has(i), `clicked impression ${i} dropped`);
  assertBinomial(kept.length - (click.length - unclicked), unclicked, 0.2, 'unclicked kept');
  assert.deepEqual(kept, [...kept].sort((a, b) => a - b), 'kept in data order');
  assert.deepEqual(ids(sourceFor(cvrDef('aman', 1, { amanRate: 0.2 }), data)), kept, 'same seed, same sample');
  assert.notDeepEqual(ids(sourceFor(cvrDef('aman', 2, { amanRate: 0.2 }), data)), kept, 'another seed, another sample');
  // Unclicked impressions carry conversion 0: the CVR net sees them as negatives.
  const batch = { size: 2, click: Float32Array.of(0, 1), conversion: Float32Array.of(0, 1) } as Batch;
  assert.deepEqual(labelsFor(cvrDef('aman'), batch), { conversion: Float32Array.of(0, 1) });
});

test('OVERSAMPLING: each conversion `copies` times, spread evenly over the blocks of the slice', () => {
  // 160k clicked impressions: the slice spans several blocks, so where the copies go matters.
  const n = 160_000;
  const { click, conversion } = randomLabels(n, 1, 0.05, 3);
  const data = labelsOnlySource(click, conversion);
  const copies = 4;
  const slice = sourceFor(cvrDef('oversampling', 1, { oversamplingCopies: copies }), data);
  const count = new Map<number, number>();
  for (const id of ids(slice)) count.set(id, (count.get(id) ?? 0) + 1);
  for (let i = 0; i < n; i++) assert.equal(count.get(i), conversion[i] ? copies : 1, `impression ${i}`);
  const conversions = conversion.reduce((a, c) => a + c, 0);
  assert.equal(slice.numSamples, n + (copies - 1) * conversions);
  assert.ok(slice.numBlocks >= 3);
  const share = (copies * conversions) / slice.numSamples;
  for (let b = 0; b < slice.numBlocks; b++) {
    const block = slice.readBlock(b);
    const positives = block.conversion.reduce((a, c) => a + c, 0);
    assert.ok(Math.abs(positives / block.count - share) < 0.02, `block ${b}: ${positives} of ${block.count} converted, overall share ${share}`);
  }
  assert.equal(sourceFor(cvrDef('oversampling', 1, { oversamplingCopies: 1 }), data).numSamples, n);
});

test('UNBIAS: rejection keeps each impression with probability min(1, c / pCTR), c a pCTR quantile', () => {
  // Three pCTR levels; the 0.2 quantile is 0.02, so the levels are kept at 1, 0.2 and 0.04.
  const levels = [0.02, 0.1, 0.5];
  const perLevel = 20_000;
  const pctr = Float32Array.from({ length: 3 * perLevel }, (_, i) => levels[i % 3]!);
  const accept = rejectByPctr(pctr, 0.2, new Rng(4));
  levels.forEach((p, l) => {
    let kept = 0;
    for (let i = l; i < pctr.length; i += 3) kept += accept[i]!;
    assertBinomial(kept, perLevel, Math.min(1, Math.fround(0.02) / Math.fround(p)), `pCTR ${p}`);
  });
  // Seeded: the same generator state keeps the same impressions.
  assert.deepEqual(rejectByPctr(pctr, 0.2, new Rng(4)), accept);
  assert.equal(rejectByPctr(new Float32Array(0), 0.2, new Rng(4)).length, 0);
});

test('UNBIAS: the slice needs the trained CTR component; trainingSource samples with its pCTR', async () => {
  const dir = tempDir('unbias');
  try {
    await generateDataset({ outDir: dir, train: 4000, test: 1000, seed: 5, ctr: 0.2 });
    const data = await prepareSplit({ dataDir: dir, split: 'train' });
    const spec = defaultSpec();
    const model = await CvrModel.create({ kind: 'unbias', spec, hyper: { hidden: [4], dropout: 0 }, seed: 7 });
    try {
      const def = model.component('cvr').def;
      assert.throws(() => sourceFor(def, data), /samples by the pCTR of the trained component 'ctr'.*trainingSource/);
      assert.equal(def.sampling.kind, 'reject-by-pctr');
      if (def.sampling.kind !== 'reject-by-pctr') return;
      // An untrained net pools zeros (no embedding row trained yet): train the CTR net first.
      await trainModel(model, data, { epochs: 1, batchSize: 256, lr: 0.01, optimizer: 'adam', seed: 7, quiet: true, components: ['ctr'] });
      // The same decisions as rejectByPctr over the pCTR that the model itself predicts for the clicks.
      const clickedIds: number[] = [];
      const clickedPctr: number[] = [];
      await predictAll(model, data, (p, batch) => {
        for (let i = 0; i < batch.size; i++)
          if (batch.click[i]) {
            clickedIds.push(batch.sampleIds[i]!);
            clickedPctr.push(p.pctr[i]!);
          }
      }, { quiet: true });
      const accept = rejectByPctr(Float32Array.from(clickedPctr), def.sampling.quantile, new Rng(def.sampling.seed));
      const kept = ids(await trainingSource(def, data, model));
      assert.deepEqual(kept, clickedIds.filter((_, i) => accept[i]));
      assert.ok(kept.length > 0 && kept.length < clickedIds.length, `kept ${kept.length} of ${clickedIds.length} clicks`);
    } finally {
      await model.release();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('DIVISION: the CTCVR net learns click AND conversion on all impressions', () => {
  const def = componentsOf('division').find((d) => d.name === 'ctcvr')!;
  assert.equal(def.filter, 'all');
  const batch = { size: 3, click: Float32Array.of(1, 1, 0), conversion: Float32Array.of(1, 0, 0) } as Batch;
  assert.deepEqual(labelsFor(def, batch), { ctcvr: Float32Array.of(1, 0, 0) });
});
