/**
 * Dense train-step throughput: wall time of DenseNet.trainStep (forward + backward in onnxruntime,
 * dropout masks and the input/output marshalling included) and of predict.
 *
 *   node <build>/bench/dense-step.js [--kind esmm|single] [--batch 1024] [--input-dim 414]
 *        [--hidden 360,200,80] [--dropout 0] [--threads 2] [--steps 50] [--warmup 5] [--spin]
 */
import { parseArgs } from 'node:util';
import { initParams, paramDecls } from '../src/models/dense-graph.js';
import { DenseNet } from '../src/models/dense-net.js';
import { esmmArch } from '../src/models/kinds/esmm.js';
import { singleTower } from '../src/models/nets.js';
import { Rng } from '../src/util/rng.js';

const { values } = parseArgs({
  options: {
    kind: { type: 'string', default: 'esmm' },
    batch: { type: 'string', default: '1024' },
    'input-dim': { type: 'string', default: '414' },
    hidden: { type: 'string', default: '360,200,80' },
    dropout: { type: 'string', default: '0' },
    threads: { type: 'string', default: '2' },
    steps: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '5' },
    spin: { type: 'boolean', default: false },
  },
});

const kind = values.kind === 'single' ? 'single' : 'esmm';
const batch = Number(values.batch);
const steps = Number(values.steps);
const warmup = Number(values.warmup);
const threads = Number(values.threads);
const spec = {
  inputDim: Number(values['input-dim']),
  hidden: values.hidden!.split(',').filter((s) => s !== '').map(Number),
  dropout: Number(values.dropout),
};
const arch = kind === 'esmm' ? esmmArch(spec, (_g, x) => [x, x]) : singleTower('click', spec);

const rng = new Rng(1);
const spin = values.spin!;
const net = await DenseNet.create(arch, spec.inputDim, initParams(paramDecls(arch, spec.inputDim), rng), { threads, seed: 2, spin });
const x = Float32Array.from({ length: batch * spec.inputDim }, () => 0.1 * rng.normal());
const click = Float32Array.from({ length: batch }, () => (rng.next() < 0.05 ? 1 : 0));
const ctcvr = Float32Array.from(click, (c) => (c && rng.next() < 0.1 ? 1 : 0));
const labels = { click, ctcvr };

interface Timing {
  /** Median and mean wall milliseconds per call. */
  median: number;
  mean: number;
  /** Process CPU milliseconds per call, all threads: less sensitive than wall time to a busy machine. */
  cpu: number;
}

async function time(n: number, warm: number, f: () => Promise<unknown>): Promise<Timing> {
  for (let i = 0; i < warm; i++) await f();
  const ms: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f();
    ms.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(n / 2)]!, mean: ms.reduce((a, v) => a + v, 0) / n, cpu: (cpu.user + cpu.system) / 1000 / n };
}

function report(what: string, t: Timing): string {
  const rate = (ms: number) => Math.round((batch / ms) * 1000);
  const median = `median ${t.median.toFixed(2)} ms (${rate(t.median)} samples/s)`;
  return `${what}: ${median}, mean ${t.mean.toFixed(2)} ms, cpu ${t.cpu.toFixed(2)} ms/call`;
}

try {
  const train = await time(steps, warmup, () => net.trainStep(x, batch, labels));
  const predict = await time(steps, warmup, () => net.predict(x, batch));
  console.log(
    `${kind} inputDim ${spec.inputDim} hidden [${spec.hidden.join(',')}] dropout ${spec.dropout} batch ${batch}`,
    `threads ${threads}${spin ? ' spinning' : ''}`,
  );
  console.log(report('trainStep', train));
  console.log(report('predict  ', predict));
} finally {
  await net.release();
}
