/**
 * Feature hashing: a 32-bit feature key becomes a row of its field's embedding table.
 *
 * The salt belongs to the table, not to the field, so fields that share a table (109_14 and 206
 * both use `category`) send the same id to the same row, which is what sharing means.
 *
 *   const salt = tableSalt('category');
 *   bucketOf(9052218, salt, 2 ** 17); // the row of id 9052218 in `category`, from either field
 */
import { mix32 } from '../util/rng.js';

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const utf8 = new TextEncoder();

/** FNV-1a (32-bit) of the table name's UTF-8 bytes: the table's hash salt. */
export function tableSalt(name: string): number {
  let h = FNV_OFFSET_BASIS;
  for (const byte of utf8.encode(name)) {
    h = Math.imul(h ^ byte, FNV_PRIME);
  }
  return h >>> 0;
}

/** Row of `key` in a table of `buckets` rows salted with `salt`: mix32(key ^ salt) % buckets. */
export function bucketOf(key: number, salt: number, buckets: number): number {
  return mix32(key ^ salt) % buckets;
}
