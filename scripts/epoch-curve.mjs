#!/usr/bin/env node
/**
 * What early stopping sees against what the test split says, epoch by epoch: trains a model for
 * 1, 2, ..., E whole epochs (each from scratch with the same seed, so the k-epoch model is the
 * first k epochs of a longer run) on the training side of the session carve `esmm train --epochs
 * auto` makes (10% of sessions held out by --seed), and prints one JSON line per epoch count with
 * the CVR AUC and CVR log loss on the held-out validation side and on the test split.
 *
 *   npm run build && node scripts/epoch-curve.mjs DATA_DIR [--model base] [--seed 1] [--epochs 4]
 *
 * Training options are the CLI's defaults (batch 1024, Adam lr 0.001, --slice-batch scaled).
 */
import { parseArgs } from 'node:util';
import { prepareSplit } from '../dist/data/cache/prepare.js';
import { splitBySession } from '../dist/data/session-split.js';
import { defaultSpec } from '../dist/features/spec.js';
import { CvrModel } from '../dist/models/cvr-model.js';
import { DEFAULT_VALIDATION_FRACTION } from '../dist/train/early-stopping.js';
import { evaluateModel } from '../dist/train/evaluate.js';
import { trainModel } from '../dist/train/trainer.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { model: { type: 'string', default: 'base' }, seed: { type: 'string', default: '1' }, epochs: { type: 'string', default: '4' } },
});
if (positionals.length !== 1) {
  process.stderr.write('usage: node scripts/epoch-curve.mjs DATA_DIR [--model base] [--seed 1] [--epochs 4]\n');
  process.exit(2);
}
const [dataDir] = positionals;
const seed = Number(values.seed);
const maxEpochs = Number(values.epochs);
const train = await prepareSplit({ dataDir, split: 'train' });
const test = await prepareSplit({ dataDir, split: 'test' });
const sides = splitBySession(train, DEFAULT_VALIDATION_FRACTION, seed);
const round = (v) => Math.round(v * 1e4) / 1e4;
for (let epochs = 1; epochs <= maxEpochs; epochs++) {
  const model = await CvrModel.create({ kind: values.model, spec: defaultSpec(), seed }, { threads: 2 });
  try {
    await trainModel(model, sides.train, { epochs, batchSize: 1024, lr: 0.001, optimizer: 'adam', seed, quiet: true });
    const v = await evaluateModel(model, sides.validation, { quiet: true });
    const t = await evaluateModel(model, test, { quiet: true });
    console.log(JSON.stringify({ model: values.model, seed, epochs, validation: { cvr_auc: round(v.cvr_auc), cvr_logloss: round(v.cvr_logloss) }, test: { cvr_auc: round(t.cvr_auc), cvr_logloss: round(t.cvr_logloss) } }));
  } finally {
    await model.release();
  }
}
