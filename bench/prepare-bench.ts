/**
 * Prepare throughput on generated raw Ali-CCP files (one core):
 *
 *   npm run bench:prepare -- [totalMB=300] [folder=/tmp/esmm-prepare-bench]
 *
 * Writes common_features_bench.csv (rows of a few hundred entries, as real users have) and
 * sample_skeleton_bench.csv (~15 entries a row, runs of samples per user) once per size, then
 * times prepareSplit with force, per phase, in MB of raw input per second of wall time, and in
 * all per CPU-second of this process (the fair one-core figure on a shared machine).
 */
import { closeSync, existsSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../src/util/rng.js';
import { prepareSplit } from '../src/data/cache/prepare.js';

const MULTI_USER_FIELDS = ['109_14', '110_14', '127_14', '150_14'];
const SINGLE_USER_FIELDS = ['101', '121', '122', '124', '125', '126', '127', '128', '129'];
const ITEM_FIELDS = ['205', '206', '207', '216', '301'];
const COMBINATION_FIELDS = ['508', '509', '702', '853'];
const LOG_VALUES = ['0.69315', '1.09861', '1.38629', '1.60944', '1.94591', '2.07944', '1.0'];

/** Appends text lines to a file through one big buffer. */
class TextSink {
  private parts: string[] = [];
  private size = 0;
  private readonly fd: number;
  bytes = 0;
  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }
  line(s: string): void {
    this.parts.push(s, '\n');
    this.size += s.length + 1;
    this.bytes += s.length + 1;
    if (this.size > 1 << 22) this.flush();
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
  private flush(): void {
    writeSync(this.fd, this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
}

function entry(rng: Rng, field: string, idRange: number, value: string): string {
  return `${field}\x02${1 + rng.int(idRange)}\x03${value}`;
}

function generate(dir: string, totalBytes: number): void {
  const rng = new Rng(2018);
  const common = new TextSink(join(dir, 'common_features_bench.csv'));
  const skeleton = new TextSink(join(dir, 'sample_skeleton_bench.csv'));
  let sampleId = 1;
  while (common.bytes + skeleton.bytes < totalBytes) {
    const index = rng.nextU32().toString(16).padStart(8, '0') + rng.nextU32().toString(16).padStart(8, '0');
    const entries: string[] = SINGLE_USER_FIELDS.map((f) => entry(rng, f, 500_000, '1.0'));
    for (const f of MULTI_USER_FIELDS) {
      const n = 20 + rng.int(150);
      for (let i = 0; i < n; i++) entries.push(entry(rng, f, 5_000_000, LOG_VALUES[rng.int(LOG_VALUES.length)]!));
    }
    common.line(`${index},${entries.length},${entries.join('\x01')}`);
    const samples = 1 + rng.int(100); // real train: 42.3M samples over 730k users, ~58 each
    for (let s = 0; s < samples; s++) {
      const own: string[] = [];
      const intents = 1 + rng.int(6);
      for (let i = 0; i < intents; i++) own.push(entry(rng, '210', 10_000_000, '1.0'));
      for (const f of ITEM_FIELDS) own.push(entry(rng, f, 3_000_000, '1.0'));
      for (const f of COMBINATION_FIELDS) if (rng.int(2)) own.push(entry(rng, f, 100_000_000, LOG_VALUES[rng.int(LOG_VALUES.length)]!));
      const click = rng.next() < 0.04 ? 1 : 0;
      const conversion = click && rng.next() < 0.15 ? 1 : 0;
      skeleton.line(`${sampleId++},${click},${conversion},${index},${own.length},${own.join('\x01')}`);
    }
  }
  common.close();
  skeleton.close();
}

async function main(): Promise<void> {
  const totalMb = Number(process.argv[2] ?? 300);
  const dir = process.argv[3] ?? '/tmp/esmm-prepare-bench';
  const stampFile = join(dir, `generated-${totalMb}MB`);
  if (!existsSync(stampFile)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const t = Date.now();
    generate(dir, totalMb * 1e6);
    closeSync(openSync(stampFile, 'w'));
    process.stderr.write(`generated ${totalMb} MB in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
  }
  const commonBytes = statSync(join(dir, 'common_features_bench.csv')).size;
  const skeletonBytes = statSync(join(dir, 'sample_skeleton_bench.csv')).size;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let tSamples = 0; // the last 'common' report is the end of that phase
  let tWrite = 0; // the last 'samples' report is the end of parsing

  const split = await prepareSplit({
    dataDir: dir,
    split: 'bench',
    force: true,
    onProgress: (p) => {
      if (p.phase === 'common') tSamples = performance.now();
      if (p.phase === 'samples') tWrite = performance.now();
    },
  });
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const mbps = (bytes: number, ms: number): string => ((bytes / 1e6) / (ms / 1000)).toFixed(1);
  const commonMs = tSamples - t0;
  const samplesMs = tWrite - tSamples;
  console.log(JSON.stringify({
    node: process.version,
    commonMB: +(commonBytes / 1e6).toFixed(1),
    skeletonMB: +(skeletonBytes / 1e6).toFixed(1),
    groups: split.groups.count,
    groupEntries: split.groups.offsets[split.groups.count],
    samples: split.numSamples,
    blocks: split.numBlocks,
    seconds: +((t1 - t0) / 1000).toFixed(2),
    commonMBps: +mbps(commonBytes, commonMs),
    skeletonMBps: +mbps(skeletonBytes, samplesMs),
    finishSeconds: +((t1 - tWrite) / 1000).toFixed(2),
    totalMBps: +mbps(commonBytes + skeletonBytes, t1 - t0),
    // The machine may be shared: MB per CPU-second of this process is the one-core figure.
    cpuSeconds: +cpuSeconds.toFixed(2),
    totalMBperCpuSecond: +mbps(commonBytes + skeletonBytes, cpuSeconds * 1000),
    rssMB: Math.round(process.memoryUsage().rss / 1e6),
  }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
