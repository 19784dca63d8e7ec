/**
 * The paper's protocol for Table 2: every model trained `runs` times with different seeds on the
 * same train split and evaluated on the same test split.
 *
 * Run r uses seed + r for every model's initial weights, data order and sampling. The models with
 * a separately trained CTR net (BASE, AMAN, OVERSAMPLING, UNBIAS, DIVISION) share ONE CTR net per
 * run, trained once: the CTR net each of them would train on its own is that very net (same seed,
 * same component name, same data: bit for bit), so sharing changes only the time. DIVISION's CTR
 * net is this shared one too; its CTCVR net is its own. ESMM and ESMM-NS have their own CTR towers.
 *
 * The fair protocol (docs/experiments.md): with `training.epochs: 'auto'` every component, the
 * shared CTR net included, trains until its own validation loss stops improving; with `tune` each
 * model's learning rate and knob are chosen on the validation split (tune.ts, grids.ts). Either
 * way the validation split is carved from the train split once per run, by session and by the
 * run's seed (or is a split of its own), the models train on the rest, and the test split is read
 * only to evaluate each model once its training and selection are over.
 */
import type { SampleSource } from '../data/sample-source.js';
import { splitBySession } from '../data/session-split.js';
import type { FeatureSpec } from '../features/spec-types.js';
import type { Component } from '../models/component.js';
import { CvrModel, resolveModel } from '../models/cvr-model.js';
import type { ComponentDef } from '../models/definition.js';
import type { HyperRecord } from '../models/hyper.js';
import { CTR_COMPONENT } from '../models/nets.js';
import type { ModelKind } from '../models/registry.js';
import { evaluateModel, type EvalResult } from '../train/evaluate.js';
import type { OptimizerKind } from '../optim/kernels.js';
import type { SliceBatch } from '../train/slice-batch.js';
import type { LossCurve } from '../train/loss-curve.js';
import { DEFAULT_VALIDATION_FRACTION } from '../train/early-stopping.js';
import { trainModel, type EarlyStoppingConfig, type TrainConfig, type TrainResult } from '../train/trainer.js';
import { collectCurves, type ModelCurves } from './collect.js';
import { SELECTION_METRIC, trainingsOf, tuningPlan, type TuningPlan } from './grids.js';
import { searchGrid, type ComponentStopping, type GridPoint, type TrainedPoint } from './tune.js';

export type { ComponentStopping, TrainedPoint } from './tune.js';

/** A split with its label counts (a PreparedSplit is one). */
export interface CountedSource extends SampleSource {
  clicks: number;
  conversions: number;
}

export interface ExperimentConfig {
  /** The models, in the order given (each at most once). */
  models: ModelKind[];
  runs: number;
  /** Run r uses seed + r. */
  seed: number;
  /** Each model's hyper-parameters (defaults fill in what is absent). */
  hyper: Readonly<Record<ModelKind, HyperRecord>>;
  /** epochs 'auto': every component stops on its own validation loss (train/early-stopping.ts). */
  training: { epochs: number | 'auto'; batchSize: number; lr: number; optimizer: OptimizerKind; sliceBatch?: SliceBatch };
  /** With epochs 'auto' only: TrainConfig.earlyStopping's patience, evalEvery, maxEpochs, minEpochs (their defaults where absent). */
  earlyStopping?: { patience?: number; evalEvery?: number; maxEpochs?: number; minEpochs?: number };
  /**
   * The validation data, used with epochs 'auto' or tune (default { fraction: 0.1 }): a share of
   * the train split's sessions, carved once per run by that run's seed and not trained on; or a
   * split of its own, by name (its data passed to runExperiment), and then all of train trains.
   */
  validation?: { fraction: number } | { split: string };
  /** Choose each model's learning rate and knob on the validation split (grids.ts); the test metrics are the chosen point's. */
  tune?: boolean;
  /**
   * With tune: search the grids in the first `tuneRuns` runs only (default: every run). Each later
   * run trains every model once, at the point the last searched run chose for it, and still
   * validates that point (its own carve, its own seed); the test split plays no part in either.
   */
  tuneRuns?: number;
  /** onnxruntime threads; with 2 or more, training also splits the embedding side over 2 threads. */
  threads: number;
}

/** One model's grid search in one run. */
export interface TuningRecord {
  /** The EvalResult key the points are compared by, on the validation split; higher is better. */
  metric: typeof SELECTION_METRIC;
  /** The knob searched besides the learning rate, with its grid; null when the model has none. */
  knob: { param: string; flag: string; values: readonly (number | number[] | string)[] } | null;
  points: (GridPoint & TrainedPoint)[];
  /** Index of the chosen point in `points`: the model evaluated on test. */
  chosen: number;
  /** With tuneRuns: the run (0-based) whose search chose this run's single point; absent when this run searched. */
  inheritedFrom?: number;
}

/** One model trained and evaluated in one run. */
export interface ModelRun {
  metrics: EvalResult;
  /** Training seconds of the model's own components (not the shared CTR net); with tune, of every grid point. */
  trainSeconds: number;
  /** Seconds of the two passes over the test split (metrics, curves). */
  evalSeconds: number;
  /** Samples its own components trained on, all epochs (with tune, all grid points). */
  trainedSamples: number;
  /** The evaluated model's own components' training loss. */
  lossCurves: LossCurve[];
  curves: ModelCurves;
  /** With epochs 'auto': what early stopping chose for each of the evaluated model's own components. */
  earlyStopping?: ComponentStopping[] | null;
  /** With tune: the grid search and its choice. */
  tuning?: TuningRecord | null;
}

export interface RunRecord {
  run: number;
  seed: number;
  seconds: number;
  /** The shared CTR net of this run; null when no model needed it. */
  sharedCtr: { seconds: number; trainedSamples: number; lossCurve: LossCurve; earlyStopping?: ComponentStopping | null } | null;
  /** The validation data of this run (epochs 'auto' or tune), and the share of train the models trained on. */
  validation?: { source: 'carved' | 'split'; impressions: number; clicks: number; trainImpressions: number } | null;
  models: Partial<Record<ModelKind, ModelRun>>;
}

export interface ExperimentEvents {
  /** After each run. */
  onRun?: (record: RunRecord) => void;
  /** Work done so far and the (estimated) total, in training + evaluation samples. */
  onProgress?: (done: number, total: number, what: string) => void;
  /** A model's training (and, with tune, its selection) is over; its test evaluation follows. */
  onModelTrained?: (kind: ModelKind, run: number) => void;
  /** A model's test evaluation is over (nothing reads the test split until the next onModelTrained). */
  onModelEvaluated?: (kind: ModelKind, run: number) => void;
}

/** Data besides the train and test splits. */
export interface ExperimentSources {
  /** The split named by config.validation.split. */
  validation?: SampleSource;
}

/** A kind's components with this experiment's hyper-parameters (nothing built). */
function componentsOf(kind: ModelKind, config: ExperimentConfig, spec: FeatureSpec, seed: number): ComponentDef[] {
  return resolveModel({ kind, spec, hyper: config.hyper[kind] ?? {}, seed }).components;
}

/** Kinds whose pCTR comes from a separately trained CTR net (shareable within a run). */
export function usesSharedCtr(kind: ModelKind, config: ExperimentConfig, spec: FeatureSpec): boolean {
  return componentsOf(kind, config, spec, config.seed).some((d) => d.name === CTR_COMPONENT);
}

export async function runExperiment(
  train: CountedSource,
  test: SampleSource,
  spec: FeatureSpec,
  config: ExperimentConfig,
  events: ExperimentEvents = {},
  sources: ExperimentSources = {},
): Promise<RunRecord[]> {
  validateExperiment(config, sources);
  const perRun = Array.from({ length: config.runs }, (_, run) => estimatedWorkPerRun(train, test, spec, config, run));
  const total = perRun.reduce((a, n) => a + n, 0);
  let done = 0;
  const progress = (n: number, what: string) => {
    done += n;
    events.onProgress?.(Math.min(done, total), total, what);
  };
  const records: RunRecord[] = [];
  // With tuneRuns: the point each model's last searched run chose, which the later runs train at.
  const chosen: Partial<Record<ModelKind, Inherited>> = {};
  for (let run = 0; run < config.runs; run++) {
    const runStart = done;
    const record = await runOnce(run, train, test, spec, config, progress, events, sources, searches(config, run) ? null : chosen);
    records.push(record);
    if (searches(config, run))
      for (const kind of config.models) {
        const t = record.models[kind]?.tuning;
        if (t) chosen[kind] = { run, point: t.points[t.chosen]! };
      }
    // The estimate can miss (UNBIAS keeps a random share): each run ends at its share of the total.
    done = runStart + perRun[run]!;
    events.onRun?.(record);
  }
  return records;
}

/** A grid point chosen by an earlier run's search. */
type Inherited = { run: number; point: GridPoint };

/** Whether run `run` (0-based) searches the grids: with tune, the first tuneRuns runs (every run by default). */
export function searches(config: ExperimentConfig, run: number): boolean {
  return config.tune === true && run < (config.tuneRuns ?? config.runs);
}

/** The name training reports the carved validation side by. */
const CARVED = 'validation (carved from train by session)';

async function runOnce(
  run: number,
  train: SampleSource,
  test: SampleSource,
  spec: FeatureSpec,
  config: ExperimentConfig,
  progress: (n: number, what: string) => void,
  events: ExperimentEvents,
  sources: ExperimentSources,
  /** With tuneRuns, in a run after the searched ones: each model's chosen point (null when this run searches). */
  inherited: Partial<Record<ModelKind, Inherited>> | null,
): Promise<RunRecord> {
  const seed = config.seed + run;
  const t0 = Date.now();
  const embeddingThreads = config.threads >= 2;
  // The validation side, carved once for every model of this run (and the shared CTR net).
  const sides = validationSides(train, config, seed, sources);
  const earlyStopping: EarlyStoppingConfig | null =
    config.training.epochs === 'auto' && sides.validation
      ? { ...config.earlyStopping, validation: { source: sides.validation, name: 'source' in sides ? sides.name : CARVED } }
      : null;
  const modelConfig = (kind: ModelKind, hyper: HyperRecord = config.hyper[kind] ?? {}) => ({ kind, spec, hyper, seed });
  const training = (what: string, lr = config.training.lr): TrainConfig => ({
    ...config.training,
    lr,
    seed,
    quiet: true,
    embeddingThread: embeddingThreads,
    ...(earlyStopping ? { earlyStopping } : {}),
    onStep: (s) => progress(s.samples, what),
  });
  const record: RunRecord = { run, seed, seconds: 0, sharedCtr: null, validation: sides.validation ? await describeValidation(sides) : null, models: {} };
  // The shared CTR net lives in the first model that has one (its carrier), for the whole run.
  const carrierKind = config.models.find((k) => usesSharedCtr(k, config, spec));
  const carrier = carrierKind ? await CvrModel.create(modelConfig(carrierKind), { threads: config.threads }) : null;
  try {
    let shared: Component | null = null;
    if (carrier) {
      const r = await trainParts(carrier, sides.train, training('shared CTR net'), [CTR_COMPONENT]);
      shared = carrier.component(CTR_COMPONENT);
      record.sharedCtr = { seconds: r.seconds, trainedSamples: r.samples, lossCurve: r.curves[0]!, earlyStopping: stoppingOf(r)[0] ?? null };
    }
    for (const kind of config.models) {
      const sharedCtr = usesSharedCtr(kind, config, spec) ? shared : null;
      const create = (hyper?: HyperRecord) =>
        CvrModel.create(modelConfig(kind, hyper), { threads: config.threads, ...(sharedCtr ? { shared: [sharedCtr] } : {}) });
      const ownOf = (model: CvrModel) => model.components.map((c) => c.def.name).filter((name) => !(sharedCtr && name === CTR_COMPONENT));
      const release = async (model: CvrModel) => {
        if (model !== carrier) await model.release();
      };
      let model: CvrModel;
      let trained: { seconds: number; samples: number; curves: LossCurve[]; stopping: ComponentStopping[] | null };
      let tuning: TuningRecord | null = null;
      if (config.tune) {
        const from = inherited?.[kind];
        if (inherited && !from) throw new Error(`no earlier run chose a grid point for ${kind}`);
        const plan = from ? singlePoint(planOf(kind, config), from.point) : planOf(kind, config);
        const search = await searchGrid(
          plan,
          async (point) => {
            const hyper = plan.knob && point.knob !== null ? { ...(config.hyper[kind] ?? {}), [plan.knob.param]: point.knob } : config.hyper[kind];
            const m = await create(hyper);
            try {
              const r = await trainParts(m, sides.train, training(`${kind} (lr ${point.lr}${plan.knob ? `, ${plan.knob.flag} ${String(point.knob)}` : ''})`, point.lr), ownOf(m));
              const validation = await evaluateModel(m, sides.validation!, { quiet: true, embeddingThreads });
              progress(sides.validation!.numSamples, `${kind} validation`);
              return { model: { m, r }, result: { validation, trainSeconds: r.seconds, trainedSamples: r.samples, earlyStopping: earlyStopping ? stoppingOf(r) : null } };
            } catch (e) {
              await m.release();
              throw e;
            }
          },
          ({ m }) => release(m),
        );
        model = search.model.m;
        const chosen = search.model.r;
        tuning = {
          metric: SELECTION_METRIC,
          knob: plan.knob ? { param: plan.knob.param, flag: plan.knob.flag, values: plan.knob.values } : null,
          points: search.points,
          chosen: search.chosen,
          ...(from ? { inheritedFrom: from.run } : {}),
        };
        trained = {
          seconds: search.points.reduce((a, p) => a + p.trainSeconds, 0),
          samples: search.points.reduce((a, p) => a + p.trainedSamples, 0),
          curves: chosen.curves,
          stopping: earlyStopping ? stoppingOf(chosen) : null,
        };
      } else {
        model = kind === carrierKind && carrier ? carrier : await create();
        try {
          const r = await trainParts(model, sides.train, training(kind), ownOf(model));
          trained = { seconds: r.seconds, samples: r.samples, curves: r.curves, stopping: earlyStopping ? stoppingOf(r) : null };
        } catch (e) {
          await release(model);
          throw e;
        }
      }
      try {
        events.onModelTrained?.(kind, run);
        const e0 = Date.now();
        const metrics = await evaluateModel(model, test, { quiet: true, embeddingThreads });
        progress(test.numSamples, `${kind} evaluation`);
        const curves = await collectCurves(model, test, { embeddingThreads });
        progress(test.numSamples, `${kind} curves`);
        events.onModelEvaluated?.(kind, run);
        record.models[kind] = {
          metrics,
          trainSeconds: trained.seconds,
          evalSeconds: (Date.now() - e0) / 1000,
          trainedSamples: trained.samples,
          lossCurves: trained.curves,
          curves,
          earlyStopping: trained.stopping,
          tuning,
        };
      } finally {
        await release(model);
      }
    }
  } finally {
    await carrier?.release();
  }
  record.seconds = (Date.now() - t0) / 1000;
  return record;
}

type Sides = { train: SampleSource; validation: SampleSource | null } | { train: SampleSource; validation: SampleSource; source: 'split'; name: string };

/** What this run trains on and validates on: train as it is, or without its validation side. */
function validationSides(train: SampleSource, config: ExperimentConfig, seed: number, sources: ExperimentSources): Sides {
  if (!needsValidation(config)) return { train, validation: null };
  const v = config.validation ?? { fraction: DEFAULT_VALIDATION_FRACTION };
  if ('split' in v) return { train, validation: sources.validation!, source: 'split', name: v.split };
  return splitBySession(train, v.fraction, seed);
}

async function describeValidation(sides: Sides): Promise<NonNullable<RunRecord['validation']>> {
  const v = sides.validation!;
  let clicks = 0;
  for (let b = 0; b < v.numBlocks; b++) {
    const block = v.readBlock(b);
    for (let i = 0; i < block.count; i++) clicks += block.click[i]!;
  }
  return { source: 'source' in sides ? 'split' : 'carved', impressions: v.numSamples, clicks, trainImpressions: sides.train.numSamples };
}

/** Epochs 'auto' and tune both need validation data. */
export function needsValidation(config: ExperimentConfig): boolean {
  return config.training.epochs === 'auto' || config.tune === true;
}

/** Early stopping's choice per trained component, in training order. */
function stoppingOf(r: TrainResult): ComponentStopping[] {
  return r.components.flatMap((c) => (c.earlyStopping ? [{ component: c.name, ...c.earlyStopping }] : []));
}

/** Trains exactly the named components of the model (the others are shared and already trained). */
async function trainParts(model: CvrModel, data: SampleSource, config: TrainConfig, names: string[]) {
  const result = await trainModel(model, data, { ...config, components: names });
  const trained = result.components.map((c) => c.name);
  if (trained.join() !== names.join())
    throw new Error(
      `the trainer trained [${trained.join(', ')}] where [${names.join(', ')}] was asked: it must honour TrainConfig.components` +
        ' (a shared CTR net must not be trained twice)',
    );
  return result;
}

/**
 * The epochs a component is counted for in the progress estimate with epochs 'auto' (it stops
 * when its validation loss does; the bar's total is a guess that each finished run corrects).
 */
export const AUTO_EPOCHS_ESTIMATE = 4;

/**
 * Training + evaluation samples of one run, to drive the progress bar: each component's slice of
 * the training data (a shared CTR net counted once; UNBIAS at most the clicked impressions) times
 * the epochs and, with tune, the grid points; a validation pass per grid point; and two passes
 * over the test split per model.
 */
export function estimatedWorkPerRun(train: CountedSource, test: SampleSource, spec: FeatureSpec, config: ExperimentConfig, run = 0): number {
  const epochs = config.training.epochs === 'auto' ? Math.min(AUTO_EPOCHS_ESTIMATE, config.earlyStopping?.maxEpochs ?? AUTO_EPOCHS_ESTIMATE) : config.training.epochs;
  const validation = needsValidation(config) && !(config.validation && 'split' in config.validation) ? (config.validation?.fraction ?? DEFAULT_VALIDATION_FRACTION) : 0;
  let samples = config.models.some((k) => usesSharedCtr(k, config, spec)) ? train.numSamples * (1 - validation) : 0;
  let validationPasses = 0;
  for (const kind of config.models) {
    const points = searches(config, run) ? trainingsOf(planOf(kind, config)) : 1;
    validationPasses += config.tune ? points : 0;
    for (const c of componentsOf(kind, config, spec, config.seed)) if (c.name !== CTR_COMPONENT) samples += points * (1 - validation) * expectedSlice(c, train);
  }
  return Math.round(samples * epochs + validationPasses * validation * train.numSamples + 2 * test.numSamples * config.models.length);
}

/** The plan that trains one point, `point`, of `plan`'s grid (a run after the searched ones). */
function singlePoint(plan: TuningPlan, point: GridPoint): TuningPlan {
  return {
    lrs: [point.lr],
    knob: plan.knob && point.knob !== null ? { ...plan.knob, values: [point.knob], start: point.knob } : null,
  };
}

/** A kind's tuning plan with this experiment's hyper-parameters. */
export function planOf(kind: ModelKind, config: ExperimentConfig): TuningPlan {
  return tuningPlan(kind, config.hyper[kind] ?? {});
}

/** Trainings of one run: one per model (the shared CTR net once), or one per grid point with tune. */
export function trainingsPerRun(config: ExperimentConfig, spec: FeatureSpec): { shared: number; models: Record<ModelKind, number> } {
  return {
    shared: config.models.some((k) => usesSharedCtr(k, config, spec)) ? 1 : 0,
    models: Object.fromEntries(config.models.map((k) => [k, config.tune ? trainingsOf(planOf(k, config)) : 1])),
  };
}

/** About how many samples a component trains on per epoch. */
function expectedSlice(c: ComponentDef, train: CountedSource): number {
  const n = train.numSamples;
  const clicks = train.clicks;
  const filtered = c.filter === 'all' ? n : clicks;
  switch (c.sampling.kind) {
    case 'none':
    case 'reject-by-pctr':
      return filtered;
    case 'unclicked-negatives':
      return clicks + c.sampling.rate * (n - clicks);
    case 'copy-conversions':
      return filtered + (c.sampling.copies - 1) * train.conversions;
  }
}

function validateExperiment(c: ExperimentConfig, sources: ExperimentSources): void {
  const bad = (what: string): never => {
    throw new Error(`invalid experiment: ${what}`);
  };
  if (c.models.length === 0) bad('no models to run');
  const seen = new Set<ModelKind>();
  for (const k of c.models) {
    if (seen.has(k)) bad(`model '${k}' is listed twice`);
    seen.add(k);
  }
  if (!Number.isInteger(c.runs) || c.runs < 1) bad(`runs must be a positive integer (got ${c.runs})`);
  if (!Number.isInteger(c.seed) || c.seed < 0 || c.seed + c.runs - 1 > 2 ** 32 - 1)
    bad(`seed must be an integer with seed + runs - 1 below 2^32 (got ${c.seed})`);
  if (c.training.epochs !== 'auto' && c.earlyStopping) bad('early stopping (patience, evalEvery, maxEpochs) applies with epochs auto only');
  if (c.tuneRuns !== undefined) {
    if (!c.tune) bad('tuneRuns applies with tune only');
    if (!Number.isInteger(c.tuneRuns) || c.tuneRuns < 1 || c.tuneRuns > c.runs) bad(`tuneRuns must be an integer from 1 to runs (${c.runs}) (got ${c.tuneRuns})`);
  }
  const v = c.validation;
  if (v && !needsValidation(c)) bad('validation data is used with epochs auto or tune only');
  if (v && 'split' in v && !sources.validation) bad(`the validation split ${v.split} was named but its data not given`);
  if (v && 'fraction' in v && !(v.fraction > 0 && v.fraction < 1)) bad(`the validation fraction must be in (0, 1) (got ${v.fraction})`);
  if (c.tune) for (const k of c.models) planOf(k, c);
}
