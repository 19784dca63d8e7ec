#!/usr/bin/env node
/**
 * Two `esmm experiment` results side by side: the models both hold, each metric's mean ± std in
 * either, and the difference of the means with its standard error, sqrt(sA²/nA + sB²/nB).
 *
 *   node scripts/compare-results.mjs A/results.json B/results.json [--labels paper,fair] [--field] [--metrics K,K]
 *
 * Prints a markdown table (AUCs in %, MAEs as fractions). --field compares the metrics the field
 * reports (exposure CVR AUC, CVR GAUC, PCOC, ECE) instead of the paper's; --metrics keeps only the
 * named keys of those.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { labels: { type: 'string', default: 'A,B' }, field: { type: 'boolean', default: false }, metrics: { type: 'string' } },
});
if (positionals.length !== 2) {
  process.stderr.write('usage: node scripts/compare-results.mjs A/results.json B/results.json [--labels paper,fair] [--field]\n');
  process.exit(2);
}
const [a, b] = positionals.map((path) => {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    process.stderr.write(`${path}: ${e.message}\n`);
    process.exit(1);
  }
});
const [la, lb] = values.labels.split(',');
const ALL = values.field
  ? [
      ['cvr_auc_exposure', 'CVR AUC exposure', 'pct'],
      ['cvr_gauc', 'CVR GAUC', 'pct'],
      ['cvr_pcoc', 'CVR PCOC', 3],
      ['cvr_ece', 'CVR ECE', 4],
    ]
  : [
      ['cvr_auc', 'CVR AUC', 'pct'],
      ['ctcvr_auc', 'CTCVR AUC', 'pct'],
      ['cvr_auc_entire_space_truth', 'CVR AUC entire space (truth)', 'pct'],
      ['pcvr_mae_truth_clicked', 'pCVR MAE clicked', 4],
      ['pcvr_mae_truth_unclicked', 'pCVR MAE unclicked', 4],
    ];
const METRICS = values.metrics ? values.metrics.split(',').map((k) => ALL.find(([key]) => key === k) ?? fail(`--metrics: no metric '${k}' (choose from ${ALL.map(([key]) => key).join(', ')})`)) : ALL;
function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}
const NAMES = { base: 'BASE', aman: 'AMAN', oversampling: 'OVERSAMPLING', unbias: 'UNBIAS', division: 'DIVISION', 'esmm-ns': 'ESMM-NS', esmm: 'ESMM', 'shared-bottom': 'Shared-Bottom', mmoe: 'MMoE', ple: 'PLE', aitm: 'AITM', 'escm2-ips': 'ESCM²-IPS', 'escm2-dr': 'ESCM²-DR', dcmt: 'DCMT' };
const scale = (f) => (f === 'pct' ? 100 : 1);
const digits = (f) => (f === 'pct' ? 2 : f);
const cell = (s, f) => (!s || !Number.isFinite(s.mean) ? 'n/a' : s.std === null ? (scale(f) * s.mean).toFixed(digits(f)) : `${(scale(f) * s.mean).toFixed(digits(f))} ± ${(scale(f) * s.std).toFixed(digits(f))}`);
const diff = (x, y, f) => {
  if (!x || !y || !Number.isFinite(x.mean) || !Number.isFinite(y.mean)) return 'n/a';
  const d = scale(f) * (y.mean - x.mean);
  const se = x.std !== null && y.std !== null ? scale(f) * Math.sqrt(x.std ** 2 / x.runs.length + y.std ** 2 / y.runs.length) : null;
  const sign = d >= 0 ? '+' : '−';
  return `${sign}${Math.abs(d).toFixed(digits(f))}${se !== null ? ` (${se.toFixed(digits(f))})` : ''}`;
};
const head = ['model', ...METRICS.flatMap(([, name]) => [`${name}: ${la}`, lb, `Δ (SE)`])];
const line = (cells) => `| ${cells.join(' | ')} |`;
const out = [line(head), line(head.map(() => '---'))];
for (const [key, ma] of Object.entries(a.models)) {
  const mb = b.models[key];
  if (!mb) continue;
  out.push(line([NAMES[ma.kind] ?? key, ...METRICS.flatMap(([m, , f]) => [cell(ma[m], f), cell(mb[m], f), diff(ma[m], mb[m], f)])]));
}
process.stdout.write(`${out.join('\n')}\n\n${la}: ${a.seeds.length} runs (seeds ${a.seeds.join(', ')}); ${lb}: ${b.seeds.length} runs (seeds ${b.seeds.join(', ')}). Δ = ${lb} − ${la}; SE = sqrt(s²/n + s²/n) of the two means.\n`);
