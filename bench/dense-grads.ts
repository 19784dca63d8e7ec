/**
 * Our dense gradients on one fixed input, for bench/reference_multitask.py --grad-check to compare
 * with torch autograd: a fresh model of KIND (seed S, default hyper-parameters unless --hyper), a
 * seeded x [B, inputDim] and labels, one trainStep (forward + backward, no update).
 *
 *   node dist-bench/bench/dense-grads.js --model aitm --seed 1 --out GRADS.json [--batch 256]
 *        [--x-scale 0.5] [--hyper '{}']
 *
 * Writes { kind, inputDim, x, click, conversion, loss, params: {name: {dims, data}}, grads:
 * {name: data}, gradX, outputs }. The labels are dense (click 30%, conversion 30% of the clicks)
 * so that every term of the loss, the calibrator's included, has a gradient.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultSpec } from '../src/features/spec.js';
import { CvrModel, type ModelConfig } from '../src/models/cvr-model.js';
import { Rng } from '../src/util/rng.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'aitm' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
    batch: { type: 'string', default: '256' },
    'x-scale': { type: 'string', default: '0.5' },
    hyper: { type: 'string', default: '{}' },
  },
});
if (!values.out) throw new Error('--out is required');
const config: ModelConfig = { kind: values.model as ModelConfig['kind'], spec: defaultSpec(), hyper: JSON.parse(values.hyper!) as Record<string, unknown>, seed: Number(values.seed) };
const model = await CvrModel.create(config, { threads: 1 });
const net = model.components[0]!.net;
const B = Number(values.batch);
const scale = Number(values['x-scale']);
const rng = new Rng(12345);
const x = Float32Array.from({ length: B * net.inputDim }, () => (2 * rng.next() - 1) * scale);
const click = Float32Array.from({ length: B }, () => (rng.next() < 0.3 ? 1 : 0));
const conversion = click.map((c) => (c === 1 && rng.next() < 0.3 ? 1 : 0));
const ctcvr = click.map((c, i) => c * conversion[i]!);
const all: Record<string, Float32Array> = { click, conversion, ctcvr };
const labels = Object.fromEntries(net.labelNames.map((n) => [n, all[n]!]));
const r = await net.trainStep(x, B, labels);
writeFileSync(
  values.out,
  JSON.stringify({
    kind: config.kind,
    inputDim: net.inputDim,
    x: Array.from(x),
    click: Array.from(click),
    conversion: Array.from(conversion),
    loss: r.loss,
    params: Object.fromEntries([...net.params].map(([n, p]) => [n, { dims: p.dims, data: Array.from(p.data) }])),
    grads: Object.fromEntries([...r.grads].map(([n, g]) => [n, Array.from(g)])),
    gradX: Array.from(r.gradX),
    outputs: Object.fromEntries(Object.entries(r.outputs).map(([n, v]) => [n, Array.from(v)])),
  }),
);
await model.release();
process.stderr.write(`${config.kind}: loss ${r.loss}, ${r.grads.size} gradients\n`);
