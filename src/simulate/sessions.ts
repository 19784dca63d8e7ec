/**
 * Sessions: the unit behind one common row. A session is one user at one time with the history
 * they had then, shown a few tens of items by the recommender; each impression gets its true
 * probabilities and its labels:
 *
 *   click      ~ Bernoulli(p_click)
 *   conversion = click and (u < p_conv|click)     with u drawn for every impression,
 *
 * so `wouldConvert` (u < p_conv|click) is the counterfactual conversion of unclicked impressions,
 * which tests use to measure the selection bias. Buffers are reused from session to session.
 */
import type { Rng } from '../util/rng.js';
import { CATEGORY, SCENE_COUNT } from './feature-ids.js';
import { SessionHistory, buildHistory } from './history.js';
import { favouriteItem, itemInCategory, popularItem } from './item-choice.js';
import { pickCumulative, sigmoid } from './sampling.js';
import { impressionLogits, type Biases } from './truth-model.js';
import type { World } from './world.js';

export type Period = 'train' | 'test';

/** Most impressions in one session. */
export const MAX_SESSION_IMPRESSIONS = 400;
/** Median impressions per session (the mean is about 1.2 times it). */
const MEDIAN_SESSION_IMPRESSIONS = 28;
/** How the recommender fills a session: favourite categories, then history categories, else popular. */
const FAVOURITE_SHARE = 0.5;
const HISTORY_SHARE = 0.2;
/** Primary scene of a session (field 301) and how often an impression keeps it. */
const SCENE_SHARES = [0.6, 0.3, 0.1] as const;
const SCENE_STICKINESS = 0.85;

export class Session {
  user = 0;
  /** Impressions in use. */
  count = 0;
  readonly history: SessionHistory;
  readonly items = new Int32Array(MAX_SESSION_IMPRESSIONS);
  readonly scenes = new Uint8Array(MAX_SESSION_IMPRESSIONS);
  readonly pClick = new Float64Array(MAX_SESSION_IMPRESSIONS);
  readonly pConvGivenClick = new Float64Array(MAX_SESSION_IMPRESSIONS);
  readonly click = new Uint8Array(MAX_SESSION_IMPRESSIONS);
  readonly conversion = new Uint8Array(MAX_SESSION_IMPRESSIONS);
  readonly wouldConvert = new Uint8Array(MAX_SESSION_IMPRESSIONS);
  /** Logits without the biases (what calibration needs). */
  readonly clickLogit = new Float64Array(MAX_SESSION_IMPRESSIONS);
  readonly convLogit = new Float64Array(MAX_SESSION_IMPRESSIONS);

  constructor(world: World) {
    this.history = new SessionHistory(world);
  }
}

export class SessionSampler {
  private readonly logits = new Float64Array(2);

  constructor(
    private readonly world: World,
    private readonly period: Period,
    private readonly rng: Rng,
    private readonly biases: Biases,
  ) {}

  /** Draws the next session, with at most `maxImpressions` impressions, into `s`. */
  next(s: Session, maxImpressions: number): void {
    const { world, rng } = this;
    const includeNew = this.period === 'test';
    const users = includeNew ? world.sizes.users : world.sizes.oldUsers;
    const u = pickCumulative(rng, world.population.userActivity, users);
    s.user = u;
    buildHistory(world, u, this.period, rng, s.history);
    s.count = Math.min(maxImpressions, sessionLength(rng));
    const primaryScene = pickScene(rng);
    const historyCategories = s.history.entities[CATEGORY]!;
    const historyCategoryCount = s.history.lengths[CATEGORY]!;
    for (let j = 0; j < s.count; j++) {
      const r = rng.next();
      let item = -1;
      if (r < FAVOURITE_SHARE) {
        item = favouriteItem(world, u, includeNew, rng);
      } else if (r < FAVOURITE_SHARE + HISTORY_SHARE && historyCategoryCount > 0) {
        item = itemInCategory(world, historyCategories[rng.int(historyCategoryCount)]!, includeNew, rng);
      }
      if (item < 0) item = popularItem(world, includeNew, rng);
      const scene = rng.next() < SCENE_STICKINESS ? primaryScene : rng.int(SCENE_COUNT);
      s.items[j] = item;
      s.scenes[j] = scene;
      impressionLogits(world, u, item, scene, s.history, this.logits);
      s.clickLogit[j] = this.logits[0]!;
      s.convLogit[j] = this.logits[1]!;
      const pClick = sigmoid(this.biases.click + this.logits[0]!);
      const pConv = sigmoid(this.biases.conversion + this.logits[1]!);
      s.pClick[j] = pClick;
      s.pConvGivenClick[j] = pConv;
      const clicked = rng.next() < pClick ? 1 : 0;
      const converts = rng.next() < pConv ? 1 : 0;
      s.click[j] = clicked;
      s.wouldConvert[j] = converts;
      s.conversion[j] = clicked & converts;
    }
  }
}

function sessionLength(rng: Rng): number {
  const n = Math.round(Math.exp(Math.log(MEDIAN_SESSION_IMPRESSIONS) + 0.6 * rng.normal()));
  return Math.max(3, Math.min(MAX_SESSION_IMPRESSIONS, n));
}

function pickScene(rng: Rng): number {
  let r = rng.next();
  for (let s = 0; s < SCENE_SHARES.length - 1; s++) {
    r -= SCENE_SHARES[s]!;
    if (r < 0) return s;
  }
  return SCENE_SHARES.length - 1;
}
