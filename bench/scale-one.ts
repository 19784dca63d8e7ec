/**
 * One point of the scale table, run in its own process so its peak RSS is its own:
 * prepare the train split (fresh cache) and train ESMM for one epoch (default spec, batch 1024).
 *
 *   node dist-bench/bench/scale-one.js DATA_DIR  → prints one JSON line
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { prepareSplit } from '../src/data/cache/prepare.js';
import { defaultSpec } from '../src/features/spec.js';
import { CvrModel } from '../src/models/cvr-model.js';
import { trainModel } from '../src/train/trainer.js';

const dataDir = process.argv[2]!;
const cacheDir = join(dataDir, '.scale-cache');
rmSync(cacheDir, { recursive: true, force: true });
let t = performance.now();
const split = await prepareSplit({ dataDir, split: 'train', cacheDir, force: true });
const prepareSeconds = (performance.now() - t) / 1000;
const rssAfterPrepareMb = process.memoryUsage().rss / 1e6;
const spec = defaultSpec();
const model = await CvrModel.create({ kind: 'esmm', spec, hyper: { hidden: [360, 200, 80], dropout: 0 }, seed: 1 });
t = performance.now();
const r = await trainModel(model, split, { epochs: 1, batchSize: 1024, lr: 0.001, optimizer: 'adam', seed: 1, quiet: true });
const trainSeconds = (performance.now() - t) / 1000;
let groupEntries = 0;
groupEntries = split.groups.offsets[split.groups.count] ?? 0;
const touchedRows = model.components[0]!.embeddings.tables.reduce((a, tb) => a + tb.touchedCount, 0);
await model.release();
console.log(
  JSON.stringify({
    impressions: split.numSamples,
    groups: split.groups.count,
    groupEntries,
    touchedRows,
    prepareSeconds,
    trainSeconds,
    trainSamplesPerSecond: r.samplesPerSecond,
    rssAfterPrepareMb,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  }),
);
