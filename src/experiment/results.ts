/**
 * results.json and the markdown table: every metric as mean ± sample std over the runs, with
 * each run's value; curves averaged over the runs point by point.
 */
import type { ModelKind } from '../models/registry.js';
import type { LossCurve } from '../train/loss-curve.js';
import type { CalibrationBucket } from './curves.js';
import { ROC_POINTS, meanCurve } from './curves.js';
import { displayName, formatPaper, paperTable2 } from './paper.js';
import type { ComponentStopping, ExperimentConfig, ModelRun, RunRecord, TuningRecord } from './runner.js';
import { formatPercent, summarize, type Summary } from './stats.js';

export const RESULTS_FORMAT = 'esmm-experiment-results';

export interface SplitCounts {
  impressions: number;
  clicks: number;
  conversions: number;
}

export interface ModelResults {
  kind: ModelKind;
  /** AUCs and losses as fractions (0.6856, not 68.56), like `esmm evaluate --json`. */
  cvr_auc: Summary;
  ctcvr_auc: Summary;
  ctr_auc: Summary;
  cvr_logloss: Summary;
  ctcvr_logloss: Summary;
  /** The field's metrics (train/evaluate.ts; docs/models.md, "Evaluation protocol"). */
  cvr_auc_exposure: Summary;
  ctr_gauc: Summary;
  cvr_gauc: Summary;
  ctcvr_gauc: Summary;
  ctr_pcoc: Summary;
  cvr_pcoc: Summary;
  ctcvr_pcoc: Summary;
  ctr_ece: Summary;
  cvr_ece: Summary;
  ctcvr_ece: Summary;
  /** Simulated data only (null otherwise): pCVR against the truth over all impressions. */
  cvr_auc_entire_space_truth: Summary | null;
  pcvr_mae_truth_clicked: Summary | null;
  pcvr_mae_truth_unclicked: Summary | null;
  /** The model's own training (a shared CTR net is counted once, under shared_ctr). */
  train_seconds: Summary;
  trained_samples: Summary;
  eval_seconds: Summary;
  /** The paper's Table 2 figures, for the kinds it reports. */
  paper: { cvr_auc_percent: [number, number]; ctcvr_auc_percent: [number, number] } | null;
  curves: {
    /** TPR at FPR = i / (ROC_POINTS - 1), mean over the runs. */
    roc_cvr_tpr: number[];
    roc_ctcvr_tpr: number[];
    calibration_cvr: CalibrationBucket[];
    calibration_ctcvr: CalibrationBucket[];
    calibration_truth: CalibrationBucket[] | null;
  };
  /** Per run, the loss curve of each component the model trained itself. */
  loss_curves: LossCurve[][];
  /**
   * With epochs auto: per run, what early stopping chose for each of the evaluated model's own
   * components (the step and epoch kept, where it stopped and why, the validation-loss curve).
   */
  early_stopping: ComponentStopping[][] | null;
  /** With tune: per run, every grid point trained (its validation metrics) and the one chosen. */
  tuning: TuningResults | null;
}

export interface TuningResults {
  /** The validation metric every point is chosen by (an EvalResult key; higher is better). */
  metric: TuningRecord['metric'];
  knob: TuningRecord['knob'];
  runs: {
    seed: number;
    /** The point evaluated on test: its learning rate, knob value and validation metric. */
    chosen: { index: number; lr: number; knob: TuningRecord['points'][number]['knob']; validation_metric: number };
    /** With tune_runs: the run (0-based) whose search chose this run's point; null when this run searched its grid. */
    inherited_from_run: number | null;
    points: TuningRecord['points'];
  }[];
}

export interface ExperimentResults {
  format: typeof RESULTS_FORMAT;
  version: 1;
  config: ExperimentConfig & { data: string };
  data: { train: SplitCounts; test: SplitCounts; truth: boolean };
  seeds: number[];
  seconds: number;
  /** The CTR net shared by BASE, AMAN, OVERSAMPLING, UNBIAS and DIVISION; null when none ran. */
  shared_ctr: {
    train_seconds: Summary;
    trained_samples: Summary;
    loss_curves: LossCurve[];
    /** With epochs auto, per run. */
    early_stopping: (ComponentStopping | null)[] | null;
  } | null;
  /** With epochs auto or tune, per run: the validation data and the impressions trained on. */
  validation: NonNullable<RunRecord['validation']>[] | null;
  /** By the names given to --models. */
  models: Record<string, ModelResults>;
}

export interface ResultsInput {
  config: ExperimentConfig;
  /** The model names as given (same order as config.models). */
  names: string[];
  dataDir: string;
  train: SplitCounts;
  test: SplitCounts;
  records: RunRecord[];
  seconds: number;
}

export function buildResults(input: ResultsInput): ExperimentResults {
  const { config, names, records } = input;
  const models: Record<string, ModelResults> = {};
  config.models.forEach((kind, i) => {
    const runs = records.map((r) => r.models[kind]).filter((m): m is ModelRun => m !== undefined);
    const seeds = records.filter((r) => r.models[kind] !== undefined).map((r) => r.seed);
    models[names[i]!] = modelResults(kind, runs, seeds);
  });
  const validation = records.map((r) => r.validation ?? null);
  const shared = records.map((r) => r.sharedCtr).filter((s) => s !== null);
  const truth = Object.values(models).some((m) => m.cvr_auc_entire_space_truth !== null);
  return {
    format: RESULTS_FORMAT,
    version: 1,
    config: { ...config, data: input.dataDir },
    data: { train: input.train, test: input.test, truth },
    seeds: records.map((r) => r.seed),
    seconds: input.seconds,
    shared_ctr:
      shared.length > 0
        ? {
            train_seconds: summarize(shared.map((s) => s.seconds)),
            trained_samples: summarize(shared.map((s) => s.trainedSamples)),
            loss_curves: shared.map((s) => s.lossCurve),
            early_stopping: shared.some((s) => s.earlyStopping) ? shared.map((s) => s.earlyStopping ?? null) : null,
          }
        : null,
    validation: validation.every((v) => v !== null) && validation.length > 0 ? validation : null,
    models,
  };
}

function modelResults(kind: ModelKind, runs: ModelRun[], seeds: number[]): ModelResults {
  const metric = (pick: (r: ModelRun) => number) => summarize(runs.map(pick));
  const truthMetric = (pick: (r: ModelRun) => number | undefined): Summary | null => {
    const values = runs.map(pick);
    return values.every((v): v is number => v !== undefined) && values.length > 0 ? summarize(values) : null;
  };
  const truthCurves = runs.map((r) => r.curves.calibrationTruth);
  return {
    kind,
    cvr_auc: metric((r) => r.metrics.cvr_auc),
    ctcvr_auc: metric((r) => r.metrics.ctcvr_auc),
    ctr_auc: metric((r) => r.metrics.ctr_auc),
    cvr_logloss: metric((r) => r.metrics.cvr_logloss),
    ctcvr_logloss: metric((r) => r.metrics.ctcvr_logloss),
    ...fieldMetrics(metric),
    cvr_auc_entire_space_truth: truthMetric((r) => r.metrics.cvr_auc_entire_space_truth),
    pcvr_mae_truth_clicked: truthMetric((r) => r.metrics.pcvr_mae_truth_clicked),
    pcvr_mae_truth_unclicked: truthMetric((r) => r.metrics.pcvr_mae_truth_unclicked),
    train_seconds: metric((r) => r.trainSeconds),
    trained_samples: metric((r) => r.trainedSamples),
    eval_seconds: metric((r) => r.evalSeconds),
    paper: ((p) => (p ? { cvr_auc_percent: p.cvr, ctcvr_auc_percent: p.ctcvr } : null))(paperTable2(kind)),
    curves: {
      roc_cvr_tpr: meanCurve(runs.map((r) => r.curves.rocCvr)),
      roc_ctcvr_tpr: meanCurve(runs.map((r) => r.curves.rocCtcvr)),
      calibration_cvr: meanBuckets(runs.map((r) => r.curves.calibrationCvr)),
      calibration_ctcvr: meanBuckets(runs.map((r) => r.curves.calibrationCtcvr)),
      calibration_truth: truthCurves.every((c) => c !== null) && truthCurves.length > 0 ? meanBuckets(truthCurves as CalibrationBucket[][]) : null,
    },
    loss_curves: runs.map((r) => r.lossCurves),
    early_stopping: runs.length > 0 && runs.every((r) => r.earlyStopping) ? runs.map((r) => r.earlyStopping!) : null,
    tuning: tuningResults(runs, seeds),
  };
}

function tuningResults(runs: ModelRun[], seeds: number[]): TuningResults | null {
  const records = runs.map((r) => r.tuning ?? null);
  if (records.length === 0 || !records.every((t) => t !== null)) return null;
  const first = records[0]!;
  return {
    metric: first.metric,
    knob: first.knob,
    runs: records.map((t, i) => {
      const p = t!.points[t!.chosen]!;
      return {
        seed: seeds[i]!,
        chosen: { index: t!.chosen, lr: p.lr, knob: p.knob, validation_metric: p.validation[t!.metric] },
        inherited_from_run: t!.inheritedFrom ?? null,
        points: t!.points,
      };
    }),
  };
}

/** The metrics of FIELD_METRICS, each summarized over the runs. */
function fieldMetrics(metric: (pick: (r: ModelRun) => number) => Summary): Pick<ModelResults, (typeof FIELD_METRICS)[number]> {
  return Object.fromEntries(FIELD_METRICS.map((k) => [k, metric((r) => r.metrics[k])])) as Pick<ModelResults, (typeof FIELD_METRICS)[number]>;
}

const FIELD_METRICS = [
  'cvr_auc_exposure',
  'ctr_gauc',
  'cvr_gauc',
  'ctcvr_gauc',
  'ctr_pcoc',
  'cvr_pcoc',
  'ctcvr_pcoc',
  'ctr_ece',
  'cvr_ece',
  'ctcvr_ece',
] as const;

/** Bucket-by-bucket mean over runs (equal-count buckets: the same share of examples each run). */
function meanBuckets(runs: CalibrationBucket[][]): CalibrationBucket[] {
  const len = Math.min(...runs.map((r) => r.length));
  if (!Number.isFinite(len)) return [];
  const pick = (f: (b: CalibrationBucket) => number) => meanCurve(runs.map((r) => r.slice(0, len).map(f)));
  const pred = pick((b) => b.meanPrediction);
  const observed = pick((b) => b.observed);
  const count = pick((b) => b.count);
  return pred.map((p, i) => ({ meanPrediction: p, observed: observed[i]!, count: count[i]! }));
}

/** The FPR grid the ROC curves are sampled on. */
export function rocGrid(): number[] {
  return Array.from({ length: ROC_POINTS }, (_, i) => i / (ROC_POINTS - 1));
}

const num = (s: Summary | null, digits: number) =>
  !s || !Number.isFinite(s.mean) ? 'n/a' : s.std === null ? s.mean.toFixed(digits) : `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}`;

/** The markdown table: our runs next to the paper's Table 2. */
export function markdownTable(results: ExperimentResults): string {
  const truth = results.data.truth;
  const head = ['model', 'CVR AUC', 'CTCVR AUC'];
  if (truth) head.push('CVR AUC entire space (truth)', 'pCVR MAE clicked', 'pCVR MAE unclicked');
  head.push('paper CVR AUC', 'paper CTCVR AUC', 'train s / run');
  const rows = Object.entries(results.models).map(([name, m]) => {
    const cells = [displayName(m.kind) + (name.toLowerCase() === m.kind ? '' : ` (${name})`), formatPercent(m.cvr_auc), formatPercent(m.ctcvr_auc)];
    if (truth)
      cells.push(
        formatPercent(m.cvr_auc_entire_space_truth ?? undefined),
        num(m.pcvr_mae_truth_clicked, 4),
        num(m.pcvr_mae_truth_unclicked, 4),
      );
    cells.push(formatPaper(m.paper?.cvr_auc_percent), formatPaper(m.paper?.ctcvr_auc_percent), m.train_seconds.mean.toFixed(0));
    return cells;
  });
  const line = (cells: string[]) => `| ${cells.join(' | ')} |\n`;
  return line(head) + line(head.map(() => '---')) + rows.map(line).join('');
}

/**
 * The field's metrics (docs/models.md, "Evaluation protocol"), one row per model: the exposure
 * CVR AUC and the GAUCs in %, PCOC (1 is calibrated on average) and ECE as fractions, mean ± std
 * over the runs. Results written before these metrics existed show n/a.
 */
export function fieldMetricsTable(results: ExperimentResults): TextTable {
  const pct = (s: Summary | undefined) => formatPercent(s);
  const plain = (s: Summary | undefined, digits: number) => num(s ?? null, digits);
  return {
    caption:
      'The metrics the field reports (docs/models.md, "Evaluation protocol"), on test: CVR AUC over all impressions (unclicked = no conversion), ' +
      'GAUC per user (field 101 unless the spec names another) weighted by impressions, in %; PCOC = sum of predictions / sum of labels; ECE over 10 equal-width bins. ' +
      'CVR columns on clicked impressions except the exposure AUC.',
    head: ['model', 'CVR AUC exposure', 'CTR GAUC', 'CVR GAUC', 'CTCVR GAUC', 'CTR PCOC', 'CVR PCOC', 'CTCVR PCOC', 'CTR ECE', 'CVR ECE', 'CTCVR ECE'],
    rows: Object.entries(results.models).map(([name, m]) => [
      tableName(name, m.kind),
      pct(m.cvr_auc_exposure),
      pct(m.ctr_gauc),
      pct(m.cvr_gauc),
      pct(m.ctcvr_gauc),
      plain(m.ctr_pcoc, 3),
      plain(m.cvr_pcoc, 3),
      plain(m.ctcvr_pcoc, 3),
      plain(m.ctr_ece, 4),
      plain(m.cvr_ece, 4),
      plain(m.ctcvr_ece, 4),
    ]),
  };
}

/** A TextTable as markdown, under its caption. */
export function textTableMarkdown(t: TextTable): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |\n`;
  return `\n${t.caption}\n\n${line(t.head)}${line(t.head.map(() => '---'))}${t.rows.map(line).join('')}`;
}

/** One chosen step per run: "step 48 (epoch 3 of 5, patience)". */
function stoppingCell(s: ComponentStopping): string {
  return `${s.bestStep} (ep ${s.bestEpoch + 1}; stopped ${s.stoppedAtStep}${s.stopped === 'max-epochs' ? ', max epochs' : ''})`;
}

/** A knob or learning rate as the tables write it. */
export function formatValue(v: unknown): string {
  return Array.isArray(v) ? v.join('-') : typeof v === 'number' ? String(Number(v.toPrecision(6))) : String(v);
}

/** A small table: its caption, head and rows of text cells. */
export interface TextTable {
  caption: string;
  head: string[];
  rows: string[][];
}

/**
 * The fair protocol's choices (none when the run used neither): per component, the step early
 * stopping kept (its epoch, where it stopped) in each run; per model, the grid point chosen on
 * validation in each run, with its validation metric.
 */
export function protocolTables(results: ExperimentResults): TextTable[] {
  const tables: TextTable[] = [];
  const runHeads = results.seeds.map((s, i) => `run ${i + 1} (seed ${s})`);
  const stoppingRows: string[][] = [];
  if (results.shared_ctr?.early_stopping)
    stoppingRows.push(['shared CTR net', 'ctr', ...results.shared_ctr.early_stopping.map((s) => (s ? stoppingCell(s) : '-'))]);
  for (const [name, m] of Object.entries(results.models)) {
    if (!m.early_stopping) continue;
    const components = [...new Set(m.early_stopping.flatMap((r) => r.map((c) => c.component)))];
    for (const c of components)
      stoppingRows.push([tableName(name, m.kind), c, ...m.early_stopping.map((r) => ((s) => (s ? stoppingCell(s) : '-'))(r.find((x) => x.component === c)))]);
  }
  if (stoppingRows.length > 0)
    tables.push({
      caption: 'Early stopping (--epochs auto): per component and run, the step kept on its validation loss, its epoch, and the step training stopped at.',
      head: ['model', 'component', ...runHeads],
      rows: stoppingRows,
    });
  const tuned = Object.entries(results.models).filter(([, m]) => m.tuning);
  if (tuned.length > 0) {
    const metric = tuned[0]![1].tuning!.metric;
    tables.push({
      caption:
        `Tuning (--tune): per model and run, the grid point chosen by validation ${metric} (in %), and the points a searching run trained` +
        (results.config.tuneRuns !== undefined && results.config.tuneRuns < results.seeds.length
          ? `; the runs after ${searchedRuns(results.config.tuneRuns)} (--tune-runs ${results.config.tuneRuns}) train the point marked "from run N" once, and show its validation ${metric} in that run.`
          : '.'),
      head: ['model', 'searched', ...runHeads, 'points / run'],
      rows: tuned.map(([name, m]) => {
        const t = m.tuning!;
        const searched = `lr {${formatLrs(t)}}` + (t.knob ? `, --${t.knob.flag} {${t.knob.values.map(formatValue).join(', ')}}` : '');
        const cells = t.runs.map(
          (r) =>
            `lr ${formatValue(r.chosen.lr)}${t.knob ? `, ${formatValue(r.chosen.knob)}` : ''}: ${(100 * r.chosen.validation_metric).toFixed(2)}` +
            (r.inherited_from_run !== null ? ` (from run ${r.inherited_from_run + 1})` : ''),
        );
        return [tableName(name, m.kind), searched, ...cells, String(t.runs[0]?.points.length ?? 0)];
      }),
    });
  }
  return tables;
}

/** The protocol tables as markdown, each under its caption (empty when there are none). */
export function protocolMarkdown(results: ExperimentResults): string {
  return protocolTables(results).map(textTableMarkdown).join('');
}

function formatLrs(t: TuningResults): string {
  const lrs = [...new Set(t.runs.flatMap((r) => r.points.filter((p) => p.stage === 'lr').map((p) => p.lr)))];
  return lrs.map(formatValue).join(', ');
}

function tableName(name: string, kind: ModelKind): string {
  return displayName(kind) + (name.toLowerCase() === kind ? '' : ` (${name})`);
}

/** What the table's columns mean, under it. */
export function tableNotes(results: ExperimentResults): string {
  const runs = results.seeds.length;
  const shared = results.shared_ctr ? `; the shared CTR net trains in ${results.shared_ctr.train_seconds.mean.toFixed(0)} s per run, not counted above` : '';
  return (
    `AUC in %, mean ± sample std over ${runs} run${runs === 1 ? '' : 's'}${runs < results.config.runs ? ` of the ${results.config.runs} asked for` : ''} (seeds ${results.seeds.join(', ')}). ` +
    'CVR AUC: pCVR on clicked test impressions; CTCVR AUC: pCTCVR on all test impressions' +
    (results.data.truth
      ? '; entire space: pCVR against conversions drawn from the true p(conversion | click) for every test impression; MAE: |pCVR - true p(conversion | click)|'
      : '') +
    shared +
    '.' +
    protocolNote(results) +
    '\n'
  );
}

/** "run 1", "runs 1-3": the runs that searched the grids with --tune-runs K. */
function searchedRuns(k: number): string {
  return k === 1 ? 'run 1' : `runs 1-${k}`;
}

/** How the models were trained and chosen: the paper's protocol, or the fair one. */
export function protocolNote(results: ExperimentResults): string {
  const c = results.config;
  const parts: string[] = [];
  const v = c.validation ?? { fraction: 0.1 };
  const on = 'split' in v ? `the split ${v.split}` : `a ${v.fraction} share of the train split's sessions (carved per run by its seed, not trained on)`;
  if (c.training.epochs === 'auto') parts.push(`Every component trained until its validation loss stopped improving (--epochs auto), on ${on}`);
  else parts.push(`Every component trained ${c.training.epochs} epoch${c.training.epochs === 1 ? '' : 's'}`);
  if (c.tune) {
    const searched = c.tuneRuns !== undefined && c.tuneRuns < results.seeds.length ? `, searched in ${searchedRuns(c.tuneRuns)} and trained at that point in the others (--tune-runs ${c.tuneRuns})` : '';
    parts.push(`each model evaluated at the grid point with the best validation ${results.models[Object.keys(results.models)[0]!]?.tuning?.metric ?? 'metric'} (--tune${c.training.epochs === 'auto' ? '' : `, validated on ${on}`}${searched}); train s counts every grid point`);
  }
  return ' ' + parts.join('; ') + '.';
}
