import { fnv1a32 } from '../util/fnv.js';
import { Rng, mix32 } from '../util/rng.js';

/** The variable that replays (or varies) the random choices of the tests that draw them. */
export const TEST_SEED_VARIABLE = 'ESMM_TEST_SEED';

/**
 * The seed of a test's random choices: ESMM_TEST_SEED when set, else the test's fixed default.
 * Every random choice a test makes comes from it (never Math.random), so that a failure can be
 * replayed: run the test again with the seed the failure printed.
 */
export function testSeed(fallback: number): number {
  const text = process.env[TEST_SEED_VARIABLE];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`${TEST_SEED_VARIABLE} must be an integer in [0, 2^32), got '${text}'`);
  return n;
}

export interface Replayable {
  seed: number;
  /** The test's own generator: the seed mixed with the test's name (tests in one file differ). */
  rng: Rng;
  /** "seed N (replay: ESMM_TEST_SEED=N)", for failure messages. */
  replay: string;
}

/**
 * Runs `body` with a generator from the test's seed; a failure's message ends with the seed and
 * how to replay it, and the seed is logged as the test's diagnostic either way.
 */
export async function withTestSeed(name: string, fallback: number, body: (r: Replayable) => Promise<void>, log: (line: string) => void = console.log): Promise<void> {
  const seed = testSeed(fallback);
  const replay = `seed ${seed} (replay: ${TEST_SEED_VARIABLE}=${seed})`;
  log(`${name}: ${replay}`);
  try {
    await body({ seed, rng: new Rng(mix32(seed ^ fnv1a32(name))), replay });
  } catch (e) {
    if (e instanceof Error) e.message += `\n  random choices from ${replay}`;
    throw e;
  }
}
