/**
 * GAUC: the AUC of each user's own impressions, averaged with impression weights over the users
 * whose impressions hold both classes (Zhou et al., "Deep Interest Network for Click-Through Rate
 * Prediction", KDD 2018, section 6 "Metrics", with impressions as the weights; after Zhu et al., "Optimized Cost per Click in Taobao Display
 * Advertising", KDD 2017):
 *
 *   GAUC = sum over users u with both classes of n_u * AUC_u / sum over those users of n_u
 *
 * where n_u is the number of the user's impressions that count for the task (for CVR: the clicked
 * ones) and AUC_u is exact (ties counted half, metrics/auc.ts). Several tasks share one pass.
 *
 * Exact and global, never averaged over batches: every impression is kept as a record (user key,
 * one float32 score per task, its label and "counts" bits) until compute(). So that memory is
 * bounded whatever the data size, records are hashed by user into partitions: one in memory when
 * everything fits in `memoryBytes`, otherwise spilled to temporary files and read back one
 * partition at a time (a user's impressions are always in one partition). Memory at compute time,
 * per record of the partition: the record (4 + 4 * tasks + 2 bytes), its user (4), the radix sort's
 * two index arrays (8) and the per-user score scratch (8): 38 bytes for 3 tasks. Partitions are
 * planned so that this stays within `memoryBytes` (default 512 MiB: up to ~14M impressions in
 * memory; the 43M of Ali-CCP's test split in 4 partitions, 0.8 GB of temporary files), plus a
 * 1 MiB write buffer per partition while adding.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aucFromSplit } from './auc.js';
import { mix32 } from '../util/rng.js';

export const DEFAULT_GAUC_MEMORY = 512 * 2 ** 20;
const WRITE_BUFFER = 2 ** 20;

export interface GroupedAucResult {
  /** NaN when no user holds both classes. */
  gauc: number;
  /** Users with both classes (those averaged over). */
  users: number;
  /** Impressions of those users that count (the weights' sum). */
  impressions: number;
}

/** Where one partition's records go: memory, or a temporary file behind a write buffer. */
interface Partition {
  buf: Uint8Array;
  used: number;
  fd: number | null;
  path: string | null;
}

export class GroupedAuc {
  private readonly recordBytes: number;
  private readonly partitions: Partition[];
  private readonly dir: string | null;
  private readonly scratch: DataView;
  private closed = false;

  /**
   * `expectedRecords` sizes the partitions (the evaluation knows its impression count); more
   * records than that still work, only the partitions get larger than planned.
   */
  constructor(
    readonly tasks: number,
    expectedRecords: number,
    opts: { memoryBytes?: number; tempDir?: string } = {},
  ) {
    if (!Number.isInteger(tasks) || tasks < 1 || tasks > 8) throw new RangeError(`GAUC: 1 to 8 tasks, got ${tasks}`);
    this.recordBytes = 4 + 4 * tasks + 2;
    const memory = opts.memoryBytes ?? DEFAULT_GAUC_MEMORY;
    const perRecord = this.recordBytes + 20;
    const count = Math.max(1, Math.ceil((Math.max(0, expectedRecords) * perRecord) / memory));
    this.scratch = new DataView(new ArrayBuffer(this.recordBytes));
    if (count === 1) {
      this.dir = null;
      this.partitions = [{ buf: new Uint8Array(Math.max(1024, expectedRecords) * this.recordBytes), used: 0, fd: null, path: null }];
    } else {
      this.dir = mkdtempSync(join(opts.tempDir ?? tmpdir(), 'esmm-gauc-'));
      this.partitions = Array.from({ length: count }, (_, k) => {
        const path = join(this.dir!, `part-${k}`);
        return { buf: new Uint8Array(WRITE_BUFFER - (WRITE_BUFFER % this.recordBytes)), used: 0, fd: openSync(path, 'w'), path };
      });
    }
  }

  /** Partitions in use (1: all in memory). */
  get partitionCount(): number {
    return this.partitions.length;
  }

  /**
   * One impression: its user key, its score per task, its label per task (bit t of `labels`) and
   * whether it counts for task t (bit t of `counts`; CVR counts clicked impressions only).
   */
  add(user: number, scores: ArrayLike<number>, labels: number, counts: number): void {
    if (this.closed) throw new Error('GAUC: add after compute');
    const v = this.scratch;
    v.setUint32(0, user >>> 0, true);
    for (let t = 0; t < this.tasks; t++) {
      const s = scores[t]!;
      if (Number.isNaN(s)) throw new RangeError('GAUC: a score is NaN');
      v.setFloat32(4 + 4 * t, s, true);
    }
    v.setUint8(4 + 4 * this.tasks, labels);
    v.setUint8(5 + 4 * this.tasks, counts);
    const p = this.partitions[this.partitions.length === 1 ? 0 : mix32(user) % this.partitions.length]!;
    if (p.used + this.recordBytes > p.buf.length) {
      if (p.fd === null) {
        const grown = new Uint8Array(p.buf.length * 2);
        grown.set(p.buf.subarray(0, p.used));
        p.buf = grown;
      } else {
        writeSync(p.fd, p.buf, 0, p.used);
        p.used = 0;
      }
    }
    p.buf.set(new Uint8Array(v.buffer), p.used);
    p.used += this.recordBytes;
  }

  /** The GAUC of every task; removes the temporary files. Call once. */
  compute(): GroupedAucResult[] {
    if (this.closed) throw new Error('GAUC: compute called twice');
    const sums = Array.from({ length: this.tasks }, () => ({ weighted: 0, users: 0, impressions: 0 }));
    try {
      for (const p of this.partitions) {
        let bytes: Uint8Array;
        if (p.fd !== null) {
          writeSync(p.fd, p.buf, 0, p.used);
          closeSync(p.fd);
          p.fd = null;
          p.buf = new Uint8Array(0);
          bytes = readFileSync(p.path!);
        } else {
          bytes = p.buf.subarray(0, p.used);
        }
        this.partitionSums(bytes, sums);
      }
    } finally {
      this.dispose();
    }
    return sums.map((s) => ({ gauc: s.impressions > 0 ? s.weighted / s.impressions : NaN, users: s.users, impressions: s.impressions }));
  }

  /** Closes and removes the temporary files (compute does this; for an evaluation that failed). */
  dispose(): void {
    this.closed = true;
    for (const p of this.partitions) {
      if (p.fd !== null) closeSync(p.fd);
      p.fd = null;
      p.buf = new Uint8Array(0);
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  private partitionSums(bytes: Uint8Array, sums: { weighted: number; users: number; impressions: number }[]): void {
    const R = this.recordBytes;
    const n = bytes.length / R;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const users = new Uint32Array(n);
    for (let i = 0; i < n; i++) users[i] = view.getUint32(i * R, true);
    const order = orderByUser(users);
    const pos = new Float32Array(n);
    const neg = new Float32Array(n);
    for (let start = 0; start < n; ) {
      const u = users[order[start]!]!;
      let end = start + 1;
      while (end < n && users[order[end]!] === u) end++;
      for (let t = 0; t < this.tasks; t++) {
        let np = 0;
        let nn = 0;
        for (let k = start; k < end; k++) {
          const at = order[k]! * R;
          const counts = bytes[at + 5 + 4 * this.tasks]!;
          if (!((counts >> t) & 1)) continue;
          const s = view.getFloat32(at + 4 + 4 * t, true);
          if ((bytes[at + 4 + 4 * this.tasks]! >> t) & 1) pos[np++] = s;
          else neg[nn++] = s;
        }
        if (np === 0 || nn === 0) continue;
        const w = np + nn;
        sums[t]!.weighted += w * aucFromSplit(pos.subarray(0, np), neg.subarray(0, nn));
        sums[t]!.impressions += w;
        sums[t]!.users++;
      }
      start = end;
    }
  }
}

/** Indices 0..n-1 in increasing order of users[i] (stable LSD radix sort, two 16-bit passes). */
export function orderByUser(users: Uint32Array): Uint32Array {
  const n = users.length;
  let order = Uint32Array.from({ length: n }, (_, i) => i);
  let next = new Uint32Array(n);
  const counts = new Uint32Array(65537);
  for (const shift of [0, 16]) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[((users[i]! >>> shift) & 0xffff) + 1]!++;
    for (let d = 0; d < 65536; d++) counts[d + 1]! += counts[d]!;
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      next[counts[(users[i]! >>> shift) & 0xffff]!++] = i;
    }
    [order, next] = [next, order];
  }
  return order;
}
