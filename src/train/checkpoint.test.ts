import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { prepareSplit } from '../data/cache/prepare.js';
import { generateDataset } from '../simulate/generate.js';
import { defaultSpec } from '../features/spec.js';
import { CvrModel } from '../models/cvr-model.js';
import { MODEL_KINDS, type ModelKind } from '../models/registry.js';
import { tempDir } from '../test-support/cli.js';
import { CheckpointStore, fingerprintDifferences, readCheckpoint, type RunFingerprint } from './checkpoint.js';
import { trainModel, type TrainConfig, type TrainResult } from './trainer.js';
import { smallHyper } from '../test-support/hyper.js';
import { weightsOf } from '../test-support/weights.js';

const dir = tempDir('checkpoint');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const ready = (async () => {
  await generateDataset({ outDir: join(dir, 'data'), train: 3000, test: 100, seed: 11 });
  return prepareSplit({ dataDir: join(dir, 'data'), split: 'train' });
})();

interface Setup {
  kind: ModelKind;
  dropout: number;
  /** Steps between checkpoints. */
  every: number;
  training: Omit<TrainConfig, 'checkpoints'>;
}

async function model(s: Setup): Promise<CvrModel> {
  const spec = defaultSpec();
  return CvrModel.create({ kind: s.kind, spec, hyper: smallHyper(s.kind, [12, 6], s.dropout), seed: 4 }, { threads: 1 });
}

/** What must not change when a run is interrupted and resumed: weights, losses and curves. */
function outcome(m: CvrModel, r: TrainResult): unknown {
  return { weights: weightsOf(m), components: r.components, curves: r.curves, samples: r.samples };
}

const SETUPS: Setup[] = [
  { kind: 'esmm', dropout: 0.25, every: 7, training: { epochs: 2, batchSize: 64, lr: 0.01, optimizer: 'adam', seed: 9, quiet: true } },
  // Two components (the CVR net on clicked impressions only) and Adagrad's accumulators; the CTR
  // net takes 126 steps, so a checkpoint falls exactly at its end and one inside the CVR net.
  { kind: 'base', dropout: 0, every: 3, training: { epochs: 2, batchSize: 48, lr: 0.05, optimizer: 'adagrad', seed: 3, quiet: true } },
  // A bottom shared by two towers, with dropout in all three.
  { kind: 'shared-bottom', dropout: 0.2, every: 5, training: { epochs: 2, batchSize: 64, lr: 0.01, optimizer: 'adam', seed: 5, quiet: true } },
  // Early stopping: the checkpoints hold its state and the best weights so far, evaluations fall
  // between checkpoints and on them, and both components stop on their patience.
  {
    kind: 'base',
    dropout: 0.2,
    every: 4,
    training: { epochs: 'auto', earlyStopping: { patience: 2, evalEvery: 6, maxEpochs: 8 }, batchSize: 48, lr: 0.05, optimizer: 'adam', seed: 3, quiet: true },
  },
];

for (const setup of SETUPS) {
  const auto = setup.training.epochs === 'auto';
  const named = `${setup.kind}/${setup.training.optimizer}${auto ? ', epochs auto' : ''}`;
  const tag = `${setup.kind}${auto ? '-auto' : ''}`;
  test(`${named}: resuming from any checkpoint ends bitwise equal to the uninterrupted run`, async () => {
    const data = await ready;
    const full = join(dir, `${tag}-full`);
    const m0 = await model(setup);
    // The full run splits the embedding side over two threads; resumed runs alternate, which also
    // shows that the split gives the one-thread weights bit for bit.
    const r0 = await trainModel(m0, data, { ...setup.training, embeddingThread: true, checkpoints: { dir: full, every: setup.every, keep: 1000 } });
    const expected = outcome(m0, r0);
    if (auto) {
      for (const c of r0.components) assert.equal(c.earlyStopping?.stopped, 'patience', `${c.name} stops on its patience`);
      // Early stopping's state is in the checkpoints, with the best weights once there is a best.
      const mid = readCheckpoint(new CheckpointStore(full).list().at(-3)!.path);
      assert.ok(mid.meta.current?.earlyStopping);
      assert.ok([...mid.tensors.keys()].some((k) => k.startsWith('best/dense/')));
    }
    await m0.release();
    const files = new CheckpointStore(full).list();
    const steps = files.map((f) => f.step);
    const total = r0.components.reduce((n, c) => n + c.steps, 0);
    assert.equal(steps[0], total, 'a final checkpoint is written at the end');
    assert.ok(files.length >= 5, `${files.length} checkpoints`);
    // Resume from the first, a middle one, the last one of the first component (base: the CTR
    // net, at or near the end of its data), the first one of the second, and the final one.
    const components = files.map((f) => readCheckpoint(f.path).meta.current?.index ?? -1);
    const picks = [
      ...new Set([
        files[files.length - 1]!,
        files[Math.floor(files.length / 2)]!,
        files[components.indexOf(0)]!,
        ...(setup.kind === 'base' ? [files[components.lastIndexOf(1)]!] : []),
        files[0]!,
      ]),
    ];
    if (setup.kind === 'base') assert.ok(components.includes(1), 'a checkpoint inside the second component');
    for (const [i, pick] of picks.entries()) {
      const one = join(dir, `${tag}-from-${pick.step}`);
      mkdirSync(one);
      copyFileSync(pick.path, join(one, `step-${String(pick.step).padStart(12, '0')}.ckpt`));
      const m = await model(setup);
      const embeddingThread = i % 2 === 1;
      const r = await trainModel(m, data, { ...setup.training, embeddingThread, checkpoints: { dir: one, every: setup.every, resume: true } });
      assert.deepEqual(r.resumedFrom?.globalStep, pick.step);
      assert.deepEqual(outcome(m, r), expected, `resumed from step ${pick.step}, embedding thread ${embeddingThread}`);
      await m.release();
    }
  });
}

/**
 * Every kind in the registry resumes: the kinds without a setup above, cheaply (one epoch, batches
 * of 200, small layers, dropout, checkpoints every 4 steps), resumed from a checkpoint in the
 * middle of the run and from one inside its last component.
 */
for (const kind of MODEL_KINDS.filter((k) => !SETUPS.some((s) => s.kind === k))) {
  test(`${kind}: resuming from a middle checkpoint ends bitwise equal to the uninterrupted run`, async () => {
    const data = await ready;
    const setup: Setup = { kind, dropout: 0.2, every: 4, training: { epochs: 1, batchSize: 200, lr: 0.01, optimizer: 'adam', seed: 6, quiet: true } };
    const full = join(dir, `${kind}-every-kind-full`);
    const m0 = await model(setup);
    const r0 = await trainModel(m0, data, { ...setup.training, embeddingThread: false, checkpoints: { dir: full, every: setup.every, keep: 1000 } });
    const expected = outcome(m0, r0);
    await m0.release();
    const files = new CheckpointStore(full).list();
    assert.ok(files.length >= 3, `${files.length} checkpoints`);
    const components = files.map((f) => readCheckpoint(f.path).meta.current?.index ?? -1);
    const last = Math.max(...components);
    const picks = [...new Set([files[Math.floor(files.length / 2)]!, files[components.indexOf(last)]!])];
    for (const pick of picks) {
      const one = join(dir, `${kind}-every-kind-from-${pick.step}`);
      mkdirSync(one);
      copyFileSync(pick.path, join(one, `step-${String(pick.step).padStart(12, '0')}.ckpt`));
      const m = await model(setup);
      const r = await trainModel(m, data, { ...setup.training, embeddingThread: false, checkpoints: { dir: one, every: setup.every, resume: true } });
      assert.equal(r.resumedFrom?.globalStep, pick.step);
      assert.deepEqual(outcome(m, r), expected, `${kind}: resumed from step ${pick.step}`);
      await m.release();
    }
  });
}

test('a damaged newest checkpoint is detected, set aside with a warning, and the one before it used', async () => {
  const data = await ready;
  const setup = SETUPS[0]!;
  const full = join(dir, 'damage-full');
  const m0 = await model(setup);
  const expected = outcome(m0, await trainModel(m0, data, { ...setup.training, checkpoints: { dir: full, every: 10, keep: 1000 } }));
  await m0.release();
  const [, newest, previous] = new CheckpointStore(full).list();
  for (const damage of ['truncate', 'flip', 'header'] as const) {
    const d = join(dir, `damage-${damage}`);
    mkdirSync(d);
    for (const f of [newest!, previous!]) copyFileSync(f.path, join(d, f.path.split('/').pop()!));
    const target = join(d, newest!.path.split('/').pop()!);
    const bytes = readFileSync(target);
    switch (damage) {
      case 'truncate':
        truncateSync(target, Math.floor(bytes.length * 0.7));
        break;
      case 'flip':
        bytes[bytes.length - 100]! ^= 0x40;
        writeFileSync(target, bytes);
        break;
      case 'header': {
        // The container header is plain JSON (no checksum of its own): change one dense parameter's
        // dims and nothing else; the meta's list of tensors catches it.
        const text = bytes.toString('latin1');
        const at = text.indexOf('"dims":[', text.indexOf('"name":"c0/dense/0"')) + '"dims":['.length;
        bytes[at] = bytes[at] === 0x31 ? 0x32 : 0x31;
        writeFileSync(target, bytes);
        break;
      }
    }
    assert.throws(() => readCheckpoint(target), `${damage} is detected`);
    const warnings: string[] = [];
    const m = await model(setup);
    const r = await trainModel(m, data, { ...setup.training, checkpoints: { dir: d, every: 10, resume: true, onWarning: (w) => warnings.push(w) } });
    assert.equal(r.resumedFrom?.globalStep, previous!.step, damage);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, new RegExp(`checkpoint .*step-0+${newest!.step}\\.ckpt is damaged \\(.+\\): skipped, renamed to .*\\.damaged`));
    assert.ok(readdirSync(d).some((n) => n.endsWith('.damaged')));
    assert.deepEqual(outcome(m, r), expected, damage);
    await m.release();
  }
});

test('a folder with checkpoints is refused without --resume; resuming another run says what differs', async () => {
  const data = await ready;
  const setup = SETUPS[0]!;
  const d = join(dir, 'refuse');
  const m = await model(setup);
  await trainModel(m, data, { ...setup.training, epochs: 1, checkpoints: { dir: d, every: 20 } });
  await assert.rejects(trainModel(m, data, { ...setup.training, epochs: 1, checkpoints: { dir: d, every: 20 } }), /already holds checkpoints .*pass --resume/);
  await assert.rejects(
    trainModel(m, data, { ...setup.training, epochs: 1, lr: 0.02, checkpoints: { dir: d, every: 20, resume: true } }),
    /belongs to another run:\n {2}training\.lr: 0\.01 in the checkpoint, 0\.02 in this run\nresume with the options/,
  );
  const warnings: string[] = [];
  const empty = join(dir, 'nothing-yet');
  const r = await trainModel(m, data, { ...setup.training, epochs: 1, checkpoints: { dir: empty, every: 20, resume: true, onWarning: (w) => warnings.push(w) } });
  assert.equal(r.resumedFrom, undefined);
  assert.match(warnings.join('\n'), /no usable checkpoint in .*nothing-yet: training starts from the beginning/);
  await m.release();
});

test('fingerprint differences name each differing setting', () => {
  const base: RunFingerprint = {
    model: { kind: 'esmm', seed: 1, hyper: { hidden: [8] }, spec: {} },
    training: { epochs: 1, batchSize: 64, lr: 0.01, optimizer: 'adam', seed: 1, components: ['esmm'] },
    data: { numSamples: 10, numBlocks: 1, fieldNames: ['101'], firstBlockCrc: 5 },
  };
  assert.deepEqual(fingerprintDifferences(base, base), []);
  const other = { ...base, model: { ...base.model, hyper: { hidden: [16] } }, data: { ...base.data, numSamples: 11 } };
  assert.deepEqual(fingerprintDifferences(base, other), [
    'model.hyper.hidden: [8] in the checkpoint, [16] in this run',
    'data.numSamples: 10 in the checkpoint, 11 in this run',
  ]);
});

test('store: atomic names, the newest `keep` kept, stale temp files removed, unwritable folders and failed writes explained', () => {
  const d = join(dir, 'store');
  const store = new CheckpointStore(d, 2).open();
  const meta = (step: number) => ({
    fingerprint: {} as RunFingerprint,
    globalStep: step,
    seconds: 0,
    samples: 0,
    finished: [],
    current: null,
    components: [],
  });
  for (const step of [5, 10, 15]) store.write(meta(step), new Map([['x', { dims: [2], data: Float32Array.of(step, 1) }]]));
  assert.deepEqual(readdirSync(d).sort(), ['step-000000000010.ckpt', 'step-000000000015.ckpt']);
  assert.deepEqual([...readCheckpoint(join(d, 'step-000000000015.ckpt')).tensors.get('x')!.data], [15, 1]);

  // A temp file of a writer that died (no such process) goes; one of a live process stays.
  writeFileSync(join(d, '.step-000000000020.ckpt.tmp-999999999'), 'partial');
  writeFileSync(join(d, `.step-000000000020.ckpt.tmp-${process.pid}`), 'partial');
  new CheckpointStore(d).open();
  assert.deepEqual(readdirSync(d).filter((n) => n.includes('tmp')), [`.step-000000000020.ckpt.tmp-${process.pid}`]);
  rmSync(join(d, `.step-000000000020.ckpt.tmp-${process.pid}`));

  // A write that fails (here: the temp name is taken by a folder) keeps the previous checkpoints.
  mkdirSync(join(d, `.step-000000000020.ckpt.tmp-${process.pid}`));
  assert.throws(
    () => store.write(meta(20), new Map([['x', { dims: [1], data: Float32Array.of(1) }]])),
    /could not write checkpoint .*step-000000000020\.ckpt \(EISDIR.*\); the previous checkpoint .*step-000000000015\.ckpt is intact\. Free some space or pass another --checkpoint-dir, then run again with --resume/,
  );
  assert.deepEqual(readdirSync(d).filter((n) => n.startsWith('step-')).sort(), ['step-000000000010.ckpt', 'step-000000000015.ckpt']);
  assert.equal(readCheckpoint(join(d, 'step-000000000015.ckpt')).meta.globalStep, 15);

  // A folder that cannot exist: its parent is a regular file (chmod does not stop root).
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  assert.throws(() => new CheckpointStore(join(file, 'ckpt')).open(), /cannot use .*a-file\/ckpt as the checkpoint folder \(.+\); pass a writable folder as --checkpoint-dir/);
  assert.ok(statSync(file).isFile());
});
