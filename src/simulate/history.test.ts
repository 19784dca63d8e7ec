import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../util/rng.js';
import { CATEGORY, ENTITY_KIND_COUNT } from './feature-ids.js';
import { MAX_HISTORY_ENTRIES, SessionHistory, buildHistory } from './history.js';
import { createWorld } from './world.js';

const world = createWorld(
  { totalImpressions: 100_000, usersPerImpression: 1 / 300, itemsPerImpression: 1 / 25, newShare: 0.1, sharedEntityIds: false },
  21,
);

function entries(h: SessionHistory, k: number): Map<number, number> {
  const m = new Map<number, number>();
  for (let e = 0; e < h.lengths[k]!; e++) m.set(h.entities[k]![e]!, h.counts[k]![e]!);
  return m;
}

test('a history lists distinct entities with counts ≥ 2, and countOf agrees with the lists', () => {
  const h = new SessionHistory(world);
  const rng = new Rng(1);
  for (let u = 0; u < 30; u++) {
    buildHistory(world, u, 'train', rng, h);
    let total = 0;
    for (let k = 0; k < ENTITY_KIND_COUNT; k++) {
      const m = entries(h, k);
      assert.equal(m.size, h.lengths[k], `user ${u} kind ${k}: duplicate entity`);
      for (const [e, n] of m) {
        assert.ok(n >= 2, `user ${u}: count ${n}`);
        assert.equal(h.countOf(k, e), n);
      }
      total += m.size;
    }
    assert.equal(total, h.total);
    assert.ok(h.total <= MAX_HISTORY_ENTRIES);
  }
  // An entity outside the history counts 0, also right after clear().
  h.clear();
  assert.equal(h.countOf(CATEGORY, 0), 0);
  assert.equal(h.total, 0);
});

test('sessions of one user share the long-term past; test sessions add more recent behaviours', () => {
  const a = new SessionHistory(world);
  const b = new SessionHistory(world);
  const u = 7;
  buildHistory(world, u, 'train', new Rng(100), a);
  buildHistory(world, u, 'train', new Rng(200), b);
  const ca = entries(a, CATEGORY);
  const cb = entries(b, CATEGORY);
  const shared = [...ca.keys()].filter((c) => cb.has(c)).length;
  assert.ok(shared >= 0.8 * Math.min(ca.size, cb.size), `shared ${shared} of ${ca.size} / ${cb.size}`);
  let trainTotal = 0;
  let testTotal = 0;
  const rng = new Rng(3);
  for (let v = 0; v < 40; v++) {
    buildHistory(world, v, 'train', rng, a);
    trainTotal += a.total;
    buildHistory(world, v, 'test', rng, a);
    testTotal += a.total;
  }
  assert.ok(testTotal > trainTotal, `test ${testTotal} vs train ${trainTotal}`);
});

test("the user's favourite categories dominate the category history", () => {
  const h = new SessionHistory(world);
  const pop = world.population;
  let favouriteActions = 0;
  let allActions = 0;
  for (let u = 0; u < 60; u++) {
    buildHistory(world, u, 'train', new Rng(u), h);
    const favs = new Set(pop.favourites.subarray(pop.favouriteOffsets[u]!, pop.favouriteOffsets[u + 1]!));
    for (const [c, n] of entries(h, CATEGORY)) {
      allActions += n;
      if (favs.has(c)) favouriteActions += n;
    }
  }
  assert.ok(favouriteActions > 0.6 * allActions, `${favouriteActions} of ${allActions} actions on favourites`);
});

test('a full row keeps counting known entities but takes no new ones', () => {
  const h = new SessionHistory(world);
  h.clear();
  const shops = world.sizes.shops;
  for (let e = 0; e < MAX_HISTORY_ENTRIES + 50; e++) h.add(1, e % shops, 2);
  assert.equal(h.total, Math.min(MAX_HISTORY_ENTRIES, shops));
  const before = h.countOf(1, 0);
  h.add(1, 0, 3);
  assert.equal(h.countOf(1, 0), before + 3);
});
