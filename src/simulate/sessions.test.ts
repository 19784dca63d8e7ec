import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../util/rng.js';
import { calibrateBiases, calibrationImpressions } from './calibrate.js';
import { MAX_SESSION_IMPRESSIONS, Session, SessionSampler, type Period } from './sessions.js';
import type { Biases } from './truth-model.js';
import { createWorld, type World } from './world.js';

const IMPRESSIONS = 50_000;
const world = createWorld(
  { totalImpressions: 2 * IMPRESSIONS, usersPerImpression: 1 / 300, itemsPerImpression: 1 / 25, newShare: 0.1, sharedEntityIds: false },
  2024,
);
const biases = calibrateBiases(world, { ctr: 0.04, cvr: 0.05 }, new Rng(1), calibrationImpressions(2 * IMPRESSIONS));

interface Draws {
  sessions: number;
  users: number[];
  items: number[];
  pClick: number[];
  pConv: number[];
  click: number[];
  conversion: number[];
  wouldConvert: number[];
}

function draw(w: World, b: Biases, period: Period, seed: number, n: number): Draws {
  const sampler = new SessionSampler(w, period, new Rng(seed), b);
  const s = new Session(w);
  const d: Draws = { sessions: 0, users: [], items: [], pClick: [], pConv: [], click: [], conversion: [], wouldConvert: [] };
  while (d.items.length < n) {
    sampler.next(s, n - d.items.length);
    assert.ok(s.count >= 1 && s.count <= MAX_SESSION_IMPRESSIONS);
    d.sessions++;
    for (let j = 0; j < s.count; j++) {
      d.users.push(s.user);
      d.items.push(s.items[j]!);
      d.pClick.push(s.pClick[j]!);
      d.pConv.push(s.pConvGivenClick[j]!);
      d.click.push(s.click[j]!);
      d.conversion.push(s.conversion[j]!);
      d.wouldConvert.push(s.wouldConvert[j]!);
    }
  }
  return d;
}

const train = draw(world, biases, 'train', 7, IMPRESSIONS);
const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);
const mean = (a: number[]): number => sum(a) / a.length;
const pick = <T>(a: T[], keep: number[]): T[] => a.filter((_, i) => keep[i] === 1);

/**
 * AUC of `score` against labels drawn as Bernoulli(p), in expectation over the draws: the
 * chance that a random positive outscores a random negative (ties count half), with every
 * impression a positive with weight p and a negative with weight 1 - p. No label noise.
 */
function expectedAuc(score: number[], p: number[]): number {
  const order = score.map((_, i) => i).sort((i, j) => score[i]! - score[j]!);
  let negBelow = 0;
  let area = 0;
  let pos = 0;
  let neg = 0;
  for (let k = 0; k < order.length; ) {
    let tiePos = 0;
    let tieNeg = 0;
    let end = k;
    while (end < order.length && score[order[end]!] === score[order[k]!]) {
      tiePos += p[order[end]!]!;
      tieNeg += 1 - p[order[end]!]!;
      end++;
    }
    area += tiePos * (negBelow + tieNeg / 2);
    negBelow += tieNeg;
    pos += tiePos;
    neg += tieNeg;
    k = end;
  }
  return area / (pos * neg);
}

test('rates: CTR about 4% and conversions per click about the target', () => {
  const ctr = mean(train.click);
  const clicks = sum(train.click);
  const cvr = sum(train.conversion) / clicks;
  assert.ok(ctr > 0.03 && ctr < 0.05, `CTR ${ctr}`);
  assert.ok(cvr > 0.03 && cvr < 0.075, `CVR among clicks ${cvr} (${clicks} clicks)`);
  // Without the label noise: expected conversions per expected click.
  let expectedConversions = 0;
  for (let i = 0; i < IMPRESSIONS; i++) expectedConversions += train.pClick[i]! * train.pConv[i]!;
  const expectedCvr = expectedConversions / sum(train.pClick);
  assert.ok(Math.abs(expectedCvr - 0.05) < 0.0075, `expected CVR among clicks ${expectedCvr}`);
});

test('labels follow the truth: conversions only on clicks, clicks ranked by p_click', () => {
  for (let i = 0; i < IMPRESSIONS; i++) {
    assert.equal(train.conversion[i], train.click[i]! & train.wouldConvert[i]!);
    assert.ok(train.pClick[i]! > 0 && train.pClick[i]! < 1 && train.pConv[i]! > 0 && train.pConv[i]! < 1);
  }
  // The hidden factors carry real signal (AUC of the truth itself, in expectation).
  assert.ok(expectedAuc(train.pClick, train.pClick) > 0.75);
  assert.ok(expectedAuc(train.pConv, train.pConv) > 0.75);
});

test('sessions hold tens of impressions', () => {
  const perSession = IMPRESSIONS / train.sessions;
  assert.ok(perSession >= 15 && perSession <= 60, `${perSession} impressions per session`);
});

test('selection bias: the clicked impressions are a biased sample of the entire space', () => {
  const clicked = train.click;
  const unclicked = clicked.map((c) => 1 - c);
  // Clicked impressions convert far more often than the average impression would.
  const allCvr = mean(train.pConv);
  const clickedCvr = mean(pick(train.pConv, clicked));
  assert.ok(clickedCvr > 1.3 * allCvr, `mean p_conv|click: clicked ${clickedCvr}, all ${allCvr}`);
  // Ranking conversions is harder inside the clicked set: the click already filtered out the
  // irrelevant and unaffordable items, so the conversion drivers vary less there.
  const aucClicked = expectedAuc(pick(train.pConv, clicked), pick(train.pConv, clicked));
  const aucUnclicked = expectedAuc(pick(train.pConv, unclicked), pick(train.pConv, unclicked));
  assert.ok(aucUnclicked - aucClicked > 0.015, `AUC of p_conv|click: clicked ${aucClicked}, unclicked ${aucUnclicked}`);
  // Covariate shift: clickbait items are over-represented among clicks, far-from-budget items under.
  const cat = world.catalog;
  const pop = world.population;
  const bait = train.items.map((i) => cat.itemBait[i]!);
  assert.ok(mean(pick(bait, clicked)) > mean(bait) + 0.1, `bait: clicked ${mean(pick(bait, clicked))}, all ${mean(bait)}`);
  const farFromBudget = train.items.map((i, j) => (Math.abs(cat.itemPrice[i]! - pop.userBudget[train.users[j]!]!) > 1.5 ? 1 : 0));
  const farAll = mean(farFromBudget);
  const farClicked = mean(pick(farFromBudget, clicked));
  assert.ok(farClicked < farAll / 2, `far from budget: clicked ${farClicked}, all ${farAll}`);
});

test('time split: new users and new items show up only in the test period', () => {
  const test = draw(world, biases, 'test', 8, 20_000);
  const { oldUsers, oldItems } = world.sizes;
  assert.ok(train.users.every((u) => u < oldUsers) && train.items.every((i) => i < oldItems));
  assert.ok(test.users.some((u) => u >= oldUsers), 'no new user in the test period');
  assert.ok(test.items.some((i) => i >= oldItems), 'no new item in the test period');
  const ctr = mean(test.click);
  assert.ok(ctr > 0.025 && ctr < 0.06, `test CTR ${ctr}`);
});
