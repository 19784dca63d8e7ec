/**
 * The hidden world behind a simulated dataset: a catalogue of items (each in a category, sold by
 * a shop, of a brand, tied to a few user intentions) and a population of users with tastes,
 * propensities and profile fields. Nothing here is written out directly: the files show ids and
 * profile buckets, and the true click and conversion probabilities are functions of the latent
 * values (truth-model.ts).
 *
 * Everything is stored in flat typed arrays (latent vectors row-major, LATENT_DIM per row) and
 * built from one seeded Rng, so a seed and a size give the same world.
 */
import { Rng } from '../util/rng.js';
import {
  BRAND,
  CATEGORY,
  INTENTION,
  PROFILE_FIELDS,
  SHOP,
  assignFeatureIds,
  type FeatureIds,
} from './feature-ids.js';
import {
  NORMAL_OCTILES,
  NORMAL_QUARTILES,
  NORMAL_QUINTILES,
  NORMAL_SEPTILES,
  NORMAL_TERCILES,
  bucketOf,
  exponential,
  geometric,
  zipfRank,
} from './sampling.js';

/** Dimension of user tastes and item attribute vectors. */
export const LATENT_DIM = 8;
/** Most intentions (field 210) one item is tied to. */
export const MAX_ITEM_INTENTIONS = 6;
/** Most favourite categories of one user. */
export const MAX_FAVOURITES = 10;

export interface WorldOptions {
  /** Train + test impressions: the world's size follows it. */
  totalImpressions: number;
  /** Users per impression (Ali-CCP: 0.4M users for 84M impressions, about 1/210). */
  usersPerImpression: number;
  /** Items per impression (Ali-CCP: 4.3M items for 84M impressions, about 1/20). */
  itemsPerImpression: number;
  /** Share of users and of items first seen in the test period (0 when there is no test split). */
  newShare: number;
  /** History fields reuse the item fields' ids (see feature-ids.ts). */
  sharedEntityIds: boolean;
}

export interface WorldSizes {
  users: number;
  /** Users [0, oldUsers) are active from the start; the rest only in the test period. */
  oldUsers: number;
  items: number;
  /** Items [0, oldItems) exist from the start; the rest are launched in the test period. */
  oldItems: number;
  categories: number;
  shops: number;
  brands: number;
  intentions: number;
}

const MIN_USERS = 40;
const MIN_ITEMS = 1000;

export function worldSizes(o: WorldOptions): WorldSizes {
  const users = Math.max(MIN_USERS, Math.round(o.totalImpressions * o.usersPerImpression));
  const items = Math.max(MIN_ITEMS, Math.round(o.totalImpressions * o.itemsPerImpression));
  // Ali-CCP has ~7k categories for 4.3M items: categories grow like the square root of items.
  const categories = Math.max(40, Math.round(3 * Math.sqrt(items)));
  return {
    users,
    oldUsers: users - Math.round(users * o.newShare),
    items,
    oldItems: items - Math.round(items * o.newShare),
    categories,
    shops: Math.max(60, Math.round(items / 3)),
    brands: Math.max(60, Math.round(items / 5)),
    intentions: Math.max(60, 3 * categories),
  };
}

export interface Catalog {
  itemCategory: Int32Array;
  itemShop: Int32Array;
  itemBrand: Int32Array;
  /** Item i's intentions are itemIntentions[itemIntentionOffsets[i] .. itemIntentionOffsets[i+1]). */
  itemIntentionOffsets: Int32Array;
  itemIntentions: Int32Array;
  /** Attribute vector: category centroid + brand offset + item noise. */
  itemVector: Float32Array;
  /** Click appeal that does not convert ("clickbait"): raises p_click, lowers p_conv. */
  itemBait: Float32Array;
  /** Quality: mostly raises p_conv. */
  itemQuality: Float32Array;
  /** Price level (standardised log price), compared with the user's budget. */
  itemPrice: Float32Array;
  /** Category c's centroid: the common part of its items' attribute vectors. */
  categoryCentroid: Float32Array;
  /** Items from most to least popular; old items first, so the old ones are a prefix. */
  itemsByPopularity: Int32Array;
  /** Category c's items, most popular first, old before new. */
  categoryItemOffsets: Int32Array;
  categoryItems: Int32Array;
  /** How many of category c's items are old (a prefix of its list). */
  categoryOldItems: Int32Array;
}

export interface Population {
  /** Taste vector: drives clicks and, partly, conversions. */
  userTaste: Float32Array;
  /** Buying taste that clicks do not show: the conversion-only part of the match. */
  userBuyTaste: Float32Array;
  /** Per-user click propensity (browsers click a lot). */
  userClickBias: Float32Array;
  /** Per-user purchase propensity, negatively correlated with the click propensity. */
  userBuyBias: Float32Array;
  /** Standardised budget, compared with item prices. */
  userBudget: Float32Array;
  /** Behaviours behind the user's long-term history (0 for a brand new user). */
  userBehaviours: Float32Array;
  /** Cumulative session weights: user u has sessions ∝ activity[u+1] - activity[u]. */
  userActivity: Float64Array;
  /** User u's favourite categories and their weights. */
  favouriteOffsets: Int32Array;
  favourites: Int32Array;
  favouriteWeights: Float32Array;
  /** PROFILE_FIELDS.length values per user, -1 where the field is missing. */
  profile: Int8Array;
}

export interface World {
  seed: number;
  sizes: WorldSizes;
  ids: FeatureIds;
  catalog: Catalog;
  population: Population;
}

export function createWorld(options: WorldOptions, seed: number): World {
  const sizes = worldSizes(options);
  const rng = new Rng(seed);
  const catalog = createCatalog(sizes, rng.fork());
  const population = createPopulation(sizes, catalog, rng.fork());
  const ids = assignFeatureIds(
    {
      users: sizes.users,
      items: sizes.items,
      entities: [sizes.categories, sizes.shops, sizes.brands, sizes.intentions],
    },
    options.sharedEntityIds,
  );
  return { seed, sizes, ids, catalog, population };
}

/** Number of entities of each kind, indexed by CATEGORY, SHOP, BRAND, INTENTION. */
export function entityCounts(sizes: WorldSizes): [number, number, number, number] {
  const counts: [number, number, number, number] = [0, 0, 0, 0];
  counts[CATEGORY] = sizes.categories;
  counts[SHOP] = sizes.shops;
  counts[BRAND] = sizes.brands;
  counts[INTENTION] = sizes.intentions;
  return counts;
}

function normalVector(rng: Rng, out: Float32Array, at: number, sd: number): void {
  for (let d = 0; d < LATENT_DIM; d++) out[at + d] = rng.normal() * sd;
}

/** Per-coordinate scale that gives latent vectors a length of about `length`. */
function coordSd(length: number): number {
  return length / Math.sqrt(LATENT_DIM);
}

/** Entities of one kind, each with a home category drawn like an item's; listed per category. */
function homeLists(count: number, categories: number, itemCategory: Int32Array, rng: Rng): { offsets: Int32Array; members: Int32Array } {
  const home = new Int32Array(count);
  for (let e = 0; e < count; e++) home[e] = itemCategory[rng.int(itemCategory.length)]!;
  return groupBy(home, categories);
}

/** CSR lists of members 0..n-1 grouped by key, each list in member order. */
function groupBy(keyOf: Int32Array, keys: number): { offsets: Int32Array; members: Int32Array } {
  const offsets = new Int32Array(keys + 1);
  for (let m = 0; m < keyOf.length; m++) offsets[keyOf[m]! + 1]!++;
  for (let k = 0; k < keys; k++) offsets[k + 1]! += offsets[k]!;
  const fill = offsets.slice(0, keys);
  const members = new Int32Array(keyOf.length);
  for (let m = 0; m < keyOf.length; m++) members[fill[keyOf[m]!]!++] = m;
  return { offsets, members };
}

/** A member of key k's list with probability `local`, else any of `count` (also when the list is empty). */
function pickNear(rng: Rng, lists: { offsets: Int32Array; members: Int32Array }, k: number, count: number, local: number): number {
  const from = lists.offsets[k]!;
  const n = lists.offsets[k + 1]! - from;
  if (n > 0 && rng.next() < local) return lists.members[from + rng.int(n)]!;
  return rng.int(count);
}

function createCatalog(s: WorldSizes, rng: Rng): Catalog {
  const K = LATENT_DIM;
  // Categories: a popularity order, a centroid, a price level.
  const categoryByRank = rng.shuffle(Int32Array.from({ length: s.categories }, (_, i) => i));
  const centroid = new Float32Array(s.categories * K);
  const categoryPrice = new Float32Array(s.categories);
  for (let c = 0; c < s.categories; c++) {
    normalVector(rng, centroid, c * K, coordSd(1));
    categoryPrice[c] = rng.normal() * 0.7;
  }
  const itemCategory = new Int32Array(s.items);
  for (let i = 0; i < s.items; i++) {
    // Half Zipf, half uniform: a heavy head without one category owning the catalogue.
    const rank = rng.next() < 0.5 ? zipfRank(rng, s.categories) : rng.int(s.categories);
    itemCategory[i] = categoryByRank[rank]!;
  }
  // Shops, brands and intentions each belong mostly to one home category.
  const shopQuality = new Float32Array(s.shops);
  const shopPrice = new Float32Array(s.shops);
  for (let e = 0; e < s.shops; e++) {
    shopQuality[e] = rng.normal() * 0.5;
    shopPrice[e] = rng.normal() * 0.3;
  }
  const brandOffset = new Float32Array(s.brands * K);
  const brandBait = new Float32Array(s.brands);
  const brandQuality = new Float32Array(s.brands);
  for (let b = 0; b < s.brands; b++) {
    normalVector(rng, brandOffset, b * K, coordSd(0.5));
    brandBait[b] = rng.normal() * 0.4;
    brandQuality[b] = rng.normal() * 0.3;
  }
  const shopsOf = homeLists(s.shops, s.categories, itemCategory, rng);
  const brandsOf = homeLists(s.brands, s.categories, itemCategory, rng);
  const intentionsOf = homeLists(s.intentions, s.categories, itemCategory, rng);

  const itemShop = new Int32Array(s.items);
  const itemBrand = new Int32Array(s.items);
  const itemIntentionOffsets = new Int32Array(s.items + 1);
  const intentionScratch = new Int32Array(s.items * MAX_ITEM_INTENTIONS);
  const itemVector = new Float32Array(s.items * K);
  const itemBait = new Float32Array(s.items);
  const itemQuality = new Float32Array(s.items);
  const itemPrice = new Float32Array(s.items);
  const noiseSd = coordSd(0.35);
  let intentionCount = 0;
  for (let i = 0; i < s.items; i++) {
    const c = itemCategory[i]!;
    const shop = pickNear(rng, shopsOf, c, s.shops, 0.85);
    const brand = pickNear(rng, brandsOf, c, s.brands, 0.9);
    itemShop[i] = shop;
    itemBrand[i] = brand;
    const k = 1 + Math.min(MAX_ITEM_INTENTIONS - 1, geometric(rng, 1.2));
    const first = intentionCount;
    for (let j = 0; j < k; j++) {
      const t = pickNear(rng, intentionsOf, c, s.intentions, 0.85);
      let seen = false;
      for (let q = first; q < intentionCount; q++) if (intentionScratch[q] === t) seen = true;
      if (!seen) intentionScratch[intentionCount++] = t;
    }
    itemIntentionOffsets[i + 1] = intentionCount;
    for (let d = 0; d < K; d++) {
      itemVector[i * K + d] = centroid[c * K + d]! + brandOffset[brand * K + d]! + rng.normal() * noiseSd;
    }
    itemBait[i] = brandBait[brand]! + rng.normal() * 0.45;
    itemQuality[i] = shopQuality[shop]! + brandQuality[brand]! + rng.normal() * 0.3;
    itemPrice[i] = categoryPrice[c]! + shopPrice[shop]! + rng.normal() * 0.25;
  }
  const itemIntentions = intentionScratch.slice(0, intentionCount);

  // Popularity: old items in random order, then the new ones (least exposed: just launched).
  const itemsByPopularity = new Int32Array(s.items);
  const oldOrder = rng.shuffle(Int32Array.from({ length: s.oldItems }, (_, i) => i));
  const newOrder = rng.shuffle(Int32Array.from({ length: s.items - s.oldItems }, (_, i) => s.oldItems + i));
  itemsByPopularity.set(oldOrder, 0);
  itemsByPopularity.set(newOrder, s.oldItems);
  const categoryItemOffsets = new Int32Array(s.categories + 1);
  for (let i = 0; i < s.items; i++) categoryItemOffsets[itemCategory[i]! + 1]!++;
  for (let c = 0; c < s.categories; c++) categoryItemOffsets[c + 1]! += categoryItemOffsets[c]!;
  const fill = categoryItemOffsets.slice(0, s.categories);
  const categoryItems = new Int32Array(s.items);
  const categoryOldItems = new Int32Array(s.categories);
  for (const i of itemsByPopularity) {
    const c = itemCategory[i]!;
    categoryItems[fill[c]!++] = i;
    if (i < s.oldItems) categoryOldItems[c]!++;
  }
  return {
    itemCategory,
    itemShop,
    itemBrand,
    itemIntentionOffsets,
    itemIntentions,
    itemVector,
    itemBait,
    itemQuality,
    itemPrice,
    categoryCentroid: centroid,
    itemsByPopularity,
    categoryItemOffsets,
    categoryItems,
    categoryOldItems,
  };
}

/** Segments of field 121: the nearest of these many prototype tastes. */
const SEGMENTS = 98;

function createPopulation(s: WorldSizes, catalog: Catalog, rng: Rng): Population {
  const K = LATENT_DIM;
  const U = s.users;
  const userTaste = new Float32Array(U * K);
  const userBuyTaste = new Float32Array(U * K);
  const userClickBias = new Float32Array(U);
  const userBuyBias = new Float32Array(U);
  const userBudget = new Float32Array(U);
  const userBehaviours = new Float32Array(U);
  const userActivity = new Float64Array(U + 1);
  const favouriteOffsets = new Int32Array(U + 1);
  const favourites = new Int32Array(U * MAX_FAVOURITES);
  const favouriteWeights = new Float32Array(U * MAX_FAVOURITES);
  const profile = new Int8Array(U * PROFILE_FIELDS.length);

  const segments = new Float32Array(SEGMENTS * K);
  for (let g = 0; g < SEGMENTS; g++) normalVector(rng, segments, g * K, coordSd(1));
  const centroid = catalog.categoryCentroid;
  const tasteNoise = coordSd(0.4);
  const buyTasteSd = coordSd(0.8);
  let favCount = 0;
  for (let u = 0; u < U; u++) {
    // Favourite categories, found through popular items (as a user discovers them).
    const wanted = 2 + Math.min(MAX_FAVOURITES - 2, geometric(rng, 2));
    const first = favCount;
    let weightSum = 0;
    for (let attempt = 0; attempt < 4 * wanted && favCount - first < wanted; attempt++) {
      const item = catalog.itemsByPopularity[zipfRank(rng, s.oldItems)]!;
      const c = catalog.itemCategory[item]!;
      let seen = false;
      for (let q = first; q < favCount; q++) if (favourites[q] === c) seen = true;
      if (seen) continue;
      const w = 0.2 + exponential(rng, 1);
      favourites[favCount] = c;
      favouriteWeights[favCount] = w;
      favCount++;
      weightSum += w;
    }
    favouriteOffsets[u + 1] = favCount;
    // Taste: the weighted centroid of the favourites, plus a personal offset.
    for (let d = 0; d < K; d++) {
      let t = 0;
      for (let q = first; q < favCount; q++) t += favouriteWeights[q]! * centroid[favourites[q]! * K + d]!;
      userTaste[u * K + d] = t / weightSum + rng.normal() * tasteNoise;
      userBuyTaste[u * K + d] = rng.normal() * buyTasteSd;
    }
    const clickBias = rng.normal() * 0.35;
    userClickBias[u] = clickBias;
    userBuyBias[u] = -0.5 * clickBias + rng.normal() * 0.35;
    userBudget[u] = rng.normal();
    // Long-term behaviours: heavy-tailed; a new user has only a few days of them.
    const behaviours = Math.exp(Math.log(90) + 0.8 * rng.normal());
    userBehaviours[u] = u < s.oldUsers ? behaviours : behaviours * 0.1 * rng.next();
    userActivity[u + 1] = userActivity[u]! + Math.exp(0.9 * rng.normal());
    writeProfile(profile, u, userTaste, segments, userClickBias[u]!, userBuyBias[u]!, userBudget[u]!, rng);
  }
  return {
    userTaste,
    userBuyTaste,
    userClickBias,
    userBuyBias,
    userBudget,
    userBehaviours,
    userActivity,
    favouriteOffsets,
    favourites: favourites.slice(0, favCount),
    favouriteWeights: favouriteWeights.slice(0, favCount),
    profile,
  };
}

/**
 * Profile buckets that correlate with the hidden values, as real profiles do: segment (121) from
 * taste, 122 from the click and buy propensities, gender and age partly from taste, consumption
 * levels and employment from budget, geography from purchase propensity.
 */
function writeProfile(
  profile: Int8Array,
  u: number,
  taste: Float32Array,
  segments: Float32Array,
  clickBias: number,
  buyBias: number,
  budget: number,
  rng: Rng,
): void {
  const K = LATENT_DIM;
  const at = u * PROFILE_FIELDS.length;
  let best = 0;
  let bestScore = -Infinity;
  for (let g = 0; g < SEGMENTS; g++) {
    let dot = 0;
    let norm = 0;
    for (let d = 0; d < K; d++) {
      const p = segments[g * K + d]!;
      dot += taste[u * K + d]! * p;
      norm += p * p;
    }
    const score = dot - norm / 2; // nearest prototype
    if (score > bestScore) {
      bestScore = score;
      best = g;
    }
  }
  const scale = Math.sqrt(K);
  profile[at] = best; // 121
  profile[at + 1] = bucketOf(clickBias / 0.35, NORMAL_SEPTILES) * 2 + (buyBias > 0 ? 1 : 0); // 122
  profile[at + 2] = bucketOf(0.7 * taste[u * K]! * scale + 0.7 * rng.normal(), NORMAL_TERCILES); // 124
  profile[at + 3] = bucketOf(0.5 * taste[u * K + 1]! * scale + 0.5 * budget + 0.7 * rng.normal(), NORMAL_OCTILES); // 125
  const level1 = bucketOf(0.85 * budget + 0.5 * rng.normal(), NORMAL_QUARTILES);
  profile[at + 4] = rng.next() < 0.1 ? -1 : level1; // 126, missing for some users
  profile[at + 5] = bucketOf(0.7 * budget + 0.7 * rng.normal(), NORMAL_QUARTILES); // 127
  const employed = bucketOf(0.5 * budget + 0.85 * rng.normal(), NORMAL_TERCILES);
  profile[at + 6] = rng.next() < 0.05 ? -1 : employed; // 128, missing for some users
  profile[at + 7] = bucketOf(buyBias + 0.9 * rng.normal(), NORMAL_QUINTILES); // 129 (buyBias has sd ≈ 0.4)
}
