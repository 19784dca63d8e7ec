import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { prepareSplit } from '../data/cache/prepare.js';
import { defaultSpec } from '../features/spec.js';
import { computeAuc } from '../metrics/auc.js';
import { CvrModel } from '../models/cvr-model.js';
import { generateDataset } from '../simulate/generate.js';
import { tempDir } from '../test-support/cli.js';
import { smallHyper } from '../test-support/hyper.js';
import { evaluateModel } from './evaluate.js';
import { predictAll } from './predict-all.js';
import { trainModel } from './trainer.js';

const dir = tempDir('evaluate');
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Per-user AUC averaged with impression weights over users with both classes, by its definition. */
function gauc(users: number[], scores: number[], labels: number[], keep: (i: number) => boolean): number {
  const byUser = new Map<number, number[]>();
  users.forEach((u, i) => {
    if (u >= 0 && keep(i)) byUser.set(u, [...(byUser.get(u) ?? []), i]);
  });
  let num = 0;
  let den = 0;
  for (const idx of byUser.values()) {
    const l = idx.map((i) => labels[i]!);
    if (!l.includes(1) || !l.includes(0)) continue;
    num += idx.length * computeAuc(Float64Array.from(idx, (i) => scores[i]!), l);
    den += idx.length;
  }
  return num / den;
}

test("evaluate: the field's metrics equal their definitions over the split's predictions (user = field 101 of the common features)", async () => {
  await generateDataset({ outDir: join(dir, 'data'), train: 3000, test: 6000, seed: 4 });
  const train = await prepareSplit({ dataDir: join(dir, 'data'), split: 'train' });
  const split = await prepareSplit({ dataDir: join(dir, 'data'), split: 'test' });
  const model = await CvrModel.create({ kind: 'esmm', spec: defaultSpec(), hyper: smallHyper('esmm', [8], 0), seed: 2 }, { threads: 1 });
  try {
    await trainModel(model, train, { epochs: 1, batchSize: 64, lr: 0.01, optimizer: 'adam', seed: 1, quiet: true });
    // A memory budget this small spills the GAUC records to several files: the result is the same.
    const r = await evaluateModel(model, split, { quiet: true, batchSize: 500, gaucMemoryBytes: 30_000 });
    const inMemory = await evaluateModel(model, split, { quiet: true, batchSize: 777 });
    // The same whatever the batches and partitions; the GAUCs to the last bits of a float64 sum,
    // whose order follows the partitions.
    for (const k of ['ctr_gauc', 'cvr_gauc', 'ctcvr_gauc'] as const) assert.ok(Math.abs(inMemory[k] - r[k]) < 1e-12, k);
    assert.deepEqual({ ...inMemory, ctr_gauc: 0, cvr_gauc: 0, ctcvr_gauc: 0 }, { ...r, ctr_gauc: 0, cvr_gauc: 0, ctcvr_gauc: 0 });

    const p = { pctr: [] as number[], pcvr: [] as number[], pctcvr: [] as number[] };
    const click: number[] = [];
    const conv: number[] = [];
    const users: number[] = [];
    const f = split.fieldNames.indexOf('101');
    assert.ok(f >= 0);
    await predictAll(model, split, (pred, batch, block, start) => {
      for (let i = 0; i < batch.size; i++) {
        p.pctr.push(pred.pctr[i]!);
        p.pcvr.push(pred.pcvr[i]!);
        p.pctcvr.push(pred.pctcvr[i]!);
        click.push(batch.click[i]!);
        conv.push(batch.conversion[i]!);
        // The user: field 101 of the sample's session (generated data keep it in the common row).
        const g = block.group[start + i]!;
        let user = -1;
        for (let e = split.groups.offsets[g]!; e < split.groups.offsets[g + 1]!; e++) if (split.groups.fields[e] === f) user = split.groups.keys[e]!;
        users.push(user);
      }
    }, { quiet: true });
    const n = click.length;
    const ctcvr = click.map((c, i) => c * conv[i]!);
    const all = () => true;
    const clicked = (i: number) => click[i] === 1;
    const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);
    assert.equal(r.impressions_without_user, 0);
    assert.equal(new Set(users).size > 20, true, 'many users');
    close(r.cvr_auc_exposure, computeAuc(Float64Array.from(p.pcvr), ctcvr), 'cvr_auc_exposure');
    close(r.ctr_gauc, gauc(users, p.pctr, click, all), 'ctr_gauc');
    close(r.cvr_gauc, gauc(users, p.pcvr, conv, clicked), 'cvr_gauc');
    close(r.ctcvr_gauc, gauc(users, p.pctcvr, ctcvr, all), 'ctcvr_gauc');
    const pcoc = (s: number[], y: number[], keep: (i: number) => boolean) => {
      let a = 0;
      let b = 0;
      for (let i = 0; i < n; i++) if (keep(i)) (a += s[i]!), (b += y[i]!);
      return a / b;
    };
    close(r.ctr_pcoc, pcoc(p.pctr, click, all), 'ctr_pcoc');
    close(r.cvr_pcoc, pcoc(p.pcvr, conv, clicked), 'cvr_pcoc');
    close(r.ctcvr_pcoc, pcoc(p.pctcvr, ctcvr, all), 'ctcvr_pcoc');
    const ece = (s: number[], y: number[], keep: (i: number) => boolean) => {
      const idx = [...Array(n).keys()].filter(keep);
      let e = 0;
      for (let b = 0; b < 10; b++) {
        const bin = idx.filter((i) => Math.min(9, Math.floor(s[i]! * 10)) === b);
        if (bin.length > 0) e += (bin.length / idx.length) * Math.abs(bin.reduce((a, i) => a + s[i]!, 0) / bin.length - bin.reduce((a, i) => a + y[i]!, 0) / bin.length);
      }
      return e;
    };
    close(r.ctr_ece, ece(p.pctr, click, all), 'ctr_ece');
    close(r.cvr_ece, ece(p.pcvr, conv, clicked), 'cvr_ece');
    close(r.ctcvr_ece, ece(p.pctcvr, ctcvr, all), 'ctcvr_ece');
    // The paper's metrics are what they were.
    close(r.cvr_auc, computeAuc(Float64Array.from(p.pcvr.filter((_, i) => clicked(i))), conv.filter((_, i) => clicked(i))), 'cvr_auc');
    // A field the split lacks: the GAUCs are NaN (null in JSON), every other metric is there.
    const none = await evaluateModel(model, split, { quiet: true, userField: '999' });
    assert.ok(Number.isNaN(none.ctr_gauc) && Number.isNaN(none.cvr_gauc) && Number.isNaN(none.ctcvr_gauc));
    assert.equal(none.impressions_without_user, n);
    assert.equal(none.cvr_auc_exposure, r.cvr_auc_exposure);
  } finally {
    await model.release();
  }
});
