import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { prepareSplit } from '../data/cache/prepare.js';
import { defaultSpec } from '../features/spec.js';
import { CvrModel } from '../models/cvr-model.js';
import { generateDataset } from '../simulate/generate.js';
import { tempDir } from '../test-support/cli.js';
import { smallHyper } from '../test-support/hyper.js';
import { inspectModel } from './inspect.js';
import { predictAll } from './predict-all.js';

test('inspectModel: the mean gate weights per expert and task, and the attention, are the means of the graph outputs', async () => {
  const dir = tempDir('inspect');
  try {
    await generateDataset({ outDir: dir, train: 10, test: 700, seed: 3 });
    const data = await prepareSplit({ dataDir: dir, split: 'test' });
    for (const kind of ['mmoe', 'ple', 'aitm', 'esmm']) {
      const model = await CvrModel.create({ kind, spec: defaultSpec(), hyper: smallHyper(kind, [6, 4]), seed: 2 }, { threads: 1 });
      try {
        const details = await inspectModel(model, data, { batchSize: 256, quiet: true });
        if (kind === 'esmm') {
          assert.deepEqual(details, {}, 'ESMM exposes nothing to inspect');
          continue;
        }
        const outputs = details[kind]!;
        const names = Object.keys(outputs).sort();
        assert.deepEqual(names, kind === 'aitm' ? ['attention'] : ['gate.ctcvr', 'gate.ctr']);
        // Brute force: the same means from the graph outputs, one impression at a time.
        for (const name of names) {
          const means = outputs[name]!;
          assert.ok(Math.abs(means.reduce((a, v) => a + v, 0) - 1) < 1e-6, `${kind} ${name}: mean weights sum to ${means}`);
          const width = means.length;
          const sums = new Float64Array(width);
          let n = 0;
          await predictAll(model, data, async (_p, batch) => {
            const out = (await model.componentOutputs(batch)).get(kind)![name]!;
            for (let i = 0; i < batch.size; i++) for (let k = 0; k < width; k++) sums[k] = sums[k]! + out[i * width + k]!;
            n += batch.size;
          }, { quiet: true, embeddingThreads: false, batchSize: 100 });
          means.forEach((m, k) => assert.ok(Math.abs(m - sums[k]! / n) < 1e-6, `${kind} ${name}[${k}]: ${m} vs ${sums[k]! / n}`));
        }
        assert.equal(outputs[names[0]!]!.length, kind === 'mmoe' ? 8 : kind === 'ple' ? 3 : 2);
      } finally {
        await model.release();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
