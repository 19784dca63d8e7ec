/**
 * The in-process path of one single-impression predict request, the part of the server's latency
 * that is ours: pooling with warm and with cold caches, and the garbage collector's pauses over
 * many requests. Each against a reference measured in the same run:
 *
 *   - pooling: EmbeddingCollection.forward (every entry's row located and loaded first, then
 *     pooled) against a plain one-pass loop that locates rows as it pools (below, checked to give
 *     the same values);
 *   - collections: Predictor.predictRows (batch arrays reused) against the same work with fresh
 *     arrays per request (a new BatchBuilder batch and block per request).
 *
 *   node dist-bench/bench/serve-path.js [--model bench/.data/serve/model] [--requests 20000] [--no-pin]
 *
 * The model and impressions are the load test's (bench/.data/serve, made by its first run). The
 * process pins itself, all its threads, to one CPU (taskset -a), like the server in the load test.
 * "Cold": a 64 MB buffer is written between two calls, which flushes the caches and the TLB as the
 * rest of a server's work does between requests; the flush is not timed.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { BatchBuilder } from '../src/data/batch/batcher.js';
import type { Batch } from '../src/data/batch/jagged-types.js';
import { NO_GROUPS, type SampleBlock } from '../src/data/types.js';
import type { EmbeddingCollection } from '../src/sparse/embedding-collection.js';
import { loadPredictor } from '../src/serve/predictor.js';
import type { InstanceRows } from '../src/serve/instances.js';
import { rawInstances } from '../src/serve/testing.js';
import { log, quantile, spread } from './lib.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'bench/.data/serve/model' },
    data: { type: 'string', default: 'bench/.data/serve/data' },
    requests: { type: 'string', default: '20000' },
    'no-pin': { type: 'boolean', default: false },
  },
});
const requests = Number(values.requests);
if (!existsSync(join(values.model!, 'model.json')) || !existsSync(join(values.data!, 'sample_skeleton_test.csv'))) {
  console.error(`no model in ${values.model} or no impressions in ${values.data}: run \`node bench/load-test.mjs --seconds 1 --scenarios 0\` once, it makes both`);
  process.exit(2);
}
if (!values['no-pin'] && spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' }).status === 0) log('pinned to CPU 1');

const predictor = await loadPredictor(values.model!);
const spec = predictor.spec;
const { instances } = rawInstances(values.data!, 'test', spec.fields.map((f) => f.name));
const encoder = new TextEncoder();
const bodies = instances.map((x) => encoder.encode(JSON.stringify({ instances: [x] })));
instances.length = 0;
log(`${bodies.length} single-impression bodies`);

const rowsOf = (b: Uint8Array): InstanceRows => predictor.parser.parseJson(b)!;
/** A block of fresh arrays around parsed rows, as the predictor made one per request before. */
const freshBlock = (rows: InstanceRows): SampleBlock => ({
  ...rows,
  sampleIds: new Float64Array(rows.count),
  click: new Uint8Array(rows.count),
  conversion: new Uint8Array(rows.count),
  group: new Int32Array(rows.count).fill(-1),
});
const positions = Int32Array.from({ length: 1024 }, (_, i) => i);
const model = predictor.model;
if (model.components.length !== 1) throw new Error('serve-path expects an esmm model (one component)');
const embeddings = model.components[0]!.embeddings;

// ---- Pooling: warm and cold, ours against the one-pass loop ----

/** The one-pass pooling loop forward() used before (sample part only: serving has no groups). */
const acc = new Float64Array(spec.embeddingDim);
function onePassPool(collection: EmbeddingCollection, batch: Batch, y: Float32Array): void {
  const B = batch.size;
  const D = collection.dim;
  const FD = collection.numFields * D;
  const { offsets, rows, weights } = batch.samples;
  for (let f = 0; f < collection.numFields; f++) {
    const table = collection.tables[collection.fieldTable[f]!]!;
    const data = table.data;
    const mean = spec.fields[f]!.pooling === 'mean';
    for (let b = 0; b < B; b++) {
      let weightSum = 0;
      for (let e = offsets[f * B + b]!, stop = offsets[f * B + b + 1]!; e < stop; e++) {
        const at = table.offsetOf(rows[e]!);
        const w = weights[e]!;
        weightSum += w;
        if (at < 0) continue;
        for (let j = 0; j < D; j++) acc[j] = acc[j]! + w * data[at + j]!;
      }
      const scale = mean ? (weightSum !== 0 ? 1 / weightSum : 0) : 1;
      for (let j = 0, o = b * FD + f * D; j < D; j++) {
        y[o + j] = acc[j]! * scale;
        acc[j] = 0;
      }
    }
  }
}

const builder = new BatchBuilder(spec, spec.fields.map((f) => f.name), NO_GROUPS);
const batches = bodies.map((b) => builder.build(freshBlock(rowsOf(b)), positions, 0, 1));
const width = embeddings.outputWidth;
const ours = new Float32Array(width);
const theirs = new Float32Array(width);
for (const batch of batches.slice(0, 200)) {
  embeddings.forward(batch, ours, 'infer');
  onePassPool(embeddings, batch, theirs);
  for (let i = 0; i < width; i++) if (ours[i] !== theirs[i]) throw new Error(`pooling differs at ${i}: ${ours[i]} vs ${theirs[i]}`);
}
const flushBuffer = new Int32Array(16 << 20);
let sink = 0;
function flush(): void {
  for (let i = 0; i < flushBuffer.length; i += 16) {
    const v = flushBuffer[i]!; // i < flushBuffer.length
    flushBuffer[i] = v + 1;
    sink += v;
  }
}
const pools: Record<string, (b: Batch) => void> = {
  'one pass (before)': (b) => onePassPool(embeddings, b, theirs),
  'locate, load, then pool (forward)': (b) => embeddings.forward(b, ours, 'infer'),
};
const poolUs: Record<string, { warm: number[]; cold: number[] }> = {};
for (const name of Object.keys(pools)) poolUs[name] = { warm: [], cold: [] };
const coldCalls = Math.min(500, batches.length);
for (let round = 0; round < 3; round++) {
  for (const [name, pool] of Object.entries(pools)) {
    // Warm: the same 64 impressions over and over.
    for (let i = 0; i < 2000; i++) pool(batches[i % 64]!);
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < 20000; i++) pool(batches[i % 64]!);
    if (round > 0) poolUs[name]!.warm.push(Number(process.hrtime.bigint() - t0) / 1e3 / 20000);
    let cold = 0n;
    for (let i = 0; i < coldCalls; i++) {
      flush();
      t0 = process.hrtime.bigint();
      pool(batches[i]!);
      cold += process.hrtime.bigint() - t0;
    }
    if (round > 0) poolUs[name]!.cold.push(Number(cold) / 1e3 / coldCalls);
  }
}
batches.length = 0;
const median = (xs: number[]) => spread(xs).median;
console.log(`pooling one impression (${spec.fields.length} fields, dim ${spec.embeddingDim}), µs per call, median of 2 rounds`);
console.log('| pooling | warm | cold |');
console.log('|---|---|---|');
for (const [name, t] of Object.entries(poolUs)) console.log(`| ${name} | ${median(t.warm).toFixed(1)} | ${median(t.cold).toFixed(1)} |`);
const [before, after] = Object.values(poolUs) as [{ warm: number[]; cold: number[] }, { warm: number[]; cold: number[] }];
console.log(`ratio before / forward: warm ${(median(before.warm) / median(after.warm)).toFixed(2)}×, cold ${(median(before.cold) / median(after.cold)).toFixed(2)}×\n`);

// ---- Collections over many requests: reused arrays against fresh ones ----

const pauses: { minor: number[]; major: number[] } = { minor: [], major: [] };
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as { detail?: { kind?: number } }).detail?.kind;
    (kind === constants.NODE_PERFORMANCE_GC_MINOR ? pauses.minor : pauses.major).push(e.duration);
  }
});
observer.observe({ entryTypes: ['gc'] });
const tick = () => new Promise((r) => setTimeout(r, 50)); // lets the observer report
const freshBuilder = new BatchBuilder(spec, spec.fields.map((f) => f.name), NO_GROUPS);
const paths: Record<string, (body: Uint8Array) => Promise<unknown>> = {
  'fresh arrays per request (before)': (b) => model.predict(freshBuilder.build(freshBlock(rowsOf(b)), positions, 0, 1)),
  'Predictor.predictRows (reused)': (b) => predictor.predictRows(rowsOf(b)),
};
console.log(`${requests} single-impression requests (parse + predict), one at a time`);
console.log('| path | µs per request | scavenges per 10k | scavenge ms: median / p99 / max | mark-compacts per 10k | their ms: median / max |');
console.log('|---|---|---|---|---|---|');
for (const [name, run] of Object.entries(paths)) {
  for (let i = 0; i < 3000; i++) await run(bodies[i % bodies.length]!);
  await tick();
  pauses.minor.length = 0;
  pauses.major.length = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < requests; i++) await run(bodies[i % bodies.length]!);
  const us = Number(process.hrtime.bigint() - t0) / 1e3 / requests;
  await tick();
  const minor = [...pauses.minor].sort((a, b) => a - b);
  const major = [...pauses.major].sort((a, b) => a - b);
  const per10k = (n: number) => ((n * 10_000) / requests).toFixed(1);
  const ms = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(2));
  console.log(
    `| ${name} | ${us.toFixed(0)} | ${per10k(minor.length)} | ${ms(quantile(minor, 0.5))} / ${ms(quantile(minor, 0.99))} / ${ms(minor.at(-1) ?? NaN)} ` +
      `| ${per10k(major.length)} | ${ms(quantile(major, 0.5))} / ${ms(major.at(-1) ?? NaN)} |`,
  );
}
observer.disconnect();
await predictor.release();
if (sink === 0.5) console.log(sink);
