import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { parseSpec } from '../features/spec.js';
import type { DenseNetMode, DenseSpec, ParamSet } from '../models/dense.js';
import { CvrModel, type ModelConfig } from '../models/cvr-model.js';
import { SAMPLED_KINDS, SAMPLING_DEFAULTS, parseModelKind, validateSampling, type DenseShape, type SamplingOptions } from '../models/model-kinds.js';
import { writeFileDurable } from '../util/durable-fs.js';
import { packageRoot } from '../util/paths.js';
import { readTensorFile, writeTensorFile, type NamedTensor } from './tensor-file.js';

/**
 * A saved model is a directory:
 *   model.json             kind, feature spec, dense shape, seed, sampling options (AMAN, OVERSAMPLING,
 *                          UNBIAS), training config, metrics, versions
 *   <component>.weights    dense parameters and the touched embedding rows (tensor file, checksummed)
 * It is written into a temporary sibling directory and renamed into place, so a crash never
 * leaves a half-written model under the final name.
 */
export const MODEL_FORMAT = 'esmm-model';
export const MODEL_FORMAT_VERSION = 1;

export interface ModelManifest {
  format: typeof MODEL_FORMAT;
  version: number;
  kind: string;
  seed: number;
  shape: DenseShape;
  spec: unknown;
  components: { name: string; dense: DenseSpec; weights: string }[];
  /** The sampling options the model was trained with: AMAN, OVERSAMPLING and UNBIAS only. */
  sampling?: SamplingOptions;
  training?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
  versions: Record<string, string>;
  createdAt: string;
}

export interface SaveExtras {
  training?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
}

export function saveModel(model: CvrModel, dir: string, extras: SaveExtras = {}): void {
  const target = resolve(dir);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now()}`);
  mkdirSync(tmp);
  try {
    const manifest: ModelManifest = {
      format: MODEL_FORMAT,
      version: MODEL_FORMAT_VERSION,
      kind: model.config.kind,
      seed: model.config.seed,
      shape: model.config.shape,
      spec: model.config.spec,
      components: [],
      ...(SAMPLED_KINDS.includes(model.config.kind) ? { sampling: { ...SAMPLING_DEFAULTS, ...model.config.sampling } } : {}),
      ...(extras.training ? { training: extras.training } : {}),
      ...(extras.metrics ? { metrics: extras.metrics } : {}),
      versions: versions(),
      createdAt: new Date().toISOString(),
    };
    for (const c of model.components) {
      const tensors = new Map<string, NamedTensor>();
      for (const [name, p] of c.net.params) tensors.set(`dense/${name}`, { dims: p.dims, data: p.data });
      for (const table of c.embeddings.tables) {
        const { rows, data } = table.exportRows();
        tensors.set(`emb/${table.name}/rows`, { dims: [rows.length], data: rows });
        tensors.set(`emb/${table.name}/data`, { dims: [rows.length, table.dim], data });
      }
      const file = `${c.def.name}.weights`;
      writeTensorFile(join(tmp, file), tensors);
      manifest.components.push({ name: c.def.name, dense: c.def.dense, weights: file });
    }
    writeFileDurable(join(tmp, 'model.json'), JSON.stringify(manifest, null, 2) + '\n');
    const old = existsSync(target) ? `${tmp}.old` : null;
    if (old) renameSync(target, old);
    renameSync(tmp, target);
    if (old) rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`could not save the model to ${target}: ${(e as Error).message}`);
  }
}

export function readManifest(dir: string): ModelManifest {
  const path = join(dir, 'model.json');
  if (!existsSync(path)) throw new Error(`${dir}: not a model directory (no model.json); train one with 'esmm train'`);
  let m: ModelManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: unreadable JSON (${(e as Error).message})`);
  }
  if (m.format !== MODEL_FORMAT) throw new Error(`${path}: format is '${m.format}', expected '${MODEL_FORMAT}'`);
  if (m.version !== MODEL_FORMAT_VERSION) {
    throw new Error(`${path}: model format version ${m.version}; this esmm reads version ${MODEL_FORMAT_VERSION}`);
  }
  return m;
}

/** opts.mode 'predict' loads for prediction alone (faster, cannot train: see DenseNet). */
export async function loadModel(dir: string, opts: { threads?: number; mode?: DenseNetMode } = {}): Promise<CvrModel> {
  const m = readManifest(dir);
  const spec = parseSpec(m.spec, join(dir, 'model.json') + ' (spec)');
  const config: ModelConfig = { kind: parseModelKind(m.kind), spec, shape: m.shape, seed: m.seed };
  if (m.sampling !== undefined) config.sampling = parseSamplingRecord(m.sampling, join(dir, 'model.json'));
  const weights = new Map<string, Map<string, NamedTensor>>();
  const params = new Map<string, ParamSet>();
  for (const c of m.components) {
    const tensors = readTensorFile(join(dir, c.weights));
    weights.set(c.name, tensors);
    const set: ParamSet = new Map();
    for (const [name, t] of tensors) {
      if (!name.startsWith('dense/')) continue;
      set.set(name.slice('dense/'.length), { dims: t.dims, data: t.data as Float32Array });
    }
    params.set(c.name, set);
  }
  const model = await CvrModel.create(config, { ...opts, params });
  for (const c of model.components) {
    const tensors = weights.get(c.def.name);
    if (!tensors) throw new Error(`${dir}: model.json lists no weights for component '${c.def.name}'`);
    for (const table of c.embeddings.tables) {
      const rows = tensors.get(`emb/${table.name}/rows`);
      const data = tensors.get(`emb/${table.name}/data`);
      if (!rows || !data) throw new Error(`${dir}/${c.def.name}.weights: no embedding table '${table.name}'`);
      table.importRows(rows.data as Int32Array, data.data as Float32Array);
    }
  }
  return model;
}

/** A manifest's "sampling": the three options, each a number (componentsOf checks their ranges). */
function parseSamplingRecord(value: unknown, path: string): SamplingOptions {
  const keys = Object.keys(SAMPLING_DEFAULTS) as (keyof SamplingOptions)[];
  const o = value as Record<string, unknown>;
  const ok =
    typeof value === 'object' && value !== null && !Array.isArray(value) &&
    Object.keys(o).every((k) => (keys as string[]).includes(k)) && keys.every((k) => typeof o[k] === 'number');
  if (!ok) throw new Error(`${path}: "sampling" must be an object of ${keys.join(', ')} (numbers), got ${JSON.stringify(value).slice(0, 200)}`);
  const options = o as unknown as SamplingOptions;
  try {
    validateSampling(options);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  return options;
}

/** Versions recorded with every model, so a result can be traced to the code that made it. */
export function versions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const own = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { name: string; version: string };
  let ort = 'unknown';
  try {
    ort = (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    // Not resolvable through exports in every layout; the version is informational.
  }
  return { [own.name]: own.version, node: process.version, 'onnxruntime-node': ort };
}
