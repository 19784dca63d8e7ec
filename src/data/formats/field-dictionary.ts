/** A field index is stored as a Uint8: at most this many distinct field names per split. */
export const MAX_FIELDS = 255;

/** Problem detail for a row that brings one field name too many. */
export function tooManyFieldsDetail(name: string): string {
  return `field "${name}" would be distinct field name number ${MAX_FIELDS + 1} (at most ${MAX_FIELDS} per split)`;
}

/**
 * Field names of one split ("101", "109_14", ...) to small indices, in order of first appearance.
 * Looked up from bytes once per feature entry, so the common case costs a byte compare: entries
 * of one field come in runs, and the last name looked up is remembered. Names of up to 6 bytes
 * are packed exactly into a number key; longer ones go through a latin1 string.
 *
 * A reader that drops a row calls `rollback(mark)` so that names seen only in dropped rows
 * vanish again: the good rows read as if the bad one were absent.
 */
export class FieldDictionary {
  readonly names: string[] = [];
  private readonly packed = new Map<number, number>();
  private readonly long = new Map<string, number>();
  private readonly last = new Uint8Array(64);
  private lastLen = -1;
  private lastIndex = -1;
  /**
   * Bumped whenever `rollback` forgets a name: an index a caller remembered for a name may then
   * stand for another name (see RawFeatureListParser's field cache).
   */
  epoch = 0;

  /** The index of buf[start, end), adding the name if new; -1 when MAX_FIELDS are taken already. */
  indexOf(buf: Uint8Array, start: number, end: number): number {
    const len = end - start;
    if (len === this.lastLen) {
      let same = true;
      for (let i = 0; i < len; i++) {
        if (buf[start + i] !== this.last[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.lastIndex;
    }
    const index = this.lookup(buf, start, end);
    if (index >= 0 && len <= this.last.length) {
      for (let i = 0; i < len; i++) this.last[i] = buf[start + i]!;
      this.lastLen = len;
      this.lastIndex = index;
    }
    return index;
  }

  /** The index of a name given as a string (CSV headers), adding it if new; -1 when full. */
  indexOfName(name: string): number {
    const bytes = Buffer.from(name, 'latin1');
    return this.indexOf(bytes, 0, bytes.length);
  }

  get size(): number {
    return this.names.length;
  }

  /** A mark to roll back to. */
  mark(): number {
    return this.names.length;
  }

  /** Forgets the names added since `mark`. */
  rollback(mark: number): void {
    if (this.names.length > mark) this.epoch++;
    while (this.names.length > mark) {
      const name = this.names.pop()!;
      const bytes = Buffer.from(name, 'latin1');
      if (bytes.length <= 6) this.packed.delete(pack(bytes, 0, bytes.length));
      else this.long.delete(name);
    }
    if (this.lastIndex >= mark) this.lastLen = -1;
  }

  private lookup(buf: Uint8Array, start: number, end: number): number {
    if (end - start <= 6) {
      const key = pack(buf, start, end);
      const found = this.packed.get(key);
      if (found !== undefined) return found;
      if (this.names.length >= MAX_FIELDS) return -1;
      this.packed.set(key, this.names.length);
    } else {
      const name = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
      const found = this.long.get(name);
      if (found !== undefined) return found;
      if (this.names.length >= MAX_FIELDS) return -1;
      this.long.set(name, this.names.length);
    }
    this.names.push(Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1'));
    return this.names.length - 1;
  }
}

/** Up to 6 bytes as an exact number; the length is folded in so "1" and "\x001" differ. */
function pack(buf: Uint8Array, start: number, end: number): number {
  let key = end - start;
  for (let i = start; i < end; i++) key = key * 256 + buf[i]!;
  return key;
}
