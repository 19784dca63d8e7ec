/**
 * A session's user history: the `_14` fields of its common row. For each entity kind (category
 * 109_14, shop 110_14, brand 127_14, intention 150_14) it lists the entities the user acted on
 * and how many actions; the values written are ln(count).
 *
 * A history is the sum of behaviours. Each behaviour meets one item (item-choice.ts) and adds a
 * few actions to the item's category, shop, brand and one of its intentions, so histories follow
 * the user's favourite categories and the combination features (508 ...) carry signal. The
 * long-term behaviours come from a per-user Rng, so every session of a user shares its past;
 * recent behaviours come from the session's own Rng, more of them in the (later) test period.
 */
import { Rng, mix32 } from '../util/rng.js';
import { BRAND, CATEGORY, ENTITY_KIND_COUNT, INTENTION, PROFILE_FIELDS, SHOP } from './feature-ids.js';
import { favouriteItem, popularItem } from './item-choice.js';
import { MAX_COUNT } from './log-values.js';
import { geometric } from './sampling.js';
import { entityCounts, type World } from './world.js';

/** Most entries in a common row, as in the real data (~1,000). */
export const MAX_COMMON_ENTRIES = 1000;
/** Room left for the histories once the user id and the profile fields are written. */
export const MAX_HISTORY_ENTRIES = MAX_COMMON_ENTRIES - 1 - PROFILE_FIELDS.length;

/** Share of behaviours spent on favourite categories (the rest explores popular items). */
const FAVOURITE_SHARE = 0.7;
/** Recent behaviours per long-term behaviour, by period: test sessions come later. */
const RECENT_SHARE = { train: 0.05, test: 0.15 } as const;

export class SessionHistory {
  /** Per kind: entities in the order first met, and their action counts (≥ 2). */
  readonly entities: Int32Array[] = [];
  readonly counts: Uint16Array[] = [];
  /** Per kind: how many entries are in use. */
  readonly lengths = new Int32Array(ENTITY_KIND_COUNT);
  /** Entries over all kinds. */
  total = 0;
  // stamp[k][e] === current marks entity e as present; slot[k][e] is its entry.
  private readonly stamp: Int32Array[] = [];
  private readonly slot: Int32Array[] = [];
  private current = 0;

  constructor(world: World) {
    for (const n of entityCounts(world.sizes)) {
      this.entities.push(new Int32Array(MAX_HISTORY_ENTRIES));
      this.counts.push(new Uint16Array(MAX_HISTORY_ENTRIES));
      this.stamp.push(new Int32Array(n));
      this.slot.push(new Int32Array(n));
    }
  }

  clear(): void {
    this.current++;
    this.lengths.fill(0);
    this.total = 0;
  }

  /** The user's action count on entity e of kind k (0: none). */
  countOf(k: number, e: number): number {
    return this.stamp[k]![e] === this.current ? this.counts[k]![this.slot[k]![e]!]! : 0;
  }

  /** Adds actions on entity e of kind k; a new entity is kept only while the row has room. */
  add(k: number, e: number, actions: number): void {
    const counts = this.counts[k]!;
    if (this.stamp[k]![e] === this.current) {
      const s = this.slot[k]![e]!;
      counts[s] = Math.min(MAX_COUNT, counts[s]! + actions);
      return;
    }
    if (this.total >= MAX_HISTORY_ENTRIES) return;
    const s = this.lengths[k]!++;
    this.total++;
    this.stamp[k]![e] = this.current;
    this.slot[k]![e] = s;
    this.entities[k]![s] = e;
    counts[s] = Math.min(MAX_COUNT, actions);
  }
}

/** Fills `history` for a session of user u in the given period. */
export function buildHistory(world: World, u: number, period: 'train' | 'test', sessionRng: Rng, history: SessionHistory): void {
  history.clear();
  const behaviours = world.population.userBehaviours[u]!;
  const pastRng = new Rng(mix32(world.seed ^ mix32(u + 0x632be5ab)));
  addBehaviours(world, u, Math.round(behaviours), false, pastRng, history);
  const recent = geometric(sessionRng, behaviours * RECENT_SHARE[period]);
  addBehaviours(world, u, recent, period === 'test', sessionRng, history);
}

function addBehaviours(world: World, u: number, n: number, includeNew: boolean, rng: Rng, h: SessionHistory): void {
  const cat = world.catalog;
  for (let b = 0; b < n; b++) {
    const item = rng.next() < FAVOURITE_SHARE ? favouriteItem(world, u, includeNew, rng) : popularItem(world, includeNew, rng);
    // A behaviour is a visit: at least a view and a click, sometimes more (cart, favourite, buy).
    const actions = 2 + geometric(rng, 0.6);
    h.add(CATEGORY, cat.itemCategory[item]!, actions);
    h.add(SHOP, cat.itemShop[item]!, actions);
    h.add(BRAND, cat.itemBrand[item]!, actions);
    const from = cat.itemIntentionOffsets[item]!;
    const k = cat.itemIntentionOffsets[item + 1]! - from;
    h.add(INTENTION, cat.itemIntentions[from + rng.int(k)]!, actions);
  }
}
