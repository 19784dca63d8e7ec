/**
 * The Ali-CCP fields the simulator writes and the global integer id of every feature.
 *
 * Like the real data, ids are encoded globally: each field owns one contiguous id range, laid out
 * one after another, so an id alone tells its field. Entities (category, shop, brand, intention)
 * appear in three fields each: on the item (206/207/216/210), in the user's history (109_14 ...)
 * and in the combination of both (508 ...). With `sharedEntityIds` the history fields reuse the
 * item fields' ids (category c is the same id in 206 and 109_14), which makes tables shared
 * between those fields meaningful; by default every field has its own range, as in the real logs.
 */

/** User profile fields written once per common row, with their number of values. */
export const PROFILE_FIELDS = ['121', '122', '124', '125', '126', '127', '128', '129'] as const;
export const PROFILE_CARDINALITY = [98, 14, 3, 8, 4, 4, 3, 5] as const;

/** Entity kinds, indexed 0..3 on hot paths. */
export const CATEGORY = 0;
export const SHOP = 1;
export const BRAND = 2;
export const INTENTION = 3;
export const ENTITY_KIND_COUNT = 4;
export type EntityKindName = 'category' | 'shop' | 'brand' | 'intention';
export const ENTITY_KIND_NAMES: readonly EntityKindName[] = ['category', 'shop', 'brand', 'intention'];

/** Per entity kind: the item field, the history field and the combination field. */
export const ITEM_ENTITY_FIELDS = ['206', '207', '216', '210'] as const;
export const HISTORY_FIELDS = ['109_14', '110_14', '127_14', '150_14'] as const;
export const COMBINATION_FIELDS = ['508', '509', '702', '853'] as const;

/** A combination id encodes the entity and the bucket of the user's count on it. */
export const COMBINATION_BUCKETS = 4;
export function countBucket(count: number): number {
  return count <= 2 ? 0 : count <= 4 ? 1 : count <= 9 ? 2 : 3;
}

/** Values of the scene field 301. */
export const SCENE_COUNT = 3;

export interface EntityCounts {
  users: number;
  items: number;
  /** Indexed by entity kind (CATEGORY, SHOP, BRAND, INTENTION). */
  entities: readonly [number, number, number, number];
}

/** First id of every field's range; an entity e of kind k on the item is itemEntity[k] + e. */
export interface FeatureIds {
  user: number;
  /** Parallel to PROFILE_FIELDS; value v of profile field j is profile[j] + v. */
  profile: number[];
  item: number;
  itemEntity: number[];
  history: number[];
  /** Combination id: combination[k] + entity * COMBINATION_BUCKETS + countBucket(count). */
  combination: number[];
  scene: number;
  /** One past the last id. */
  end: number;
}

/** Lays the ranges out in the written field order, starting at id 1. */
export function assignFeatureIds(counts: EntityCounts, sharedEntityIds: boolean): FeatureIds {
  let next = 1;
  const take = (size: number): number => {
    const base = next;
    next += size;
    return base;
  };
  const user = take(counts.users);
  const profile = PROFILE_CARDINALITY.map((n) => take(n));
  const item = take(counts.items);
  const itemEntity = counts.entities.map((n) => take(n));
  const history = counts.entities.map((n, k) => (sharedEntityIds ? itemEntity[k]! : take(n)));
  const combination = counts.entities.map((n) => take(n * COMBINATION_BUCKETS));
  const scene = take(SCENE_COUNT);
  if (next > 2 ** 32 - 2) {
    throw new Error(`feature ids would reach ${next}, past the 32-bit keys the readers store: generate fewer impressions`);
  }
  return { user, profile, item, itemEntity, history, combination, scene, end: next };
}
