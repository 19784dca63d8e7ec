import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../util/paths.js';
import { TEST_SEED_VARIABLE, testSeed, withTestSeed } from './seed.js';

const SRC = join(packageRoot(), 'src');

function sourceFiles(d: string): string[] {
  return readdirSync(d, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(d, e.name)) : e.name.endsWith('.ts') ? [join(d, e.name)] : [],
  );
}

test('no test draws an unseeded random number (Math.random, crypto): every choice is replayable', () => {
  const unseeded = /Math\.random\s*\(|crypto\.random|randomInt\s*\(|randomUUID\s*\(|getRandomValues\s*\(/;
  const offenders = sourceFiles(SRC)
    .filter((f) => unseeded.test(readFileSync(f, 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '')))
    .map((f) => relative(SRC, f));
  assert.deepEqual(offenders, [], `draw from a seeded Rng instead (test-support/seed.ts: withTestSeed): ${offenders.join(', ')}`);
});

test(`${TEST_SEED_VARIABLE} overrides a test's default seed, and a failure names the seed`, async () => {
  const saved = process.env[TEST_SEED_VARIABLE];
  try {
    delete process.env[TEST_SEED_VARIABLE];
    assert.equal(testSeed(17), 17);
    process.env[TEST_SEED_VARIABLE] = '4242';
    assert.equal(testSeed(17), 4242);
    process.env[TEST_SEED_VARIABLE] = 'x';
    assert.throws(() => testSeed(17), /ESMM_TEST_SEED must be an integer/);
    process.env[TEST_SEED_VARIABLE] = '99';
    const logged: string[] = [];
    const draws: number[] = [];
    await assert.rejects(
      withTestSeed('t', 1, async ({ rng }) => {
        draws.push(rng.next());
        assert.fail('boom');
      }, (l) => logged.push(l)),
      (e: Error) => /boom\n  random choices from seed 99 \(replay: ESMM_TEST_SEED=99\)$/.test(e.message),
    );
    assert.deepEqual(logged, ['t: seed 99 (replay: ESMM_TEST_SEED=99)']);
    await withTestSeed('t', 1, async ({ rng }) => void assert.equal(rng.next(), draws[0]), () => {});
  } finally {
    if (saved === undefined) delete process.env[TEST_SEED_VARIABLE];
    else process.env[TEST_SEED_VARIABLE] = saved;
  }
});
