/**
 * The true click and conversion probabilities of an impression (user u in a session with its
 * history, item i, scene s):
 *
 *   p_click        = sigmoid(b_click + click logit)
 *   p_conv | click = sigmoid(b_conv  + conversion logit)
 *
 *   click logit      = taste·item − penalty(taste below a threshold) + user click bias + bait
 *                      + quality − penalty(|price − budget| past a tolerated gap)
 *                      + history matches (ln counts of the item's category, shop, brand, intention
 *                      in the user's history: the values of 508/509/702/853) + scene
 *   conversion logit = taste·item + buy-taste·item + user buy bias − bait + quality
 *                      − |price − budget| + history matches (shop, brand) + scene
 *
 * with the weights in CLICK_WEIGHTS and CONVERSION_WEIGHTS. Why this shape:
 * - the taste match, quality, price fit and history are shared, so what a model learns for clicks
 *   (from 25 times more labels) helps conversions: the paper's case for shared embeddings;
 * - the bait term and the user biases (browsers click, buyers convert) pull the two apart;
 * - clicks filter hard (irrelevant or unaffordable items are hardly ever clicked) while
 *   conversions depend smoothly on the same drivers, so the clicked impressions cover little of
 *   the range a CVR model meets over the entire space: fit on clicks alone it extrapolates.
 * The intercepts b_click and b_conv are calibrated to the target rates (calibrate.ts).
 */
import { BRAND, CATEGORY, INTENTION, SHOP } from './feature-ids.js';
import type { SessionHistory } from './history.js';
import { LOG_COUNT } from './log-values.js';
import { LATENT_DIM, type World } from './world.js';

export const CLICK_WEIGHTS = {
  taste: 0.8,
  /** Irrelevant items are hardly ever clicked: a quadratic penalty below a taste threshold. */
  irrelevance: -5,
  relevanceThreshold: 0.25,
  bait: 0.8,
  quality: 0.2,
  /** Items far from the budget are hardly ever clicked: a penalty past a tolerated gap. */
  priceGap: -3,
  toleratedPriceGap: 0.6,
  historyCategory: 0.15,
  historyShop: 0.12,
  historyBrand: 0.08,
  historyIntention: 0.08,
  /** By value of field 301. */
  scene: [0, 0.35, -0.45],
} as const;

export const CONVERSION_WEIGHTS = {
  taste: 1.2,
  buyTaste: 0.6,
  bait: -0.9,
  quality: 0.8,
  priceGap: -1.3,
  historyShop: 0.3,
  historyBrand: 0.1,
  scene: [0, -0.25, 0.5],
} as const;

/** Calibrated intercepts. */
export interface Biases {
  click: number;
  conversion: number;
}

/** Click logit into out[0] and conversion logit into out[1], both without their bias. */
export function impressionLogits(world: World, u: number, i: number, scene: number, history: SessionHistory, out: Float64Array): void {
  const { catalog: cat, population: pop } = world;
  const K = LATENT_DIM;
  let taste = 0;
  let buyTaste = 0;
  for (let d = 0; d < K; d++) {
    const v = cat.itemVector[i * K + d]!;
    taste += pop.userTaste[u * K + d]! * v;
    buyTaste += pop.userBuyTaste[u * K + d]! * v;
  }
  const lnCategory = LOG_COUNT[history.countOf(CATEGORY, cat.itemCategory[i]!)]!;
  const lnShop = LOG_COUNT[history.countOf(SHOP, cat.itemShop[i]!)]!;
  const lnBrand = LOG_COUNT[history.countOf(BRAND, cat.itemBrand[i]!)]!;
  let lnIntention = 0;
  for (let q = cat.itemIntentionOffsets[i]!; q < cat.itemIntentionOffsets[i + 1]!; q++) {
    lnIntention = Math.max(lnIntention, LOG_COUNT[history.countOf(INTENTION, cat.itemIntentions[q]!)]!);
  }
  const bait = cat.itemBait[i]!;
  const quality = cat.itemQuality[i]!;
  const priceGap = Math.abs(cat.itemPrice[i]! - pop.userBudget[u]!);
  const c = CLICK_WEIGHTS;
  out[0] =
    c.taste * taste +
    pop.userClickBias[u]! +
    c.bait * bait +
    c.quality * quality +
    c.irrelevance * Math.max(0, c.relevanceThreshold - taste) ** 2 +
    c.priceGap * Math.max(0, priceGap - c.toleratedPriceGap) +
    c.historyCategory * lnCategory +
    c.historyShop * lnShop +
    c.historyBrand * lnBrand +
    c.historyIntention * lnIntention +
    c.scene[scene]!;
  const v = CONVERSION_WEIGHTS;
  out[1] =
    v.taste * taste +
    v.buyTaste * buyTaste +
    pop.userBuyBias[u]! +
    v.bait * bait +
    v.quality * quality +
    v.priceGap * priceGap +
    v.historyShop * lnShop +
    v.historyBrand * lnBrand +
    v.scene[scene]!;
}
