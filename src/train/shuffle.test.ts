import test from 'node:test';
import assert from 'node:assert/strict';
import type { SampleBlock } from '../data/types.js';
import { Rng } from '../util/rng.js';
import { sampleOrder } from './shuffle.js';

function block(groups: number[]): SampleBlock {
  const n = groups.length;
  return {
    count: n,
    offsets: new Uint32Array(n + 1),
    fields: new Uint8Array(0),
    keys: new Uint32Array(0),
    values: new Float32Array(0),
    sampleIds: Float64Array.from({ length: n }, (_, i) => i + 1),
    click: new Uint8Array(n),
    conversion: new Uint8Array(n),
    group: Int32Array.from(groups),
  };
}

test('group order with runs of the whole group: a permutation in which every group is contiguous', () => {
  const rng = new Rng(3);
  const groups = Array.from({ length: 500 }, () => (rng.next() < 0.1 ? -1 : rng.int(40) * 7));
  const b = block(groups);
  const order = sampleOrder(b, new Rng(9), 'group', 1000);
  assert.deepEqual([...order].sort((x, y) => x - y), groups.map((_, i) => i), 'a permutation');
  const seen = new Set<number>();
  for (let i = 0; i < order.length; i++) {
    const g = groups[order[i]!]!;
    if (g < 0) continue;
    if (i > 0 && groups[order[i - 1]!] === g) continue;
    assert.ok(!seen.has(g), `group ${g} appears in two runs`);
    seen.add(g);
  }
  assert.equal(seen.size, new Set(groups.filter((g) => g >= 0)).size);
});

test('group order: runs of at most `chunk` samples of one group, each group cut into the fewest runs', () => {
  const rng = new Rng(4);
  const groups = Array.from({ length: 2000 }, () => (rng.next() < 0.05 ? -1 : rng.int(60)));
  const b = block(groups);
  const order = sampleOrder(b, new Rng(2), 'group', 8);
  assert.deepEqual([...order].sort((x, y) => x - y), groups.map((_, i) => i), 'a permutation');
  const runsOf = new Map<number, number>();
  let runLength = 0;
  for (let i = 0; i < order.length; i++) {
    const g = groups[order[i]!]!;
    const continues = i > 0 && g >= 0 && groups[order[i - 1]!] === g && runLength < 8;
    runLength = continues ? runLength + 1 : 1;
    if (!continues && g >= 0) runsOf.set(g, (runsOf.get(g) ?? 0) + 1);
  }
  for (const [g, runs] of runsOf) {
    const size = groups.filter((x) => x === g).length;
    // Two runs of one group may meet by chance, so at most ceil(size/8) runs are seen.
    assert.ok(runs <= Math.ceil(size / 8), `group ${g} of ${size} samples in ${runs} runs`);
  }
});

test('group order is random (run order and order within groups) but fixed by the seed', () => {
  const groups = Array.from({ length: 300 }, (_, i) => i % 10);
  const b = block(groups);
  const a1 = sampleOrder(b, new Rng(1), 'group', 1000);
  assert.deepEqual(sampleOrder(b, new Rng(1), 'group', 1000), a1);
  const a2 = sampleOrder(b, new Rng(2), 'group', 1000);
  assert.notDeepEqual(a2, a1);
  const firstGroups = new Set([1, 2, 3, 4, 5].map((s) => groups[sampleOrder(b, new Rng(s), 'group', 1000)[0]!]));
  assert.ok(firstGroups.size > 1, 'the first group changes with the seed');
  const within = [...a1.subarray(0, 30)].filter((p) => groups[p] === groups[a1[0]!]);
  assert.notDeepEqual(within, [...within].sort((x, y) => x - y), 'samples of a group are shuffled too');
});

test('sample order: a plain shuffle of every position', () => {
  const b = block(Array.from({ length: 200 }, (_, i) => i % 4));
  const o = sampleOrder(b, new Rng(4), 'sample');
  assert.deepEqual([...o].sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i));
  let runs = 0;
  for (let i = 1; i < o.length; i++) if (b.group[o[i]!] !== b.group[o[i - 1]!]) runs++;
  assert.ok(runs > 100, 'groups are interleaved');
});
