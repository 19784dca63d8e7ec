import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROFILE_CARDINALITY, PROFILE_FIELDS } from './feature-ids.js';
import { MAX_ITEM_INTENTIONS, createWorld, worldSizes, type WorldOptions } from './world.js';

const options = (totalImpressions: number): WorldOptions => ({
  totalImpressions,
  usersPerImpression: 1 / 300,
  itemsPerImpression: 1 / 25,
  newShare: 0.1,
  sharedEntityIds: false,
});

test('the world grows with the impression count, like Ali-CCP', () => {
  const small = worldSizes(options(1e6));
  const big = worldSizes(options(16e6));
  assert.equal(small.users, Math.round(1e6 / 300));
  assert.equal(big.items, 16e6 / 25);
  assert.ok(big.categories > small.categories && big.shops > small.shops && big.intentions > small.intentions);
  assert.equal(small.oldUsers, small.users - Math.round(small.users * 0.1));
  assert.equal(small.oldItems, small.items - small.items * 0.1);
  // Tiny requests still get a usable world.
  const tiny = worldSizes(options(100));
  assert.ok(tiny.users >= 40 && tiny.items >= 1000 && tiny.categories >= 40);
});

test('same seed, same world; another seed, another world', () => {
  const a = createWorld(options(50_000), 11);
  const b = createWorld(options(50_000), 11);
  const c = createWorld(options(50_000), 12);
  assert.deepEqual(a.catalog.itemVector, b.catalog.itemVector);
  assert.deepEqual(a.population.profile, b.population.profile);
  assert.deepEqual(a.catalog.itemIntentions, b.catalog.itemIntentions);
  assert.notDeepEqual(a.catalog.itemVector, c.catalog.itemVector);
  assert.notDeepEqual(a.population.userTaste, c.population.userTaste);
});

test('catalogue lists are consistent and put old items first', () => {
  const w = createWorld(options(50_000), 3);
  const { catalog: cat, sizes } = w;
  // Popularity order: a permutation with the old items as its prefix.
  const seen = new Uint8Array(sizes.items);
  cat.itemsByPopularity.forEach((item, rank) => {
    seen[item] = 1;
    assert.equal(item < sizes.oldItems, rank < sizes.oldItems, `rank ${rank}`);
  });
  assert.ok(seen.every((x) => x === 1));
  for (let c = 0; c < sizes.categories; c++) {
    const from = cat.categoryItemOffsets[c]!;
    const to = cat.categoryItemOffsets[c + 1]!;
    for (let j = from; j < to; j++) {
      const item = cat.categoryItems[j]!;
      assert.equal(cat.itemCategory[item], c);
      assert.equal(item < sizes.oldItems, j - from < cat.categoryOldItems[c]!, `category ${c} position ${j - from}`);
    }
  }
  for (let i = 0; i < sizes.items; i++) {
    const its = [...cat.itemIntentions.subarray(cat.itemIntentionOffsets[i]!, cat.itemIntentionOffsets[i + 1]!)];
    assert.ok(its.length >= 1 && its.length <= MAX_ITEM_INTENTIONS, `item ${i} has ${its.length} intentions`);
    assert.equal(new Set(its).size, its.length);
    assert.ok(its.every((t) => t >= 0 && t < sizes.intentions));
    assert.ok(cat.itemShop[i]! < sizes.shops && cat.itemBrand[i]! < sizes.brands);
  }
});

test('users: favourites exist and have items, profiles stay in their ranges and follow the budget', () => {
  const w = createWorld(options(200_000), 5);
  const { population: pop, catalog: cat, sizes } = w;
  let missing126 = 0;
  const budgetByLevel = [0, 0, 0, 0].map(() => ({ sum: 0, n: 0 }));
  for (let u = 0; u < sizes.users; u++) {
    const from = pop.favouriteOffsets[u]!;
    const to = pop.favouriteOffsets[u + 1]!;
    assert.ok(to - from >= 1, `user ${u} has no favourite category`);
    for (let q = from; q < to; q++) {
      const c = pop.favourites[q]!;
      assert.ok(cat.categoryOldItems[c]! > 0, `user ${u} favours category ${c} without items`);
    }
    for (let f = 0; f < PROFILE_FIELDS.length; f++) {
      const v = pop.profile[u * PROFILE_FIELDS.length + f]!;
      assert.ok(v >= -1 && v < PROFILE_CARDINALITY[f]!, `user ${u} field ${PROFILE_FIELDS[f]} = ${v}`);
    }
    const level = pop.profile[u * PROFILE_FIELDS.length + 4]!; // 126, consumption level I
    if (level < 0) missing126++;
    else {
      budgetByLevel[level]!.sum += pop.userBudget[u]!;
      budgetByLevel[level]!.n++;
    }
  }
  assert.ok(missing126 > 0 && missing126 < sizes.users * 0.2);
  const means = budgetByLevel.map((b) => b.sum / b.n);
  for (let l = 1; l < 4; l++) assert.ok(means[l]! > means[l - 1]!, `budget by consumption level: ${means.join(', ')}`);
});
