import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMBINATION_BUCKETS, PROFILE_CARDINALITY, SCENE_COUNT, assignFeatureIds, countBucket } from './feature-ids.js';

const counts = { users: 100, items: 1000, entities: [40, 300, 200, 120] as [number, number, number, number] };

/** [base, size] of every range, in layout order. */
function ranges(shared: boolean): [number, number][] {
  const ids = assignFeatureIds(counts, shared);
  const out: [number, number][] = [[ids.user, counts.users]];
  ids.profile.forEach((b, j) => out.push([b, PROFILE_CARDINALITY[j]!]));
  out.push([ids.item, counts.items]);
  ids.itemEntity.forEach((b, k) => out.push([b, counts.entities[k]!]));
  if (!shared) ids.history.forEach((b, k) => out.push([b, counts.entities[k]!]));
  ids.combination.forEach((b, k) => out.push([b, counts.entities[k]! * COMBINATION_BUCKETS]));
  out.push([ids.scene, SCENE_COUNT]);
  return out;
}

test('every field owns one contiguous id range, starting at 1, without overlaps', () => {
  for (const shared of [false, true]) {
    const r = ranges(shared);
    assert.equal(r[0]![0], 1);
    for (let j = 1; j < r.length; j++) assert.equal(r[j]![0], r[j - 1]![0] + r[j - 1]![1], `range ${j}`);
    assert.equal(assignFeatureIds(counts, shared).end, r.at(-1)![0] + r.at(-1)![1]);
  }
});

test('shared entity ids: the history fields reuse the item fields ranges', () => {
  const own = assignFeatureIds(counts, false);
  const shared = assignFeatureIds(counts, true);
  assert.deepEqual(shared.history, shared.itemEntity);
  for (let k = 0; k < 4; k++) assert.notEqual(own.history[k], own.itemEntity[k]);
});

test('count buckets split counts 2 | 3-4 | 5-9 | 10+', () => {
  assert.deepEqual([2, 3, 4, 5, 9, 10, 4000].map(countBucket), [0, 1, 1, 2, 2, 3, 3]);
});

test('ids past 32 bits are refused with a hint', () => {
  assert.throws(() => assignFeatureIds({ users: 2 ** 32, items: 1, entities: [1, 1, 1, 1] }, false), /generate fewer impressions/);
});
