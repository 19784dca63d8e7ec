/**
 * trainModel's step against the same step built by hand from the unit-tested pieces: the batch
 * (the trainer's documented order: block order, then sample order within the block, from the
 * component's data generator), pooling, the dense net's train step, the dense optimizer, the
 * embeddings' backward and the row-sparse optimizer. Both must give the same weights bit for bit,
 * for ESMM (one component) and BASE (two, the CVR net on clicked impressions only), and every
 * embedding row a step reads must have moved.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { BatchBuilder } from '../data/batch/batcher.js';
import type { Batch } from '../data/batch/jagged-types.js';
import { prepareSplit } from '../data/cache/prepare.js';
import { defaultSpec } from '../features/spec.js';
import type { Component } from '../models/component.js';
import { CvrModel } from '../models/cvr-model.js';
import { labelsOf } from '../models/labels.js';
import type { ModelKind } from '../models/registry.js';
import { createDenseOptimizer } from '../optim/dense.js';
import type { OptimizerKind } from '../optim/kernels.js';
import { generateDataset } from '../simulate/generate.js';
import { createSparseOptimizer } from '../sparse/row-sparse-optimizer.js';
import { tempDir } from '../test-support/cli.js';
import { smallHyper } from '../test-support/hyper.js';
import { fnv1a32 } from '../util/fnv.js';
import { Rng, mix32 } from '../util/rng.js';
import { trainingSource } from './component-data.js';
import { sampleOrder } from './shuffle.js';
import { trainModel, type TrainConfig } from './trainer.js';
import { weightsOf } from '../test-support/weights.js';

const dir = tempDir('train-step');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const ready = (async () => {
  await generateDataset({ outDir: dir, train: 1500, test: 0, seed: 17 });
  return prepareSplit({ dataDir: dir, split: 'train' });
})();

const SEED = 29;

async function create(kind: ModelKind): Promise<CvrModel> {
  return CvrModel.create({ kind, spec: defaultSpec(), hyper: smallHyper(kind, [16, 8], 0.2), seed: SEED }, { threads: 1 });
}

/** The embedding rows a batch reads, per table index. */
function rowsRead(c: Component, batch: Batch): Map<number, Set<number>> {
  const out = new Map<number, Set<number>>();
  for (const part of [batch.samples, batch.groups]) {
    for (let f = 0; f < part.numFields; f++) {
      const table = c.embeddings.fieldTable[f]!;
      const set = out.get(table) ?? new Set<number>();
      out.set(table, set);
      for (let e = part.offsets[f * part.numRows]!; e < part.offsets[(f + 1) * part.numRows]!; e++) set.add(part.rows[e]!);
    }
  }
  return out;
}

function rowValues(c: Component, table: number, row: number): Float32Array {
  const t = c.embeddings.tables[table]!;
  const at = t.ensure(row);
  return t.data.slice(at, at + t.dim);
}

/**
 * Trains `model` as trainModel does, written out: per component, per epoch, the data generator
 * draws the block order, then each block's sample order; batches in that order, of `batchSize`
 * scaled by the share of the impressions the component trains on (docs/models.md, --slice-batch);
 * each step pools, runs the dense train step, steps the dense parameters, backpropagates into the
 * embeddings and steps the rows. Checks after every step that each row the batch read moved.
 */
async function trainByHand(model: CvrModel, config: TrainConfig): Promise<{ steps: number; rowsChecked: number; zeroGradient: number }> {
  const data = await ready;
  let steps = 0;
  let rowsChecked = 0;
  let zeroGradient = 0;
  for (const c of model.components) {
    const name = c.def.name;
    const source = await trainingSource(c.def, data, model);
    const batchSize = Math.max(1, Math.round((config.batchSize * Math.min(source.numSamples, data.numSamples)) / data.numSamples));
    const builder = new BatchBuilder(model.config.spec, source.fieldNames, source.groups);
    const sparseOpt = createSparseOptimizer(config.optimizer, config.lr);
    const denseOpt = createDenseOptimizer(config.optimizer, config.lr);
    const rng = new Rng(mix32(config.seed ^ 0x2545f491) ^ fnv1a32(name));
    const names = [...c.net.params.keys()];
    const epochs = config.epochs;
    if (typeof epochs !== 'number') throw new Error('this step-by-step replay takes a fixed number of epochs');
    for (let epoch = 0; epoch < epochs; epoch++) {
      const blockOrder = rng.shuffle(Int32Array.from({ length: source.numBlocks }, (_, i) => i));
      for (const b of blockOrder) {
        const block = source.readBlock(b);
        const order = sampleOrder(block, rng, config.shuffle ?? 'group');
        for (let start = 0; start < block.count; start += batchSize) {
          const batch = builder.build(block, order, start, Math.min(block.count, start + batchSize));
          const x = c.pool(batch, 'train');
          const read = rowsRead(c, batch);
          const before = new Map([...read].map(([t, rows]) => [t, new Map([...rows].map((r) => [r, rowValues(c, t, r)]))]));
          const res = await c.net.trainStep(x, batch.size, labelsOf(batch, c.net.labelNames));
          denseOpt.step(
            names.map((k) => c.net.params.get(k)!.data),
            names.map((k) => res.grads.get(k)!),
          );
          const grads = c.embeddings.backward(batch, res.gradX);
          sparseOpt.nextStep();
          for (const g of grads) sparseOpt.step(c.embeddings.tables[g.table]!, g);
          steps++;
          // Backward gives a gradient for exactly the rows the batch read; each row moved unless
          // its gradient is exactly zero (every unit above it inactive for the samples reading it).
          const gradOf = new Map<number, Map<number, Float32Array>>();
          for (const g of grads) {
            const m = new Map<number, Float32Array>();
            g.rows.forEach((r, i) => m.set(r, g.grad.subarray(i * c.embeddings.dim, (i + 1) * c.embeddings.dim)));
            gradOf.set(g.table, m);
          }
          for (const [t, rows] of before) {
            assert.deepEqual([...(gradOf.get(t)?.keys() ?? [])].sort(), [...rows.keys()].sort(), `${name} step ${steps}: rows with a gradient in table ${t}`);
            for (const [row, was] of rows) {
              const now = rowValues(c, t, row);
              const moved = now.some((v, i) => v !== was[i]);
              if (gradOf.get(t)!.get(row)!.some((v) => v !== 0)) {
                assert.ok(moved, `${name} step ${steps}: row ${row} of table ${c.embeddings.tables[t]!.name} was read, has a gradient, and did not move`);
                rowsChecked++;
              } else {
                zeroGradient++;
              }
            }
          }
        }
      }
    }
  }
  return { steps, rowsChecked, zeroGradient };
}

const CASES: { kind: ModelKind; optimizer: OptimizerKind; lr: number }[] = [
  { kind: 'esmm', optimizer: 'adam', lr: 0.01 },
  { kind: 'base', optimizer: 'adagrad', lr: 0.05 },
];

for (const { kind, optimizer, lr } of CASES) {
  test(`${kind}/${optimizer}: trainModel's steps equal the steps built by hand from their parts, bit for bit; every row read with a gradient moves`, async () => {
    const data = await ready;
    // Batches of 512 over 1,500 impressions, 2 epochs: 6 steps of the CTR (or ESMM) net, and about
    // as many of BASE's CVR net over the clicked impressions, in batches scaled by their share.
    const config: TrainConfig = { epochs: 2, batchSize: 512, lr, optimizer, seed: 7, quiet: true, embeddingThread: false };
    const viaTrainer = await create(kind);
    const result = await trainModel(viaTrainer, data, config);
    const byHand = await create(kind);
    const { steps, rowsChecked, zeroGradient } = await trainByHand(byHand, config);
    assert.equal(steps, result.components.reduce((n, c) => n + c.steps, 0), 'as many steps');
    assert.ok(rowsChecked > 1000 && zeroGradient < rowsChecked / 20, `${rowsChecked} rows moved, ${zeroGradient} read with a zero gradient`);
    const want = weightsOf(byHand);
    const got = weightsOf(viaTrainer);
    assert.deepEqual([...got.keys()], [...want.keys()]);
    for (const [k, w] of want) assert.deepEqual(got.get(k), w, `${kind}: ${k} differs from the hand-built step's`);
    for (const m of [viaTrainer, byHand]) await m.release();
  });
}
