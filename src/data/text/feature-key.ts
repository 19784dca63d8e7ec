import { PADDING_KEY } from '../types.js';

/**
 * The 32-bit key stored for a feature id token.
 *
 * - A canonical decimal integer in [0, 2^32 - 2] ("0", "9052218"; no sign, no leading zero) is its
 *   own key, so the usual numeric ids stay readable in a prepared cache.
 * - "-1" is PADDING_KEY: the seed pads id lists with -1 and padding must pool to nothing.
 * - Anything else (ids too big for 32 bits, hex or text tokens, "007") is the 32-bit FNV-1a hash
 *   of its bytes, moved off PADDING_KEY if it lands there.
 *
 * Hashing here loses nothing that matters: every key is hashed into a table's buckets anyway
 * (features/), so two tokens that collide here would most likely share a bucket there too, and
 * keeping keys at 32 bits keeps blocks small. Leading zeros go to the hash so that distinct
 * tokens ("7", "007") keep distinct keys.
 */
export function featureKey(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len > 0 && len <= 10) {
    const first = buf[start]!;
    if (first >= 0x31 && first <= 0x39) {
      let n = first - 0x30;
      let i = start + 1;
      for (; i < end; i++) {
        const d = buf[i]! - 0x30;
        if (d < 0 || d > 9) break;
        n = n * 10 + d;
      }
      if (i === end && n < PADDING_KEY) return n;
    } else if (first === 0x30 && len === 1) {
      return 0;
    } else if (first === 0x2d && len === 2 && buf[start + 1] === 0x31) {
      return PADDING_KEY;
    }
  }
  return hashedKey(buf, start, end);
}

/** 32-bit FNV-1a over bytes. */
export function fnv1aBytes(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h >>> 0;
}

function hashedKey(buf: Uint8Array, start: number, end: number): number {
  const h = fnv1aBytes(buf, start, end);
  // PADDING_KEY means "no feature": a real token must never become it.
  return h === PADDING_KEY ? PADDING_KEY - 1 : h;
}
