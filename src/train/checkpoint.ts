/**
 * Training checkpoints: everything a run needs to continue exactly where it stopped, written
 * atomically so that a crash (SIGKILL, power loss, full disk) never leaves a checkpoint that
 * looks complete but is not.
 *
 * A checkpoint is one tensor file (persist/tensor-file.ts: CRC-32 per tensor, fsync) named
 * `step-<global step, 12 digits>.ckpt` in the checkpoint folder:
 *
 *   meta                      UTF-8 JSON: CheckpointMeta (the run's fingerprint, the position in
 *                             the data, RNG states, loss curves, optimizer hyper-parameters, and
 *                             the list of every other tensor with its dims: the container's header
 *                             is not checksummed, so it is checked against this list)
 *   model/<component>/...     the model's tensors (models/model-tensors.ts: dense parameters,
 *                             touched embedding rows and their values), as a model directory holds them
 *   opt/dense/<slot>/<p>      the current component's dense optimizer slots
 *   opt/sparse/<k>/rows|<slot>  its sparse optimizer's per-row slots, per table with state
 *   pos/block-order, pos/sample-order  the current epoch's block order and block's sample order
 *   best/<dense|emb>/...      with epochs 'auto': the current component's best weights so far
 *                             (early-stopping.ts), keyed as a component's model tensors are
 *
 * Writing goes to `.step-….ckpt.tmp-<pid>` (written and fsynced by writeTensorFile), then a
 * rename and an fsync of the folder; only then are checkpoints beyond the newest `keep` removed.
 * Reading verifies every checksum and the tensor list; a damaged file is renamed to
 * `….ckpt.damaged`, reported, and the next older one is tried.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LossCurve } from './loss-curve.js';
import type { EarlyStoppingState, EarlyStoppingSummary } from './early-stopping.js';
import type { CvrModel } from '../models/cvr-model.js';
import { modelTensors, restoreComponent } from '../models/model-tensors.js';
import { readTensorFile, writeTensorFile, type NamedTensor, type TensorData } from '../persist/tensor-file.js';
import type { DenseOptimizer } from '../optim/dense.js';
import type { OptimizerHyper } from '../optim/kernels.js';
import type { SparseOptimizer, SparseOptimizerState } from '../sparse/row-sparse-optimizer.js';
import type { EmbeddingTable } from '../sparse/embedding-table.js';
import { fsyncPath } from '../util/durable-fs.js';
import type { Rng } from '../util/rng.js';

export const CHECKPOINT_FORMAT = 'esmm-checkpoint';
export const CHECKPOINT_VERSION = 2;
/** Checkpoints kept by default: the newest and one before it, in case the newest is damaged. */
export const DEFAULT_KEEP = 2;

const NAME = /^step-(\d{12})\.ckpt$/;
const TEMP = /^\.step-\d{12}\.ckpt\.tmp-(\d+)$/;

export type RngState = ReturnType<Rng['getState']>;

/**
 * What makes two runs the same run: a checkpoint only resumes a run with the same fingerprint
 * (model, feature spec, training options, the components trained, and the data).
 */
export interface RunFingerprint {
  model: { kind: string; seed: number; hyper: unknown; spec: unknown };
  training: {
    epochs: number | 'auto';
    batchSize: number;
    lr: number;
    optimizer: string;
    seed: number;
    components: string[];
    /** With epochs 'auto': patience, evaluation interval, epoch cap and the validation data. */
    earlyStopping?: unknown;
  };
  data: { numSamples: number; numBlocks: number; fieldNames: string[]; firstBlockCrc: number };
}

/** A component whose training is complete. */
export interface FinishedComponent {
  name: string;
  trainedOn: number;
  /** Samples per step (slice-batch.ts); absent in checkpoints written before it was recorded. */
  batchSize?: number;
  steps: number;
  finalLoss: number | null;
  samples: number;
  curve: LossCurve;
  /** With epochs 'auto': what early stopping chose (early-stopping.ts). */
  earlyStopping?: EarlyStoppingSummary;
}

/** Where the component being trained is, and its running statistics. */
export interface ComponentPosition {
  /** Index into the components being trained. */
  index: number;
  name: string;
  epoch: number;
  /** Index into the epoch's block order of the block being read (its order is in pos/block-order). */
  blockIndex: number;
  /** Index into that block's shuffled sample order where the next batch starts. */
  sampleStart: number;
  hasBlockOrder: boolean;
  hasSampleOrder: boolean;
  step: number;
  samples: number;
  ema: number | null;
  windowSum: number;
  windowSteps: number;
  curve: LossCurve;
  /** The data-order generator, after every draw made so far. */
  dataRng: RngState;
  /** With epochs 'auto': the early-stopping state; the best weights are the `best/...` tensors. */
  earlyStopping?: EarlyStoppingState;
  denseOptimizer: { hyper: OptimizerHyper; step: number; slots: number; params: number };
  sparseOptimizer: { hyper: OptimizerHyper; step: number; tables: { table: string; buckets: number; dim: number; slots: number }[] };
}

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  fingerprint: RunFingerprint;
  /** Steps taken over all components. */
  globalStep: number;
  /** Training seconds and samples before this checkpoint (for the final rate). */
  seconds: number;
  samples: number;
  finished: FinishedComponent[];
  /** null: every component is trained (the final checkpoint). */
  current: ComponentPosition | null;
  /** Per model component, in model order: its name and dropout RNG. */
  components: { name: string; dropoutRng: RngState }[];
  /** Every tensor but `meta`, as written. */
  tensors: { name: string; dtype: string; dims: number[] }[];
  createdAt: string;
}

export interface Checkpoint {
  path: string;
  meta: CheckpointMeta;
  tensors: Map<string, NamedTensor>;
}

/** A checkpoint the folder holds, by global step. */
export interface CheckpointFile {
  step: number;
  path: string;
}

/** The checkpoints of one run in one folder. */
export class CheckpointStore {
  readonly dir: string;

  constructor(
    dir: string,
    readonly keep: number = DEFAULT_KEEP,
  ) {
    if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`checkpoints to keep must be a positive integer, got ${keep}`);
    this.dir = resolve(dir);
  }

  /** Creates the folder (a clear error when it cannot be) and removes temp files of dead writers. */
  open(): this {
    try {
      mkdirSync(this.dir, { recursive: true });
      if (!statSync(this.dir).isDirectory()) throw new Error('not a folder');
    } catch (e) {
      throw new Error(`cannot use ${this.dir} as the checkpoint folder (${reason(e)}); pass a writable folder as --checkpoint-dir`);
    }
    for (const name of readdirSync(this.dir)) {
      const m = TEMP.exec(name);
      if (m && !isAlive(Number(m[1]))) rmSync(join(this.dir, name), { force: true });
    }
    return this;
  }

  /** Complete-looking checkpoints, newest first (damaged ones are found by load). */
  list(): CheckpointFile[] {
    if (!existsSync(this.dir)) return [];
    const files: CheckpointFile[] = [];
    for (const name of readdirSync(this.dir)) {
      const m = NAME.exec(name);
      if (m) files.push({ step: Number(m[1]), path: join(this.dir, name) });
    }
    return files.sort((a, b) => b.step - a.step);
  }

  /**
   * Writes a checkpoint atomically and then removes the ones beyond the newest `keep`. On failure
   * (full disk, no permission) nothing is removed, the temp file is deleted, and the error says
   * which previous checkpoint is intact.
   */
  write(meta: Omit<CheckpointMeta, 'tensors' | 'format' | 'version' | 'createdAt'>, tensors: Map<string, NamedTensor>): string {
    const name = `step-${String(meta.globalStep).padStart(12, '0')}.ckpt`;
    const path = join(this.dir, name);
    const tmp = join(this.dir, `.${name}.tmp-${process.pid}`);
    const full: CheckpointMeta = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      ...meta,
      tensors: [...tensors].map(([n, t]) => ({ name: n, dtype: dtypeName(t.data), dims: t.dims })),
      createdAt: new Date().toISOString(),
    };
    const bytes = new TextEncoder().encode(JSON.stringify(full));
    const all = new Map<string, NamedTensor>([['meta', { dims: [bytes.length], data: bytes }], ...tensors]);
    try {
      writeTensorFile(tmp, all);
      renameSync(tmp, path);
      fsyncPath(this.dir);
    } catch (e) {
      try {
        rmSync(tmp, { force: true });
      } catch {
        // Cleaning up must not hide why the write failed; open() removes stale temp files later.
      }
      const previous = this.list().find((f) => f.path !== path);
      const intact = previous ? `the previous checkpoint ${previous.path} is intact` : 'there is no earlier checkpoint';
      throw new Error(`could not write checkpoint ${path} (${reason(e)}); ${intact}. Free some space or pass another --checkpoint-dir, then run again with --resume`);
    }
    for (const old of this.list().slice(this.keep)) rmSync(old.path, { force: true });
    return path;
  }

  /**
   * The newest checkpoint that verifies, or null when there is none. Damaged ones are renamed
   * to `<name>.damaged` (kept for a look, never picked again) and reported through `warn`.
   */
  loadLatest(warn: (message: string) => void): Checkpoint | null {
    for (const file of this.list()) {
      try {
        return readCheckpoint(file.path);
      } catch (e) {
        // Intact, but of another format version: not damage, and not to be skipped silently.
        if (e instanceof CheckpointVersionError) throw e;
        const damaged = `${file.path}.damaged`;
        renameSync(file.path, damaged);
        warn(`checkpoint ${file.path} is damaged (${reason(e)}): skipped, renamed to ${damaged}`);
      }
    }
    return null;
  }
}

/** A checkpoint written by an esmm whose checkpoint format differs from this one's. */
export class CheckpointVersionError extends Error {
  constructor(path: string, version: unknown) {
    super(
      `${path} is a checkpoint of format version ${String(version)}; this esmm resumes version ${CHECKPOINT_VERSION}. ` +
        'Finish that run with the esmm that started it, or start over with another --checkpoint-dir',
    );
  }
}

/** Reads and verifies one checkpoint file; throws on any damage (and CheckpointVersionError on another version). */
export function readCheckpoint(path: string): Checkpoint {
  const tensors = readTensorFile(path);
  const metaTensor = tensors.get('meta');
  if (!metaTensor || !(metaTensor.data instanceof Uint8Array) || metaTensor.dims.join() !== String(metaTensor.data.length)) throw new Error('no meta tensor');
  tensors.delete('meta');
  const meta = JSON.parse(new TextDecoder().decode(metaTensor.data)) as CheckpointMeta;
  if (meta.format !== CHECKPOINT_FORMAT) throw new Error(`format is ${String(meta.format)}, expected ${CHECKPOINT_FORMAT}`);
  if (meta.version !== CHECKPOINT_VERSION) throw new CheckpointVersionError(path, meta.version);
  if (!Array.isArray(meta.tensors) || meta.tensors.length !== tensors.size) {
    throw new Error(`${tensors.size} tensors, the meta lists ${Array.isArray(meta.tensors) ? meta.tensors.length : 'none'}`);
  }
  for (const expected of meta.tensors) {
    const t = tensors.get(expected.name);
    const size = expected.dims.reduce((a, d) => a * d, 1);
    if (!t || dtypeName(t.data) !== expected.dtype || t.dims.join() !== expected.dims.join() || t.data.length !== size) {
      throw new Error(`tensor ${expected.name} does not match the meta`);
    }
  }
  return { path, meta, tensors };
}

// -------------------------------------------------------------------------------------------
// What goes into a checkpoint, and back.

/** Every component's tensors (models/model-tensors.ts) under `model/`, and their dropout RNGs. */
export function captureModel(model: CvrModel, tensors: Map<string, NamedTensor>): CheckpointMeta['components'] {
  for (const [key, t] of modelTensors(model)) tensors.set(`model/${key}`, t);
  return model.components.map((c) => ({ name: c.def.name, dropoutRng: c.net.getDropoutRngState() }));
}

/** Puts a checkpoint's weights and dropout RNG states into a model built with the same configuration. */
export function restoreModel(model: CvrModel, ckpt: Checkpoint): void {
  const saved = ckpt.meta.components;
  const names = model.components.map((c) => c.def.name);
  if (saved.length !== names.length || saved.some((s, i) => s.name !== names[i])) {
    throw new Error(`${ckpt.path} holds components [${saved.map((s) => s.name).join(', ')}], the model has [${names.join(', ')}]`);
  }
  model.components.forEach((c, ci) => {
    restoreComponent(c, (key) => ckpt.tensors.get(`model/${c.def.name}/${key}`), ckpt.path);
    c.net.setDropoutRngState(saved[ci]!.dropoutRng);
  });
}

/** The current component's optimizer state as tensors; returns what the meta needs. */
export function captureOptimizers(
  dense: DenseOptimizer,
  sparse: SparseOptimizer,
  tensors: Map<string, NamedTensor>,
): Pick<ComponentPosition, 'denseOptimizer' | 'sparseOptimizer'> {
  const d = dense.exportState();
  d.slots.forEach((perParam, s) => perParam.forEach((a, p) => tensors.set(`opt/dense/${s}/${p}`, { dims: [a.length], data: a })));
  const sp = sparse.exportState();
  sp.tables.forEach((t, k) => {
    tensors.set(`opt/sparse/${k}/rows`, { dims: [t.rows.length], data: t.rows });
    t.slots.forEach((a, s) => tensors.set(`opt/sparse/${k}/${s}`, { dims: [t.rows.length, t.dim], data: a }));
  });
  return {
    denseOptimizer: { hyper: d.hyper, step: d.step, slots: d.slots.length, params: d.slots[0]?.length ?? 0 },
    sparseOptimizer: {
      hyper: sp.hyper,
      step: sp.step,
      tables: sp.tables.map((t) => ({ table: t.table, buckets: t.buckets, dim: t.dim, slots: t.slots.length })),
    },
  };
}

/** Restores the optimizers of the component at `position` (its tables: those of the model's component). */
export function restoreOptimizers(
  ckpt: Checkpoint,
  position: ComponentPosition,
  dense: DenseOptimizer,
  sparse: SparseOptimizer,
  tables: readonly EmbeddingTable[],
): void {
  const d = position.denseOptimizer;
  const slots = Array.from({ length: d.slots }, (_, s) =>
    Array.from({ length: d.params }, (_, p) => need(ckpt, `opt/dense/${s}/${p}`).data as Float32Array),
  );
  dense.importState({ format: 'esmm-dense-optimizer', version: 1, hyper: d.hyper, step: d.step, slots });
  const sp = position.sparseOptimizer;
  const state: SparseOptimizerState = {
    format: 'esmm-sparse-optimizer',
    version: 1,
    hyper: sp.hyper,
    step: sp.step,
    tables: sp.tables.map((t, k) => ({
      ...t,
      rows: need(ckpt, `opt/sparse/${k}/rows`).data as Int32Array,
      slots: Array.from({ length: t.slots }, (_, s) => need(ckpt, `opt/sparse/${k}/${s}`).data as Float32Array),
    })),
  };
  sparse.importState(state, tables);
}

/** The differences between a checkpoint's fingerprint and this run's, as "what: saved vs now" lines. */
export function fingerprintDifferences(saved: RunFingerprint, now: RunFingerprint): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    if (isRecord(a) && isRecord(b) && !Array.isArray(a) && !Array.isArray(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[key], b[key], path ? `${path}.${key}` : key);
      return;
    }
    out.push(`${path}: ${short(a)} in the checkpoint, ${short(b)} in this run`);
  };
  walk(saved, now, '');
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}

function need(ckpt: Checkpoint, name: string): NamedTensor {
  const t = ckpt.tensors.get(name);
  if (!t) throw new Error(`${ckpt.path}: no tensor ${name}`);
  return t;
}

function dtypeName(d: TensorData): string {
  return d.constructor.name;
}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const message = (e as Error | null)?.message ?? String(e);
  return code && !message.startsWith(code) ? `${code}: ${message}` : message;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
