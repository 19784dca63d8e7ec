/**
 * The paper's protocol for Table 2: every model trained `runs` times with different seeds on the
 * same train split and evaluated on the same test split.
 *
 * Run r uses seed + r for every model's initial weights, data order and sampling. The models with
 * a separately trained CTR net (BASE, AMAN, OVERSAMPLING, UNBIAS, DIVISION) share ONE CTR net per
 * run, trained once: the CTR net each of them would train on its own is that very net (same seed,
 * same component name, same data: bit for bit), so sharing changes only the time. DIVISION's CTR
 * net is this shared one too; its CTCVR net is its own. ESMM and ESMM-NS have their own CTR towers.
 */
import type { SampleSource } from '../data/sample-source.js';
import type { FeatureSpec } from '../features/spec-types.js';
import type { Component } from '../models/component.js';
import { CvrModel, resolveModel } from '../models/cvr-model.js';
import type { ComponentDef } from '../models/definition.js';
import type { HyperRecord } from '../models/hyper.js';
import { CTR_COMPONENT } from '../models/nets.js';
import type { ModelKind } from '../models/registry.js';
import { evaluateModel, type EvalResult } from '../train/evaluate.js';
import type { OptimizerKind } from '../optim/kernels.js';
import type { LossCurve } from '../train/loss-curve.js';
import { trainModel, type TrainConfig } from '../train/trainer.js';
import { collectCurves, type ModelCurves } from './collect.js';

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
  training: { epochs: number; batchSize: number; lr: number; optimizer: OptimizerKind };
  /** onnxruntime threads; with 2 or more, training also splits the embedding side over 2 threads. */
  threads: number;
}

/** One model trained and evaluated in one run. */
export interface ModelRun {
  metrics: EvalResult;
  /** Training seconds of the model's own components (not the shared CTR net). */
  trainSeconds: number;
  /** Seconds of the two passes over the test split (metrics, curves). */
  evalSeconds: number;
  /** Samples its own components trained on, all epochs. */
  trainedSamples: number;
  lossCurves: LossCurve[];
  curves: ModelCurves;
}

export interface RunRecord {
  run: number;
  seed: number;
  seconds: number;
  /** The shared CTR net of this run; null when no model needed it. */
  sharedCtr: { seconds: number; trainedSamples: number; lossCurve: LossCurve } | null;
  models: Partial<Record<ModelKind, ModelRun>>;
}

export interface ExperimentEvents {
  /** After each run. */
  onRun?: (record: RunRecord) => void;
  /** Work done so far and the (estimated) total, in training + evaluation samples. */
  onProgress?: (done: number, total: number, what: string) => void;
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
): Promise<RunRecord[]> {
  validateExperiment(config);
  const perRun = estimatedWorkPerRun(train, test, spec, config);
  const total = perRun * config.runs;
  let done = 0;
  const progress = (n: number, what: string) => {
    done += n;
    events.onProgress?.(Math.min(done, total), total, what);
  };
  const records: RunRecord[] = [];
  for (let run = 0; run < config.runs; run++) {
    const runStart = done;
    records.push(await runOnce(run, train, test, spec, config, progress));
    // The estimate can miss (UNBIAS keeps a random share): each run ends at its share of the total.
    done = runStart + perRun;
    events.onRun?.(records[records.length - 1]!);
  }
  return records;
}

async function runOnce(
  run: number,
  train: SampleSource,
  test: SampleSource,
  spec: FeatureSpec,
  config: ExperimentConfig,
  progress: (n: number, what: string) => void,
): Promise<RunRecord> {
  const seed = config.seed + run;
  const t0 = Date.now();
  const modelConfig = (kind: ModelKind) => ({ kind, spec, hyper: config.hyper[kind] ?? {}, seed });
  const training = (what: string): TrainConfig => ({
    ...config.training,
    seed,
    quiet: true,
    embeddingThread: config.threads >= 2,
    onStep: (s) => progress(s.samples, what),
  });
  const record: RunRecord = { run, seed, seconds: 0, sharedCtr: null, models: {} };
  // The shared CTR net lives in the first model that has one (its carrier), for the whole run.
  const carrierKind = config.models.find((k) => usesSharedCtr(k, config, spec));
  const carrier = carrierKind ? await CvrModel.create(modelConfig(carrierKind), { threads: config.threads }) : null;
  try {
    let shared: Component | null = null;
    if (carrier) {
      const r = await trainParts(carrier, train, training('shared CTR net'), [CTR_COMPONENT]);
      shared = carrier.component(CTR_COMPONENT);
      record.sharedCtr = { seconds: r.seconds, trainedSamples: r.samples, lossCurve: r.curves[0]! };
    }
    for (const kind of config.models) {
      const sharedCtr = usesSharedCtr(kind, config, spec) ? shared : null;
      const model =
        kind === carrierKind && carrier
          ? carrier
          : await CvrModel.create(modelConfig(kind), { threads: config.threads, ...(sharedCtr ? { shared: [sharedCtr] } : {}) });
      try {
        const own = model.components.map((c) => c.def.name).filter((name) => !(sharedCtr && name === CTR_COMPONENT));
        const trained = await trainParts(model, train, training(kind), own);
        const e0 = Date.now();
        const metrics = await evaluateModel(model, test, { quiet: true, embeddingThreads: config.threads >= 2 });
        progress(test.numSamples, `${kind} evaluation`);
        const curves = await collectCurves(model, test, { embeddingThreads: config.threads >= 2 });
        progress(test.numSamples, `${kind} curves`);
        record.models[kind] = {
          metrics,
          trainSeconds: trained.seconds,
          evalSeconds: (Date.now() - e0) / 1000,
          trainedSamples: trained.samples,
          lossCurves: trained.curves,
          curves,
        };
      } finally {
        if (model !== carrier) await model.release();
      }
    }
  } finally {
    await carrier?.release();
  }
  record.seconds = (Date.now() - t0) / 1000;
  return record;
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
 * Training + evaluation samples of one run, to drive the progress bar: each component's slice of
 * the training data (a shared CTR net counted once; UNBIAS at most the clicked impressions), and
 * two passes over the test split per model.
 */
export function estimatedWorkPerRun(train: CountedSource, test: SampleSource, spec: FeatureSpec, config: ExperimentConfig): number {
  let samples = config.models.some((k) => usesSharedCtr(k, config, spec)) ? train.numSamples : 0;
  for (const kind of config.models)
    for (const c of componentsOf(kind, config, spec, config.seed)) if (c.name !== CTR_COMPONENT) samples += expectedSlice(c, train);
  return samples * config.training.epochs + 2 * test.numSamples * config.models.length;
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

function validateExperiment(c: ExperimentConfig): void {
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
}
