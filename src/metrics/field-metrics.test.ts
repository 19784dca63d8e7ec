import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CalibrationStats } from './calibration.js';
import { GroupedAuc, orderByUser } from './grouped-auc.js';
import { Rng } from '../util/rng.js';

/** AUC by its definition, O(P*N): pairs ranked right count 1, ties 1/2. */
function bruteAuc(scores: number[], labels: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!labels[i]) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j]) continue;
      pairs++;
      wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

/** GAUC by its definition: per user, the AUC of the impressions that count, weighted by their number, over users with both classes. */
function bruteGauc(users: number[], scores: number[], labels: number[], counts: boolean[]): number {
  const byUser = new Map<number, number[]>();
  users.forEach((u, i) => {
    if (counts[i]) byUser.set(u, [...(byUser.get(u) ?? []), i]);
  });
  let num = 0;
  let den = 0;
  for (const idx of byUser.values()) {
    const l = idx.map((i) => labels[i]!);
    if (!l.includes(1) || !l.includes(0)) continue;
    num += idx.length * bruteAuc(idx.map((i) => scores[i]!), l);
    den += idx.length;
  }
  return num / den;
}

interface Data {
  users: number[];
  scores: number[][];
  labels: number[][];
  counts: boolean[][];
}

/** Random impressions of skewed users, scores on a coarse grid (many ties), three tasks: all, clicked, all. */
function randomData(rng: Rng, n: number): Data {
  const d: Data = { users: [], scores: [[], [], []], labels: [[], [], []], counts: [[], [], []] };
  const levels = 3 + rng.int(20);
  for (let i = 0; i < n; i++) {
    // Large keys too (all 32 bits reach the radix sort), a few heavy users.
    d.users.push(rng.next() < 0.3 ? rng.int(5) : 0xffff0000 + rng.int(300) * 7919);
    const click = rng.next() < 0.3 ? 1 : 0;
    const conv = click && rng.next() < 0.4 ? 1 : 0;
    const s = [rng.int(levels + 1) / levels, rng.int(levels + 1) / levels, rng.int(levels + 1) / levels];
    const l = [click, conv, click * conv];
    for (let t = 0; t < 3; t++) {
      d.scores[t]!.push(Math.fround(s[t]!));
      d.labels[t]!.push(l[t]!);
      d.counts[t]!.push(t !== 1 || click === 1);
    }
  }
  return d;
}

test('orderByUser sorts indices by user, stably', () => {
  const rng = new Rng(1);
  const users = Uint32Array.from({ length: 5000 }, () => (rng.next() < 0.5 ? rng.int(50) : rng.nextU32()));
  const order = orderByUser(users);
  const expected = [...users.keys()].sort((a, b) => users[a]! - users[b]! || a - b);
  assert.deepEqual([...order], expected);
});

test('GAUC equals the brute-force per-user definition, with ties, in memory and spilled to disk in partitions', () => {
  const rng = new Rng(17);
  const temp = mkdtempSync(join(tmpdir(), 'esmm-gauc-test-'));
  try {
    for (let trial = 0; trial < 12; trial++) {
      const n = 200 + rng.int(3000);
      const d = randomData(rng, n);
      const spill = trial % 2 === 1;
      // A tiny memory budget forces several partitions on disk.
      const g = new GroupedAuc(3, n, spill ? { memoryBytes: 4000, tempDir: temp } : {});
      if (spill) assert.ok(g.partitionCount > 1);
      else assert.equal(g.partitionCount, 1);
      const scores = new Float64Array(3);
      for (let i = 0; i < n; i++) {
        let labels = 0;
        let counts = 0;
        for (let t = 0; t < 3; t++) {
          scores[t] = d.scores[t]![i]!;
          labels |= d.labels[t]![i]! << t;
          counts |= (d.counts[t]![i]! ? 1 : 0) << t;
        }
        g.add(d.users[i]!, scores, labels, counts);
      }
      if (spill) assert.equal(readdirSync(temp).length, 1, 'a folder of partitions while adding');
      const r = g.compute();
      for (let t = 0; t < 3; t++) {
        const expected = bruteGauc(d.users, d.scores[t]!, d.labels[t]!, d.counts[t]!);
        assert.ok(Math.abs(r[t]!.gauc - expected) < 1e-12, `trial ${trial} task ${t}: ${r[t]!.gauc} vs ${expected}`);
      }
      assert.equal(readdirSync(temp).length, 0, 'temporary files removed');
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  // No user with both classes: NaN, not 0.
  const g = new GroupedAuc(1, 2);
  g.add(1, [0.5], 1, 1);
  g.add(2, [0.5], 0, 1);
  assert.ok(Number.isNaN(g.compute()[0]!.gauc));
});

test('GAUC memory: partitions planned from the expected records, files gone after dispose', () => {
  const temp = mkdtempSync(join(tmpdir(), 'esmm-gauc-test-'));
  try {
    const g = new GroupedAuc(3, 43_000_000, { tempDir: temp });
    // 43M impressions × 38 bytes at compute time in 512 MiB partitions.
    assert.equal(g.partitionCount, Math.ceil((43_000_000 * 38) / (512 * 2 ** 20)));
    assert.equal(g.partitionCount, 4);
    g.dispose();
    assert.equal(readdirSync(temp).length, 0);
    assert.equal(existsSync(temp), true);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
});

test('PCOC and ECE equal their brute-force definitions (10 equal-width bins weighted by count), masks select', () => {
  const rng = new Rng(5);
  for (let trial = 0; trial < 20; trial++) {
    const n = 1 + rng.int(2000);
    const levels = 1 + rng.int(trial % 2 ? 12 : 1000);
    const p = Array.from({ length: n }, () => Math.fround(rng.int(levels + 1) / levels)); // 0 and 1 included
    const y = p.map((q) => (rng.next() < q * 0.8 ? 1 : 0));
    const mask = p.map(() => (rng.next() < 0.6 ? 1 : 0));
    const c = new CalibrationStats();
    const masked = new CalibrationStats();
    for (let s = 0; s < n; s += 97) {
      c.update(p.slice(s, s + 97), y.slice(s, s + 97));
      masked.update(p.slice(s, s + 97), y.slice(s, s + 97), mask.slice(s, s + 97));
    }
    for (const [stats, keep] of [[c, p.map(() => 1)], [masked, mask]] as const) {
      const idx = [...p.keys()].filter((i) => keep[i]);
      const r = stats.compute();
      const sumP = idx.reduce((a, i) => a + p[i]!, 0);
      const sumY = idx.reduce((a, i) => a + y[i]!, 0);
      if (sumY > 0) assert.ok(Math.abs(r.pcoc - sumP / sumY) < 1e-9, `trial ${trial}`);
      else assert.ok(Number.isNaN(r.pcoc));
      let ece = 0;
      for (let b = 0; b < 10; b++) {
        const inBin = idx.filter((i) => (b === 9 ? p[i]! >= 0.9 : p[i]! >= b / 10 && p[i]! < (b + 1) / 10));
        if (inBin.length === 0) continue;
        const meanP = inBin.reduce((a, i) => a + p[i]!, 0) / inBin.length;
        const rate = inBin.reduce((a, i) => a + y[i]!, 0) / inBin.length;
        ece += (inBin.length / idx.length) * Math.abs(meanP - rate);
      }
      if (idx.length > 0) assert.ok(Math.abs(r.ece - ece) < 1e-9, `trial ${trial}: ${r.ece} vs ${ece}`);
      assert.equal(r.count, idx.length);
    }
  }
});
