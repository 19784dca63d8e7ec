import { featureKey } from './feature-key.js';
import type { EntrySink } from './feature-rows-builder.js';
import { tooManyFieldsDetail, type FieldDictionary } from './field-dictionary.js';
import { FLOAT32_MAX, parseDecimal, showBytes } from './parse-bytes.js';
import { PADDING_KEY } from './types.js';

const ENTRY_SEP = 0x01;
const FIELD_SEP = 0x02;
const VALUE_SEP = 0x03;
/** Largest id that is its own key (PADDING_KEY - 1); see feature-key.ts. */
const MAX_PLAIN_KEY = PADDING_KEY - 1;
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * Parses an Ali-CCP feature_list (`field 0x02 id 0x03 value`, entries joined by 0x01) straight
 * into an EntrySink, one pass over the bytes. On a bad entry it stops and leaves the
 * reason in `failKind` / `failDetail`; the caller rolls the row back.
 */
export class RawFeatureListParser {
  failKind: 'bad_feature' | 'too_many_fields' = 'bad_feature';
  failDetail = '';

  /**
   * Field order is regular (a skeleton row lists 210, 216, 301, 205, ... in the same order every
   * time): the field that followed each field last time, and the one that came first, are tried
   * before the dictionary. Guesses are checked against the name bytes, so a wrong one costs a compare.
   */
  private readonly nextField = new Int16Array(256).fill(-1);
  private firstField = -1;

  constructor(private readonly fields: FieldDictionary) {}

  /**
   * Number of entries in the list, or -1 on a bad entry. At most `maxEntries` are pushed into
   * `rows`: the entries of a longer list are only counted (by their 0x01 separators), so a line
   * that lies about its size cannot fill memory; the caller then drops the row.
   */
  parse(buf: Uint8Array, start: number, end: number, rows: EntrySink, maxEntries: number): number {
    if (start === end) return 0;
    let count = 0;
    let p = start;
    // Entries of one field come in runs: compare with the previous entry's field name (in the
    // same buffer) before asking the dictionary.
    let prevFieldStart = 0;
    let prevFieldLen = -1;
    let field = -1;
    for (;;) {
      // (At the end of the list a trailing 0x01 goes on to be reported as an empty entry.)
      if (count === maxEntries && p < end) return count + countEntries(buf, p, end);
      const entryStart = p;
      while (p < end && buf[p]! > VALUE_SEP) p++;
      if (p === end || buf[p] !== FIELD_SEP) return this.bad(buf, entryStart, p, end, count, 'no 0x02 after the field name');
      const fieldLen = p - entryStart;
      if (fieldLen === 0) return this.bad(buf, entryStart, p, end, count, 'empty field name');
      let sameField = fieldLen === prevFieldLen;
      for (let i = 0; sameField && i < fieldLen; i++) sameField = buf[entryStart + i] === buf[prevFieldStart + i];
      if (!sameField) {
        const guess = field < 0 ? this.firstField : this.nextField[field]!;
        let next = guess;
        if (guess < 0 || !this.fields.matches(guess, buf, entryStart, p)) {
          next = this.fields.indexOf(buf, entryStart, p);
          if (next < 0) {
            this.failKind = 'too_many_fields';
            this.failDetail = tooManyFieldsDetail(showBytes(buf, entryStart, p));
            return -1;
          }
          if (field < 0) this.firstField = next;
          else this.nextField[field] = next;
        }
        field = next;
        prevFieldStart = entryStart;
        prevFieldLen = fieldLen;
      }
      // Id and value are scanned once, computing the common forms on the way (a canonical
      // decimal id; a value of digits with at most one dot); anything else is handed to the
      // general featureKey / parseDecimal, which give the same results for the common forms.
      const idStart = ++p;
      let id = 0;
      let idDigitsOnly = true;
      for (; p < end; p++) {
        const c = buf[p]!;
        if (c <= VALUE_SEP) break;
        const d = c - 0x30;
        if (d >>> 0 < 10) id = id * 10 + d;
        else idDigitsOnly = false;
      }
      if (p === end || buf[p] !== VALUE_SEP) return this.bad(buf, entryStart, p, end, count, 'no 0x03 after the id');
      const idLen = p - idStart;
      if (idLen === 0) return this.bad(buf, entryStart, p, end, count, 'empty id');
      const key =
        idDigitsOnly && idLen <= 10 && id <= MAX_PLAIN_KEY && (idLen === 1 || buf[idStart] !== 0x30) ? id : featureKey(buf, idStart, p);
      const valueStart = ++p;
      let mantissa = 0;
      let dot = -1;
      let plain = true;
      for (; p < end; p++) {
        const c = buf[p]!;
        if (c === ENTRY_SEP) break;
        const d = c - 0x30;
        if (d >>> 0 < 10) mantissa = mantissa * 10 + d;
        else if (c === 0x2e && dot < 0) dot = p;
        else plain = false;
      }
      const digits = p - valueStart - (dot < 0 ? 0 : 1);
      let value: number;
      if (plain && digits > 0 && digits <= 15) {
        // mantissa < 10^15 and 10^fraction are exact doubles: one correctly rounded division.
        const fraction = dot < 0 ? 0 : p - dot - 1;
        value = fraction > 0 ? mantissa / POW10[fraction]! : mantissa;
      } else {
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
