/**
 * `epochs: 'auto'`: each component trains until the loss of its own graph on its own slice of a
 * validation split has not improved for `patience` evaluations, then its best state is restored.
 *
 * The metric is the validation loss, lower is better: the mean over the validation slice of the
 * per-sample loss the component's graph declares (models/definition.ts, `loss`), computed without
 * dropout. It is the one quantity every component defines for itself: an AUC would need to know
 * which label each component's outputs estimate (BASE's CVR net learns conversion on clicked
 * impressions, ESMM's net the sum of a CTR and a CTCVR loss, DIVISION's nets pCTCVR and pCTR) and
 * how to weigh several. The slice is the component's own (train/component-data.ts: its filter and
 * sampling applied to the validation side), so BASE's CVR net is judged on clicked validation
 * impressions, as it is trained.
 *
 * What the state holds (and a checkpoint saves): the best value, its step and epoch, evaluations
 * since the best, the step of the last evaluation, and the curve; the best weights (dense
 * parameters and the touched embedding rows) are a snapshot of tensors beside it.
 */
import { fileOrderBatches } from '../data/batch/file-order.js';
import type { SampleSource } from '../data/sample-source.js';
import type { Component } from '../models/component.js';
import type { CvrModel } from '../models/cvr-model.js';
import { labelsOf } from '../models/labels.js';
import type { NamedTensor } from '../persist/tensor-file.js';
import type { EmbeddingThread } from '../sparse/embedding-thread.js';

/** Evaluations per epoch when --eval-every is not given: on a validation slice of at least SMALL_VALIDATION impressions, and below. */
export const EVALS_PER_EPOCH = 4;
export const EVALS_PER_EPOCH_SMALL = 1;
export const SMALL_VALIDATION = 10_000;
export const DEFAULT_PATIENCE = 2;
export const DEFAULT_MAX_EPOCHS = 50;
/**
 * Whole epochs of its own data before a component's patience may stop it. A component judged on a
 * small, noisy validation slice (BASE's CVR net: ~1k clicked validation impressions on 200k) could
 * otherwise stop on a wobble of its first evaluations before it had learned anything.
 */
export const DEFAULT_MIN_EPOCHS = 1;
export const DEFAULT_VALIDATION_FRACTION = 0.1;

/** One evaluation: after `step` steps of the component, in (0-based) epoch `epoch`. */
export interface ValidationPoint {
  step: number;
  epoch: number;
  loss: number;
}

export interface EarlyStoppingState {
  metric: 'validation_loss';
  patience: number;
  evalEvery: number;
  maxEpochs: number;
  /** Whole epochs before the patience may stop it. */
  minEpochs: number;
  /** Impressions in the component's validation slice. */
  validationSamples: number;
  best: number | null;
  bestStep: number;
  bestEpoch: number;
  /** Evaluations since the best one (0 right after an improvement). */
  sinceBest: number;
  /** Step of the last evaluation (-1: none yet). */
  lastEvalStep: number;
  curve: ValidationPoint[];
  /** Why training stopped, once it has: the patience ran out, or --max-epochs was reached. */
  stopped: 'patience' | 'max-epochs' | null;
}

/** What a component's early stopping chose, as model.json records it. */
export interface EarlyStoppingSummary {
  metric: 'validation_loss';
  validationSamples: number;
  patience: number;
  evalEvery: number;
  maxEpochs: number;
  minEpochs: number;
  /** The state kept: after `bestStep` steps, in (0-based) epoch `bestEpoch`, validation loss `best`. */
  best: number | null;
  bestStep: number;
  bestEpoch: number;
  stoppedAtStep: number;
  stopped: 'patience' | 'max-epochs';
  curve: { step: number; epoch: number; loss: number }[];
}

export function initialState(opts: { patience: number; evalEvery: number; maxEpochs: number; minEpochs: number; validationSamples: number }): EarlyStoppingState {
  return { metric: 'validation_loss', ...opts, best: null, bestStep: 0, bestEpoch: 0, sinceBest: 0, lastEvalStep: -1, curve: [], stopped: null };
}

/** The fewest steps between evaluations by default (an epoch's end is evaluated whatever this says). */
export const MIN_EVAL_EVERY = 25;

/**
 * The evaluation interval when --eval-every is not given: about EVALS_PER_EPOCH evaluations per
 * epoch of the component's own slice when its validation slice holds SMALL_VALIDATION impressions
 * or more, one per epoch below that; never fewer than MIN_EVAL_EVERY steps apart; every epoch's end
 * is evaluated too. The loss of a small validation slice is noisy (BASE's CVR net on 200k
 * generated impressions: ~800 clicked validation impressions, ~30 conversions), and a component
 * whose batches are scaled to its share (slice-batch.ts) changes a lot between evaluations: judged
 * 4 times an epoch, BASE's CVR net kept a noisy dip of its first epoch and reached a test CVR AUC of
 * 0.554–0.629 over 3 seeds; judged once an epoch, 0.626–0.628 (docs/models.md, "Early stopping").
 * ESMM on the same data (~20k validation impressions) is still judged 4 times an epoch.
 */
export function defaultEvalEvery(trainSamples: number, batchSize: number, validationSamples: number): number {
  const stepsPerEpoch = Math.ceil(trainSamples / batchSize);
  const evals = validationSamples >= SMALL_VALIDATION ? EVALS_PER_EPOCH : EVALS_PER_EPOCH_SMALL;
  return Math.max(MIN_EVAL_EVERY, Math.ceil(stepsPerEpoch / evals));
}

/**
 * Records an evaluation made after `epochsDone` whole epochs; `stop` is true when the component
 * should stop: `patience` evaluations in a row without improvement, once `minEpochs` epochs are
 * done. An evaluation improves when its loss is strictly below the best so far (the first one
 * always does).
 */
export function record(state: EarlyStoppingState, point: ValidationPoint, epochsDone: number): { improved: boolean; stop: boolean } {
  state.curve.push(point);
  state.lastEvalStep = point.step;
  const improved = state.best === null || point.loss < state.best;
  if (improved) {
    state.best = point.loss;
    state.bestStep = point.step;
    state.bestEpoch = point.epoch;
    state.sinceBest = 0;
  } else {
    state.sinceBest++;
  }
  const stop = state.sinceBest >= state.patience && epochsDone >= state.minEpochs;
  if (stop) state.stopped = 'patience';
  return { improved, stop };
}

/** The mean per-sample loss of the component's graph over `source`, without dropout (see DenseNet.evaluateLoss). */
export async function validationLoss(component: Component, source: SampleSource, model: CvrModel, thread: EmbeddingThread | null): Promise<number> {
  let sum = 0;
  let count = 0;
  for (const { batch } of fileOrderBatches(source, model.config.spec, 4096)) {
    const x = thread ? await thread.forward(batch, 'infer') : component.pool(batch, 'infer');
    const loss = await component.net.evaluateLoss(x, batch.size, labelsOf(batch, component.net.labelNames));
    // The graph gives the batch mean (float32); weighted by the batch size and summed in float64
    // it is the mean over the whole slice, whatever the batches.
    sum += loss * batch.size;
    count += batch.size;
  }
  return count > 0 ? sum / count : NaN;
}

/** Copies of a component's weights: dense parameters and touched embedding rows (models/model-tensors.ts keys). */
export function snapshot(c: Component): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const [name, p] of c.net.params) out.set(`dense/${name}`, { dims: [...p.dims], data: p.data.slice() });
  for (const table of c.embeddings.tables) {
    const { rows, data } = table.exportRows();
    out.set(`emb/${table.name}/rows`, { dims: [rows.length], data: rows });
    out.set(`emb/${table.name}/data`, { dims: [rows.length, table.dim], data });
  }
  return out;
}

/** Puts a snapshot back: the dense parameters, and exactly its embedding rows (later-touched rows untouched again). */
export function restoreSnapshot(c: Component, snap: ReadonlyMap<string, NamedTensor>, where: string): void {
  const need = (key: string) => {
    const t = snap.get(key);
    if (!t) throw new Error(`${where}: the best state of '${c.def.name}' lacks ${key}`);
    return t.data;
  };
  for (const [name, p] of c.net.params) {
    const data = need(`dense/${name}`);
    if (!(data instanceof Float32Array) || data.length !== p.data.length) throw new Error(`${where}: best ${name} of '${c.def.name}' does not fit the model`);
    p.data.set(data);
  }
  for (const table of c.embeddings.tables) {
    const rows = need(`emb/${table.name}/rows`);
    const data = need(`emb/${table.name}/data`);
    if (!(rows instanceof Int32Array) || !(data instanceof Float32Array)) throw new Error(`${where}: best rows of table ${table.name} have the wrong type`);
    table.replaceRows(rows, data);
  }
}
