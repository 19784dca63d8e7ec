/**
 * The CLI killed with SIGKILL at a random point after a checkpoint and run again with --resume
 * saves exactly the files the uninterrupted run saves; unwritable outputs are refused with a
 * message and leave what exists intact.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { runCli, tempDir } from '../test-support/cli.js';
import { withTestSeed } from '../test-support/seed.js';
import type { Rng } from '../util/rng.js';

const dir = tempDir('resume');
const data = join(dir, 'data');
test.after(() => rmSync(dir, { recursive: true, force: true }));
const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

const generated = (() => {
  const g = runCli(['generate', '--out', data, '--train', '4000', '--test', '200', '--seed', '8', '-q']);
  assert.equal(g.status, 0, g.stderr);
  const p = runCli(['prepare', '--data', data, '--split', 'train', '-q']);
  assert.equal(p.status, 0, p.stderr);
})();

/** model.json without what legitimately differs between runs (time, speed, creation date). */
function manifestOf(modelDir: string): unknown {
  const m = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8'));
  delete m.createdAt;
  delete m.metrics.train_seconds;
  delete m.metrics.train_samples_per_s;
  return m;
}

function checkpointSteps(ckptDir: string): number[] {
  if (!existsSync(ckptDir)) return [];
  return readdirSync(ckptDir).flatMap((n) => /^step-(\d{12})\.ckpt$/.exec(n)?.slice(1).map(Number) ?? []);
}

/** Starts training and SIGKILLs it once a checkpoint of step >= killAfter exists, after a delay drawn from `rng` (0-149 ms). */
function trainAndKill(args: string[], ckptDir: string, killAfter: number, rng: Rng): Promise<{ signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    let armed = false;
    const poll = setInterval(() => {
      if (armed || !checkpointSteps(ckptDir).some((s) => s >= killAfter)) return;
      armed = true;
      setTimeout(() => child.kill('SIGKILL'), rng.int(150));
    }, 5);
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearInterval(poll);
      resolve({ signal, stderr });
    });
  });
}

const RUNS = [
  ['esmm', ['--model', 'esmm', '--hidden', '16,8', '--dropout', '0.2', '--optimizer', 'adam', '--lr', '0.01', '--epochs', '2'], 30],
  ['base', ['--model', 'base', '--hidden', '12', '--optimizer', 'adagrad', '--lr', '0.05', '--epochs', '2'], 30],
  // Early stopping: its state and best weights come back from the checkpoint. The CTR net stops on
  // its patience after 55 steps, the CVR net at 3 epochs (15 steps); the kill falls in the first 36.
  ['base-auto', ['--model', 'base', '--hidden', '12', '--dropout', '0.2', '--lr', '0.001', '--epochs', 'auto', '--patience', '8', '--eval-every', '5', '--max-epochs', '3'], 6],
] as const;

for (const [name, modelArgs, killRange] of RUNS) {
  test(`${name}: SIGKILL at a random step after a checkpoint, then --resume, saves the uninterrupted run's model bit for bit`, { timeout: 240_000 }, () =>
    withTestSeed(`resume ${name}`, 2024, async ({ rng }) => {
      void generated;
      const common = ['train', '--data', data, ...modelArgs, '--batch-size', '32', '--seed', '5', '--threads', '1', '-q'];
      const reference = join(dir, `${name}-reference`);
      const r = runCli([...common, '--out', reference]);
      assert.equal(r.status, 0, r.stderr);

      const out = join(dir, `${name}-killed`);
      const ckptDir = `${out}.checkpoints`;
      const args = [...common, '--out', out, '--checkpoint-every', '6'];
      // Steps: 4000 impressions / 32 = 125 per epoch for the CTR (or ESMM) net, 250 in all.
      const killAfter = 6 * (1 + rng.int(killRange));
      const killed = await trainAndKill(args, ckptDir, killAfter, rng);
      assert.equal(killed.signal, 'SIGKILL', `the run ended before the kill after step ${killAfter}: ${killed.stderr}`);
      assert.equal(existsSync(join(out, 'model.json')), false, 'no model yet');
      const left = checkpointSteps(ckptDir);
      // Two kept, plus a third when the kill fell between a new one's rename and the old one's removal.
      assert.ok(left.length >= 1 && left.length <= 3, `checkpoints left: ${left.join(', ')}`);

      const resumed = runCli([...args, '--resume']);
      assert.equal(resumed.status, 0, resumed.stderr);
      for (const weights of readdirSync(reference).filter((f) => f.endsWith('.weights'))) {
        assert.ok(readFileSync(join(out, weights)).equals(readFileSync(join(reference, weights))), `${weights} differs (killed after step ${killAfter})`);
      }
      assert.deepEqual(manifestOf(out), manifestOf(reference));
      assert.equal(existsSync(ckptDir), false, 'checkpoints are removed once the model is saved');
    }));
}

test('outputs that saving would destroy, or that cannot be written, are refused before training and leave everything intact', () => {
  void generated;
  const common = ['train', '--data', data, '--hidden', '8', '--batch-size', '256', '-q'];
  const model = join(dir, 'intact-model');
  assert.equal(runCli([...common, '--out', model]).status, 0);
  const before = readFileSync(join(model, 'esmm.weights'));
  const file = join(dir, 'plain-file');
  writeFileSync(file, 'not a folder');
  const notModel = join(dir, 'my-documents');
  mkdirSync(notModel);
  writeFileSync(join(notModel, 'thesis.txt'), 'precious');

  const cases: [string[], RegExp][] = [
    [['--out', data], /--out .* would replace the data folder/],
    [['--out', notModel], /is a folder that is not a saved model; saving would replace it/],
    [['--out', file], /is a file: name a folder for the model/],
    [['--out', join(file, 'model')], /plain-file is a file, so the model folder cannot be created there/],
    [['--out', model, '--checkpoint-every', '5', '--checkpoint-dir', join(model, 'ckpt')], /--checkpoint-dir .* is inside --out/],
    [['--out', model, '--resume'], /--resume continues from checkpoints: pass --checkpoint-every N/],
    [['--out', model, '--checkpoint-dir', join(dir, 'c')], /--checkpoint-dir needs --checkpoint-every N/],
    [['--out', model, '--checkpoint-every', '0'], /--checkpoint-every must be an integer in \[1, /],
    [['--out', model, '--eval-split', 'tset'], /--eval-split tset: no data for split "tset" in .*; looked for:/],
  ];
  for (const [args, message] of cases) {
    const r = runCli([...common, ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  // A checkpoint folder that cannot be created (its parent is a file): a clear error, exit 1.
  const r = runCli([...common, '--out', model, '--checkpoint-every', '5', '--checkpoint-dir', join(file, 'ckpt')]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /cannot use .*plain-file\/ckpt as the checkpoint folder .*pass a writable folder as --checkpoint-dir/);
  assert.ok(readFileSync(join(model, 'esmm.weights')).equals(before), 'the existing model is untouched');
  assert.equal(readFileSync(join(notModel, 'thesis.txt'), 'utf8'), 'precious');
  assert.ok(existsSync(join(data, 'sample_skeleton_train.csv')));

  // Checkpoints of an earlier run are never silently mixed with a new one.
  const ckpt = join(dir, 'earlier.checkpoints');
  mkdirSync(ckpt);
  writeFileSync(join(ckpt, 'step-000000000005.ckpt'), 'x');
  const again = runCli([...common, '--out', join(dir, 'new-model'), '--checkpoint-every', '5', '--checkpoint-dir', ckpt]);
  assert.equal(again.status, 2, again.stderr);
  assert.match(again.stderr, /holds checkpoints of an earlier run: add --resume to continue it, or pass another --checkpoint-dir/);
});
