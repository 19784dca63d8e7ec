import { join } from 'node:path';
import { prepareSplit } from '../../data/cache/prepare.js';
import { defaultSpec } from '../../features/spec.js';
import { CvrModel } from '../../models/cvr-model.js';
import type { ModelKind } from '../../models/registry.js';
import { saveModel } from '../../persist/model-dir.js';
import { evaluateModel, type EvalResult } from '../../train/evaluate.js';
import { trainModel } from '../../train/trainer.js';
import { numberOpt, optString, parseCommand, type Options } from '../args.js';
import { generate } from './generate.js';

/** Sized so that the whole demo runs in well under 10 minutes on 2 cores. */
const DEMO_DEFAULTS = { train: 1_000_000, test: 300_000, epochs: 2, batchSize: 1024, lr: 0.001 };

export const DEMO_HELP = `esmm demo [--out DIR] [--train N] [--test N] [--epochs E] [--seed S]

Generates an Ali-CCP-layout dataset with known truth, trains the paper's BASE and ESMM on it, and
prints the comparison (CVR AUC on clicked impressions, CTCVR AUC on all impressions, and the
entire-space CVR AUC against the true conversion probabilities).

  --out DIR     working directory (default ./demo-out)
  --train N     train impressions (default ${DEMO_DEFAULTS.train})
  --test N      test impressions (default ${DEMO_DEFAULTS.test})
  --epochs E    epochs (default ${DEMO_DEFAULTS.epochs})
  --seed S      seed of data and models (default 1)
  -q, --quiet   no progress output
`;

export const DEMO_OPTIONS: Options = {
  out: { type: 'string', short: 'o' },
  train: { type: 'string' },
  test: { type: 'string' },
  epochs: { type: 'string' },
  seed: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
};

export interface DemoRow {
  model: ModelKind;
  result: EvalResult;
  trainSeconds: number;
  samplesPerSecond: number;
}

export async function demoCommand(argv: string[]): Promise<void> {
  const cmd = 'demo';
  const v = parseCommand(cmd, argv, DEMO_OPTIONS);
  if (v.help) return void process.stdout.write(DEMO_HELP);
  const d = DEMO_DEFAULTS;
  const out = optString(v, 'out') ?? 'demo-out';
  const train = numberOpt(v, 'train', d.train, cmd, { min: 1000, max: 2e9, integer: true });
  const test = numberOpt(v, 'test', d.test, cmd, { min: 1000, max: 2e9, integer: true });
  const epochs = numberOpt(v, 'epochs', d.epochs, cmd, { min: 1, max: 100, integer: true });
  const seed = numberOpt(v, 'seed', 1, cmd, { min: 0, max: 2 ** 32 - 1, integer: true });
  const quiet = v.quiet === true;
  const t0 = Date.now();
  const dataDir = join(out, 'data');
  const log = (s: string) => process.stderr.write(s + '\n');
  log(`demo: generating ${train} train + ${test} test impressions in ${dataDir}`);
  await generate({ outDir: dataDir, train, test, seed, quiet });
  const trainSplit = await prepareSplit({ dataDir, split: 'train' });
  const testSplit = await prepareSplit({ dataDir, split: 'test' });
  log(
    `demo: train ${trainSplit.numSamples} impressions, ${trainSplit.clicks} clicks, ${trainSplit.conversions} conversions;` +
      ` test ${testSplit.numSamples} / ${testSplit.clicks} / ${testSplit.conversions}`,
  );
  const spec = defaultSpec();
  const rows: DemoRow[] = [];
  for (const kind of ['base', 'esmm'] as const) {
    const model = await CvrModel.create({
      kind,
      spec,
      hyper: { hidden: [360, 200, 80], dropout: 0 },
      seed,
    });
    try {
      const tr = await trainModel(model, trainSplit, { epochs, batchSize: d.batchSize, lr: d.lr, optimizer: 'adam', seed, quiet });
      const result = await evaluateModel(model, testSplit, { quiet });
      saveModel(model, join(out, `model-${kind}`), { training: { ...d, epochs, seed, train, test }, metrics: { test: result } });
      rows.push({ model: kind, result, trainSeconds: tr.seconds, samplesPerSecond: tr.samplesPerSecond });
    } finally {
      await model.release();
    }
  }
  process.stdout.write(formatDemoTable(rows));
  process.stdout.write(demoVerdict(rows));
  process.stdout.write(`\ntotal ${((Date.now() - t0) / 1000).toFixed(0)}s; models saved in ${out}/model-base and ${out}/model-esmm\n`);
}

const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? 'n/a' : (100 * x).toFixed(2));

export function formatDemoTable(rows: DemoRow[]): string {
  let s = '\n| model | CVR AUC (clicked) | CTCVR AUC | CVR AUC entire space (truth) | CTR AUC | train s | samples/s |\n';
  s += '|---|---|---|---|---|---|---|\n';
  for (const r of rows) {
    s += `| ${r.model.toUpperCase()} | ${pct(r.result.cvr_auc)} | ${pct(r.result.ctcvr_auc)} | ${pct(r.result.cvr_auc_entire_space_truth)} | ${pct(r.result.ctr_auc)} | ${r.trainSeconds.toFixed(0)} | ${Math.round(r.samplesPerSecond)} |\n`;
  }
  return s;
}

export function demoVerdict(rows: DemoRow[]): string {
  const base = rows.find((r) => r.model === 'base')?.result;
  const esmm = rows.find((r) => r.model === 'esmm')?.result;
  if (!base || !esmm) return '';
  const cmp = (name: string, a?: number, b?: number) =>
    a === undefined || b === undefined
      ? ''
      : `ESMM ${b > a ? 'beats' : 'does NOT beat'} BASE on ${name}: ${pct(b)} vs ${pct(a)} (${b > a ? '+' : ''}${(100 * (b - a)).toFixed(2)} points)\n`;
  return (
    '\n' +
    cmp('CTCVR AUC', base.ctcvr_auc, esmm.ctcvr_auc) +
    cmp('entire-space CVR AUC (truth)', base.cvr_auc_entire_space_truth, esmm.cvr_auc_entire_space_truth) +
    cmp('CVR AUC on clicked impressions', base.cvr_auc, esmm.cvr_auc)
  );
}
