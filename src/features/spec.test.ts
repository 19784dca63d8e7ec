import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  maxBuckets.tables[0]!.buckets = 2 ** 31 - 1;
  assert.equal(parseSpec(maxBuckets, 'max.json').tables[0]!.buckets, 2 ** 31 - 1);

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
