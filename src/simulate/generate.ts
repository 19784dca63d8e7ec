/**
 * `generateDataset`: the simulator's entry point (the CLI's `esmm generate`). It builds a world
 * sized to the request, calibrates the true-probability model to the target rates, then writes
 * the train split and the test split (later sessions of the same world, with some new users and
 * items) in the raw Ali-CCP layout plus the truth files. Same options, same bytes.
 */
import { mkdirSync } from 'node:fs';
import { Rng } from '../util/rng.js';
import { calibrateBiases, calibrationImpressions } from './calibrate.js';
import { RawSplitWriter, splitPaths, type SplitCounts, type SplitPaths } from './raw-writer.js';
import { Session, SessionSampler, type Period } from './sessions.js';
import type { Biases } from './truth-model.js';
import { createWorld, type World, type WorldSizes } from './world.js';

export const DEFAULT_CTR = 0.04;
/**
 * Conversions per click. Ali-CCP has about 0.5% (18K conversions for 3.4M clicks); at that rate a
 * 1-2M-impression demo would have a few hundred conversions and CVR/CTCVR AUCs would move by
 * ±0.02 from noise alone. 5% gives thousands of conversions, enough to tell BASE from ESMM.
 */
export const DEFAULT_CVR = 0.05;
/** Ali-CCP: 0.4M users for 84M impressions (1/210); a little fewer keeps small worlds dense. */
export const DEFAULT_USERS_PER_IMPRESSION = 1 / 300;
/** Ali-CCP: 4.3M items for 84M impressions (1/20). */
export const DEFAULT_ITEMS_PER_IMPRESSION = 1 / 25;
/** Share of users and of items that first appear in the test period. */
export const NEW_SHARE = 0.1;

export type SplitName = Period;

export interface GenerateOptions {
  outDir: string;
  /** Train impressions. */
  train: number;
  /** Test impressions. */
  test: number;
  seed: number;
  /** Target clicks per impression (default 0.04). */
  ctr?: number;
  /** Target conversions per click (default 0.05). */
  cvr?: number;
  usersPerImpression?: number;
  itemsPerImpression?: number;
  /** History fields reuse the item fields' ids (109_14 category c = 206 category c). Default false. */
  sharedEntityIds?: boolean;
  onProgress?: (p: { split: SplitName; written: number; total: number }) => void;
}

export interface SplitSummary {
  files: SplitPaths;
  impressions: number;
  clicks: number;
  conversions: number;
  commonRows: number;
  meanCommonEntries: number;
  meanSkeletonEntries: number;
  meanImpressionsPerCommonRow: number;
  /** Mean true p_click over all impressions. */
  meanPClick: number;
  /** Mean true p_conv|click over all impressions (the entire space). */
  meanPConvGivenClick: number;
  /** Mean true p_conv|click over clicked impressions: differs from the above by the selection bias. */
  meanPConvGivenClickAmongClicked: number;
  bytes: number;
  seconds: number;
}

export interface GenerateSummary {
  seed: number;
  world: WorldSizes;
  targets: { ctr: number; cvr: number };
  biases: Biases;
  train: SplitSummary;
  test: SplitSummary;
  seconds: number;
}

/** How often progress is reported and the event loop is let through. */
const PROGRESS_EVERY = 1 << 16;

export async function generateDataset(opts: GenerateOptions): Promise<GenerateSummary> {
  const started = performance.now();
  const o = checkOptions(opts);
  mkdirSync(o.outDir, { recursive: true });
  const master = new Rng(o.seed);
  const worldSeed = master.nextU32();
  const world = createWorld(
    {
      totalImpressions: o.train + o.test,
      usersPerImpression: o.usersPerImpression,
      itemsPerImpression: o.itemsPerImpression,
      newShare: o.test > 0 ? NEW_SHARE : 0,
      sharedEntityIds: o.sharedEntityIds,
    },
    worldSeed,
  );
  const targets = { ctr: o.ctr, cvr: o.cvr };
  const biases = calibrateBiases(world, targets, master.fork(), calibrationImpressions(o.train + o.test));
  const trainRng = master.fork();
  const testRng = master.fork();
  const train = await writeSplit(world, biases, 'train', o.train, trainRng, o);
  const test = await writeSplit(world, biases, 'test', o.test, testRng, o);
  return {
    seed: o.seed,
    world: world.sizes,
    targets,
    biases,
    train,
    test,
    seconds: (performance.now() - started) / 1000,
  };
}

type CheckedOptions = Required<Omit<GenerateOptions, 'onProgress'>> & Pick<GenerateOptions, 'onProgress'>;

function checkOptions(opts: GenerateOptions): CheckedOptions {
  const o: CheckedOptions = {
    outDir: opts.outDir,
    train: opts.train,
    test: opts.test,
    seed: opts.seed,
    ctr: opts.ctr ?? DEFAULT_CTR,
    cvr: opts.cvr ?? DEFAULT_CVR,
    usersPerImpression: opts.usersPerImpression ?? DEFAULT_USERS_PER_IMPRESSION,
    itemsPerImpression: opts.itemsPerImpression ?? DEFAULT_ITEMS_PER_IMPRESSION,
    sharedEntityIds: opts.sharedEntityIds ?? false,
    onProgress: opts.onProgress,
  };
  const fail = (what: string): never => {
    throw new RangeError(`generateDataset: ${what}`);
  };
  if (!o.outDir) fail('outDir is empty: give the folder to write the dataset to');
  for (const key of ['train', 'test'] as const) {
    if (!Number.isSafeInteger(o[key]) || o[key] < 0) fail(`${key} must be a whole number of impressions ≥ 0, got ${o[key]}`);
  }
  if (o.train + o.test === 0) fail('train and test are both 0: ask for some impressions');
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) fail(`seed must be an integer in [0, 2^32), got ${o.seed}`);
  if (!(o.ctr > 0 && o.ctr < 1)) fail(`ctr must be in (0, 1), got ${o.ctr}`);
  if (!(o.cvr > 0 && o.cvr < 1)) fail(`cvr must be in (0, 1), got ${o.cvr}`);
  if (!(o.usersPerImpression > 0 && o.usersPerImpression <= 1)) fail(`usersPerImpression must be in (0, 1], got ${o.usersPerImpression}`);
  if (!(o.itemsPerImpression > 0 && o.itemsPerImpression <= 1)) fail(`itemsPerImpression must be in (0, 1], got ${o.itemsPerImpression}`);
  return o;
}

async function writeSplit(
  world: World,
  biases: Biases,
  split: Period,
  total: number,
  rng: Rng,
  o: CheckedOptions,
): Promise<SplitSummary> {
  const started = performance.now();
  const writer = new RawSplitWriter(world, splitPaths(o.outDir, split), split);
  const sampler = new SessionSampler(world, split, rng, biases);
  const session = new Session(world);
  let counts: SplitCounts;
  try {
    let written = 0;
    let nextReport = 0;
    while (written < total) {
      sampler.next(session, total - written);
      writer.writeSession(session);
      written += session.count;
      if (written >= nextReport) {
        o.onProgress?.({ split, written, total });
        nextReport = written + PROGRESS_EVERY;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    counts = writer.close();
    o.onProgress?.({ split, written: total, total });
  } catch (err) {
    writer.abort();
    throw err;
  }
  const rows = counts.commonRows;
  const n = counts.impressions;
  return {
    files: writer.paths,
    impressions: n,
    clicks: counts.clicks,
    conversions: counts.conversions,
    commonRows: rows,
    meanCommonEntries: rows > 0 ? counts.commonEntries / rows : 0,
    meanSkeletonEntries: n > 0 ? counts.skeletonEntries / n : 0,
    meanImpressionsPerCommonRow: rows > 0 ? n / rows : 0,
    meanPClick: n > 0 ? counts.sumPClick / n : 0,
    meanPConvGivenClick: n > 0 ? counts.sumPConv / n : 0,
    meanPConvGivenClickAmongClicked: counts.clicks > 0 ? counts.sumPConvClicked / counts.clicks : 0,
    bytes: counts.bytes,
    seconds: (performance.now() - started) / 1000,
  };
}
