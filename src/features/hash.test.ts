import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketOf, tableSalt } from './hash.js';
import { defaultSpec } from './spec.js';

test('tableSalt is 32-bit FNV-1a (published test vectors)', () => {
  assert.equal(tableSalt(''), 0x811c9dc5);
  assert.equal(tableSalt('a'), 0xe40c292c);
  assert.equal(tableSalt('foobar'), 0xbf9cf968);
});

test('tableSalt hashes UTF-8 bytes, and the default tables get distinct salts', () => {
  // "é" is two UTF-8 bytes (0xc3 0xa9): FNV-1a over them, step by step.
  let h = 0x811c9dc5;
  for (const byte of [0xc3, 0xa9]) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  assert.equal(tableSalt('é'), h);
  const salts = defaultSpec().tables.map((t) => tableSalt(t.name));
  assert.equal(new Set(salts).size, salts.length);
});

test('bucketOf stays in range, depends on the salt, and spreads ids evenly', () => {
  const buckets = 64;
  const counts = new Array<number>(buckets).fill(0);
  const salt = tableSalt('category');
  const other = tableSalt('shop');
  let sameInBoth = 0;
  const n = 64 * 1024;
  for (let key = 0; key < n; key++) {
    const b = bucketOf(key, salt, buckets);
    assert.ok(Number.isInteger(b) && b >= 0 && b < buckets);
    counts[b]!++;
    if (b === bucketOf(key, other, buckets)) sameInBoth++;
  }
  // Sequential ids must not pile up: chi-square with 63 degrees of freedom stays far below 150.
  const expected = n / buckets;
  const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
  assert.ok(chi2 < 150, `chi-square ${chi2.toFixed(1)} over ${buckets} buckets`);
  // Two tables place an id independently: about 1/64 of ids coincide.
  assert.ok(Math.abs(sameInBoth / n - 1 / buckets) < 0.005, `${sameInBoth} of ${n} ids share a bucket in both tables`);
});

test('bucketOf handles the full uint32 key range and the largest bucket count', () => {
  for (const key of [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe]) {
    const b = bucketOf(key, tableSalt('205'), 2 ** 31 - 1);
    assert.ok(Number.isInteger(b) && b >= 0 && b < 2 ** 31 - 1, `key ${key} -> ${b}`);
  }
  assert.equal(bucketOf(123456, tableSalt('x'), 1), 0);
});
