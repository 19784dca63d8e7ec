import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../util/rng.js';
import { DEFAULT_BUCKETS, defaultSpec, inputWidth, loadSpec, parseSpec, SpecError, specForFields } from './spec.js';

const ALI_CCP_ORDER = [
  '101', '121', '122', '124', '125', '126', '127', '128', '129', '109_14', '110_14', '127_14', '150_14',
  '205', '206', '207', '210', '216', '508', '509', '702', '853', '301',
];

test('default spec: 23 Ali-CCP fields in order, dim 18, input width 414', () => {
  const spec = defaultSpec();
  assert.deepEqual(spec.fields.map((f) => f.name), ALI_CCP_ORDER);
  assert.equal(spec.embeddingDim, 18);
  assert.equal(inputWidth(spec), 414);
  assert.equal(spec.format, 'esmm-feature-spec');
  assert.equal(spec.version, 1);
});

test('default spec: shared tables, weighting and buckets as the seed declares them', () => {
  const spec = defaultSpec();
  const tableOf = Object.fromEntries(spec.fields.map((f) => [f.name, f.table]));
  for (const [a, b, table] of [
    ['109_14', '206', 'category'],
    ['110_14', '207', 'shop'],
    ['127_14', '216', 'brand'],
    ['150_14', '210', 'intention'],
  ] as const) {
    assert.equal(tableOf[a], table);
    assert.equal(tableOf[b], table);
  }
  const shared = new Set(['109_14', '206', '110_14', '207', '127_14', '216', '150_14', '210']);
  for (const f of spec.fields) if (!shared.has(f.name)) assert.equal(f.table, f.name, `field ${f.name} has its own table`);
  assert.equal(spec.tables.length, 19);
  assert.equal(new Set(spec.tables.map((t) => t.name)).size, 19);

  const weighted = spec.fields.filter((f) => f.weighted).map((f) => f.name);
  assert.deepEqual(weighted.sort(), ['109_14', '110_14', '127_14', '150_14', '508', '509', '702', '853'].sort());
  assert.ok(spec.fields.every((f) => f.pooling === 'sum'));

  const buckets = Object.fromEntries(spec.tables.map((t) => [t.name, t.buckets]));
  assert.equal(buckets['205'], 2 ** 22);
  for (const t of ['101', 'shop', 'brand', 'intention', '508', '509', '702', '853']) assert.equal(buckets[t], 2 ** 20, t);
  assert.equal(buckets['category'], 2 ** 17);
  for (const t of ['121', '122', '124', '125', '126', '127', '128', '129', '301']) assert.equal(buckets[t], 2 ** 12, t);
});

test('parseSpec accepts the default spec after a JSON round trip and returns a copy', () => {
  const json = JSON.parse(JSON.stringify(defaultSpec()));
  const parsed = parseSpec(json, 'default.json');
  assert.deepEqual(parsed, defaultSpec());
  json.fields[0].name = 'changed';
  assert.equal(parsed.fields[0]!.name, '101');
});

/** A small valid spec as plain JSON, to break one thing at a time. */
function validJson(): { [k: string]: unknown; tables: Record<string, unknown>[]; fields: Record<string, unknown>[] } {
  return {
    format: 'esmm-feature-spec',
    version: 1,
    embeddingDim: 8,
    tables: [
      { name: 'item', buckets: 1000 },
      { name: 'user', buckets: 50 },
    ],
    fields: [
      { name: '205', table: 'item', pooling: 'sum', weighted: false },
      { name: '101', table: 'user', pooling: 'mean', weighted: true },
    ],
  };
}

function assertSpecError(json: unknown, path: string, pattern: RegExp): void {
  assert.throws(
    () => parseSpec(json, 'my-spec.json'),
    (e: unknown) => {
      assert.ok(e instanceof SpecError, `expected a SpecError, got ${String(e)}`);
      assert.equal(e.source, 'my-spec.json');
      assert.equal(e.path, path);
      assert.match(e.message, /^my-spec\.json: /);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

test('parseSpec: each problem is reported with the source, the JSON path and a fix', () => {
  assert.doesNotThrow(() => parseSpec(validJson(), 'ok.json'));
  assertSpecError([], '$', /expected an object/);
  assertSpecError({ ...validJson(), format: 'other' }, '$.format', /expected "esmm-feature-spec", got "other"/);
  assertSpecError({ ...validJson(), version: 2 }, '$.version', /unsupported version 2.*reads version 1/);
  assertSpecError({ ...validJson(), embeddingDim: 0 }, '$.embeddingDim', /integer in \[1, 1024\], got 0/);
  assertSpecError({ ...validJson(), embeddingDim: 1025 }, '$.embeddingDim', /got 1025/);
  assertSpecError({ ...validJson(), embeddingDim: 2.5 }, '$.embeddingDim', /got 2\.5/);
  assertSpecError({ ...validJson(), extra: 1 }, '$.extra', /unknown key; the keys here are: format, version/);
  const { fields: _omitted, ...noFields } = validJson();
  assertSpecError(noFields, '$.fields', /missing; add it/);
  assertSpecError({ ...validJson(), tables: [] }, '$.tables', /is empty; declare at least one table/);

  const unknownTable = validJson();
  unknownTable.fields[1]!.table = 'usr';
  assertSpecError(unknownTable, '$.fields[1].table', /unknown table "usr"; declare it in \$\.tables or use one of: item, user/);

  const duplicateField = validJson();
  duplicateField.fields[1]!.name = '205';
  assertSpecError(duplicateField, '$.fields[1].name', /duplicate field "205"/);

  const duplicateTable = validJson();
  duplicateTable.tables[1]!.name = 'item';
  assertSpecError(duplicateTable, '$.tables[1].name', /duplicate table name "item"/);

  for (const bad of [0, -3, 1.5, 2 ** 31, '1000']) {
    const json = validJson();
    json.tables[0]!.buckets = bad;
    assertSpecError(json, '$.tables[0].buckets', /integer in \[1, 2147483647\]/);
  }
  const maxBuckets = validJson();
  maxBuckets.embeddingDim = 1;
  maxBuckets.tables[0]!.buckets = 2 ** 31 - 1;
  assert.equal(parseSpec(maxBuckets, 'max.json').tables[0]!.buckets, 2 ** 31 - 1);
  // A table is one Float32Array: buckets x dim must fit in 2^32 values.
  const tooBig = validJson();
  tooBig.tables[0]!.buckets = 2 ** 29 + 1;
  assertSpecError(tooBig, '$.tables[0].buckets', /536870913 buckets x embeddingDim 8 is more than the 4294967296 values a table can hold: use at most 536870912 buckets/);
  tooBig.tables[0]!.buckets = 2 ** 29;
  assert.equal(parseSpec(tooBig, 'edge.json').tables[0]!.buckets, 2 ** 29);

  const badPooling = validJson();
  badPooling.fields[0]!.pooling = 'max';
  assertSpecError(badPooling, '$.fields[0].pooling', /unknown pooling "max"; use one of: sum, mean/);

  const badWeighted = validJson();
  badWeighted.fields[0]!.weighted = 'yes';
  assertSpecError(badWeighted, '$.fields[0].weighted', /must be true or false, got "yes"/);

  const typo = validJson();
  typo.fields[0]!.weigthed = false;
  assertSpecError(typo, '$.fields[0].weigthed', /unknown key/);

  const unused = validJson();
  unused.tables.push({ name: 'orphan', buckets: 10 });
  assertSpecError(unused, '$.tables[2]', /table "orphan" is used by no field/);
});

test('loadSpec reads a file and names it in errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spec-test-'));
  try {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(validJson()));
    assert.equal(loadSpec(good).fields[1]!.pooling, 'mean');

    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"format": ');
    assert.throws(() => loadSpec(broken), (e: unknown) => e instanceof SpecError && e.message.startsWith(`${broken}: $: not valid JSON`));
    // A syntax error says where it is, as an editor counts lines and columns.
    writeFileSync(broken, JSON.stringify(validJson(), null, 2).replace('"version": 1,', '"version": 1,,'));
    assert.throws(() => loadSpec(broken), /: \$: not valid JSON \(.*, line 3 column 16\); fix the syntax$/);
    // A byte order mark is not a syntax error.
    writeFileSync(good, '\uFEFF' + JSON.stringify(validJson()));
    assert.equal(loadSpec(good).embeddingDim, 8);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...validJson(), embeddingDim: -1 }));
    assert.throws(() => loadSpec(bad), new RegExp(`^SpecError: ${bad.replace(/[.\\/]/g, '\\$&')}: \\$\\.embeddingDim`));

    assert.throws(() => loadSpec(join(dir, 'missing.json')), /missing\.json: \$: cannot read the spec file/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('specForFields keeps known fields and gives others an own table of 2^20 rows', () => {
  const spec = specForFields(['205', 'D1', '206', '109_14', 'shop', '110_14']);
  assert.deepEqual(spec.fields.map((f) => f.name), ['205', 'D1', '206', '109_14', 'shop', '110_14']);
  const byName = Object.fromEntries(spec.fields.map((f) => [f.name, f]));
  assert.deepEqual(byName['D1'], { name: 'D1', table: 'D1', pooling: 'sum', weighted: false });
  assert.equal(byName['206']!.table, 'category');
  assert.equal(byName['109_14']!.table, 'category');
  assert.equal(byName['109_14']!.weighted, true);
  // An unknown field named like a shared table must not merge into it.
  assert.notEqual(byName['shop']!.table, 'shop');
  assert.equal(byName['110_14']!.table, 'shop');
  const buckets = Object.fromEntries(spec.tables.map((t) => [t.name, t.buckets]));
  assert.equal(buckets['D1'], DEFAULT_BUCKETS);
  assert.equal(buckets[byName['shop']!.table], DEFAULT_BUCKETS);
  assert.equal(buckets['category'], 2 ** 17);
  assert.equal(buckets['205'], 2 ** 22);
  // The result passes the checked loader.
  assert.deepEqual(parseSpec(JSON.parse(JSON.stringify(spec)), 'derived'), spec);
  assert.throws(() => specForFields(['205', '205']), /"205" is listed twice/);
});

test('parseSpec fuzz: thousands of mutated specs give a valid spec or a SpecError with a path, never anything else', () => {
  const rng = new Rng(2018);
  const oddValues: unknown[] = [null, true, 0, -1, 1.5, 2 ** 40, '', 'x', 'sum', 'item', [], {}, [1, 2], { name: 'item' }, '__proto__', 'constructor'];
  let valid = 0;
  let errors = 0;
  for (let n = 0; n < 3000; n++) {
    const json = validJson() as unknown as Record<string, unknown>;
    for (let k = 1 + rng.int(3); k > 0; k--) mutate(json, rng, oddValues);
    try {
      const spec = parseSpec(json, 'fuzz.json');
      valid++;
      // What passes is usable: every field's table exists and sizes are in range.
      const tables = new Set(spec.tables.map((t) => t.name));
      assert.ok(spec.fields.every((f) => tables.has(f.table)));
      assert.ok(spec.tables.every((t) => Number.isInteger(t.buckets) && t.buckets >= 1 && t.buckets * spec.embeddingDim <= 2 ** 32));
    } catch (e) {
      assert.ok(e instanceof SpecError, `case ${n}: ${String(e)} for ${JSON.stringify(json)}`);
      assert.match(e.message, /^fuzz\.json: \$[^:]*: \S/);
      errors++;
    }
  }
  assert.ok(valid >= 5 && errors > 2000, `${valid} valid, ${errors} refused`);
});

/** Replaces, deletes or adds one value somewhere in the JSON tree. */
function mutate(root: Record<string, unknown>, rng: Rng, oddValues: unknown[]): void {
  let node: unknown = root;
  for (let depth = 0; depth < 4; depth++) {
    const keys = node !== null && typeof node === 'object' ? Object.keys(node) : [];
    if (keys.length === 0) return;
    const key = keys[rng.int(keys.length)]!;
    const child = (node as Record<string, unknown>)[key];
    if (child !== null && typeof child === 'object' && rng.int(3) !== 0) {
      node = child;
      continue;
    }
    const target = node as Record<string, unknown>;
    switch (rng.int(4)) {
      case 0:
        if (Array.isArray(target)) target.splice(Number(key), 1);
        else delete target[key];
        return;
      case 1:
        target[Array.isArray(target) ? key : `${key}_x`] = oddValues[rng.int(oddValues.length)];
        return;
      default:
        target[key] = oddValues[rng.int(oddValues.length)];
        return;
    }
  }
}
