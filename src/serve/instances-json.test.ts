import test from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/rng.js';
import { FeatureRowsBuilder } from '../data/formats/feature-rows-builder.js';
import { DEFAULT_LIMITS, InstanceParser } from './instances.js';
import type { InstanceRows } from './instances.js';
import { InstancesJsonReader } from './instances-json.js';
import { TEST_SPEC } from './test-model.js';

const utf8 = new TextEncoder();

/** The general path: JSON.parse, then the object parser; null where it refuses the body. */
function general(parser: InstanceParser, text: string): InstanceRows | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null || !('instances' in body)) return null;
  try {
    return parser.parse((body as { instances: unknown }).instances);
  } catch {
    return null;
  }
}

function plain(rows: InstanceRows) {
  return { count: rows.count, offsets: [...rows.offsets], fields: [...rows.fields], keys: [...rows.keys], values: [...rows.values] };
}

/** The fast path's rows, checked to be exactly the general path's. */
function fast(parser: InstanceParser, text: string): InstanceRows | null {
  const rows = parser.parseJson(utf8.encode(text));
  if (rows) {
    const expected = general(parser, text);
    assert.ok(expected, `the fast path read a body the general path refuses: ${text.slice(0, 200)}`);
    assert.deepEqual(plain(rows), plain(expected), text.slice(0, 200));
  }
  return rows;
}

const FIELDS = TEST_SPEC.fields.map((f) => f.name);

/** Random instances of the plain shape, with the id and value forms clients send. */
function randomInstances(rng: Rng, count: number): Record<string, unknown>[] {
  const id = (): unknown => {
    switch (rng.nextU32() % 8) {
      case 0:
        return -1;
      case 1:
        return String(rng.nextU32());
      case 2:
        return `item_${rng.nextU32() % 1000}`;
      case 3:
        return rng.nextU32() * 4096 + (rng.nextU32() % 4096); // beyond 32 bits, within 15 digits
      case 4:
        return -(rng.nextU32() % 100000);
      default:
        return rng.nextU32() % 10_000_000;
    }
  };
  const value = (): number => {
    switch (rng.nextU32() % 6) {
      case 0:
        return 0;
      case 1:
        return -rng.next() * 5;
      case 2:
        return rng.next() * 1e-12;
      case 3:
        return Math.round(rng.next() * 1e5) / 1e5;
      default:
        return Math.log(1 + rng.nextU32() % 50);
    }
  };
  return Array.from({ length: count }, () => {
    const inst: Record<string, unknown> = {};
    // Fields in a random order: array-index names and others mixed.
    const names = [...FIELDS].sort(() => rng.next() - 0.5).slice(0, rng.nextU32() % (FIELDS.length + 1));
    for (const name of names) {
      inst[name] = Array.from({ length: rng.nextU32() % 6 }, () => (rng.next() < 0.4 ? [id(), value()] : id()));
    }
    return inst;
  });
}

test('the fast path reads plain bodies into exactly the rows JSON.parse + parse() give', () => {
  const parser = new InstanceParser(TEST_SPEC);
  const rng = new Rng(3);
  for (let i = 0; i < 300; i++) {
    const instances = randomInstances(rng, 1 + (rng.nextU32() % 17));
    const body = { instances };
    // Compact, pretty-printed and with the fields re-ordered by hand: all the same rows.
    assert.ok(fast(parser, JSON.stringify(body)), 'a plain body takes the fast path');
    assert.ok(fast(parser, JSON.stringify(body, null, i % 2 ? 2 : '\t')));
    assert.ok(fast(parser, ` \r\n${JSON.stringify(body).replaceAll(',', ' , ').replaceAll(':', '\n:\t')}\n `));
  }
});

test('the fast path keeps the general order of fields: array-index names first, ascending', () => {
  const parser = new InstanceParser(TEST_SPEC);
  const rows = fast(parser, '{"instances": [{"109_14": [[5, 0.5]], "205": [7], "101": [3, 4]}]}');
  assert.ok(rows);
  assert.deepEqual([...rows.keys], [3, 4, 7, 5]);
});

test('ids and values the fast path reads as JSON.parse does', () => {
  const parser = new InstanceParser(TEST_SPEC);
  const bodies = [
    '{"instances":[{"205":[0, -0, -1, "-1", 4294967294, 4294967295, 999999999999999, -99999]}]}',
    '{"instances":[{"205":["4015078", "007", "a b", "~!@#$%^&*()"]}]}',
    '{"instances":[{"109_14":[[1, 1.94591], [2, -0.0], [3, 0.1], [4, 1e-3], [5, 2.5E+10], [6, 1234567890.1234567], [7, 3.4028234663852886e38]]}]}',
    '{"instances":[{"109_14":[[1, 0.000000000000000000000000123], [2, 123456789012345678], [3, -7]]}]}',
    '{"instances":[{}, {"205": []}, {"205": [1]}]}',
  ];
  for (const body of bodies) assert.ok(fast(parser, body), body);
});

test('bodies outside the plain shape go to the general path (null), valid or not', () => {
  const parser = new InstanceParser(TEST_SPEC, { maxInstances: 3, maxIdsPerField: 4, maxIdLength: 8 });
  const refused = [
    '{"instances":[{"205":[1]}],"signature_name":"serving_default"}', // valid, another key
    '{"signature_name":"serving_default","instances":[{"205":[1]}]}',
    '{"instances":[{"205":["a\\u0062"]}]}', // escapes
    '{"instances":[{"205":["商品"]}]}', // non-ASCII
    '{"instances":[{"205":[1e3]}]}', // an integer id written with an exponent
    '{"instances":[{"205":[1.0]}]}',
    '{"instances":[{"205":[1234567890123456]}]}', // 16 digits
    '{"instances":[{"205":[1], "205":[2]}]}', // a field twice
    '{"instances":[{"999":[1]}]}', // unknown field
    '{"instances":[{"205":[1]},{"205":[1]},{"205":[1]},{"205":[1]}]}', // over maxInstances
    '{"instances":[{"205":[1,2,3,4,5]}]}', // over maxIdsPerField
    '{"instances":[{"205":["123456789"]}]}', // over maxIdLength
    '{"instances":[{"205":[""]}]}',
    '{"instances":[]}',
    '{"instances":[{"205":[1]}]} x',
    '{"instances":[{"205":[1,]}]}',
    '{"instances":[{"205":[[1]]}]}',
    '{"instances":[{"205":[[1, 2, 3]]}]}',
    '{"instances":[{"109_14":[[1, "2"]]}]}',
    '{"instances":[{"109_14":[[1, 1e39]]}]}',
    '{"instances":[{"205":[01]}]}',
    '{"instances":[{"205":[true]}]}',
    '{"instances":[{"205":1}]}',
    '{"instances":[[]]}',
    '{"instances":{}}',
    '[{"205":[1]}]',
    '',
    '{"instances":[{"205":[1]}]',
  ];
  for (const body of refused) assert.equal(parser.parseJson(utf8.encode(body)), null, body);
});

test('an exception inside the fast path is thrown, not taken for a body it leaves to the general path', () => {
  const body = utf8.encode('{"instances":[{"205":[1]}]}');
  for (const bug of [new Error('bug: an index past the end'), new TypeError("Cannot read properties of undefined (reading 'length')")]) {
    const reader = new InstancesJsonReader(FIELDS, DEFAULT_LIMITS, () => {
      throw bug;
    });
    assert.throws(
      () => reader.read(body, new FeatureRowsBuilder(4, 16)),
      (e: unknown) => e === bug,
      `${bug.name} "${bug.message}" thrown inside the fast path did not leave read(): a bug would hide behind the general path`,
    );
  }
});

test('fuzz: mutated bodies are read as the general path reads them, or left to it', () => {
  const parser = new InstanceParser(TEST_SPEC);
  const rng = new Rng(8);
  const alphabet = utf8.encode('{}[],:"-.eE+0123456789 \\a');
  let fastReads = 0;
  for (let i = 0; i < 3000; i++) {
    const bytes = utf8.encode(JSON.stringify({ instances: randomInstances(rng, 1 + (rng.nextU32() % 3)) }));
    const mutated = Array.from(bytes);
    for (let k = 1 + (rng.nextU32() % 3); k > 0; k--) {
      const at = rng.nextU32() % mutated.length;
      switch (rng.nextU32() % 3) {
        case 0:
          mutated[at] = alphabet[rng.nextU32() % alphabet.length]!;
          break;
        case 1:
          mutated.splice(at, 1);
          break;
        default:
          mutated.splice(at, 0, alphabet[rng.nextU32() % alphabet.length]!);
      }
    }
    const text = new TextDecoder().decode(Uint8Array.from(mutated));
    // fast() checks that whatever it reads equals the general path's rows; it must never throw.
    if (fast(parser, text)) fastReads++;
  }
  assert.ok(fastReads > 300, `the fast path read ${fastReads} of 3000 mutated bodies`);
});
