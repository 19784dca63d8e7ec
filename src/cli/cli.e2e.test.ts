import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareSplit } from '../data/cache/prepare.js';
import { CvrModel } from '../models/cvr-model.js';
import { loadModel } from '../persist/model-dir.js';
import { EmbeddingTable } from '../sparse/embedding-table.js';
import { runCli, tempDir } from '../test-support/cli.js';
import { evaluateModel, type EvalResult } from '../train/evaluate.js';
import { trainModel, type TrainConfig } from '../train/trainer.js';

const dir = tempDir('cli');
const data = join(dir, 'data');
test.after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The control of a learning test: the model saved in `modelDir` trained again from scratch, with
 * the same options, data and seeds, but with its embeddings frozen at their initial values (every
 * row the optimizer moved is put back after each step), then evaluated on the test split. A model
 * whose embeddings do not train scores about what this one scores.
 */
async function frozenEmbeddingControl(modelDir: string): Promise<EvalResult> {
  const saved = await loadModel(modelDir, { threads: 1 });
  const { kind, spec, hyper, seed } = saved.config;
  await saved.release();
  const manifest = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8'));
  const { epochs, batchSize, lr, optimizer, shuffle } = manifest.training;
  const model = await CvrModel.create({ kind, spec, hyper, seed }, { threads: 2 });
  try {
    // A table's arena holds rows in first-touch order (slot order): rows new since the last step
    // get their initial values from an untouched twin (same seed); the arena is then put back.
    const frozen = model.components.flatMap((c) =>
      c.embeddings.tables.map((table) => {
        const m = table.memory();
        const twin = new EmbeddingTable(m.name, m.rows, m.dim, m.seed, m.initRange);
        return { table, twin, rowOfSlot: new Int32Array(m.rowOfSlot), arena: new Float32Array(0), known: 0 };
      }),
    );
    const freeze = () => {
      for (const f of frozen) {
        const dim = f.table.dim;
        const count = f.table.touchedCount;
        if (count > f.known) {
          const arena = new Float32Array(count * dim);
          arena.set(f.arena);
          for (let slot = f.known; slot < count; slot++) {
            const at = f.twin.ensure(f.rowOfSlot[slot]!);
            arena.set(f.twin.data.subarray(at, at + dim), slot * dim);
          }
          f.arena = arena;
          f.known = count;
        }
        f.table.data.set(f.arena);
      }
    };
    const training: TrainConfig = { epochs, batchSize, lr, optimizer, shuffle, seed: manifest.training.seed, quiet: true, onStep: freeze };
    await trainModel(model, await prepareSplit({ dataDir: data, split: 'train' }), training);
    return await evaluateModel(model, await prepareSplit({ dataDir: data, split: 'test' }), { quiet: true });
  } finally {
    await model.release();
  }
}

/**
 * Least margin of the trained model over the frozen-embedding control, per metric: about half of
 * what this configuration gives (ESMM: CTR AUC 0.755 vs 0.738, CTCVR 0.837 vs 0.806, truth CVR
 * 0.663 vs 0.604; BASE: CTR 0.760 vs 0.726). BASE's CTCVR has none: its CVR net, trained on ~2,400
 * clicked impressions, overfits its own embeddings (CTCVR AUC 0.606 trained, 0.685 frozen), the
 * sample-selection and sparsity problem ESMM addresses.
 */
const MARGINS: Record<string, Record<string, number>> = {
  esmm: { ctr_auc: 0.008, ctcvr_auc: 0.015, cvr_auc_entire_space_truth: 0.03 },
  base: { ctr_auc: 0.015 },
};

test('generate → train (esmm, base) → evaluate → predict on small generated data', async () => {
  const gen = runCli(['generate', '--out', data, '--train', '60000', '--test', '20000', '--seed', '5', '-q']);
  assert.equal(gen.status, 0, gen.stderr);
  for (const f of ['sample_skeleton_train.csv', 'common_features_train.csv', 'truth_test.csv']) {
    assert.ok(existsSync(join(data, f)), f);
  }
  const small = ['--hidden', '64,32', '--batch-size', '512', '--epochs', '2', '--lr', '0.002', '-q'];
  for (const model of ['esmm', 'base']) {
    const out = join(dir, `model-${model}`);
    const tr = runCli(['train', '--data', data, '--out', out, '--model', model, ...small, '--eval-split', 'test']);
    assert.equal(tr.status, 0, tr.stderr);
    assert.match(tr.stdout, /saved .* model/);
    const manifest = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    assert.equal(manifest.kind, model);
    assert.equal(manifest.training.epochs, 2);

    const ev = runCli(['evaluate', '--data', data, '--model', out, '--json']);
    assert.equal(ev.status, 0, ev.stderr);
    const r = JSON.parse(ev.stdout);
    // train --eval-split records what evaluate of the saved model prints, to the last digit.
    assert.deepEqual(manifest.metrics.test, r);
    for (const k of ['ctr_auc', 'cvr_auc', 'ctcvr_auc', 'ctr_logloss', 'ctcvr_logloss', 'impressions', 'clicks', 'conversions']) {
      assert.ok(k in r, `missing ${k}`);
    }
    for (const k of ['cvr_auc_exposure', 'ctr_gauc', 'cvr_gauc', 'ctcvr_gauc', 'ctr_pcoc', 'cvr_pcoc', 'ctcvr_pcoc', 'ctr_ece', 'cvr_ece', 'ctcvr_ece']) {
      assert.ok(typeof r[k] === 'number' && r[k] >= 0, `${k}: ${r[k]}`);
    }
    assert.equal(r.gauc_user_field, '101');
    assert.equal(r.impressions_without_user, 0);
    assert.equal(r.impressions, 20000);
    assert.ok(r.ctr_auc > 0.6, `${model} ctr_auc ${r.ctr_auc}`);
    // BASE's CTCVR AUC is 0.606 here (see MARGINS): above chance, not more.
    assert.ok(r.ctcvr_auc > (model === 'base' ? 0.55 : 0.6), `${model} ctcvr_auc ${r.ctcvr_auc}`);
    assert.ok(r.cvr_auc_entire_space_truth >= 0 && r.cvr_auc_entire_space_truth <= 1);
    // BASE's CVR net sees ~2,400 clicked impressions here: only ESMM is expected to learn CVR.
    if (model === 'esmm') assert.ok(r.cvr_auc_entire_space_truth > 0.58, `esmm truth cvr auc ${r.cvr_auc_entire_space_truth}`);
    // The thresholds above a model with frozen embeddings clears too: what the embeddings learn
    // must show as a margin over that control, trained here with the same options and seeds.
    const frozen = await frozenEmbeddingControl(out);
    const margins = MARGINS[model]!;
    for (const [k, margin] of Object.entries(margins)) {
      const got = r[k] as number;
      const control = frozen[k as keyof EvalResult] as number;
      console.log(`${model} ${k}: trained ${got.toFixed(4)}, frozen embeddings ${control.toFixed(4)}`);
      assert.ok(got >= control + margin, `${model} ${k}: trained ${got}, frozen-embedding control ${control}: less than ${margin} above it`);
    }

    const csv = join(dir, `pred-${model}.csv`);
    const pr = runCli(['predict', '--data', data, '--model', out, '--out', csv, '-q']);
    assert.equal(pr.status, 0, pr.stderr);
    const lines = readFileSync(csv, 'utf8').trimEnd().split('\n');
    assert.equal(lines[0], 'sample_id,pctr,pcvr,pctcvr');
    assert.equal(lines.length, 20001);
    const [id, pctr, pcvr, pctcvr] = lines[1]!.split(',').map(Number);
    assert.equal(id, 1);
    assert.ok(Math.abs(pctr! * pcvr! - pctcvr!) < 1e-6);
  }
});

test('train --model aman --aman-rate R (--shuffle sample) trains on that sample and records both in model.json', () => {
  const out = join(dir, 'model-aman');
  const tr = runCli(['train', '--data', data, '--out', out, '--model', 'aman', '--aman-rate', '0.3', '--shuffle', 'sample', '--hidden', '16', '--batch-size', '1024', '-q']);
  assert.equal(tr.status, 0, tr.stderr);
  const manifest = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
  assert.deepEqual(manifest.hyper, { hidden: [16], dropout: 0, amanRate: 0.3 });
  assert.equal(manifest.training.shuffle, 'sample');
  // The CVR net saw the clicked impressions and ~30% of the others.
  const cvr = manifest.metrics.components.find((c: { name: string }) => c.name === 'cvr');
  const ctr = manifest.metrics.components.find((c: { name: string }) => c.name === 'ctr');
  const share = cvr.trainedOn / ctr.trainedOn;
  assert.ok(share > 0.3 && share < 0.36, `the CVR net saw ${cvr.trainedOn} of ${ctr.trainedOn} impressions`);
});

test('usage errors say what to fix and exit 2', () => {
  const r = runCli(['train', '--data', data]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--out is required/);
  const b = runCli(['train', '--data', data, '--out', join(dir, 'x'), '--epochs', 'two']);
  assert.equal(b.status, 2);
  assert.match(b.stderr, /--epochs must be an integer/);
  const u = runCli(['trian']);
  assert.equal(u.status, 2);
  assert.match(u.stderr, /unknown command 'trian'/);
  const o = runCli(['evaluate', '--bogus']);
  assert.equal(o.status, 2);
  assert.match(o.stderr, /bogus/);
  const s = runCli(['train', '--data', data, '--out', join(dir, 'x'), '--aman-rate', '0.2']);
  assert.equal(s.status, 2);
  assert.match(s.stderr, /--aman-rate applies to --model aman only \(this is --model esmm\)/);
  const q = runCli(['train', '--data', data, '--out', join(dir, 'x'), '--model', 'unbias', '--unbias-quantile', '2']);
  assert.equal(q.status, 2);
  assert.match(q.stderr, /--unbias-quantile/);
  const h = runCli(['train', '--data', data, '--out', join(dir, 'x'), '--shuffle', 'random']);
  assert.equal(h.status, 2);
  assert.match(h.stderr, /--shuffle must be one of group, sample, got 'random'/);
  // A combination a kind refuses is a usage error found before any data is read.
  for (const command of [['train', '--model', 'mmoe'], ['experiment', '--models', 'mmoe']]) {
    const c = runCli([...command, '--data', join(dir, 'no-such-data'), '--out', join(dir, 'x'), '--bottom', '64']);
    assert.equal(c.status, 2, `${command[0]}: ${c.stderr}`);
    assert.match(c.stderr, /--bottom does nothing with --backbone mmoe --objective independent/);
  }
});

test('bad raw lines are counted and reported; --strict names file and line', () => {
  const bad = join(dir, 'bad');
  const sep = (f: string, id: number, v = '1.0') => `${f}\x02${id}\x03${v}`;
  const common = `abc,2,${sep('101', 7)}\x01${sep('121', 3)}\n`;
  const skeleton =
    `1,0,0,abc,2,${sep('205', 11)}\x01${sep('206', 12)}\n` +
    `2,0,1,abc,1,${sep('205', 11)}\n` + // illegal label y=0, z=1
    `3,1,0,abc,3,${sep('205', 11)}\n` + // feature_num mismatch
    `4,1,1,abc,1,${sep('205', 13)}\n`;
  runCli(['generate', '--out', bad, '--train', '1000', '--test', '1000', '-q']);
  writeFileSync(join(bad, 'common_features_test.csv'), common);
  writeFileSync(join(bad, 'sample_skeleton_test.csv'), skeleton);
  rmSync(join(bad, 'truth_test.csv'));
  const p = runCli(['prepare', '--data', bad, '--split', 'test']);
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stderr, /illegal_label: 1/);
  assert.match(p.stderr, /feature_num_mismatch: 1/);
  assert.match(p.stdout, /test: 2 impressions/);
  const s = runCli(['prepare', '--data', bad, '--split', 'test', '--strict', '--cache-dir', join(dir, 'strict-cache')]);
  assert.equal(s.status, 1);
  assert.match(s.stderr, /sample_skeleton_test\.csv:2: illegal_label/);
});

test('generate --shared-entity-ids: the history field 109_14 reuses the item field 206 ids', () => {
  /** The ids of `field` in a raw file's feature lists (last column; entries field 0x02 id 0x03 value). */
  const idsOf = (file: string, field: string): Set<string> => {
    const ids = new Set<string>();
    for (const line of readFileSync(file, 'latin1').split('\n')) {
      for (const entry of line.slice(line.lastIndexOf(',') + 1).split('\x01')) {
        const [f, rest] = entry.split('\x02');
        if (f === field && rest !== undefined) ids.add(rest.split('\x03')[0]!);
      }
    }
    return ids;
  };
  for (const shared of [false, true]) {
    const out = join(dir, `entities-${shared}`);
    const gen = runCli(['generate', '--out', out, '--train', '3000', '--test', '0', '--seed', '3', '-q', ...(shared ? ['--shared-entity-ids'] : [])]);
    assert.equal(gen.status, 0, gen.stderr);
    const item = idsOf(join(out, 'sample_skeleton_train.csv'), '206');
    const history = idsOf(join(out, 'common_features_train.csv'), '109_14');
    assert.ok(item.size > 20 && history.size > 20, `${item.size} item and ${history.size} history ids`);
    const common = [...history].filter((id) => item.has(id)).length;
    if (shared) assert.ok(common > history.size / 4, `${common} of ${history.size} history ids are item ids`);
    else assert.equal(common, 0);
  }
});
