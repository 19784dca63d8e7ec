/**
 * Feature specs: the default one for Ali-CCP, one derived from any field list, and the checked
 * loader for spec files written by hand.
 *
 * A spec file is the JSON form of FeatureSpec:
 *   { "format": "esmm-feature-spec", "version": 1, "embeddingDim": 18,
 *     "tables": [{ "name": "category", "buckets": 131072 }, ...],
 *     "fields": [{ "name": "109_14", "table": "category", "pooling": "sum", "weighted": true }, ...] }
 */
import { readFileSync } from 'node:fs';
import type { FeatureSpec, FieldSpec, Pooling, TableSpec } from './spec-types.js';

export const SPEC_FORMAT = 'esmm-feature-spec';
export const SPEC_VERSION = 1;
/** The paper's embedding dimension. */
export const DEFAULT_EMBEDDING_DIM = 18;
/** Bucket count of a table made for a field the default spec does not know. */
export const DEFAULT_BUCKETS = 2 ** 20;
/** Rows are indexed by int32. */
export const MAX_BUCKETS = 2 ** 31 - 1;
/** Values one table may hold (buckets × embeddingDim): the largest Float32Array Node 20 allocates. */
export const MAX_TABLE_VALUES = 2 ** 32;
export const MAX_EMBEDDING_DIM = 1024;
const POOLINGS: readonly Pooling[] = ['sum', 'mean'];

/** A spec that cannot be used, with where it came from and where in the JSON the problem is. */
export class SpecError extends Error {
  constructor(
    readonly source: string,
    readonly path: string,
    detail: string,
  ) {
    super(`${source}: ${path}: ${detail}`);
    this.name = 'SpecError';
  }
}

/**
 * The 23 Ali-CCP fields in input order: [field, table, weighted]. The `_14` and combination fields
 * (508..853) carry log counts as values, so they pool as weighted sums; user and item fields about
 * the same entity share a table (the seed's shared_embedding_columns).
 */
const ALI_CCP_FIELDS: readonly (readonly [field: string, table: string, weighted: boolean])[] = [
  ['101', '101', false],
  ['121', '121', false],
  ['122', '122', false],
  ['124', '124', false],
  ['125', '125', false],
  ['126', '126', false],
  ['127', '127', false],
  ['128', '128', false],
  ['129', '129', false],
  ['109_14', 'category', true],
  ['110_14', 'shop', true],
  ['127_14', 'brand', true],
  ['150_14', 'intention', true],
  ['205', '205', false],
  ['206', 'category', false],
  ['207', 'shop', false],
  ['210', 'intention', false],
  ['216', 'brand', false],
  ['508', '508', true],
  ['509', '509', true],
  ['702', '702', true],
  ['853', '853', true],
  ['301', '301', false],
];

/** Buckets per default table: big id spaces get more rows, small enumerations 2^12. */
const ALI_CCP_BUCKETS: Readonly<Record<string, number>> = {
  '205': 2 ** 22,
  '101': 2 ** 20,
  shop: 2 ** 20,
  brand: 2 ** 20,
  intention: 2 ** 20,
  '508': 2 ** 20,
  '509': 2 ** 20,
  '702': 2 ** 20,
  '853': 2 ** 20,
  category: 2 ** 17,
  '121': 2 ** 12,
  '122': 2 ** 12,
  '124': 2 ** 12,
  '125': 2 ** 12,
  '126': 2 ** 12,
  '127': 2 ** 12,
  '128': 2 ** 12,
  '129': 2 ** 12,
  '301': 2 ** 12,
};

/** The Ali-CCP spec: 23 fields, embedding dimension 18, dense input width 414. */
export function defaultSpec(): FeatureSpec {
  return specForFields(ALI_CCP_FIELDS.map(([field]) => field));
}

/**
 * A spec for the given fields, in the given order (CSV and PaddleRec data): fields the default spec
 * knows keep their table, buckets and weighting; any other field gets its own table of
 * DEFAULT_BUCKETS rows, plain sum pooling, unweighted.
 */
export function specForFields(fieldNames: readonly string[]): FeatureSpec {
  const known = new Map(ALI_CCP_FIELDS.map(([field, table, weighted]) => [field, { table, weighted }]));
  const tables = new Map<string, number>();
  const fields: FieldSpec[] = [];
  const seen = new Set<string>();
  for (const name of fieldNames) {
    if (seen.has(name)) throw new Error(`specForFields: field "${name}" is listed twice; list each field once`);
    seen.add(name);
    const entry = known.get(name);
    if (entry !== undefined) {
      tables.set(entry.table, ALI_CCP_BUCKETS[entry.table]!);
      fields.push({ name, table: entry.table, pooling: 'sum', weighted: entry.weighted });
    } else {
      const table = freeTableName(name, tables);
      tables.set(table, DEFAULT_BUCKETS);
      fields.push({ name, table, pooling: 'sum', weighted: false });
    }
  }
  return {
    format: SPEC_FORMAT,
    version: SPEC_VERSION,
    embeddingDim: DEFAULT_EMBEDDING_DIM,
    tables: [...tables].map(([name, buckets]) => ({ name, buckets })),
    fields,
  };
}

/** Table names the default spec shares between fields: an unknown field must not take one. */
const SHARED_TABLES: ReadonlySet<string> = new Set(ALI_CCP_FIELDS.filter(([f, t]) => f !== t).map(([, t]) => t));

/** The field's own name, unless a table already has it or a shared one may (a field named "shop"). */
function freeTableName(field: string, tables: ReadonlyMap<string, number>): string {
  let name = field;
  for (let i = 2; tables.has(name) || SHARED_TABLES.has(name); i++) name = `${field}#${i}`;
  return name;
}

/** Dense input width of the towers: one pooled vector per field. */
export function inputWidth(spec: FeatureSpec): number {
  return spec.fields.length * spec.embeddingDim;
}

/** Reads and checks a spec file; errors name the file and the JSON path. */
export function loadSpec(path: string): FeatureSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SpecError(path, '$', `cannot read the spec file (${(e as Error).message})`);
  }
  // Editors on Windows may start a UTF-8 file with a byte order mark, which JSON.parse refuses.
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SpecError(path, '$', `not valid JSON (${(e as Error).message}${where(text, (e as Error).message)}); fix the syntax`);
  }
  return parseSpec(json, path);
}

/**
 * Checks a parsed spec and returns a fresh copy; `source` (a file name, "model.json", ...) starts
 * every error message, followed by the JSON path and what to fix.
 */
export function parseSpec(json: unknown, source: string): FeatureSpec {
  const fail = (path: string, detail: string): never => {
    throw new SpecError(source, path, detail);
  };
  const root = expectObject(json, '$', ['format', 'version', 'embeddingDim', 'tables', 'fields'], fail);
  if (root.format !== SPEC_FORMAT) {
    fail('$.format', `expected "${SPEC_FORMAT}", got ${show(root.format)}: this is not a feature spec file`);
  }
  if (root.version !== SPEC_VERSION) {
    fail('$.version', `unsupported version ${show(root.version)}: this build reads version ${SPEC_VERSION}`);
  }
  const dim = root.embeddingDim;
  if (!isIntegerIn(dim, 1, MAX_EMBEDDING_DIM)) {
    fail('$.embeddingDim', `must be an integer in [1, ${MAX_EMBEDDING_DIM}], got ${show(dim)}`);
  }

  const tables = expectNonEmptyArray(root.tables, '$.tables', 'declare at least one table', fail).map(
    (item, i): TableSpec => {
      const path = `$.tables[${i}]`;
      const t = expectObject(item, path, ['name', 'buckets'], fail);
      const name = expectName(t.name, `${path}.name`, fail);
      if (!isIntegerIn(t.buckets, 1, MAX_BUCKETS)) {
        fail(`${path}.buckets`, `must be an integer in [1, ${MAX_BUCKETS}] (2^31-1), got ${show(t.buckets)}`);
      }
      const buckets = t.buckets as number;
      if (buckets * (dim as number) > MAX_TABLE_VALUES) {
        const most = Math.floor(MAX_TABLE_VALUES / (dim as number));
        fail(`${path}.buckets`, `${buckets} buckets x embeddingDim ${String(dim)} is more than the ${MAX_TABLE_VALUES} values a table can hold: use at most ${most} buckets`);
      }
      return { name, buckets };
    },
  );
  const tableNames = new Set<string>();
  tables.forEach((t, i) => {
    if (tableNames.has(t.name)) fail(`$.tables[${i}].name`, `duplicate table name "${t.name}"; rename or remove one`);
    tableNames.add(t.name);
  });

  const fields = expectNonEmptyArray(root.fields, '$.fields', 'declare at least one field', fail).map(
    (item, i): FieldSpec => {
      const path = `$.fields[${i}]`;
      const f = expectObject(item, path, ['name', 'table', 'pooling', 'weighted'], fail);
      const name = expectName(f.name, `${path}.name`, fail);
      const table = expectName(f.table, `${path}.table`, fail);
      if (!tableNames.has(table)) {
        fail(`${path}.table`, `unknown table "${table}"; declare it in $.tables or use one of: ${[...tableNames].join(', ')}`);
      }
      if (!POOLINGS.includes(f.pooling as Pooling)) {
        fail(`${path}.pooling`, `unknown pooling ${show(f.pooling)}; use one of: ${POOLINGS.join(', ')}`);
      }
      if (typeof f.weighted !== 'boolean') {
        fail(`${path}.weighted`, `must be true or false, got ${show(f.weighted)}`);
      }
      return { name, table, pooling: f.pooling as Pooling, weighted: f.weighted as boolean };
    },
  );
  const fieldNames = new Set<string>();
  fields.forEach((f, i) => {
    if (fieldNames.has(f.name)) fail(`$.fields[${i}].name`, `duplicate field "${f.name}"; list each field once`);
    fieldNames.add(f.name);
  });
  const used = new Set(fields.map((f) => f.table));
  tables.forEach((t, i) => {
    if (!used.has(t.name)) fail(`$.tables[${i}]`, `table "${t.name}" is used by no field; remove it or point a field at it`);
  });

  return { format: SPEC_FORMAT, version: SPEC_VERSION, embeddingDim: dim as number, tables, fields };
}

/** ", line L column C" for a JSON.parse message that gives a position, else "". */
function where(text: string, message: string): string {
  const m = /at position (\d+)/.exec(message);
  if (!m) return '';
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  return `, line ${line} column ${before.length - before.lastIndexOf('\n')}`;
}

type Fail = (path: string, detail: string) => never;

function expectObject(value: unknown, path: string, keys: readonly string[], fail: Fail): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(path, `expected an object, got ${show(value)}`);
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!keys.includes(key)) fail(`${path}.${key}`, `unknown key; the keys here are: ${keys.join(', ')}`);
  }
  for (const key of keys) {
    if (!(key in record)) fail(`${path}.${key}`, 'missing; add it');
  }
  return record;
}

function expectNonEmptyArray(value: unknown, path: string, hint: string, fail: Fail): unknown[] {
  if (!Array.isArray(value)) fail(path, `expected an array, got ${show(value)}`);
  const array = value as unknown[];
  if (array.length === 0) fail(path, `is empty; ${hint}`);
  return array;
}

function expectName(value: unknown, path: string, fail: Fail): string {
  if (typeof value !== 'string' || value.length === 0) fail(path, `expected a non-empty string, got ${show(value)}`);
  return value as string;
}

function isIntegerIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** A short rendering of a bad value for messages. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? text.slice(0, 57) + '...' : text;
}
