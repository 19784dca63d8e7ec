/**
 * Prediction instances as users send them, checked and turned into jagged feature rows.
 *
 * An instance maps field names of the model's spec to the raw features of that field, as in the
 * raw data: ids, each optionally with its value (the pooling weight of weighted fields, 1 when
 * absent). Ids are JSON numbers or strings; missing fields pool to zero vectors.
 *
 *   { "205": [4015078], "206": ["7523"], "109_14": [[600123, 1.94591], [600124, 0.69315]] }
 *
 * An id becomes exactly the 32-bit key the raw reader gives for the same id text (featureKey):
 * 4015078 and "4015078" are the same feature, -1 is padding (pools to nothing), any other text is
 * hashed. Then the BatchBuilder hashes keys to embedding rows as in training.
 *
 * Everything a request can get wrong is an InstanceError whose path says where:
 *   instances[3]["205"][0]: id must be an integer or a non-empty string, got 1.5
 */
import { featureKey } from '../data/text/feature-key.js';
import { PADDING_KEY, type FeatureRows } from '../data/types.js';
import type { FeatureSpec } from '../features/spec-types.js';
import { InstancesJsonReader } from './instances-json.js';
import { FeatureRowsBuilder } from '../data/formats/feature-rows-builder.js';

export type FeatureId = number | string;
/** An id, or an [id, value] pair. */
export type FeatureEntry = FeatureId | readonly [FeatureId, number];
/** Raw features of one impression: field name → entries. */
export type Instance = Readonly<Record<string, readonly FeatureEntry[]>>;

/** Parsed instances: row r = instance r; `fields` index the spec's fields. */
export type InstanceRows = FeatureRows;

export interface InstanceLimits {
  /** Instances in one call. */
  maxInstances: number;
  /** Entries of one field of one instance. */
  maxIdsPerField: number;
  /** UTF-16 length of a string id. */
  maxIdLength: number;
}

export const DEFAULT_LIMITS: Readonly<InstanceLimits> = { maxInstances: 1024, maxIdsPerField: 10_000, maxIdLength: 256 };

/** A request that cannot be predicted, with the JSON path of the problem. */
export class InstanceError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'InstanceError';
  }
}

/** Largest float32: larger values would become Infinity as pooling weights. */
const FLOAT32_MAX = 3.4028234663852886e38;
const MAX_PLAIN_KEY = PADDING_KEY - 1;

/**
 * Checks instances against one spec and writes them as jagged rows. Not reentrant (it reuses a
 * byte scratch for string ids), but every parse() returns arrays of its own.
 */
export class InstanceParser {
  private readonly fieldIndex = new Map<string, number>();
  private readonly fieldList: string;
  private readonly encoder = new TextEncoder();
  /**
   * Scratch of every parse (parse is synchronous), reused across requests: only trimmed copies
   * leave. Fresh arrays per request (~14 KB of typed arrays) are external memory that makes V8
   * run its stop-the-world mark-compact every second or two under load.
   */
  private readonly rows = new FeatureRowsBuilder(64, 4096);
  private readonly idBytes: Uint8Array;
  private readonly json: InstancesJsonReader;

  constructor(
    spec: FeatureSpec,
    readonly limits: InstanceLimits = DEFAULT_LIMITS,
  ) {
    if (spec.fields.length > 256) throw new RangeError(`the spec has ${spec.fields.length} fields; serving supports at most 256`);
    spec.fields.forEach((f, i) => this.fieldIndex.set(f.name, i));
    const names = spec.fields.map((f) => JSON.stringify(f.name));
    this.fieldList = names.length <= 30 ? names.join(', ') : `${names.slice(0, 30).join(', ')}, ... (${names.length} in all)`;
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    this.idBytes = new Uint8Array(3 * limits.maxIdLength);
    this.json = new InstancesJsonReader(
      spec.fields.map((f) => f.name),
      limits,
      (id) => this.keyOrMinusOne(id),
    );
  }

  /** `instances` as parsed from JSON (or given by a caller): an array of instance objects. */
  parse(instances: unknown, path = 'instances'): InstanceRows {
    if (!Array.isArray(instances)) throw new InstanceError(path, `must be an array of instances, got ${describe(instances)}`);
    if (instances.length === 0) throw new InstanceError(path, 'is empty; send at least one instance');
    if (instances.length > this.limits.maxInstances) {
      throw new InstanceError(path, `has ${instances.length} instances; at most ${this.limits.maxInstances} per request`);
    }
    const out = this.rows;
    out.clear();
    for (let r = 0; r < instances.length; r++) {
      this.parseInstance(instances[r], `${path}[${r}]`, out);
      out.commitRow();
    }
    return copyOf(out.view());
  }

  /**
   * The rows of a request body {"instances": [...]} read straight from its bytes, or null when
   * the body is not in the plain shape that fast path reads (see instances-json.ts): then
   * JSON.parse and parse() give the same rows, or the error that says what is wrong.
   */
  parseJson(body: Uint8Array): InstanceRows | null {
    this.rows.clear();
    return this.json.read(body, this.rows) ? copyOf(this.rows.view()) : null;
  }

  /** The 32-bit feature key of an id, as the raw reader would store the same id text. */
  keyOf(id: unknown, path: string): number {
    const key = this.keyOrMinusOne(id);
    if (key >= 0) return key;
    throw this.idProblem(id, path);
  }

  /** The key of a valid id, or -1 (idProblem() then says what is wrong): no strings made here. */
  private keyOrMinusOne(id: unknown): number {
    if (typeof id === 'number') {
      if (Number.isInteger(id) && id >= 0 && id <= MAX_PLAIN_KEY) return id;
      if (id === -1) return PADDING_KEY;
      return Number.isSafeInteger(id) ? this.textKey(String(id)) : -1;
    }
    return typeof id === 'string' ? this.textKey(id) : -1;
  }

  private textKey(text: string): number {
    if (text.length === 0 || text.length > this.limits.maxIdLength) return -1;
    const { written } = this.encoder.encodeInto(text, this.idBytes);
    return featureKey(this.idBytes, 0, written);
  }

  private idProblem(id: unknown, path: string): InstanceError {
    if (typeof id === 'number' && Number.isInteger(id)) {
      return new InstanceError(path, `id ${id} is beyond 2^53 and lost digits in JSON; send it as a string`);
    }
    if (typeof id === 'number') {
      return new InstanceError(path, `id must be an integer or a non-empty string, got ${describe(id)} (an id with a value is an [id, value] pair)`);
    }
    if (typeof id === 'string' && id.length > this.limits.maxIdLength) {
      return new InstanceError(path, `string id of ${id.length} characters; at most ${this.limits.maxIdLength}`);
    }
    return new InstanceError(path, `id must be an integer or a non-empty string, got ${describe(id)}`);
  }

  private parseInstance(instance: unknown, path: string, out: FeatureRowsBuilder): void {
    if (typeof instance !== 'object' || instance === null || Array.isArray(instance)) {
      throw new InstanceError(path, `an instance must be an object of field name → ids, got ${describe(instance)}`);
    }
    // Paths are only spelled out for an error: a request has thousands of entries.
    for (const name in instance) {
      if (!Object.hasOwn(instance, name)) continue;
      const at = (...more: (string | number)[]): string => `${path}[${JSON.stringify(name)}]${more.map((m) => `[${m}]`).join('')}`;
      const f = this.fieldIndex.get(name);
      if (f === undefined) throw new InstanceError(at(), `unknown field; the model's fields are ${this.fieldList}`);
      const entries = (instance as Record<string, unknown>)[name];
      if (!Array.isArray(entries)) {
        throw new InstanceError(at(), `must be an array of ids or [id, value] pairs, got ${describe(entries)}`);
      }
      if (entries.length > this.limits.maxIdsPerField) {
        throw new InstanceError(at(), `has ${entries.length} entries; at most ${this.limits.maxIdsPerField} per field`);
      }
      for (let e = 0; e < entries.length; e++) {
        const entry: unknown = entries[e];
        if (Array.isArray(entry)) {
          if (entry.length !== 2) throw new InstanceError(at(e), `an [id, value] pair has 2 elements, got ${entry.length}`);
          const value: unknown = entry[1];
          if (typeof value !== 'number' || !(value >= -FLOAT32_MAX && value <= FLOAT32_MAX)) {
            throw new InstanceError(at(e, 1), `value must be a finite number (float32 range), got ${describe(value)}`);
          }
          const key = this.keyOrMinusOne(entry[0]);
          if (key < 0) throw this.idProblem(entry[0], at(e, 0));
          out.push(f, key, value);
        } else {
          const key = this.keyOrMinusOne(entry);
          if (key < 0) throw this.idProblem(entry, at(e));
          out.push(f, key, 1);
        }
      }
    }
  }
}

/**
 * Rows in arrays of their own, trimmed to size, all four in one ArrayBuffer: every buffer is a
 * separate free when the young generation is swept, and this runs once per request.
 */
function copyOf(rows: InstanceRows): InstanceRows {
  const n = rows.offsets[rows.count]!;
  const memory = new ArrayBuffer(4 * (rows.count + 1 + 2 * n) + n);
  const offsets = new Uint32Array(memory, 0, rows.count + 1);
  const keys = new Uint32Array(memory, offsets.byteLength, n);
  const values = new Float32Array(memory, offsets.byteLength + keys.byteLength, n);
  const fields = new Uint8Array(memory, offsets.byteLength + keys.byteLength + values.byteLength, n);
  offsets.set(rows.offsets.subarray(0, rows.count + 1));
  keys.set(rows.keys.subarray(0, n));
  values.set(rows.values.subarray(0, n));
  fields.set(rows.fields.subarray(0, n));
  return { count: rows.count, offsets, fields, keys, values };
}

/** Concatenates parsed rows (of several requests) into one set of rows, in order. */
export function concatRows(parts: readonly InstanceRows[]): InstanceRows {
  if (parts.length === 1) return parts[0]!;
  let count = 0;
  let entries = 0;
  for (const p of parts) {
    count += p.count;
    entries += p.offsets[p.count]!;
  }
  const offsets = new Uint32Array(count + 1);
  const fields = new Uint8Array(entries);
  const keys = new Uint32Array(entries);
  const values = new Float32Array(entries);
  let row = 0;
  let at = 0;
  for (const p of parts) {
    const n = p.offsets[p.count]!;
    for (let r = 1; r <= p.count; r++) offsets[row + r] = at + p.offsets[r]!;
    fields.set(p.fields.subarray(0, n), at);
    keys.set(p.keys.subarray(0, n), at);
    values.set(p.values.subarray(0, n), at);
    row += p.count;
    at += n;
  }
  return { count, offsets, fields, keys, values };
}

/** A short description of a JSON value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  switch (typeof v) {
    case 'string':
      return v.length > 40 ? `the string ${JSON.stringify(v.slice(0, 40))}...` : `the string ${JSON.stringify(v)}`;
    case 'number':
      return String(v);
    case 'boolean':
      return String(v);
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}
