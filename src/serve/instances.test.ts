import test from 'node:test';
import assert from 'node:assert/strict';
import { featureKey } from '../data/text/feature-key.js';
import { PADDING_KEY } from '../data/types.js';
import { DEFAULT_LIMITS, InstanceError, InstanceParser, concatRows } from './instances.js';
import { TEST_SPEC } from './test-model.js';

const utf8 = new TextEncoder();
const rawKey = (text: string): number => {
  const b = utf8.encode(text);
  return featureKey(b, 0, b.length);
};

test('ids map to the key the raw reader gives for the same id text', () => {
  const parser = new InstanceParser(TEST_SPEC);
  const cases: [unknown, string][] = [
    [0, '0'],
    [4015078, '4015078'],
    ['4015078', '4015078'],
    [2 ** 32 - 2, '4294967294'],
    [2 ** 32 - 1, '4294967295'], // not a plain key: hashed, like its text
    [2 ** 40, '1099511627776'],
    [-5, '-5'],
    ['007', '007'],
    ['abc', 'abc'],
    ['商品', '商品'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
  ];
  for (const [id, text] of cases) assert.equal(parser.keyOf(id, 'x'), rawKey(text), `id ${JSON.stringify(id)}`);
  assert.equal(parser.keyOf(-1, 'x'), PADDING_KEY);
  assert.equal(parser.keyOf('-1', 'x'), PADDING_KEY);
  assert.equal(parser.keyOf(4015078.0, 'x'), 4015078);
});

test('instances become jagged rows; values weight, missing values are 1, fields index the spec', () => {
  const parser = new InstanceParser(TEST_SPEC);
  const rows = parser.parse([{ '205': [11, '12'], '109_14': [[13, 2.5], [-1, 4]] }, {}, { '101': [[7, -0.5]] }]);
  assert.equal(rows.count, 3);
  assert.deepEqual([...rows.offsets], [0, 4, 4, 5]);
  assert.deepEqual([...rows.fields], [1, 1, 3, 3, 0]);
  assert.deepEqual([...rows.keys], [11, 12, 13, PADDING_KEY, 7]);
  assert.deepEqual([...rows.values], [1, 1, 2.5, 4, -0.5]);
  const both = concatRows([rows, parser.parse([{ '206': [1, 2] }])]);
  assert.deepEqual([...both.offsets], [0, 4, 4, 5, 7]);
  assert.deepEqual([...both.keys], [11, 12, 13, PADDING_KEY, 7, 1, 2]);
  assert.deepEqual([...both.fields], [1, 1, 3, 3, 0, 2, 2]);
});

test('every mistake is an InstanceError naming its path', () => {
  const parser = new InstanceParser(TEST_SPEC, { ...DEFAULT_LIMITS, maxInstances: 2, maxIdsPerField: 3, maxIdLength: 8 });
  const bad: [unknown, RegExp][] = [
    [{}, /^instances: must be an array of instances, got an object$/],
    [[], /^instances: is empty/],
    [[{}, {}, {}], /^instances: has 3 instances; at most 2 per request$/],
    [[null], /^instances\[0\]: an instance must be an object .* got null$/],
    [[[1]], /^instances\[0\]: an instance must be an object/],
    [[{}, { zzz: [1] }], /^instances\[1\]\["zzz"\]: unknown field; the model's fields are "101", "205", "206", "109_14", "216", "301"$/],
    [[{ '205': 5 }], /^instances\[0\]\["205"\]: must be an array of ids or \[id, value\] pairs, got 5$/],
    [[{ '205': [1, 2, 3, 4] }], /^instances\[0\]\["205"\]: has 4 entries; at most 3 per field$/],
    [[{ '205': [1.5] }], /^instances\[0\]\["205"\]\[0\]: id must be an integer or a non-empty string, got 1.5/],
    [[{ '205': [2 ** 60] }], /^instances\[0\]\["205"\]\[0\]: id 1152921504606847000 is beyond 2\^53 .* send it as a string$/],
    [[{ '205': [''] }], /^instances\[0\]\["205"\]\[0\]: id must be an integer or a non-empty string, got the string ""$/],
    [[{ '205': ['123456789'] }], /^instances\[0\]\["205"\]\[0\]: string id of 9 characters; at most 8$/],
    [[{ '205': [true] }], /^instances\[0\]\["205"\]\[0\]: id must be .* got true$/],
    [[{ '205': [[1]] }], /^instances\[0\]\["205"\]\[0\]: an \[id, value\] pair has 2 elements, got 1$/],
    [[{ '205': [[1, 'x']] }], /^instances\[0\]\["205"\]\[0\]\[1\]: value must be a finite number .* got the string "x"$/],
    [[{ '205': [[1, 1e39]] }], /^instances\[0\]\["205"\]\[0\]\[1\]: value must be a finite number \(float32 range\), got 1e\+39$/],
    [[{ '205': [[null, 1]] }], /^instances\[0\]\["205"\]\[0\]\[0\]: id must be .* got null$/],
    [[{ '205': [{}] }], /^instances\[0\]\["205"\]\[0\]: id must be .* got an object$/],
  ];
  for (const [input, message] of bad) {
    assert.throws(
      () => parser.parse(input),
      (e: unknown) => e instanceof InstanceError && message.test(e.message),
      `${JSON.stringify(input)} → ${message}`,
    );
  }
  assert.throws(() => parser.parse(JSON.parse('[{"__proto__": [1]}]')), /instances\[0\]\["__proto__"\]: unknown field/);
});
