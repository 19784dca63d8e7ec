/**
 * Where the time of an ESMM training step goes: batch building, pooling (forward), the
 * onnxruntime call (dense forward + backward), the dense optimizer, the embedding backward and the
 * sparse optimizer, timed separately over the same loop the trainer runs.
 *
 *   node dist-bench/bench/profile-train.js --data DIR [--steps 200] [--batch 1024] [--optimizer adam]
 *        [--shuffle group|sample] [--embedding-thread]
 *
 * With --embedding-thread the embedding side runs on two threads (EmbeddingThread, as training
 * does by default): 'pool' is then both threads' pooling, and 'emb-backward' is the dense
 * optimizer, the embedding backward and the sparse optimizer together (they overlap); it also
 * prints how long the main thread waited for the worker.
 *
 * Then the dense side against arithmetic: the towers' GEMM work per step (forward, and the two
 * GEMMs of each layer's backward: weights and inputs) over the onnxruntime call's time, in GFLOP/s;
 * and the towers alone (kinds.ts: esmmDenseRate, forward+backward at batch 1024 on 2 threads)
 * against this profile's end-to-end rate.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { BatchBuilder } from '../src/data/batch/batcher.js';
import { prepareSplit } from '../src/data/cache/prepare.js';
import { defaultSpec } from '../src/features/spec.js';
import { CvrModel } from '../src/models/cvr-model.js';
import { createDenseOptimizer } from '../src/optim/dense.js';
import type { OptimizerKind } from '../src/optim/kernels.js';
import { createSparseOptimizer } from '../src/sparse/row-sparse-optimizer.js';
import { labelsOf } from '../src/models/labels.js';
import { sampleOrder, type ShuffleMode } from '../src/train/shuffle.js';
import { EmbeddingThread } from '../src/sparse/embedding-thread.js';
import { Rng } from '../src/util/rng.js';
import { esmmDenseCost } from './kinds.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    steps: { type: 'string', default: '200' },
    batch: { type: 'string', default: '1024' },
    optimizer: { type: 'string', default: 'adam' },
    warmup: { type: 'string', default: '20' },
    shuffle: { type: 'string', default: 'group' },
    'embedding-thread': { type: 'boolean', default: false },
  },
});
if (!values.data) throw new Error('--data DIR is required (a generated dataset: esmm generate --out DIR)');
const steps = Number(values.steps);
const warmup = Number(values.warmup);
const batchSize = Number(values.batch);
const optimizer = values.optimizer as OptimizerKind;

const split = await prepareSplit({ dataDir: values.data, split: 'train' });
const spec = defaultSpec();
const model = await CvrModel.create({ kind: 'esmm', spec, hyper: { hidden: [360, 200, 80], dropout: 0 }, seed: 1 });
const c = model.components[0]!;
const builder = new BatchBuilder(spec, split.fieldNames, split.groups);
const sparseOpt = createSparseOptimizer(optimizer, 0.001);
const denseOpt = createDenseOptimizer(optimizer, 0.001);
const rng = new Rng(1);
const thread = values['embedding-thread'] ? await EmbeddingThread.start(c.embeddings) : null;

const phases = ['build', 'pool', 'ort', 'dense-opt', 'emb-backward', 'sparse-opt'] as const;
const total: Record<(typeof phases)[number], number> = { build: 0, pool: 0, ort: 0, 'dense-opt': 0, 'emb-backward': 0, 'sparse-opt': 0 };
let done = 0;
let cpuFrom: NodeJS.CpuUsage | null = null;
let entries = 0;
let groups = 0;
const names = [...c.net.params.keys()];
outer: for (let b = 0; ; b = (b + 1) % split.numBlocks) {
  const block = split.readBlock(b);
  const order = sampleOrder(block, rng, values.shuffle as ShuffleMode);
  for (let s = 0; s + batchSize <= block.count; s += batchSize) {
    const measure = done >= warmup;
    if (done === warmup) cpuFrom = process.cpuUsage();
    let t = performance.now();
    const lap = (p: (typeof phases)[number]) => {
      const now = performance.now();
      if (measure) total[p] += now - t;
      t = now;
    };
    const batch = builder.build(block, order, s, s + batchSize);
    lap('build');
    const x = thread ? await thread.forward(batch) : c.pool(batch, 'train');
    lap('pool');
    const res = await c.net.trainStep(x, batch.size, labelsOf(batch, c.net.labelNames));
    lap('ort');
    const denseStep = () => denseOpt.step(names.map((k) => c.net.params.get(k)!.data), names.map((k) => res.grads.get(k)!));
    if (thread) {
      await thread.backwardAndStep(batch, res.gradX, sparseOpt, denseStep);
      lap('emb-backward');
    } else {
      denseStep();
      lap('dense-opt');
      const grads = c.embeddings.backward(batch, res.gradX);
      lap('emb-backward');
      sparseOpt.nextStep();
      for (const g of grads) sparseOpt.step(c.embeddings.tables[g.table]!, g);
      lap('sparse-opt');
    }
    if (thread && done === warmup - 1) {
      thread.waited.forward = 0;
      thread.waited.backward = 0;
    }
    if (measure) {
      entries += batch.samples.rows.length + batch.groups.rows.length;
      groups += batch.groups.numRows;
    }
    if (++done === warmup + steps) break outer;
  }
}
const cpuUsed = process.cpuUsage(cpuFrom ?? undefined);
const cpuMs = (cpuUsed.user + cpuUsed.system) / 1000 / steps;
const sum = phases.reduce((a, p) => a + total[p], 0);
console.log(`ESMM step profile: ${steps} steps of ${batchSize} (${optimizer}, shuffle ${values.shuffle}), ${(entries / steps).toFixed(0)} entries and ${(groups / steps).toFixed(1)} groups per batch`);
for (const p of phases) {
  console.log(`  ${p.padEnd(13)} ${(total[p] / steps).toFixed(2).padStart(7)} ms/step  ${((100 * total[p]) / sum).toFixed(1).padStart(5)}%`);
}
console.log(`  ${'total'.padEnd(13)} ${(sum / steps).toFixed(2).padStart(7)} ms/step  = ${Math.round((steps * batchSize) / (sum / 1000))} samples/s`);
console.log(`  CPU time       ${cpuMs.toFixed(2).padStart(7)} ms/step over all threads (${(cpuMs / (sum / steps)).toFixed(2)} cores busy on average)`);
if (thread) {
  const { forward, backward } = thread.waited;
  console.log(`  main thread waited for the worker: ${(forward / steps).toFixed(2)} ms/step in pool, ${(backward / steps).toFixed(2)} in backward`);
  await thread.close();
}
// GEMM work of the towers: every [in, out] weight is one GEMM forward and two backward.
let flops = 0;
for (const [name, p] of c.net.params) if (/\.w\d+$/.test(name) && p.dims.length === 2) flops += 3 * 2 * batchSize * p.dims[0]! * p.dims[1]!;
const ortMs = total.ort / steps;
console.log(`  dense towers: ${(flops / 1e9).toFixed(2)} GFLOP per step (GEMMs, forward + backward) in ${ortMs.toFixed(2)} ms of onnxruntime = ${(flops / 1e6 / ortMs).toFixed(0)} GFLOP/s`);
await model.release();
if (batchSize === 1024) {
  const dense = await esmmDenseCost(spec, 2);
  const e2e = (steps * batchSize) / (sum / 1000);
  console.log(
    `  dense towers alone (forward+backward, 2 threads): ${dense.samplesPerSecond.toFixed(0)} samples/s, ${dense.wallMsPerStep.toFixed(2)} ms/step, ` +
      `${dense.cpuMsPerStep.toFixed(2)} CPU ms/step; this profile's end to end is ${((100 * e2e) / dense.samplesPerSecond).toFixed(0)}% of it`,
  );
  // A lower bound of a step on this machine's cores: all of the step's CPU work spread evenly over them.
  const cores = availableParallelism();
  const bound = cpuMs / cores;
  console.log(
    `  CPU bound: ${cpuMs.toFixed(2)} CPU ms/step over ${cores} cores >= ${bound.toFixed(2)} ms/step whatever the overlap, ` +
      `${((100 * dense.wallMsPerStep) / bound).toFixed(0)}% of the towers' own rate at most; 80% needs <= ${(dense.wallMsPerStep / 0.8).toFixed(2)} ms/step`,
  );
}
