/**
 * report.html: one self-contained page (inline CSS and SVG, no script, no external resource)
 * with the table next to the paper's, ROC curves of both tasks, calibration, the entire-space
 * CVR quality on simulated data, and the training-loss curves.
 */
import { basename } from 'node:path';
import type { CalibrationBucket } from './curves.js';
import { MODEL_KINDS, modelDef } from '../models/registry.js';
import { comparedModels, displayName, formatPaper } from './paper.js';
import { fieldMetricsTable, protocolNote, protocolTables, rocGrid, type ExperimentResults, type ModelResults, type TextTable } from './results.js';
import { formatPercent, type Summary } from './stats.js';
import { MODEL_PALETTE, barChart, escapeXml, lineChart, type LineSeries } from './svg.js';

export interface ReportPlot {
  id: string;
  title: string;
  svg: string;
  caption: string;
}

const label = (name: string, m: ModelResults) =>
  name.toLowerCase() === m.kind ? displayName(m.kind) : `${displayName(m.kind)} (${name})`;
const colorOf = (m: ModelResults) => MODEL_PALETTE[MODEL_KINDS.indexOf(m.kind) % MODEL_PALETTE.length] ?? '#333';

type Models = [string, ModelResults][];

/** The plots of the report, in page order; ids are stable (they name the PNG files). */
export function reportPlots(results: ExperimentResults): ReportPlot[] {
  const models = Object.entries(results.models);
  return [
    ...rocPlots(models),
    ...calibrationPlots(models),
    ...(results.data.truth ? truthPlots(models) : []),
    ...lossPlots(results, models),
  ];
}

function rocPlots(models: Models): ReportPlot[] {
  const grid = rocGrid();
  const roc = (id: string, title: string, tpr: (m: ModelResults) => number[], auc: (m: ModelResults) => Summary): ReportPlot => {
    const series: LineSeries[] = models.map(([name, m]) => ({
      name: `${label(name, m)} ${formatPercent(auc(m)).split(' ')[0]}`,
      color: colorOf(m),
      points: tpr(m).map((y, i) => [grid[i]!, y] as const),
    }));
    const axis = (l: string) => ({ label: l, min: 0, max: 1 });
    return {
      id,
      title,
      caption: 'Mean over the runs of the TPR at each FPR (vertical averaging); the legend gives the mean AUC in %.',
      svg: lineChart({ id, title, x: axis('false positive rate'), y: axis('true positive rate'), series, diagonal: true, width: 480, height: 420 }),
    };
  };
  return [
    roc('roc-cvr', 'ROC, CVR task: pCVR on clicked impressions', (m) => m.curves.roc_cvr_tpr, (m) => m.cvr_auc),
    roc('roc-ctcvr', 'ROC, CTCVR task: pCTCVR on all impressions', (m) => m.curves.roc_ctcvr_tpr, (m) => m.ctcvr_auc),
  ];
}

/** Log-log calibration chart of the models' buckets; null when there is nothing to draw. */
function calibrationChart(
  models: Models,
  id: string,
  title: string,
  axes: { x: string; y: string },
  pick: (m: ModelResults) => CalibrationBucket[] | null,
  caption: string,
): ReportPlot | null {
  const drawn = models.flatMap(([name, m]) => {
    const buckets = pick(m);
    // A bucket without a single positive has no place on a log axis: it is left out.
    const points = (buckets ?? []).filter((b) => b.observed > 0 && b.meanPrediction > 0).map((b) => [b.meanPrediction, b.observed] as const);
    return buckets ? [{ name: label(name, m), color: colorOf(m), markers: true, points }] : [];
  });
  const values = drawn.flatMap((s) => s.points.flat());
  if (values.length === 0) return null;
  const lo = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const hi = Math.min(1, 10 ** Math.ceil(Math.log10(Math.max(...values))));
  const axis = (l: string) => ({ label: l, min: lo, max: hi, scale: 'log' as const });
  return { id, title, caption, svg: lineChart({ id, title, x: axis(axes.x), y: axis(axes.y), series: drawn, diagonal: true, width: 480, height: 420 }) };
}

function calibrationPlots(models: Models): ReportPlot[] {
  const note =
    'Predictions cut into 10 equal-count buckets, averaged bucket by bucket over the runs; log axes (a bucket without ' +
    'a single positive is left out); on the dashed line a prediction is calibrated.';
  const plots = [
    calibrationChart(models, 'calibration-cvr', 'Calibration, CVR task (clicked impressions)', { x: 'mean pCVR', y: 'observed conversion rate' }, (m) => m.curves.calibration_cvr, note),
    calibrationChart(
      models,
      'calibration-ctcvr',
      'Calibration, CTCVR task (all impressions)',
      { x: 'mean pCTCVR', y: 'observed click-and-conversion rate' },
      (m) => m.curves.calibration_ctcvr,
      note,
    ),
    calibrationChart(
      models,
      'calibration-truth',
      'Entire space: pCVR against the truth (all impressions)',
      { x: 'mean pCVR', y: 'mean true p(conversion | click)' },
      (m) => m.curves.calibration_truth,
      'Simulated data only: pCVR over EVERY test impression, clicked or not, against the true conversion probability the ' +
        'simulator drew the labels from. A model trained on clicked impressions only is off on the unclicked ones: the ' +
        'sample selection bias.',
    ),
  ];
  return plots.filter((p): p is ReportPlot => p !== null);
}

/** Simulated data: the entire-space AUC and the pCVR error on clicked vs unclicked impressions. */
function truthPlots(models: Models): ReportPlot[] {
  const names = models.map(([name, m]) => label(name, m));
  const bars = (pick: (m: ModelResults) => Summary | null) => {
    const s = models.map(([, m]) => pick(m));
    return { values: s.map((x) => x?.mean ?? null), errors: s.map((x) => x?.std ?? null) };
  };
  // Axis ranges over the finite values (AUCs are NaN when the test split lacks a class).
  const extreme = (pick: (m: ModelResults) => Summary | null, sign: 1 | -1, none: number) => {
    const ends = models.map(([, m]) => pick(m)).filter((x) => x !== null && Number.isFinite(x.mean)).map((x) => x!.mean + sign * (x!.std ?? 0));
    return ends.length ? (sign > 0 ? Math.max(...ends) : Math.min(...ends)) : none;
  };
  const lowest = extreme((m) => m.cvr_auc_entire_space_truth, -1, 0.5);
  const top = Math.max(extreme((m) => m.pcvr_mae_truth_clicked, 1, 0), extreme((m) => m.pcvr_mae_truth_unclicked, 1, 0));
  const aucTitle = 'Entire-space CVR AUC against the truth';
  const maeTitle = 'pCVR error against the truth: clicked vs unclicked';
  return [
    {
      id: 'truth-auc',
      title: aucTitle,
      caption:
        'AUC of pCVR over all test impressions against conversions drawn from the true p(conversion | click) (the same ' +
        'draw for every model); bars: mean, whiskers: ± sample std over the runs.',
      svg: barChart({
        id: 'truth-auc',
        title: aucTitle,
        categories: names,
        groups: [{ name: 'AUC', color: '#4c72b0', ...bars((m) => m.cvr_auc_entire_space_truth) }],
        y: { label: 'AUC', min: Math.max(0, Math.floor(lowest * 20) / 20 - 0.05), max: 1 },
        width: 530,
      }),
    },
    {
      id: 'truth-mae',
      title: maeTitle,
      caption:
        'Mean absolute error |pCVR − true p(conversion | click)| on the clicked and on the unclicked test impressions; ' +
        'whiskers: ± sample std over the runs. A gap between the two is the sample selection bias made visible.',
      svg: barChart({
        id: 'truth-mae',
        title: maeTitle,
        categories: names,
        groups: [
          { name: 'clicked', color: '#55a868', ...bars((m) => m.pcvr_mae_truth_clicked) },
          { name: 'unclicked', color: '#c44e52', ...bars((m) => m.pcvr_mae_truth_unclicked) },
        ],
        y: { label: 'mean absolute error', min: 0, max: top > 0 ? top * 1.1 : 1 },
        width: 530,
      }),
    },
  ];
}

/** One small chart per trained component: the shared CTR net, then each model's own nets; a line per run. */
function lossPlots(results: ExperimentResults, models: Models): ReportPlot[] {
  const chart = (id: string, title: string, color: string, curves: { points: { step: number; loss: number }[] }[]): ReportPlot[] => {
    const points = curves.flatMap((c) => c.points).filter((p) => Number.isFinite(p.loss));
    if (points.length === 0) return [];
    const losses = points.map((p) => p.loss);
    const [lo, hi] = [Math.min(...losses), Math.max(...losses)];
    const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 0.01;
    const series: LineSeries[] = curves.map((c, r) => ({
      name: `run ${r + 1}`,
      color,
      opacity: r === 0 ? 1 : 0.35,
      hideInLegend: true,
      points: c.points.map((p) => [p.step, p.loss] as const),
    }));
    const x = { label: 'step', min: 0, max: Math.max(1, ...points.map((p) => p.step)) };
    const y = { label: 'loss', min: Math.max(0, lo - pad), max: hi + pad };
    return [{ id, title, caption: '', svg: lineChart({ id, title, x, y, series, width: 320, height: 250 }) }];
  };
  const plots = results.shared_ctr ? chart('loss-shared-ctr', 'Training loss: shared CTR net', '#555', results.shared_ctr.loss_curves) : [];
  for (const [name, m] of models)
    for (const component of new Set(m.loss_curves.flatMap((run) => run.map((c) => c.component)))) {
      const title = `Training loss: ${label(name, m)}${component === m.kind ? '' : ` (${component} net)`}`;
      const curves = m.loss_curves.map((run) => run.find((c) => c.component === component) ?? { points: [] });
      plots.push(...chart(`loss-${name}-${component}`, title, colorOf(m), curves));
    }
  return plots;
}

/** The table of the report: our runs and the paper's, side by side. */
function resultsTable(results: ExperimentResults): string {
  const truth = results.data.truth;
  const num = (s: Summary | null) => (!s ? 'n/a' : s.std === null ? s.mean.toFixed(4) : `${s.mean.toFixed(4)} ± ${s.std.toFixed(4)}`);
  let head = '<tr><th rowspan="2">model</th><th colspan="2">these runs (AUC %)</th>';
  if (truth) head += '<th colspan="3">entire space, against the truth</th>';
  head += '<th colspan="2">paper, Ali-CCP (AUC %)</th><th rowspan="2">train s / run</th></tr><tr><th>CVR</th><th>CTCVR</th>';
  if (truth) head += '<th>CVR AUC %</th><th>pCVR MAE clicked</th><th>pCVR MAE unclicked</th>';
  head += '<th>CVR</th><th>CTCVR</th></tr>';
  const rows = Object.entries(results.models).map(([name, m]) => {
    let r = `<tr><th style="color:${colorOf(m)}">${escapeXml(label(name, m))}</th><td>${formatPercent(m.cvr_auc)}</td><td>${formatPercent(m.ctcvr_auc)}</td>`;
    if (truth) r += `<td>${formatPercent(m.cvr_auc_entire_space_truth ?? undefined)}</td><td>${num(m.pcvr_mae_truth_clicked)}</td><td>${num(m.pcvr_mae_truth_unclicked)}</td>`;
    r += `<td>${formatPaper(m.paper?.cvr_auc_percent)}</td><td>${formatPaper(m.paper?.ctcvr_auc_percent)}</td><td>${m.train_seconds.mean.toFixed(0)}</td></tr>`;
    return r;
  });
  return `<table><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`;
}

const STYLE = `
body { font-family: sans-serif; margin: 24px auto; max-width: 1080px; color: #222; line-height: 1.45; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; } thead th { background: #f3f3f3; text-align: center; }
tbody th { text-align: left; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; } figcaption { font-size: 12px; color: #555; max-width: 480px; }
code, pre { background: #f6f6f6; } pre { padding: 8px; white-space: pre-wrap; font-size: 12px; }
.small { font-size: 12px; color: #555; }
`;

export interface ReportContext {
  /** The command line that produced the results. */
  command: string;
  /** PNG files written next to the report, by plot id (relative paths). */
  pngs?: ReadonlyMap<string, string>;
}

export function reportHtml(results: ExperimentResults, plots: ReportPlot[], ctx: ReportContext): string {
  const c = results.config;
  const d = results.data;
  const n = (v: number) => v.toLocaleString('en');
  const figure = (p: ReportPlot) =>
    `<figure id="fig-${escapeXml(p.id)}">${p.svg}${p.caption ? `<figcaption>${escapeXml(p.caption)}</figcaption>` : ''}</figure>`;
  /** The plots whose ids start with any of the prefixes, side by side, in page order. */
  const group = (...prefixes: string[]) =>
    `<div class="plots">${plots.filter((p) => prefixes.some((x) => p.id.startsWith(x))).map(figure).join('')}</div>`;
  const runs = results.seeds.length;
  const truthSection = d.truth
    ? `<h2>Entire-space CVR quality (simulated data)</h2>
<p>What no real dataset can show: how far each model's pCVR is from the true conversion probability over the entire
impression space, clicked and unclicked.</p>
${group('truth-', 'calibration-truth')}`
    : '';
  const pngs = ctx.pngs && ctx.pngs.size > 0 ? [...ctx.pngs.values()].map((f) => `<a href="${escapeXml(f)}">${escapeXml(f)}</a>`) : [];
  // The data folder by its last part: a report names no folder of the machine it was made on.
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ESMM experiment: ${escapeXml(comparedModels(c.models))}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body>
<h1>ESMM experiment: ${escapeXml(comparedModels(c.models))}</h1>
<p>Data <code>${escapeXml(basename(c.data))}</code>: train ${n(d.train.impressions)} impressions, ${n(d.train.clicks)} clicks,
${n(d.train.conversions)} conversions; test ${n(d.test.impressions)} / ${n(d.test.clicks)} / ${n(d.test.conversions)}.
${runs} run${runs === 1 ? '' : 's'}${runs < c.runs ? ` of the ${c.runs} asked for (the experiment is still running, or was stopped)` : ''} (seeds ${results.seeds.join(', ')}), ${(results.seconds / 60).toFixed(1)} minutes in all.</p>
<pre>${escapeXml(ctx.command)}</pre>
<h2>Results</h2>
${resultsTable(results)}
<p class="small">AUC in %, mean ± sample standard deviation (n − 1) over the runs. CVR task: pCVR on the clicked test
impressions, labels = conversion. CTCVR task: pCTCVR = pCTR × pCVR on all test impressions, labels = click and
conversion. The paper's numbers are on the real Ali-CCP data, not on this data: compare the ordering, not the values.
${results.shared_ctr ? `The shared CTR net trains in ${results.shared_ctr.train_seconds.mean.toFixed(0)} s per run, not counted in the models' times.` : ''}</p>
${textTableHtml(fieldMetricsTable(results))}
${protocolSection(results)}
<h2>ROC curves</h2>${group('roc-')}
<h2>Calibration</h2>${group('calibration-cvr', 'calibration-ctcvr')}
${truthSection}
<h2>Training loss</h2><p class="small">Mean loss over windows of steps; one line per run (the first one solid).</p>
${group('loss-')}
${modelsSection(results)}
${pngs.length > 0 ? `<p class="small">PNG files of the plots: ${pngs.join(', ')}.</p>` : ''}
</body></html>
`;
}

/** A TextTable under its caption; the first cell of each row is its heading. */
function textTableHtml(t: TextTable): string {
  const head = `<tr>${t.head.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr>`;
  const rows = t.rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th>${escapeXml(c)}</th>` : `<td>${escapeXml(c)}</td>`)).join('')}</tr>`);
  return `<p class="small">${escapeXml(t.caption)}</p><table><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`;
}

/** The fair protocol: how the models were trained and chosen, early stopping's and the grid search's choices. */
function protocolSection(results: ExperimentResults): string {
  const tables = protocolTables(results);
  if (tables.length === 0) return '';
  const v = results.validation?.[0];
  const counts = v
    ? ` Validation: ${v.impressions.toLocaleString('en')} impressions (${v.clicks.toLocaleString('en')} clicked) in run 1; the models trained on ${v.trainImpressions.toLocaleString('en')}.`
    : '';
  const html = tables.map(textTableHtml);
  return `<h2>Protocol: validation, early stopping, tuning</h2>
<p class="small">${escapeXml(protocolNote(results).trim())}${escapeXml(counts)} The validation curves and every grid point's validation metrics are in results.json.</p>
${html.join('\n')}`;
}

/** How each model is built, with this experiment's parameters (each kind describes itself). */
function modelsSection(results: ExperimentResults): string {
  const { hyper, training } = results.config;
  const items = Object.values(results.models).map((m) => {
    const def = modelDef(m.kind);
    const h = hyper[m.kind] ?? {};
    const values = Object.entries(h).map(([k, v]) => `${k} ${Array.isArray(v) ? v.join('-') : v}`).join(', ');
    return `<b>${escapeXml(def.title)}</b>: ${escapeXml(def.describe(h as never))} <span class="small">(${escapeXml(values)})</span>`;
  });
  const epochs =
    training.epochs === 'auto' ? 'epochs chosen per component by early stopping' : `${training.epochs} epoch${training.epochs === 1 ? '' : 's'}`;
  const lr = results.config.tune ? 'the learning rate chosen per model on validation' : `learning rate ${training.lr}`;
  return `<h2>The models</h2>
<ul>${items.map((i) => `<li>${i}</li>`).join('\n')}</ul>
<p class="small">Every model: embedding dimension from the feature spec, ${training.optimizer}, ${lr},
batch ${training.batchSize}, ${epochs}. Models with the same separately trained CTR net (the paper's baselines) share one
per run: the one each of them would train on its own with that seed.</p>`;
}
