/**
 * Training throughput of every model kind on the same data and batch, and how close ESMM's
 * end-to-end rate comes to its dense towers' own forward+backward rate (the ceiling that the
 * sparse side and the loop eat into).
 *
 *   node dist-bench/bench/kinds.js [--data DIR] [--steps 200] [--kinds esmm,mmoe,...]
 *
 * Per kind: trainModel on the split, at most --steps steps in all after 20 warm-up steps, batch
 * 1024, Adam, onnxruntime 2 threads and the embedding thread; samples/s is samples over the wall
 * time of the counted steps (a kind with several components, such as BASE, is measured on the
 * steps it takes first: its CTR net). Ceiling: DenseNet.trainStep alone on ESMM's graph (x given,
 * no pooling, no optimizer), median of 50 calls. `npm run bench` runs this too.
 */
import { parseArgs } from 'node:util';
import { prepareSplit, type PreparedSplit } from '../src/data/cache/prepare.js';
import { defaultSpec, inputWidth } from '../src/features/spec.js';
import { CvrModel } from '../src/models/cvr-model.js';
import { initParams, paramDecls } from '../src/models/dense-graph.js';
import { DenseNet } from '../src/models/dense-net.js';
import { MODEL_KINDS } from '../src/models/registry.js';
import { trainModel } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';
import { log } from './lib.js';

const WARMUP = 20;
const BATCH = 1024;

export interface KindsResult {
  /** samples/s per kind, over the counted steps. */
  samples_per_s: Record<string, number>;
  /** ESMM's dense towers alone: forward+backward samples/s at batch 1024 (median of 50 calls). */
  esmm_dense_samples_per_s: number;
  /** ESMM end to end over its dense ceiling. */
  esmm_share_of_dense_ceiling: number;
  steps: number;
}

export async function kindsBench(split: PreparedSplit, opts: { steps: number; kinds: readonly string[] }): Promise<KindsResult> {
  const spec = defaultSpec();
  const rates: Record<string, number> = {};
  for (const kind of opts.kinds) {
    const model = await CvrModel.create({ kind, spec, seed: 1 }, { threads: 2 });
    let steps = 0;
    let samples = 0;
    let t0 = 0;
    const stop = new Error('enough steps');
    try {
      await trainModel(model, split, {
        epochs: 1,
        batchSize: BATCH,
        lr: 0.001,
        optimizer: 'adam',
        seed: 1,
        quiet: true,
        embeddingThread: true,
        onStep: (s) => {
          steps++;
          if (steps === WARMUP) t0 = performance.now();
          else if (steps > WARMUP) samples += s.samples;
          if (steps === WARMUP + opts.steps) throw stop;
        },
      });
    } catch (e) {
      if (e !== stop) throw e;
    } finally {
      await model.release();
    }
    rates[kind] = samples / ((performance.now() - t0) / 1000);
    log(`${kind}: ${Math.round(rates[kind]!)} samples/s`);
  }
  const dense = await esmmDenseRate(spec);
  const esmm = rates.esmm;
  return {
    samples_per_s: rates,
    esmm_dense_samples_per_s: dense,
    esmm_share_of_dense_ceiling: esmm !== undefined ? esmm / dense : NaN,
    steps: opts.steps,
  };
}

/** ESMM's dense towers alone, onnxruntime on 2 threads: forward+backward samples/s at batch 1024 (median of 50 calls). */
export async function esmmDenseRate(spec: ReturnType<typeof defaultSpec>, threads = 2): Promise<number> {
  return (await esmmDenseCost(spec, threads)).samplesPerSecond;
}

/**
 * The ESMM towers alone, forward+backward at batch BATCH on `threads` onnxruntime threads: the
 * median step's wall time and rate, and the CPU time of the process per step (all its threads)
 * over the same steps.
 */
export async function esmmDenseCost(
  spec: ReturnType<typeof defaultSpec>,
  threads = 2,
): Promise<{ samplesPerSecond: number; wallMsPerStep: number; cpuMsPerStep: number }> {
  const model = await CvrModel.create({ kind: 'esmm', spec, seed: 1 }, { threads: 1 });
  const arch = model.components[0]!.def.dense;
  await model.release();
  const inputDim = inputWidth(spec);
  const rng = new Rng(1);
  const net = await DenseNet.create(arch, inputDim, initParams(paramDecls(arch, inputDim), rng), { threads });
  try {
    const x = Float32Array.from({ length: BATCH * inputDim }, () => 0.1 * rng.normal());
    const click = Float32Array.from({ length: BATCH }, () => (rng.next() < 0.05 ? 1 : 0));
    const ctcvr = Float32Array.from(click, (c) => (c && rng.next() < 0.1 ? 1 : 0));
    for (let i = 0; i < 5; i++) await net.trainStep(x, BATCH, { click, ctcvr });
    const ms: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      await net.trainStep(x, BATCH, { click, ctcvr });
      ms.push(performance.now() - t);
    }
    const cpu = process.cpuUsage(cpu0);
    ms.sort((a, b) => a - b);
    return { samplesPerSecond: BATCH / (ms[25]! / 1000), wallMsPerStep: ms[25]!, cpuMsPerStep: (cpu.user + cpu.system) / 1000 / 50 };
  } finally {
    await net.release();
  }
}

if (process.argv[1]?.endsWith('kinds.js')) {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: 'bench/.data/aliccp-sim-1000000-300000' },
      steps: { type: 'string', default: '200' },
      kinds: { type: 'string', default: MODEL_KINDS.join(',') },
    },
  });
  const split = await prepareSplit({ dataDir: values.data!, split: 'train', cacheDir: `${values.data!}/.bench-cache` });
  const r = await kindsBench(split, { steps: Number(values.steps), kinds: values.kinds!.split(',') });
  console.log(JSON.stringify(r, null, 2));
}
