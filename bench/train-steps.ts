/**
 * Training throughput through the real trainer (trainModel), for quick before/after checks of a
 * change without the whole `npm run bench`: ESMM with the paper's shape on the bench's prepared
 * 1M-impression data, N steps after a 20-step warm-up, in each of the given configurations.
 *
 *   node dist-bench/bench/train-steps.js [--data DIR] [--steps 250] [--configs 2:1,1:0] [--repeat 1]
 *
 * A configuration is ORT_THREADS:EMBEDDING_THREAD (1 = the embedding side on two threads). To
 * compare two builds, run this once per build, alternating, a few times: runs differ by ±5% here.
 */
import { parseArgs } from 'node:util';
import { prepareSplit } from '../src/data/cache/prepare.js';
import { defaultSpec } from '../src/features/spec.js';
import { CvrModel } from '../src/models/cvr-model.js';
import { trainModel } from '../src/train/trainer.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: 'bench/.data/aliccp-sim-1000000-1000000' },
    steps: { type: 'string', default: '250' },
    configs: { type: 'string', default: '2:1' },
    repeat: { type: 'string', default: '1' },
  },
});
const steps = Number(values.steps);
const WARMUP = 20;
const split = await prepareSplit({ dataDir: values.data!, split: 'train', cacheDir: `${values.data!}/.bench-cache` });
const spec = defaultSpec();
for (let r = 0; r < Number(values.repeat); r++) {
  for (const config of values.configs!.split(',')) {
    const [ortThreads, embeddingThread] = config.split(':').map(Number) as [number, number];
    const model = await CvrModel.create(
      { kind: 'esmm', spec, hyper: { hidden: [360, 200, 80], dropout: 0 }, seed: 1 },
      { threads: ortThreads },
    );
    let n = 0;
    let t0 = 0;
    let samples = 0;
    let cpu0: NodeJS.CpuUsage | undefined;
    const stop = new Error('enough steps');
    try {
      await trainModel(model, split, {
        epochs: 1,
        batchSize: 1024,
        lr: 0.001,
        optimizer: 'adam',
        seed: 1,
        quiet: true,
        embeddingThread: embeddingThread === 1,
        onStep: (s) => {
          n++;
          if (n === WARMUP) {
            t0 = performance.now();
            cpu0 = process.cpuUsage();
          }
          if (n > WARMUP) samples += s.samples;
          if (n >= WARMUP + steps) throw stop;
        },
      });
    } catch (e) {
      if (e !== stop) throw e;
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    console.log(
      `onnxruntime threads ${ortThreads}, embedding thread ${embeddingThread ? 'on' : 'off'}: ${Math.round(samples / seconds)} samples/s ` +
        `(${((seconds / steps) * 1000).toFixed(1)} ms/step, ${((cpu.user + cpu.system) / 1000 / steps).toFixed(1)} CPU ms/step over all threads)`,
    );
    await model.release();
  }
}
