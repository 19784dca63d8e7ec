/**
 * Numbers and small tokens parsed straight from the bytes of a line, so the readers never make a
 * JS string per line or per field. The fast paths cover what the datasets contain ("1", "0.69315",
 * "1e-05"); anything unusual that still matches the decimal grammar falls back to Number() on
 * the latin1 slice, so results always equal Number(text) for the accepted grammar.
 */

/** Largest finite float32: values beyond it would silently become Infinity in a Float32Array. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Exact powers of ten as doubles (10^0 .. 10^22 are exactly representable). */
const POW10 = new Float64Array(23);
for (let i = 0, p = 1; i < POW10.length; i++, p *= 10) POW10[i] = p;

const CH_0 = 0x30;
const CH_PLUS = 0x2b;
const CH_MINUS = 0x2d;
const CH_DOT = 0x2e;
const CH_E = 0x65;
const CH_UPPER_E = 0x45;

const CH_COMMA = 0x2c;

/**
 * Index of the first comma in buf[from, end), -1 if none: a plain loop, faster than a native
 * search over the few bytes of a column.
 */
export function indexOfComma(buf: Uint8Array, from: number, end: number): number {
  for (let i = from; i < end; i++) if (buf[i] === CH_COMMA) return i;
  return -1;
}

/**
 * A non-negative decimal integer made only of digits (no sign, no spaces), exact up to 2^53;
 * -1 when the bytes are empty, hold anything else, or the number is beyond 2^53.
 */
export function parseUnsigned(buf: Uint8Array, start: number, end: number): number {
  if (start >= end || end - start > 16) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i]! - CH_0;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n <= Number.MAX_SAFE_INTEGER ? n : -1;
}

/**
 * A decimal number: optional sign, digits with an optional fraction, optional exponent
 * (`-12`, `0.69315`, `.5`, `3.`, `1e-05`, `2.5E+3`). NaN for anything else: empty input, spaces,
 * hex, "inf"/"nan" words. May return ±Infinity for huge exponents: callers check finiteness.
 */
export function parseDecimal(buf: Uint8Array, start: number, end: number): number {
  // The forms the datasets hold ("1.0", "0.0008105103": digits, at most one dot, at most 15
  // digits) in one pass; the general grammar below gives the same value for them.
  let mantissa = 0;
  let dot = -1;
  let i = start;
  for (; i < end; i++) {
    const c = buf[i]!;
    const d = c - CH_0;
    if (d >>> 0 < 10) mantissa = mantissa * 10 + d;
    else if (c === CH_DOT && dot < 0) dot = i;
    else break;
  }
  if (i === end) {
    const digits = end - start - (dot < 0 ? 0 : 1);
    // mantissa < 10^15 and 10^fraction are exact doubles: one correctly rounded division.
    if (digits > 0 && digits <= 15) return dot < 0 || dot === end - 1 ? mantissa : mantissa / POW10[end - dot - 1]!;
  }
  return generalDecimal(buf, start, end);
}

/** parseDecimal for any input of the grammar (signs, exponents, long mantissas). */
function generalDecimal(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  let negative = false;
  if (i < end) {
    const c = buf[i]!;
    if (c === CH_MINUS) {
      negative = true;
      i++;
    } else if (c === CH_PLUS) {
      i++;
    }
  }
  let mantissa = 0;
  let significant = 0; // digits accumulated into mantissa (leading zeros excluded)
  let digits = 0; // all digits seen, integer and fraction part
  let scale = 0; // power of ten applied to mantissa
  let exact = true; // mantissa holds every significant digit
  for (; i < end; i++) {
    const d = buf[i]! - CH_0;
    if (d < 0 || d > 9) break;
    digits++;
    if (significant < 15) {
      mantissa = mantissa * 10 + d;
      if (mantissa > 0) significant++;
    } else {
      scale++;
      if (d !== 0) exact = false;
    }
  }
  if (i < end && buf[i] === CH_DOT) {
    for (i++; i < end; i++) {
      const d = buf[i]! - CH_0;
      if (d < 0 || d > 9) break;
      digits++;
      if (significant < 15) {
        mantissa = mantissa * 10 + d;
        if (mantissa > 0) significant++;
        scale--;
      } else if (d !== 0) {
        exact = false;
      }
    }
  }
  if (digits === 0) return NaN;
  if (i < end && (buf[i] === CH_E || buf[i] === CH_UPPER_E)) {
    i++;
    let expNegative = false;
    if (i < end && (buf[i] === CH_MINUS || buf[i] === CH_PLUS)) {
      expNegative = buf[i] === CH_MINUS;
      i++;
    }
    const expStart = i;
    let exp = 0;
    for (; i < end; i++) {
      const d = buf[i]! - CH_0;
      if (d < 0 || d > 9) break;
      if (exp < 100000) exp = exp * 10 + d;
    }
    if (i === expStart) return NaN;
    scale += expNegative ? -exp : exp;
  }
  if (i !== end) return NaN;
  if (!exact || scale < -22 || scale > 22) return slowDecimal(buf, start, end);
  // mantissa < 10^15 < 2^53 and 10^|scale| are exact doubles: one division or product rounds once.
  const v = scale < 0 ? mantissa / POW10[-scale]! : mantissa * POW10[scale]!;
  return negative ? -v : v;
}

/** The grammar was checked already; Number() gives the correctly rounded value. */
function slowDecimal(buf: Uint8Array, start: number, end: number): number {
  return Number(Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1'));
}

/** A 0/1 label ("0", "1", also "0.0" / "1.0" as some CSV writers emit); -1 for anything else. */
export function parseLabel(buf: Uint8Array, start: number, end: number): number {
  if (end - start === 1) {
    const c = buf[start]!;
    return c === CH_0 ? 0 : c === CH_0 + 1 ? 1 : -1;
  }
  const v = parseDecimal(buf, start, end);
  return v === 0 || v === 1 ? v : -1;
}

/** True when the bytes equal the ASCII string (used for headers and sentinels, not hot paths). */
export function bytesEqualAscii(buf: Uint8Array, start: number, end: number, text: string): boolean {
  if (end - start !== text.length) return false;
  for (let i = 0; i < text.length; i++) if (buf[start + i] !== text.charCodeAt(i)) return false;
  return true;
}

/**
 * A short, printable rendering of some bytes for problem details: control bytes (the Ali-CCP
 * separators 0x01..0x03 included) are shown as \xNN and long slices are cut with "...".
 */
export function showBytes(buf: Uint8Array, start: number, end: number, max = 40): string {
  let s = '';
  const stop = Math.min(end, start + max);
  for (let i = start; i < stop; i++) {
    const c = buf[i]!;
    s += c < 0x20 || c > 0x7e ? '\\x' + c.toString(16).padStart(2, '0') : String.fromCharCode(c);
  }
  return end > stop ? s + '...' : s;
}
