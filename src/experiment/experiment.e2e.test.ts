import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import { cliMain, runCli, tempDir } from '../test-support/cli.js';
import { findChromium } from './browser.js';
import type { ExperimentResults } from './results.js';

const dir = tempDir('experiment');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const NAMES = ['BASE', 'AMAN', 'OVERSAMPLING', 'UNBIAS', 'DIVISION', 'ESMM-NS', 'ESMM'];

test('esmm experiment: all seven models, two runs, the table, results.json and a report the browser draws', () => {
  const data = join(dir, 'data');
  const gen = runCli(['generate', '--out', data, '--train', '6000', '--test', '2000', '--seed', '4', '--ctr', '0.1', '--cvr', '0.2', '-q']);
  assert.equal(gen.status, 0, gen.stderr);
  const out = join(dir, 'report');
  const r = runCli(['experiment', '--data', data, '--out', out, '--runs', '2', '--seed', '3', '--hidden', '8', '--batch-size', '256', '--lr', '0.003']);
  assert.equal(r.status, 0, r.stderr);
  // One line per finished run on stderr, the table on stdout.
  const runLines = r.stderr.split('\n').filter((l) => /^(\r\x1b\[K)?run \d\/2 \(seed \d/.test(l));
  assert.equal(runLines.length, 2, r.stderr);
  for (const name of NAMES) {
    assert.match(runLines[0]!, new RegExp(` ${name} \\d+\\.\\d\\d/\\d+\\.\\d\\d`));
    assert.match(r.stdout, new RegExp(`^\\| ${name} \\| \\d+\\.\\d\\d ± \\d+\\.\\d\\d \\| \\d+\\.\\d\\d ± \\d+\\.\\d\\d \\|`, 'm'));
  }
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ExperimentResults;
  assert.deepEqual(Object.keys(results.models), ['base', 'aman', 'oversampling', 'unbias', 'division', 'esmm-ns', 'esmm']);
  for (const m of Object.values(results.models)) {
    for (const metric of [m.cvr_auc, m.ctcvr_auc, m.cvr_auc_entire_space_truth!]) {
      assert.equal(metric.runs.length, 2);
      assert.ok(metric.runs.every((v) => v > 0 && v < 1));
      assert.ok(Math.abs(metric.mean - (metric.runs[0]! + metric.runs[1]!) / 2) < 1e-12);
    }
  }
  assert.deepEqual(results.seeds, [3, 4]);
  // Sharing: the models with a CTR net report the same pCTR AUC (one net per run).
  const ctr = ['base', 'aman', 'oversampling', 'unbias', 'division'].map((k) => results.models[k]!.ctr_auc.runs.join());
  assert.equal(new Set(ctr).size, 1);
  assert.ok(existsSync(join(out, 'report.html')));
  if (findChromium()) {
    assert.match(r.stdout, /report\.html checked in Chromium: \d+ plots, every line, bar and dot drawn, no console errors/);
    for (const plot of ['roc-cvr', 'roc-ctcvr', 'calibration-cvr', 'calibration-ctcvr', 'truth-mae'])
      assert.ok(existsSync(join(out, 'png', `${plot}.png`)), `${plot}.png`);
  }
});

test('esmm experiment killed after some runs: its folder holds the runs it finished', async () => {
  const data = join(dir, 'data-killed');
  const gen = runCli(['generate', '--out', data, '--train', '4000', '--test', '1000', '--seed', '6', '--ctr', '0.1', '--cvr', '0.2', '-q']);
  assert.equal(gen.status, 0, gen.stderr);
  const out = join(dir, 'report-killed');
  const runs = 50;
  const child = spawn(process.execPath, [cliMain(), 'experiment', '--data', data, '--out', out, '--models', 'esmm', '--runs', String(runs), '--hidden', '8', '--batch-size', '256', '-q']);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const results = join(out, 'results.json');
  // report.html is written after results.json: once it is there, both are.
  const deadline = Date.now() + 120_000;
  while (!existsSync(join(out, 'report.html')) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  assert.equal(await exited, null, 'killed before it finished its runs');
  const partial = JSON.parse(readFileSync(results, 'utf8')) as ExperimentResults;
  const done = partial.seeds.length;
  assert.ok(done >= 1 && done < runs, `${done} runs`);
  assert.equal(partial.models['esmm']!.cvr_auc.runs.length, done);
  // The page may be one run behind or ahead of results.json if the kill fell between the two writes.
  assert.match(readFileSync(join(out, 'report.html'), 'utf8'), new RegExp(`\\d+ runs? of the ${runs} asked for`));
});

test('esmm experiment: unknown or repeated models are usage errors', () => {
  const bad = runCli(['experiment', '--data', dir, '--out', join(dir, 'x'), '--models', 'base,esmn']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--models: unknown model 'esmn': choose one of esmm, base, aman, oversampling, unbias, division, esmm-ns/);
  const twice = runCli(['experiment', '--data', dir, '--out', join(dir, 'x'), '--models', 'esmm,ESMM']);
  assert.equal(twice.status, 2);
  assert.match(twice.stderr, /--models lists esmm twice/);
  const rate = runCli(['experiment', '--data', dir, '--out', join(dir, 'x'), '--aman-rate', '2']);
  assert.equal(rate.status, 2);
  assert.match(rate.stderr, /--model aman: amanRate \(--aman-rate\) must be in \(0, 1\] \(got 2\)/);
  const tuneRuns = runCli(['experiment', '--data', dir, '--out', join(dir, 'x'), '--tune-runs', '1']);
  assert.equal(tuneRuns.status, 2);
  assert.match(tuneRuns.stderr, /--tune-runs says in how many runs --tune searches: add --tune, or drop --tune-runs/);
  const beyond = runCli(['experiment', '--data', dir, '--out', join(dir, 'x'), '--tune', '--runs', '3', '--tune-runs', '4']);
  assert.equal(beyond.status, 2);
  assert.match(beyond.stderr, /--tune-runs/);
});

test('esmm experiment --epochs auto --tune: the chosen points and the early-stopping choices in results.json, the table and the report', () => {
  const data = join(dir, 'data-fair');
  const gen = runCli(['generate', '--out', data, '--train', '3000', '--test', '1000', '--seed', '4', '--ctr', '0.1', '--cvr', '0.2', '-q']);
  assert.equal(gen.status, 0, gen.stderr);
  const out = join(dir, 'report-fair');
  const r = runCli([
    'experiment', '--data', data, '--out', out, '--models', 'base,esmm', '--runs', '1', '--seed', '3', '--hidden', '8',
    '--batch-size', '256', '--epochs', 'auto', '--max-epochs', '2', '--tune', '--validation-fraction', '0.2', '--browser', 'off',
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /--tune: 6 trainings per run \(base 3, esmm 3\) plus the shared CTR net, each model chosen by validation cvr_auc/);
  assert.match(r.stderr, /run 1\/1 .* BASE \d+\.\d\d\/\d+\.\d\d \[lr [\d.]+\]/);
  assert.match(r.stdout, /^\| ESMM \| esmm \| \d+ \(ep [12]; stopped \d+/m);
  assert.match(r.stdout, /^\| BASE \| lr \{0\.0003, 0\.001, 0\.003\} \| lr [\d.]+: \d+\.\d\d \| 3 \|$/m);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ExperimentResults;
  assert.equal(results.config.tune, true);
  assert.deepEqual(results.config.validation, { fraction: 0.2 });
  assert.deepEqual(results.config.earlyStopping, { maxEpochs: 2 });
  for (const m of Object.values(results.models)) {
    const t = m.tuning!.runs[0]!;
    assert.equal(t.points.length, 3);
    assert.equal(t.chosen.lr, t.points[t.chosen.index]!.lr);
    assert.ok(m.early_stopping![0]!.every((s) => s.curve.length >= 1 && s.bestEpoch < 2));
  }
  assert.equal(results.validation![0]!.source, 'carved');
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /<h2>Protocol: validation, early stopping, tuning<\/h2>/);
  assert.match(html, /<th>shared CTR net<\/th><td>ctr<\/td>/);
});

test('esmm experiment: the fair protocol\'s options are usage errors where they do not apply', () => {
  const run = (...args: string[]) => runCli(['experiment', '--data', dir, '--out', join(dir, 'x'), ...args]);
  const lr = run('--tune', '--lr', '0.01');
  assert.equal(lr.status, 2);
  assert.match(lr.stderr, /--tune searches the learning rate over 0\.0003, 0\.001, 0\.003: drop --lr/);
  const fraction = run('--validation-fraction', '0.2');
  assert.equal(fraction.status, 2);
  assert.match(fraction.stderr, /--validation-fraction chooses the validation data of --epochs auto and --tune/);
  const patience = run('--tune', '--patience', '3');
  assert.equal(patience.status, 2);
  assert.match(patience.stderr, /--patience applies to early stopping: add --epochs auto/);
  const testSplit = run('--epochs', 'auto', '--validation-split', 'test');
  assert.equal(testSplit.status, 2);
  assert.match(testSplit.stderr, /--validation-split test is the split the model is tested on/);
  const knob = run('--tune', '--models', 'aman', '--aman-rate', '0.3');
  assert.equal(knob.status, 2);
  assert.match(knob.stderr, /--tune searches --aman-rate over 0\.1, 0\.2, 0\.5, 1 for aman, starting from its value 0\.3/);
});
