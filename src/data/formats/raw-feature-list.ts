import { featureKey } from '../text/feature-key.js';
import type { EntrySink } from './feature-rows-builder.js';
import { tooManyFieldsDetail, type FieldDictionary } from './field-dictionary.js';
import { FLOAT32_MAX, indexOfComma, parseDecimal, showBytes } from '../text/parse-bytes.js';

const ENTRY_SEP = 0x01;
const FIELD_SEP = 0x02;
const VALUE_SEP = 0x03;
/** Field names up to this many bytes are cached by their packed bytes. */
const MAX_PACKED_NAME = 8;
/** Slots of the field cache: 1024, four times MAX_FIELDS, so probe runs stay short. */
const FIELD_SLOT_BITS = 10;
const FIELD_SLOTS = 1 << FIELD_SLOT_BITS;
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/**
 * Parses an Ali-CCP feature_list (`field 0x02 id 0x03 value`, entries joined by 0x01) straight
 * into an EntrySink, one pass over the bytes. On a bad entry it stops and leaves the
 * reason in `failKind` / `failDetail`; the caller rolls the row back.
 */
export class RawFeatureListParser {
  failKind: 'bad_feature' | 'too_many_fields' = 'bad_feature';
  failDetail = '';
  /**
   * Whether the last list that parsed whole held a comma (in a field name, id or value). A comma
   * is no problem here, but in a skeleton row it is one column too many: the reader uses this
   * instead of searching every list. (Lists that fail may hold commas this does not report.)
   */
  commaSeen = false;

  /**
   * Field names seen by this parser, keyed exactly by their bytes (names of up to 8 bytes, packed
   * into two int32s while the name is scanned): an open-addressing table, so finding the field of
   * an entry costs a hash and three compares, whatever order the fields come in. Longer names
   * (never in Ali-CCP) go to the dictionary every time. The table is emptied when the dictionary
   * forgets names (a dropped row), as an index may then stand for another name.
   */
  private readonly slotLo = new Int32Array(FIELD_SLOTS);
  private readonly slotHi = new Int32Array(FIELD_SLOTS);
  /** Name length + 1 (0: empty slot). */
  private readonly slotLen = new Int32Array(FIELD_SLOTS);
  private readonly slotField = new Int32Array(FIELD_SLOTS);
  private epoch: number;

  constructor(private readonly fields: FieldDictionary) {
    this.epoch = fields.epoch;
  }

  /**
   * Number of entries in the list, or -1 on a bad entry. At most `maxEntries` are pushed into
   * `rows`: the entries of a longer list are only counted (by their 0x01 separators), so a line
   * that lies about its size cannot fill memory; the caller then drops the row.
   */
  parse(buf: Uint8Array, start: number, end: number, rows: EntrySink, maxEntries: number): number {
    this.commaSeen = false;
    if (start === end) return 0;
    if (this.epoch !== this.fields.epoch) this.forgetFields();
    let count = 0;
    let p = start;
    // Entries of one field come in runs: the previous entry's field is tried first.
    let prevLo = 0;
    let prevHi = 0;
    let prevLen = -1;
    let field = -1;
    for (;;) {
      // (At the end of the list a trailing 0x01 goes on to be reported as an empty entry.)
      if (count === maxEntries && p < end) return count + countEntries(buf, p, end);
      const entryStart = p;
      // The name's last 8 bytes, exactly: lo holds the last 4, hi the 4 before.
      let lo = 0;
      let hi = 0;
      for (; p < end; p++) {
        const c = buf[p]!;
        if (c <= VALUE_SEP) break;
        hi = (hi << 8) | (lo >>> 24);
        lo = (lo << 8) | c;
      }
      if (p === end || buf[p] !== FIELD_SEP) return this.bad(buf, entryStart, p, end, count, 'no 0x02 after the field name');
      const fieldLen = p - entryStart;
      if (fieldLen === 0) return this.bad(buf, entryStart, p, end, count, 'empty field name');
      if (lo !== prevLo || hi !== prevHi || fieldLen !== prevLen) {
        if (fieldLen <= MAX_PACKED_NAME) {
          field = this.cachedField(lo, hi, fieldLen, buf, entryStart);
        } else {
          field = this.fields.indexOf(buf, entryStart, p);
          if (indexOfComma(buf, entryStart, p) >= 0) this.commaSeen = true;
        }
        if (field < 0) {
          this.failKind = 'too_many_fields';
          this.failDetail = tooManyFieldsDetail(showBytes(buf, entryStart, p));
          return -1;
        }
        prevLo = lo;
        prevHi = hi;
        prevLen = fieldLen <= MAX_PACKED_NAME ? fieldLen : -1;
      }
      // Id and value are scanned once, computing the common forms on the way (a canonical
      // decimal id; a value of digits with at most one dot), in int32 arithmetic: exact for up
      // to 9 digits. Anything else is handed to the general featureKey / parseDecimal, which
      // give the same results for the common forms.
      const idStart = ++p;
      let id = 0;
      let idDigitsOnly = true;
      for (; p < end; p++) {
        const c = buf[p]!;
        if (c <= VALUE_SEP) break;
        const d = c - 0x30;
        if (d >>> 0 < 10) id = (id * 10 + d) | 0;
        else idDigitsOnly = false;
      }
      if (p === end || buf[p] !== VALUE_SEP) return this.bad(buf, entryStart, p, end, count, 'no 0x03 after the id');
      const idLen = p - idStart;
      if (idLen === 0) return this.bad(buf, entryStart, p, end, count, 'empty id');
      let key = id;
      if (!idDigitsOnly || idLen > 9 || (idLen > 1 && buf[idStart] === 0x30)) {
        key = featureKey(buf, idStart, p);
        if (!idDigitsOnly && indexOfComma(buf, idStart, p) >= 0) this.commaSeen = true;
      }
      const valueStart = ++p;
      let mantissa = 0;
      let dot = -1;
      let plain = true;
      for (; p < end; p++) {
        const c = buf[p]!;
        if (c === ENTRY_SEP) break;
        const d = c - 0x30;
        if (d >>> 0 < 10) mantissa = (mantissa * 10 + d) | 0;
        else if (c === 0x2e && dot < 0) dot = p;
        else plain = false;
      }
      const digits = p - valueStart - (dot < 0 ? 0 : 1);
      let value: number;
      if (plain && digits > 0 && digits <= 9) {
        // mantissa < 10^9 and 10^fraction are exact doubles: one correctly rounded division.
        const fraction = dot < 0 ? 0 : p - dot - 1;
        value = fraction > 0 ? mantissa / POW10[fraction]! : mantissa;
      } else {
        if (indexOfComma(buf, valueStart, p) >= 0) this.commaSeen = true;
        value = parseDecimal(buf, valueStart, p);
        // NaN fails both comparisons; float32 storage must not turn a huge value into Infinity.
        if (!(value >= -FLOAT32_MAX && value <= FLOAT32_MAX)) {
          return this.bad(buf, entryStart, p, end, count, `value "${showBytes(buf, valueStart, p, 24)}" is not a finite number`);
        }
      }
      rows.push(field, key, value);
      count++;
      if (p === end) return count;
      p++; // past 0x01: an entry must follow (a trailing 0x01 is an empty, bad entry)
    }
  }

  /** The field named buf[start, start + len) (len <= MAX_PACKED_NAME, packed as lo / hi); -1 when the dictionary is full. */
  private cachedField(lo: number, hi: number, len: number, buf: Uint8Array, start: number): number {
    let slot = Math.imul(lo ^ Math.imul(hi, 0x27d4eb2d) ^ len, 0x9e3779b1) >>> (32 - FIELD_SLOT_BITS);
    for (;;) {
      const slotLen = this.slotLen[slot]!;
      if (slotLen === 0) break;
      if (slotLen === len + 1 && this.slotLo[slot] === lo && this.slotHi[slot] === hi) return this.slotField[slot]!;
      slot = slot + 1 === FIELD_SLOTS ? 0 : slot + 1;
    }
    const field = this.fields.indexOf(buf, start, start + len);
    if (field < 0) return -1;
    if (indexOfComma(buf, start, start + len) >= 0) {
      // Never cached, so that every entry with this name is seen.
      this.commaSeen = true;
      return field;
    }
    // At most MAX_FIELDS names are cached between two forgets: the table never fills up.
    this.slotLo[slot] = lo;
    this.slotHi[slot] = hi;
    this.slotLen[slot] = len + 1;
    this.slotField[slot] = field;
    return field;
  }

  private forgetFields(): void {
    this.slotLen.fill(0);
    this.epoch = this.fields.epoch;
  }

  private bad(buf: Uint8Array, entryStart: number, at: number, end: number, index: number, why: string): number {
    this.failKind = 'bad_feature';
    let entryEnd = at;
    while (entryEnd < end && buf[entryEnd] !== ENTRY_SEP) entryEnd++;
    this.failDetail = `entry ${index + 1}: ${why}: "${showBytes(buf, entryStart, entryEnd)}"`;
    return -1;
  }
}

/** Entries in buf[start, end) counted by their separators (a list that starts at `start`). */
function countEntries(buf: Uint8Array, start: number, end: number): number {
  let n = 1;
  for (let i = start; i < end; i++) if (buf[i] === ENTRY_SEP) n++;
  return n;
}
