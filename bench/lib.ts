/** Small helpers shared by the benchmark scripts. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Spread {
  min: number;
  median: number;
  max: number;
  n: number;
}

export function spread(xs: number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return { min: NaN, median: NaN, max: NaN, n: 0 };
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { min: s[0]!, median, max: s[s.length - 1]!, n: s.length };
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function fmtSpread(s: Spread, digits = 0): string {
  return `${s.median.toFixed(digits)} (min ${s.min.toFixed(digits)}, max ${s.max.toFixed(digits)}, n=${s.n})`;
}

export function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** Runs a command, returning status and output; never throws. */
export function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 64 << 20 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

/**
 * A reading of the CPU time spent so far: by the whole machine, and by this process (all its
 * threads, and the children it has waited for). Two readings give how many cores other processes
 * kept busy in between, which says whether a measurement ran on a shared machine; the 1-minute
 * load average cannot say this, since it also counts the benchmark's own last minute.
 */
export interface CpuReading {
  /** performance.now() in seconds. */
  wall: number;
  /** Busy CPU seconds of the machine since boot (/proc/stat: all but idle and iowait). */
  machine: number;
  /** CPU seconds of this process and its waited-for children (/proc/self/stat). */
  own: number;
}

/** Linux's /proc clock tick (USER_HZ): 100 on every Linux build this project runs on. */
const USER_HZ = 100;

export function readCpu(): CpuReading {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
  const self = readFileSync('/proc/self/stat', 'utf8');
  // Fields after the command name: utime, stime, cutime, cstime are fields 14-17 of the line.
  const f = self.slice(self.lastIndexOf(')') + 2).split(' ').map(Number);
  const own = (f[11]! + f[12]! + f[13]! + f[14]!) / USER_HZ;
  return { wall: performance.now() / 1000, machine: (user + nice + system + irq + softirq + steal) / USER_HZ, own };
}

/** Cores other processes kept busy, on average, between two readings. */
export function otherCores(from: CpuReading, to: CpuReading): number {
  const wall = to.wall - from.wall;
  return wall > 0 ? Math.max(0, (to.machine - from.machine - (to.own - from.own)) / wall) : 0;
}
