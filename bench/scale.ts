/**
 * `npm run bench:scale`: prepare + one training epoch at 1M, 4M and 16M generated impressions, each in
 * its own process; time and peak RSS per size, and the peak RSS extrapolated to the full public
 * Ali-CCP train split (42.3M impressions; 730,600 common rows of ~835 entries each).
 *
 *   node dist-bench/bench/scale.js [--sizes 1000000,4000000,16000000] [--out bench/results/scale.json]
 *                                  [--points-from FILE]   (reuse the measured points of an earlier run)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateDataset } from '../src/simulate/generate.js';
import { defaultSpec } from '../src/features/spec.js';
import { log, sh } from './lib.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000000,4000000,16000000' },
    out: { type: 'string', default: 'bench/results/scale.json' },
    data: { type: 'string', default: 'bench/.data' },
    'points-from': { type: 'string' },
  },
});
const FULL = { impressions: 42_300_135, groups: 730_600, entriesPerGroup: 835 };
interface Point {
  impressions: number;
  groups: number;
  groupEntries: number;
  touchedRows: number;
  prepareSeconds: number;
  trainSeconds: number;
  trainSamplesPerSecond: number;
  peakRssMb: number;
}
const points: Point[] = values['points-from'] ? (JSON.parse(readFileSync(values['points-from'], 'utf8')) as { points: Point[] }).points : [];
for (const n of values['points-from'] ? [] : values.sizes!.split(',').map(Number)) {
  const dir = join(values.data!, `scale-${n}`);
  if (!existsSync(join(dir, 'sample_skeleton_train.csv'))) {
    log(`generating ${n} impressions`);
    await generateDataset({ outDir: dir, train: n, test: 0, seed: 1 });
  }
  log(`prepare + one epoch at ${n}`);
  const r = sh(process.execPath, [join(dirname(new URL(import.meta.url).pathname), 'scale-one.js'), dir]);
  if (r.status !== 0) throw new Error(`scale run at ${n} failed: ${r.stderr.slice(-2000)}`);
  const p = JSON.parse(r.stdout.trim().split('\n').pop()!) as Point;
  points.push(p);
  log(`${n}: prepare ${p.prepareSeconds.toFixed(1)}s, train ${p.trainSeconds.toFixed(1)}s, peak RSS ${p.peakRssMb.toFixed(0)} MB`);
}
// Peak RSS of the full split, two ways:
// - fit: peak RSS = a + b * groupEntries by least squares over the points (b also carries the
//   embedding rows, which grow more slowly than the entries). A fit on entries and impressions (or
//   touched rows) together is ill-conditioned here: they grow in step, and gave negative terms.
// - bound: the largest intercept seen, plus what the full split's group table takes (9 bytes an
//   entry: key, value, field) and every bucket of every table touched (its row, Adam's m and v).
const fit = fitRss(points);
const fullEntries = FULL.groups * FULL.entriesPerGroup;
const extrapolatedMb = fit.a + fit.perEntry * fullEntries;
const spec = defaultSpec();
const allRowsMb = (spec.tables.reduce((n, t) => n + t.buckets, 0) * spec.embeddingDim * 4 * 3) / 1e6;
const intercept = Math.max(...points.map((p) => p.peakRssMb - (9 * p.groupEntries + spec.embeddingDim * 4 * 3 * p.touchedRows) / 1e6));
const boundMb = intercept + (9 * fullEntries) / 1e6 + allRowsMb;
const result = {
  points,
  fit,
  full_train_split: { ...FULL, groupEntries: fullEntries, extrapolated_peak_rss_mb: extrapolatedMb, upper_bound_peak_rss_mb: boundMb },
};
mkdirSync(dirname(values.out!), { recursive: true });
writeFileSync(values.out!, JSON.stringify(result, null, 2) + '\n');
const rows = points.map(
  (p) =>
    `| ${(p.impressions / 1e6).toFixed(0)}M | ${p.groups} | ${(p.groupEntries / 1e6).toFixed(1)}M | ${p.prepareSeconds.toFixed(1)} | ${p.trainSeconds.toFixed(1)} | ${p.trainSamplesPerSecond.toFixed(0)} | ${p.peakRssMb.toFixed(0)} |`,
);
process.stdout.write(
  ['| impressions | common rows | common entries | prepare s | 1 epoch s | samples/s | peak RSS MB |', '|---|---|---|---|---|---|---|', ...rows].join('\n') +
    `\n\npeak RSS for the full train split (42.3M impressions, ${(fullEntries / 1e6).toFixed(0)}M common entries): ` +
      `${(extrapolatedMb / 1000).toFixed(1)} GB extrapolated (${fit.a.toFixed(0)} MB + ${(fit.perEntry * 1e6).toFixed(1)} bytes per common entry), ` +
      `${(boundMb / 1000).toFixed(1)} GB at most (its group table at 9 bytes an entry, every embedding row touched)\n`,
);

function fitRss(ps: Point[]): { a: number; perEntry: number } {
  const n = ps.length;
  const mx = ps.reduce((t, p) => t + p.groupEntries, 0) / n;
  const my = ps.reduce((t, p) => t + p.peakRssMb, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of ps) {
    sxx += (p.groupEntries - mx) ** 2;
    sxy += (p.groupEntries - mx) * (p.peakRssMb - my);
  }
  const perEntry = sxx > 0 ? sxy / sxx : 0;
  return { a: my - perEntry * mx, perEntry };
}
