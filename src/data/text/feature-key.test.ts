import assert from 'node:assert/strict';
import { test } from 'node:test';
import { featureKey, fnv1aBytes } from './feature-key.js';
import { PADDING_KEY } from '../types.js';

const key = (s: string): number => featureKey(Buffer.from(s, 'latin1'), 0, Buffer.byteLength(s, 'latin1'));

test('canonical decimal ids in [0, 2^32-2] are their own key', () => {
  assert.equal(key('0'), 0);
  assert.equal(key('9052218'), 9052218);
  assert.equal(key('4294967294'), 4294967294);
});

test('"-1" is the padding key', () => {
  assert.equal(key('-1'), PADDING_KEY);
});

test('other tokens hash with FNV-1a (32-bit), never to the padding key', () => {
  // FNV-1a of "a" is the published test vector 0xe40c292c.
  assert.equal(key('a'), 0xe40c292c);
  const big = '4294967295';
  assert.equal(key(big), fnv1aBytes(Buffer.from(big), 0, big.length));
  assert.notEqual(key(big), PADDING_KEY);
  assert.equal(key('foobar'), 0xbf9cf968);
  const tokens = ['007', '-2', '12345678901', 'bacff91692951881', '1.5', ''];
  const keys = tokens.map(key);
  assert.equal(new Set(keys).size, tokens.length);
  for (const k of keys) assert.ok(k !== PADDING_KEY && k >= 0 && k <= 0xffffffff);
  assert.notEqual(key('007'), key('7'));
});

test('featureKey reads a slice of a larger buffer', () => {
  const buf = Buffer.from('210\x029052218\x031.0');
  assert.equal(featureKey(buf, 4, 11), 9052218);
});
