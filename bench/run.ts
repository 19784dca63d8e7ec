/**
 * `npm run bench`: ESMM at Ali-CCP-like scale, measured against the best PyTorch peer we could write
 * on this machine, in the same run.
 *
 *   node dist-bench/bench/run.js [--train 1000000] [--test 300000] [--pairs 3] [--skip-peer] [--skip-anchor]
 *        [--seed 1] [--peer-variant fused-remap] [--peer-threads 1] [--peer-coretype SkylakeX] [--out bench/results/latest.json]
 *
 * 1. prepare: raw skeleton + common features -> training cache, MB/s of raw input, and the ratio to
 *    plainly reading the same bytes in the same run.
 * 2. train, ours against PyTorch (bench/peer_torch.py, Debian's python3-torch with OpenBLAS,
 *    installed with apt-get when missing):
 *    - the same batches in the same order: bench/export-batches.ts writes one epoch through
 *      src/train/batch-order.ts, the iterator that replays the trainer's own order (tested against
 *      the trainer bit for bit);
 *    - the same initial parameters: our dense weights and the initial values our tables give
 *      every row the epoch touches, exported from a fresh model of the same seed;
 *    - the same optimizer arithmetic (Adam with eps outside the bias correction on both sides);
 *    - asserted: every leg's first loss equals ours within 1e-5, or nothing is reported;
 *    - the peer's OpenBLAS kernel set explicitly (OPENBLAS_CORETYPE) and recorded with
 *      OPENBLAS_VERBOSE=2's output; its torch threads set (--peer-threads);
 *    - `--pairs` interleaved pairs (ours, best peer, anchor peer, ours, ...), each leg one epoch
 *      from the start in a fresh model or process, its rate taken from the end of step 1 to the end
 *      of the epoch (setup outside the clock on both sides); train.ratio is the median per-pair
 *      ratio ours / best peer, with its min and max; the anchor is the peer as reference libraries
 *      write it (one EmbeddingBag per table, 46 calls a step), reported as such;
 *    - the cores other processes kept busy during every leg (from /proc CPU times), legs above
 *      0.25 cores flagged busy, and the same over 3 idle seconds before the first leg; the
 *      1-minute load average at each leg's start is recorded too.
 *    Also ours on 1 vs 2 threads, and the test AUCs of ours and of each peer variant.
 * 2b. every model kind: training samples/s on the same data and batch, and ESMM's end-to-end rate
 *    over its dense towers' own forward+backward rate (bench/kinds.ts).
 * 4. predict: batch prediction samples/s and single-impression latency p50/p99.
 * Prints a table and writes bench/results/latest.json.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, openSync, readSync, closeSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { BatchBuilder } from '../src/data/batch/batcher.js';
import { prepareSplit, type PreparedSplit } from '../src/data/cache/prepare.js';
import { generateDataset } from '../src/simulate/generate.js';
import { defaultSpec } from '../src/features/spec.js';
import { computeAuc } from '../src/metrics/auc.js';
import { CvrModel } from '../src/models/cvr-model.js';
import { evaluateModel } from '../src/train/evaluate.js';
import { predictAll } from '../src/train/predict-all.js';
import { trainModel } from '../src/train/trainer.js';
import { exportBatches } from './export-batches.js';
import { kindsBench } from './kinds.js';
import { MODEL_KINDS } from '../src/models/registry.js';
import { fmtSpread, log, otherCores, quantile, readCpu, sh, spread, type CpuReading, type Spread } from './lib.js';

const { values } = parseArgs({
  options: {
    train: { type: 'string', default: '1000000' },
    test: { type: 'string', default: '300000' },
    'skip-peer': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/latest.json' },
    // The seed of both models' initialization and of the batch order (the data stays seed 1).
    seed: { type: 'string', default: '1' },
    // The peer's OpenBLAS kernel (OPENBLAS_CORETYPE), set explicitly: default SkylakeX where the CPU has AVX-512, else Haswell.
    'peer-coretype': { type: 'string' },
    // The peer's torch.set_num_threads (OpenBLAS keeps its own pool of one thread per core).
    'peer-threads': { type: 'string', default: '1' },
    // The best peer (bench/peer_torch.py --variant).
    'peer-variant': { type: 'string', default: 'fused-remap' },
    // Interleaved pairs (ours, peer, anchor), each one epoch.
    pairs: { type: 'string', default: '3' },
    // Leave out the anchor peer (per-field EmbeddingBags).
    'skip-anchor': { type: 'boolean', default: false },
    data: { type: 'string', default: 'bench/.data' },
  },
});
const nTrain = Number(values.train);
const nTest = Number(values.test);
const dataDir = join(values.data!, `aliccp-sim-${nTrain}-${nTest}`);
const spec = defaultSpec();
const hyper = { hidden: [360, 200, 80], dropout: 0 };
const seed = Number(values.seed);
if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer (got ${values.seed})`);
const training = { epochs: 1, batchSize: 1024, lr: 0.001, optimizer: 'adam' as const, seed, quiet: true };
const PYTHON = '/usr/bin/python3';
/** The peer as reference libraries write it, reported beside the best peer. */
const ANCHOR = 'per-field';
const peerVariant = values['peer-variant']!;
const peerThreads = Number(values['peer-threads']);
const coreType = values['peer-coretype'] ?? (readFileSync('/proc/cpuinfo', 'utf8').includes('avx512f') ? 'SkylakeX' : 'Haswell');
/**
 * Other processes keeping more than this many cores busy on average mark a leg (measured over the
 * leg) or the start of the run (measured over 3 idle seconds) as busy. Not the load average: after
 * a leg, the 1-minute load average still counts that leg's own two cores.
 */
const BUSY_CORES = 0.25;
const startLoad = loadavg()[0]!;
const startOthers = await othersWhileIdle(3000);
if (startOthers > BUSY_CORES)
  log(`the machine is busy: other processes kept ${startOthers.toFixed(2)} cores busy (> ${BUSY_CORES}); the figures of this run are flagged`);
const results: Record<string, unknown> = {
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, date: new Date().toISOString() },
  config: { train: nTrain, test: nTest, spec: '23 Ali-CCP fields, dim 18', towers: hyper.hidden, ...training },
};

// Data ----------------------------------------------------------------------------------------
if (!existsSync(join(dataDir, 'sample_skeleton_test.csv'))) {
  log(`generating ${nTrain} + ${nTest} impressions into ${dataDir}`);
  await generateDataset({ outDir: dataDir, train: nTrain, test: nTest, seed: 1 });
}

// 1. prepare ------------------------------------------------------------------------------------
const rawFiles = ['sample_skeleton_train.csv', 'common_features_train.csv'].map((f) => join(dataDir, f));
const rawBytes = rawFiles.reduce((a, f) => a + statSync(f).size, 0);
const readSeconds = timeRead(rawFiles);
const prepCache = join(dataDir, '.bench-cache');
rmSync(prepCache, { recursive: true, force: true });
let t0 = performance.now();
const train = await prepareSplit({ dataDir, split: 'train', cacheDir: prepCache, force: true });
const prepareSeconds = (performance.now() - t0) / 1000;
const test = await prepareSplit({ dataDir, split: 'test', cacheDir: prepCache });
results.prepare = {
  raw_mb: rawBytes / 1e6,
  seconds: prepareSeconds,
  mb_per_s: rawBytes / 1e6 / prepareSeconds,
  plain_read_mb_per_s: rawBytes / 1e6 / readSeconds,
  ratio_to_plain_read: readSeconds / prepareSeconds,
};
log(`prepare: ${(rawBytes / 1e6).toFixed(0)} MB in ${prepareSeconds.toFixed(2)}s`);

// 2. train: ours against the PyTorch peer, interleaved -------------------------------------------
// Both sides train the same batches in the same order from the same initial parameters (exported
// from our trainer's order and our model, bench/export-batches.ts), and the first losses must agree
// to 1e-5 before anything is reported. Each leg is one epoch from the start; its rate leaves out
// step 1 on both sides; setup (our model and worker, the peer's loading) is outside the clock.
const wantPeer = !values['skip-peer'] && ensurePeer();
const peerDir = join(dataDir, '.peer-batches');
if (wantPeer) {
  const fresh = await CvrModel.create({ kind: 'esmm', spec, hyper, seed });
  const summary = exportBatches(peerDir, spec, fresh, train, test, { batchSize: training.batchSize, seed, shuffle: 'group' });
  await fresh.release();
  log(`exported ${summary.batches} batches (${summary.samples} samples) and the initial values of ${summary.touchedRows} embedding rows`);
}
const openblas = wantPeer ? openblasInfo() : null;
const legs: Leg[] = [];
const pairs: Record<string, unknown>[] = [];
let oursAuc: Awaited<ReturnType<typeof aucsOf>> | null = null;
const peerAuc: Record<string, unknown> = {};
let oursWindows: Spread | null = null;
const nPairs = wantPeer ? Math.max(1, Number(values.pairs)) : 1;
for (let p = 0; p < nPairs; p++) {
  const o = await trainOurs(train, 2, Infinity);
  legs.push(o.leg);
  oursWindows ??= o.windows;
  if (!oursAuc) oursAuc = await aucsOf(o.model, test);
  await o.model.release();
  log(`pair ${p + 1} ours: ${o.leg.samples_per_s.toFixed(0)} samples/s (others ${o.leg.other_cores.toFixed(2)} cores, load ${o.leg.load_average.toFixed(2)})`);
  const pair: Record<string, unknown> = { ours: o.leg };
  if (wantPeer) {
    for (const variant of [peerVariant, ...(values['skip-anchor'] ? [] : [ANCHOR])]) {
      const leg = runPeerLeg(variant, p === 0, test);
      legs.push(leg);
      if (leg.auc) peerAuc[variant] = leg.auc;
      pair[variant === peerVariant ? 'peer' : 'anchor'] = leg;
      pair[variant === peerVariant ? 'ratio' : 'ratio_anchor'] = o.leg.samples_per_s / leg.samples_per_s;
      log(`pair ${p + 1} peer ${variant}: ${leg.samples_per_s.toFixed(0)} samples/s (others ${leg.other_cores.toFixed(2)} cores, load ${leg.load_average.toFixed(2)})`);
    }
  }
  pairs.push(pair);
}
// Nothing is reported unless both sides started from the same point on the same batches.
const firstOurs = legs.find((l) => l.side === 'ours')!.first_losses[0]!;
const oursLosses = legs.find((l) => l.side === 'ours')!.first_losses;
// Reported, not asserted: how far the trajectories drift over the first 20 steps (float32 sums in another order).
const maxLossGap20 = Math.max(...legs.map((l) => Math.max(...l.first_losses.map((x, i) => Math.abs(x - (oursLosses[i] ?? x))))));
for (const l of legs) {
  if (Math.abs(l.first_losses[0]! - firstOurs) > 1e-5) {
    throw new Error(`first losses differ: ours ${firstOurs}, ${l.side} ${l.variant} ${l.first_losses[0]}: not the same batches or initial parameters`);
  }
}
const oneThread = await trainOurs(train, 1, 300);
await oneThread.model.release();
const oursRates = spread(legs.filter((l) => l.side === 'ours').map((l) => l.samples_per_s));
results.train = {
  ours_samples_per_s: oursRates.median,
  ours_legs_samples_per_s: oursRates,
  ours_windows_samples_per_s: oursWindows,
  ours_auc: oursAuc,
  ours_1_thread_samples_per_s: oneThread.windows.median,
  ours_2_threads_samples_per_s: oursWindows!.median,
  speedup_1_to_2_threads: oursWindows!.median / oneThread.windows.median,
  load_average_start: startLoad,
  load_average_end: loadavg()[0],
  other_cores_at_start: startOthers,
  busy_threshold_other_cores: BUSY_CORES,
  busy_legs: legs.filter((l) => l.busy).length,
  machine_quiet: legs.every((l) => !l.busy) && startOthers <= BUSY_CORES,
};
if (wantPeer) {
  const ratios = spread(pairs.map((p) => p.ratio as number));
  const anchor = values['skip-anchor'] ? null : spread(pairs.map((p) => p.ratio_anchor as number));
  const peerLegs = legs.filter((l) => l.side === 'peer' && l.variant === peerVariant);
  Object.assign(results.train as object, {
    ratio: ratios.median,
    ratio_min: ratios.min,
    ratio_max: ratios.max,
    ratio_definition: `median over ${nPairs} interleaved pairs of (ours / best peer), each one epoch after step 1`,
    pairs,
    first_loss_ours: firstOurs,
    first_loss_peer: peerLegs[0]!.first_losses[0],
    first_losses_ours: legs.find((l) => l.side === 'ours')!.first_losses,
    first_losses_peer: peerLegs[0]!.first_losses,
    max_loss_gap_first_20_steps: maxLossGap20,
    peer_variant: peerVariant,
    peer_samples_per_s: spread(peerLegs.map((l) => l.samples_per_s)),
    peer_auc: peerAuc[peerVariant],
    ...(anchor
      ? {
          anchor_variant: ANCHOR,
          anchor_label: 'per-field EmbeddingBags, as reference libraries write the model (not the best peer)',
          ratio_anchor: anchor.median,
          ratio_anchor_min: anchor.min,
          ratio_anchor_max: anchor.max,
          anchor_samples_per_s: spread(legs.filter((l) => l.variant === ANCHOR).map((l) => l.samples_per_s)),
          anchor_auc: peerAuc[ANCHOR],
        }
      : {}),
    peer_config: { torch: peerLegs[0]!.torch, threads: peerThreads, OPENBLAS_CORETYPE: coreType, OMP_WAIT_POLICY: 'PASSIVE', openblas_verbose: openblas },
  });
}

// 2b. every model kind on the same data and batch, and ESMM against its dense ceiling -----------
results.kinds = await kindsBench(train, { steps: 200, kinds: MODEL_KINDS });

// 4. predict ------------------------------------------------------------------------------------------
results.predict = await predictBench(train, test);

// Report ------------------------------------------------------------------------------------------------
mkdirSync(dirname(values.out!), { recursive: true });
writeFileSync(values.out!, JSON.stringify(results, null, 2) + '\n');
printTable(results);
log(`wrote ${values.out}`);

// ---------------------------------------------------------------------------------------------------------

function timeRead(files: string[]): number {
  const buf = Buffer.allocUnsafe(4 << 20);
  const t = performance.now();
  for (const f of files) {
    const fd = openSync(f, 'r');
    while (readSync(fd, buf, 0, buf.length, null) > 0);
    closeSync(fd);
  }
  return (performance.now() - t) / 1000;
}

interface Leg {
  side: 'ours' | 'peer';
  variant: string;
  /** Samples/s from the end of step 1 to the end of the epoch. */
  samples_per_s: number;
  steps: number;
  first_losses: number[];
  /** The 1-minute load average at the leg's start (it includes the previous leg's own load). */
  load_average: number;
  /** Cores other processes kept busy, on average, during the leg (bench/lib.ts, otherCores). */
  other_cores: number;
  /** other_cores above BUSY_CORES. */
  busy: boolean;
  torch?: string;
  setup_seconds?: number;
  auc?: Record<string, number>;
}

async function trainOurs(split: PreparedSplit, threads: number, maxSteps: number) {
  const load = loadavg()[0]!;
  const cpu = readCpu();
  const model = await CvrModel.create({ kind: 'esmm', spec, hyper, seed }, { threads });
  const rates: number[] = [];
  const losses: number[] = [];
  let windowStart = performance.now();
  let windowSamples = 0;
  let steps = 0;
  let afterFirst = 0;
  let samplesAfterFirst = 0;
  let last = 0;
  const stopper = new Error('bench: enough steps');
  try {
    await trainModel(model, split, {
      ...training,
      embeddingThread: threads >= 2,
      onStep: (s) => {
        const now = performance.now();
        if (losses.length < 20) losses.push(s.loss);
        if (++steps === 1) afterFirst = now;
        else samplesAfterFirst += s.samples;
        last = now;
        windowSamples += s.samples;
        if (steps % 20 === 0) {
          rates.push(windowSamples / ((now - windowStart) / 1000));
          windowStart = now;
          windowSamples = 0;
        }
        if (steps >= maxSteps) throw stopper;
      },
    });
  } catch (e) {
    if (e !== stopper) throw e;
  }
  const leg: Leg = {
    side: 'ours',
    variant: `${threads} threads`,
    samples_per_s: samplesAfterFirst / ((last - afterFirst) / 1000),
    steps,
    first_losses: losses,
    load_average: load,
    ...othersDuring(cpu),
  };
  return { model, leg, windows: spread(rates.slice(1)) };
}

/** Other processes' cores since `from`, and whether that makes the leg busy. */
function othersDuring(from: CpuReading): { other_cores: number; busy: boolean } {
  const other = otherCores(from, readCpu());
  return { other_cores: other, busy: other > BUSY_CORES };
}

/** Other processes' cores over `ms` milliseconds in which this process waits. */
async function othersWhileIdle(ms: number): Promise<number> {
  const from = readCpu();
  await new Promise((r) => setTimeout(r, ms));
  return otherCores(from, readCpu());
}

async function aucsOf(model: CvrModel, split: PreparedSplit) {
  const r = await evaluateModel(model, split, { quiet: true });
  return { ctr: r.ctr_auc, cvr: r.cvr_auc, ctcvr: r.ctcvr_auc, cvr_entire_space_truth: r.cvr_auc_entire_space_truth };
}

function ensurePeer(): boolean {
  if (sh(PYTHON, ['-c', 'import torch, numpy']).status === 0) return true;
  log('installing the peer: apt-get install python3-torch libopenblas0-pthread');
  sh('apt-get', ['update', '-qq']);
  const r = sh('apt-get', ['install', '-y', '-qq', 'python3-torch', 'libopenblas0-pthread'], { ...process.env, DEBIAN_FRONTEND: 'noninteractive' });
  if (r.status !== 0) log(`could not install the peer: ${r.stderr.slice(-500)}`);
  return sh(PYTHON, ['-c', 'import torch, numpy']).status === 0;
}

function peerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', OPENBLAS_CORETYPE: coreType };
}

/** What OpenBLAS says of itself under the peer's settings (OPENBLAS_VERBOSE=2): its kernel and threads. */
function openblasInfo(): string[] {
  const r = sh(PYTHON, ['-c', 'import torch; torch.ones(64,64) @ torch.ones(64,64)'], { ...peerEnv(), OPENBLAS_VERBOSE: '2' });
  return (r.stdout + r.stderr).split('\n').filter((l) => l.trim() !== '');
}

/** One epoch of the peer in its own process; its test AUCs with `predict`. */
function runPeerLeg(variant: string, predict: boolean, testSplit: PreparedSplit): Leg {
  const load = loadavg()[0]!;
  const cpu = readCpu();
  const out = join(peerDir, `peer-${variant}.json`);
  const args = ['bench/peer_torch.py', peerDir, out, '--variant', variant, '--threads', String(peerThreads), ...(predict ? [] : ['--no-predict'])];
  const r = sh(PYTHON, args, peerEnv());
  if (r.status !== 0) throw new Error(`peer ${variant} failed: ${r.stderr.slice(-1500)}`);
  const j = JSON.parse(readFileSync(out, 'utf8')) as { samples_per_s: number; steps: number; first_losses: number[]; torch: string; load_seconds: number };
  const leg: Leg = {
    side: 'peer',
    variant,
    samples_per_s: j.samples_per_s,
    steps: j.steps,
    first_losses: j.first_losses,
    load_average: load,
    ...othersDuring(cpu),
    torch: j.torch,
    setup_seconds: j.load_seconds,
  };
  if (predict) leg.auc = peerAucs(new Float32Array(new Uint8Array(readFileSync(out.replace('.json', '.pred'))).buffer), testSplit);
  return leg;
}

function peerAucs(pred: Float32Array, split: PreparedSplit) {
  const n = split.numSamples;
  const pctr = new Float32Array(n), pcvr = new Float32Array(n), pctcvr = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    pctr[i] = pred[3 * i]!;
    pcvr[i] = pred[3 * i + 1]!;
    pctcvr[i] = pred[3 * i + 2]!;
  }
  const click = new Uint8Array(n), ctcvr = new Uint8Array(n);
  const clickedPcvr: number[] = [], clickedConv: number[] = [];
  let k = 0;
  for (let b = 0; b < split.numBlocks; b++) {
    const block = split.readBlock(b);
    for (let i = 0; i < block.count; i++, k++) {
      click[k] = block.click[i]!;
      ctcvr[k] = block.click[i]! & block.conversion[i]!;
      if (block.click[i]) {
        clickedPcvr.push(pcvr[k]!);
        clickedConv.push(block.conversion[i]!);
      }
    }
  }
  return { ctr: computeAuc(pctr, click), cvr: computeAuc(Float32Array.from(clickedPcvr), clickedConv), ctcvr: computeAuc(pctcvr, ctcvr) };
}

async function predictBench(trainSplit: PreparedSplit, testSplit: PreparedSplit) {
  const model = await CvrModel.create({ kind: 'esmm', spec, hyper, seed });
  await trainModel(model, trainSplit, { ...training, onStep: (s) => { if (s.step >= 50) throw new Error('stop'); } }).catch(() => undefined);
  let t = performance.now();
  await predictAll(model, testSplit, () => undefined, { quiet: true, batchSize: 4096 });
  const batchRate = testSplit.numSamples / ((performance.now() - t) / 1000);
  const builder = new BatchBuilder(spec, testSplit.fieldNames, testSplit.groups);
  const block = testSplit.readBlock(0);
  const order = Int32Array.from({ length: block.count }, (_, i) => i);
  const lat: number[] = [];
  for (let i = 0; i < 3000; i++) {
    t = performance.now();
    await model.predict(builder.build(block, order, i % block.count, (i % block.count) + 1));
    lat.push((performance.now() - t) * 1000);
  }
  await model.release();
  const sorted = lat.slice(500).sort((a, b) => a - b);
  return { samples_per_s: batchRate, batch_size: 4096, p50_us: quantile(sorted, 0.5), p99_us: quantile(sorted, 0.99) };
}

function printTable(r: Record<string, unknown>): void {
  const p = r.prepare as { mb_per_s: number; plain_read_mb_per_s: number; ratio_to_plain_read: number; raw_mb: number };
  const tr = r.train as Record<string, unknown> & { ours_windows_samples_per_s: Spread; ours_auc: Record<string, number> };
  const pr = r.predict as { samples_per_s: number; p50_us: number; p99_us: number };
  const a = (x: Record<string, number> | undefined) => (x ? `ctr ${x.ctr!.toFixed(4)} cvr ${x.cvr!.toFixed(4)} ctcvr ${x.ctcvr!.toFixed(4)}` : 'n/a');
  const lines = [
    '',
    '| measure | value |',
    '|---|---|',
    `| prepare | ${p.mb_per_s.toFixed(0)} MB/s of raw input (${p.raw_mb.toFixed(0)} MB); plain read ${p.plain_read_mb_per_s.toFixed(0)} MB/s; ratio ${p.ratio_to_plain_read.toFixed(2)} |`,
    `| train, ours (2 threads) | ${(tr.ours_samples_per_s as number).toFixed(0)} samples/s, median of ${(tr.ours_legs_samples_per_s as Spread).n} epochs (after step 1); per 20 steps in the first ${fmtSpread(tr.ours_windows_samples_per_s)} |`,
    `| train, ours 1 → 2 threads | ${(tr.ours_1_thread_samples_per_s as number).toFixed(0)} → ${(tr.ours_2_threads_samples_per_s as number).toFixed(0)} samples/s (${(tr.speedup_1_to_2_threads as number).toFixed(2)}x) |`,
    `| other processes | ${(tr.other_cores_at_start as number).toFixed(2)} cores busy before the first leg; legs with more than ${tr.busy_threshold_other_cores} cores busy: ${tr.busy_legs}${tr.machine_quiet ? ' (quiet)' : ' (BUSY: figures flagged)'}; load average ${(tr.load_average_start as number).toFixed(2)} at the start, ${(tr.load_average_end as number).toFixed(2)} at the end |`,
  ];
  if (tr.ratio !== undefined) {
    const pc = tr.peer_config as { threads: number; OPENBLAS_CORETYPE: string };
    lines.push(
      `| first loss, ours / PyTorch | ${(tr.first_loss_ours as number).toFixed(7)} / ${(tr.first_loss_peer as number).toFixed(7)} (asserted equal within 1e-5: same batches, same order, same initial parameters) |`,
      `| train, best PyTorch peer (${tr.peer_variant}, ${pc.threads} torch thread(s), OpenBLAS ${pc.OPENBLAS_CORETYPE}) | ${fmtSpread(tr.peer_samples_per_s as Spread)} samples/s over its epochs |`,
      `| **ratio ours / best peer** | **${(tr.ratio as number).toFixed(2)}x** (median of ${(tr.pairs as unknown[]).length} interleaved pairs; min ${(tr.ratio_min as number).toFixed(2)}, max ${(tr.ratio_max as number).toFixed(2)}) |`,
    );
    if (tr.ratio_anchor !== undefined) {
      lines.push(
        `| train, anchor peer (per-field EmbeddingBags, as reference libraries write it) | ${fmtSpread(tr.anchor_samples_per_s as Spread)} samples/s |`,
        `| ratio ours / anchor peer (not the best peer) | ${(tr.ratio_anchor as number).toFixed(2)}x (min ${(tr.ratio_anchor_min as number).toFixed(2)}, max ${(tr.ratio_anchor_max as number).toFixed(2)}) |`,
      );
    }
    lines.push(`| test AUC, ours | ${a(tr.ours_auc)} |`, `| test AUC, best peer | ${a(tr.peer_auc as Record<string, number>)} |`);
    if (tr.anchor_auc) lines.push(`| test AUC, anchor peer | ${a(tr.anchor_auc as Record<string, number>)} |`);
  } else lines.push(`| test AUC, ours | ${a(tr.ours_auc)} |`);
  const k = r.kinds as { samples_per_s: Record<string, number>; esmm_dense_samples_per_s: number; esmm_share_of_dense_ceiling: number } | undefined;
  if (k) {
    lines.push(`| train, every kind (samples/s, 200 steps) | ${Object.entries(k.samples_per_s).map(([kind, v]) => `${kind} ${v.toFixed(0)}`).join(', ')} |`);
    lines.push(`| ESMM against its dense towers alone | ${k.esmm_dense_samples_per_s.toFixed(0)} samples/s forward+backward; end to end ${(100 * k.esmm_share_of_dense_ceiling).toFixed(0)}% of it |`);
  }
  lines.push(`| predict | ${pr.samples_per_s.toFixed(0)} samples/s (batch 4096); single impression p50 ${pr.p50_us.toFixed(0)} µs, p99 ${pr.p99_us.toFixed(0)} µs |`);
  process.stdout.write(lines.join('\n') + '\n');
}
