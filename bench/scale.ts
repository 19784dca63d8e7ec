/**
 * `npm run bench:scale`: prepare + one training epoch at 1M, 4M and 16M generated impressions, each in
 * its own process; time and peak RSS per size, and the peak RSS extrapolated to the full public
 * Ali-CCP train split (42.3M impressions; 730,600 common rows of ~835 entries each).
 *
 *   node dist-bench/bench/scale.js [--sizes 1000000,4000000,16000000] [--out bench/results/scale.json]
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateDataset } from '../src/data/simulate/generate.js';
import { log, sh } from './lib.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000000,4000000,16000000' },
    out: { type: 'string', default: 'bench/results/scale.json' },
    data: { type: 'string', default: 'bench/.data' },
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
const points: Point[] = [];
for (const n of values.sizes!.split(',').map(Number)) {
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
// Peak RSS ~ a + b * groupEntries + c * impressions: fit b and c by least squares over the points
// (a from the smallest), then plug in the full split.
const fit = fitRss(points);
const fullEntries = FULL.groups * FULL.entriesPerGroup;
const extrapolatedMb = fit.a + fit.perEntry * fullEntries + fit.perImpression * FULL.impressions;
const result = { points, fit, full_train_split: { ...FULL, groupEntries: fullEntries, extrapolated_peak_rss_mb: extrapolatedMb } };
mkdirSync(dirname(values.out!), { recursive: true });
writeFileSync(values.out!, JSON.stringify(result, null, 2) + '\n');
const rows = points.map(
  (p) =>
    `| ${(p.impressions / 1e6).toFixed(0)}M | ${p.groups} | ${(p.groupEntries / 1e6).toFixed(1)}M | ${p.prepareSeconds.toFixed(1)} | ${p.trainSeconds.toFixed(1)} | ${p.trainSamplesPerSecond.toFixed(0)} | ${p.peakRssMb.toFixed(0)} |`,
);
process.stdout.write(
  ['| impressions | common rows | common entries | prepare s | 1 epoch s | samples/s | peak RSS MB |', '|---|---|---|---|---|---|---|', ...rows].join('\n') +
    `\n\nextrapolated peak RSS for the full train split (42.3M impressions, ${(fullEntries / 1e6).toFixed(0)}M common entries): ${(extrapolatedMb / 1024).toFixed(1)} GB\n`,
);

function fitRss(ps: Point[]): { a: number; perEntry: number; perImpression: number } {
  // Two unknowns (b, c) after subtracting the smallest point; with 2+ further points, least squares.
  const base = ps[0]!;
  let sxx = 0, sxy = 0, syy = 0, sxr = 0, syr = 0;
  for (const p of ps.slice(1)) {
    const x = p.groupEntries - base.groupEntries;
    const y = p.impressions - base.impressions;
    const r = p.peakRssMb - base.peakRssMb;
    sxx += x * x; sxy += x * y; syy += y * y; sxr += x * r; syr += y * r;
  }
  const det = sxx * syy - sxy * sxy;
  let b = 0, c = 0;
  if (Math.abs(det) > 1e-9 * sxx * syy && ps.length > 2) {
    b = (sxr * syy - syr * sxy) / det;
    c = (syr * sxx - sxr * sxy) / det;
  } else if (sxx > 0) {
    b = sxr / sxx; // entries and impressions grow together: attribute the growth to entries (conservative for Ali-CCP's larger rows)
  }
  const a = base.peakRssMb - b * base.groupEntries - c * base.impressions;
  return { a, perEntry: b, perImpression: c };
}
