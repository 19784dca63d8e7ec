/**
 * How a user meets items, both in the past (the behaviours behind a history) and in a session
 * (what the recommender shows): mostly items of the user's favourite categories, sometimes items
 * of a category already in the history, otherwise whatever is popular. Popularity is Zipf-like
 * over the catalogue's popularity order. Items launched in the test period are only reachable
 * when `includeNew` is true.
 */
import type { Rng } from '../util/rng.js';
import type { World } from './world.js';
import { zipfRank } from './sampling.js';

/** One of user u's favourite categories, drawn by weight. */
export function favouriteCategory(world: World, u: number, rng: Rng): number {
  const pop = world.population;
  const from = pop.favouriteOffsets[u]!;
  const to = pop.favouriteOffsets[u + 1]!;
  let total = 0;
  for (let q = from; q < to; q++) total += pop.favouriteWeights[q]!;
  let target = rng.next() * total;
  for (let q = from; q < to - 1; q++) {
    target -= pop.favouriteWeights[q]!;
    if (target < 0) return pop.favourites[q]!;
  }
  return pop.favourites[to - 1]!;
}

/** A popular item of category c, or -1 when the category has none reachable. */
export function itemInCategory(world: World, c: number, includeNew: boolean, rng: Rng): number {
  const cat = world.catalog;
  const from = cat.categoryItemOffsets[c]!;
  const n = includeNew ? cat.categoryItemOffsets[c + 1]! - from : cat.categoryOldItems[c]!;
  if (n === 0) return -1;
  return cat.categoryItems[from + zipfRank(rng, n)]!;
}

/** A popular item of the whole catalogue. */
export function popularItem(world: World, includeNew: boolean, rng: Rng): number {
  const n = includeNew ? world.sizes.items : world.sizes.oldItems;
  return world.catalog.itemsByPopularity[zipfRank(rng, n)]!;
}

/** An item of one of user u's favourite categories (a popular one when that category has none). */
export function favouriteItem(world: World, u: number, includeNew: boolean, rng: Rng): number {
  const item = itemInCategory(world, favouriteCategory(world, u, rng), includeNew, rng);
  return item >= 0 ? item : popularItem(world, includeNew, rng);
}
