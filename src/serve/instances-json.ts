/**
 * The fast path of a predict request: the body {"instances": [{field: [id | [id, value], ...],
 * ...}, ...]} read from its bytes straight into jagged rows, with no JSON.parse and no JS objects.
 * On a single-instance request of the paper's 23 fields (~220 ids, 3.6 KB) JSON.parse plus
 * InstanceParser.parse take ~51 µs and leave ~34 KB of garbage; this reads the same body in
 * ~16 µs with 4× fewer young-generation collections (bench/instances-json.ts).
 *
 * It reads only the plain shape that clients send: ids as integers of at most 15 digits or as
 * printable-ASCII strings without escapes, values as JSON numbers, known field names, each once
 * per instance, within the limits. For anything else (another key such as "signature_name",
 * escapes, non-ASCII, exponents in ids, an error of any kind) it returns null, and the caller
 * takes the general path (JSON.parse, then InstanceParser.parse), which gives the same rows or
 * says what is wrong. So it never decides what is an error, and a test checks that both paths
 * give identical rows.
 *
 * The rows are written in the order the general path visits them: an instance's fields as a
 * for...in loop over the parsed object would (array-index names such as "101" first, ascending,
 * then the others as they came), entries in order.
 */
import { featureKey } from '../data/text/feature-key.js';
import type { EntrySink } from '../data/formats/feature-rows-builder.js';
import { parseDecimal } from '../data/text/parse-bytes.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

const INSTANCES = Array.from('"instances"', (c) => c.charCodeAt(0));
/** 10^0 .. 10^15, exact doubles. */
const POW10 = Float64Array.from({ length: 16 }, (_, k) => 10 ** k);

/** Thrown inside the reader to give up on the fast path; never leaves this module. */
const GIVE_UP = Symbol('not the plain shape');

/** Where the rows go: one committed row per instance. */
export interface RowSink extends EntrySink {
  commitRow(): number;
}

/** The fast path for one spec: its field names as bytes, built once. */
export class InstancesJsonReader {
  /** Field names as bytes, by field index. */
  readonly names: Uint8Array[];
  /** Field indices by name length, to match a name's bytes against few candidates. */
  readonly byLength = new Map<number, number[]>();
  /** The numeric value of a field name that is an array index (for...in puts those first), else -1. */
  readonly indexValue: Float64Array;

  constructor(
    fieldNames: readonly string[],
    readonly limits: { maxInstances: number; maxIdsPerField: number; maxIdLength: number },
    /** The key of an id given as a JSON number, or -1 when it is not a valid id. */
    readonly keyOfNumber: (id: number) => number,
  ) {
    const encoder = new TextEncoder();
    this.names = fieldNames.map((n) => encoder.encode(n));
    this.names.forEach((b, f) => this.byLength.set(b.length, [...(this.byLength.get(b.length) ?? []), f]));
    this.indexValue = Float64Array.from(fieldNames, (n) => (/^(0|[1-9][0-9]*)$/.test(n) && Number(n) <= 2 ** 32 - 2 ? Number(n) : -1));
  }

  /**
   * Reads one request body into `out` (whose rows it appends); false where the general path must
   * take it, and then `out` may hold part of it.
   */
  read(body: Uint8Array, out: RowSink): boolean {
    try {
      new Reader(body, this, out).read();
      return true;
    } catch (e) {
      if (e === GIVE_UP) return false;
      throw e;
    }
  }
}

/** One instance's entries before they are put in for...in order. */
class Scratch {
  keys = new Uint32Array(512);
  values = new Float64Array(512);
  size = 0;
  /** Per field seen in this instance, in order of appearance: field, start, end. */
  segments: number[] = [];

  push(key: number, value: number): void {
    if (this.size === this.keys.length) {
      const keys = new Uint32Array(2 * this.size);
      keys.set(this.keys);
      const values = new Float64Array(2 * this.size);
      values.set(this.values);
      this.keys = keys;
      this.values = values;
    }
    this.keys[this.size] = key;
    this.values[this.size] = value;
    this.size++;
  }
}
const scratch = new Scratch();

class Reader {
  private at = 0;
  /** Where the last plainString() content starts (it ends at this.at - 1). */
  private stringStart = 0;
  /** seen[f] === stamp when field f already appeared in the current instance. */
  private static seen = new Uint32Array(256);
  private static stamp = 0;

  constructor(
    private readonly b: Uint8Array,
    private readonly ctx: InstancesJsonReader,
    private readonly out: RowSink,
  ) {}

  read(): void {
    this.expect(OPEN_BRACE);
    this.ws();
    for (const c of INSTANCES) this.expectNow(c);
    this.expect(COLON);
    this.expect(OPEN_BRACKET);
    let count = 0;
    do {
      if (++count > this.ctx.limits.maxInstances) throw GIVE_UP;
      this.instance();
      this.out.commitRow();
      this.ws();
    } while (this.b[this.at++] === COMMA);
    if (this.b[this.at - 1] !== CLOSE_BRACKET) throw GIVE_UP;
    this.expect(CLOSE_BRACE);
    this.ws();
    if (this.at !== this.b.length) throw GIVE_UP;
  }

  private instance(): void {
    this.expect(OPEN_BRACE);
    if (++Reader.stamp === 2 ** 32) {
      Reader.seen.fill(0);
      Reader.stamp = 1;
    }
    const stamp = Reader.stamp;
    const s = scratch;
    s.size = 0;
    s.segments.length = 0;
    this.ws();
    if (this.b[this.at] === CLOSE_BRACE) {
      this.at++;
      return;
    }
    for (;;) {
      const f = this.fieldName();
      if (Reader.seen[f] === stamp) throw GIVE_UP;
      Reader.seen[f] = stamp;
      this.expect(COLON);
      const begin = s.size;
      this.entries();
      if (s.size - begin > this.ctx.limits.maxIdsPerField) throw GIVE_UP;
      s.segments.push(f, begin, s.size);
      this.ws();
      const c = this.b[this.at++];
      if (c === CLOSE_BRACE) break;
      if (c !== COMMA) throw GIVE_UP;
    }
    this.emit();
  }

  /** The instance's entries into the writer, fields in for...in order. */
  private emit(): void {
    const seg = scratch.segments;
    const index = this.ctx.indexValue;
    // Array-index names first, ascending (insertion sort: ~23 fields).
    const order: number[] = [];
    for (let i = 0; i < seg.length; i += 3) {
      const v = index[seg[i]!]!;
      if (v < 0) continue;
      let j = order.length;
      order.push(i);
      while (j > 0 && index[seg[order[j - 1]!]!]! > v) {
        order[j] = order[j - 1]!;
        j--;
      }
      order[j] = i;
    }
    for (let i = 0; i < seg.length; i += 3) if (index[seg[i]!]! < 0) order.push(i);
    const { keys, values } = scratch;
    for (const i of order) {
      const f = seg[i]!;
      for (let e = seg[i + 1]!, end = seg[i + 2]!; e < end; e++) this.out.push(f, keys[e]!, values[e]!);
    }
  }

  private fieldName(): number {
    this.ws();
    const end = this.plainString();
    const start = this.stringStart;
    const candidates = this.ctx.byLength.get(end - start);
    if (candidates) {
      const b = this.b;
      outer: for (const f of candidates) {
        const name = this.ctx.names[f]!;
        for (let i = 0; i < name.length; i++) if (name[i] !== b[start + i]) continue outer;
        return f;
      }
    }
    throw GIVE_UP;
  }

  private entries(): void {
    this.expect(OPEN_BRACKET);
    this.ws();
    if (this.b[this.at] === CLOSE_BRACKET) {
      this.at++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.b[this.at] === OPEN_BRACKET) {
        this.at++;
        const key = this.id();
        this.expect(COMMA);
        this.ws();
        const value = this.number();
        if (!(value >= -FLOAT32_MAX && value <= FLOAT32_MAX)) throw GIVE_UP;
        this.expect(CLOSE_BRACKET);
        scratch.push(key, value);
      } else {
        scratch.push(this.id(), 1);
      }
      this.ws();
      const c = this.b[this.at++];
      if (c === CLOSE_BRACKET) return;
      if (c !== COMMA) throw GIVE_UP;
    }
  }

  /** An id: an integer of at most 15 digits, or a plain string. */
  private id(): number {
    this.ws();
    const b = this.b;
    if (b[this.at] === QUOTE) {
      const end = this.plainString();
      const start = this.stringStart;
      if (end === start || end - start > this.ctx.limits.maxIdLength) throw GIVE_UP;
      return featureKey(b, start, end);
    }
    let i = this.at;
    const negative = b[i] === MINUS;
    if (negative) i++;
    const first = i;
    let n = 0;
    for (; i < b.length; i++) {
      const d = b[i]! - ZERO;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
    }
    const digits = i - first;
    if (digits === 0 || digits > 15 || (digits > 1 && b[first] === ZERO)) throw GIVE_UP;
    const next = b[i];
    if (next === DOT || next === LOWER_E || next === UPPER_E) throw GIVE_UP;
    this.at = i;
    const key = this.ctx.keyOfNumber(negative ? -n : n);
    if (key < 0) throw GIVE_UP;
    return key;
  }

  /**
   * A JSON number, exactly as JSON.parse reads it. The strict JSON grammar is checked here (no "+",
   * ".5" or "3."); plain decimals of up to 15 digits are computed on the way (one correctly rounded
   * division), the rest by the data layer's parseDecimal, which equals Number() of the text. Calling
   * parseDecimal for every value scanned each value twice: 16-instance bodies read 25% slower.
   */
  private number(): number {
    const b = this.b;
    const start = this.at;
    let i = start;
    const negative = b[i] === MINUS;
    if (negative) i++;
    const intStart = i;
    let m = 0;
    for (; i < b.length && b[i]! >= ZERO && b[i]! <= NINE; i++) m = m * 10 + (b[i]! - ZERO);
    let digits = i - intStart;
    if (digits === 0 || (digits > 1 && b[intStart] === ZERO)) throw GIVE_UP;
    let scale = 0;
    if (b[i] === DOT) {
      i++;
      const fracStart = i;
      for (; i < b.length && b[i]! >= ZERO && b[i]! <= NINE; i++) m = m * 10 + (b[i]! - ZERO);
      scale = i - fracStart;
      if (scale === 0) throw GIVE_UP;
      digits += scale;
    }
    let exponent = false;
    if (b[i] === LOWER_E || b[i] === UPPER_E) {
      exponent = true;
      i++;
      if (b[i] === PLUS || b[i] === MINUS) i++;
      const expStart = i;
      while (i < b.length && b[i]! >= ZERO && b[i]! <= NINE) i++;
      if (i === expStart) throw GIVE_UP;
    }
    this.at = i;
    if (!exponent && digits <= 15) {
      // m < 10^15 and 10^scale (scale <= 15) are exact doubles.
      const v = m / POW10[scale]!;
      return negative ? -v : v;
    }
    return parseDecimal(b, start, i);
  }

  /** A string of printable ASCII without escapes; returns where its content ends (see stringStart). */
  private plainString(): number {
    const b = this.b;
    if (b[this.at] !== QUOTE) throw GIVE_UP;
    const start = ++this.at;
    let i = start;
    for (; i < b.length; i++) {
      const c = b[i]!;
      if (c === QUOTE) break;
      if (c < 0x20 || c > 0x7e || c === BACKSLASH) throw GIVE_UP;
    }
    if (i === b.length) throw GIVE_UP;
    this.at = i + 1;
    this.stringStart = start;
    return i;
  }

  /** Skips whitespace, then takes `c`. */
  private expect(c: number): void {
    this.ws();
    this.expectNow(c);
  }

  private expectNow(c: number): void {
    if (this.b[this.at] !== c) throw GIVE_UP;
    this.at++;
  }

  private ws(): void {
    const b = this.b;
    let i = this.at;
    for (; i < b.length; i++) {
      const c = b[i]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    }
    this.at = i;
  }
}

/** Largest float32: the general path refuses larger pooling weights. */
const FLOAT32_MAX = 3.4028234663852886e38;
