import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { parseSpec } from '../features/spec.js';
import { CvrModel, type ModelConfig } from '../models/cvr-model.js';
import type { DenseNetMode } from '../models/dense-net.js';
import { resolveHyper, type HyperRecord } from '../models/hyper.js';
import { componentTensors, denseParams, restoreComponent } from '../models/model-tensors.js';
import { modelDef } from '../models/registry.js';
import { fsyncPath, writeFileDurable } from '../util/durable-fs.js';
import { packageRoot } from '../util/paths.js';
import { readTensorFile, writeTensorFile, type NamedTensor } from './tensor-file.js';

/**
 * A saved model is a directory:
 *   model.json             kind, its hyper-parameters, feature spec, seed, training config,
 *                          metrics, versions
 *   <component>.weights    the component's tensors (models/model-tensors.ts: dense parameters
 *                          and the touched embedding rows; tensor file, checksummed)
 * It is written into a temporary sibling directory and renamed into place, so a crash never
 * leaves a half-written model under the final name.
 *
 * Version 1 (esmm-ts 0.1) recorded the towers as `shape` {inputDim, hidden, dropout} and the
 * baselines' options as `sampling`; its weights are laid out as version 2's, so it loads as the
 * model with those hyper-parameters. Version 2 files written before a kind recorded only the
 * options it reads hold every backbone's and objective's option of a multi-task kind; they load
 * as the same model (readOptions).
 */
export const MODEL_FORMAT = 'esmm-model';
export const MODEL_FORMAT_VERSION = 2;

export interface ModelManifest {
  format: typeof MODEL_FORMAT;
  version: number;
  kind: string;
  seed: number;
  /** Every hyper-parameter the kind reads (models/kinds/<kind>.ts declares them; ModelDef.reads). */
  hyper: HyperRecord;
  spec: unknown;
  components: { name: string; weights: string }[];
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
      hyper: model.config.hyper,
      spec: model.config.spec,
      components: [],
      ...(extras.training ? { training: extras.training } : {}),
      ...(extras.metrics ? { metrics: extras.metrics } : {}),
      versions: versions(),
      createdAt: new Date().toISOString(),
    };
    for (const c of model.components) {
      const file = `${c.def.name}.weights`;
      writeTensorFile(join(tmp, file), componentTensors(c));
      manifest.components.push({ name: c.def.name, weights: file });
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

/** model.json of a model directory, in the current version's form (a version 1 manifest is converted). */
export function readManifest(dir: string): ModelManifest {
  const path = join(dir, 'model.json');
  if (!existsSync(path)) throw new Error(`${dir}: not a model directory (no model.json); train one with 'esmm train'`);
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: unreadable JSON (${(e as Error).message})`);
  }
  if (typeof m !== 'object' || m === null || m.format !== MODEL_FORMAT) throw new Error(`${path}: format is '${String(m?.format)}', expected '${MODEL_FORMAT}'`);
  if (m.version === 1) return fromVersion1(m, path);
  if (m.version !== MODEL_FORMAT_VERSION) {
    throw new Error(`${path}: model format version ${String(m.version)}; this esmm reads versions 1 and ${MODEL_FORMAT_VERSION}: load it with a newer esmm`);
  }
  const manifest = m as unknown as ModelManifest;
  if (typeof manifest.hyper !== 'object' || manifest.hyper === null || Array.isArray(manifest.hyper))
    throw new Error(`${path}: "hyper" must be an object of the model's hyper-parameters`);
  return { ...manifest, hyper: readOptions(manifest.kind, manifest.hyper) };
}

/**
 * The recorded options less those the kind does not read at its recorded values and that hold
 * their default: a multi-task kind's model.json once recorded every backbone's and objective's
 * option, at its default where its parts did not read it (another value was refused). Any other
 * record is returned as it is, for loading to check (an unknown kind or a bad value fails there,
 * saying why).
 */
function readOptions(kind: string, recorded: HyperRecord): HyperRecord {
  let def, values;
  try {
    def = modelDef(kind);
    values = resolveHyper(def.hyper, recorded, kind);
  } catch {
    return recorded;
  }
  const read = def.reads?.(values) ?? Object.keys(def.hyper);
  const unreadDefault = (name: string) => !read.includes(name) && JSON.stringify(recorded[name]) === JSON.stringify(def.hyper[name]?.default);
  return Object.fromEntries(Object.entries(recorded).filter(([name]) => !unreadDefault(name)));
}

/** A version 1 manifest as version 2: `shape` and `sampling` become the kind's hyper-parameters. */
function fromVersion1(m: Record<string, unknown>, path: string): ModelManifest {
  let def;
  try {
    def = modelDef(String(m.kind));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  const shape = (m.shape ?? {}) as Record<string, unknown>;
  const recorded: Record<string, unknown> = { hidden: shape.hidden, dropout: shape.dropout, ...((m.sampling ?? {}) as Record<string, unknown>) };
  const hyper: Record<string, unknown> = {};
  for (const name of Object.keys(def.hyper)) if (recorded[name] !== undefined) hyper[name] = recorded[name];
  const components = (Array.isArray(m.components) ? m.components : []) as { name: string; weights: string }[];
  return {
    ...(m as unknown as ModelManifest),
    version: MODEL_FORMAT_VERSION,
    hyper: hyper as HyperRecord,
    components: components.map((c) => ({ name: c.name, weights: c.weights })),
  };
}

/** opts.mode 'predict' loads for prediction alone (faster, cannot train: see DenseNet). */
export async function loadModel(dir: string, opts: { threads?: number; mode?: DenseNetMode } = {}): Promise<CvrModel> {
  const m = readManifest(dir);
  const where = join(dir, 'model.json');
  const spec = parseSpec(m.spec, `${where} (spec)`);
  const config: ModelConfig = { kind: m.kind, spec, hyper: m.hyper, seed: m.seed };
  const weights = new Map<string, Map<string, NamedTensor>>();
  const params = new Map<string, ReturnType<typeof denseParams>>();
  for (const c of m.components) {
    const file = join(dir, c.weights);
    const tensors = readTensorFile(file);
    weights.set(c.name, tensors);
    params.set(c.name, denseParams(tensors, file));
  }
  let model: CvrModel;
  try {
    model = await CvrModel.create(config, { ...opts, params });
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
  try {
    for (const c of model.components) {
      const tensors = weights.get(c.def.name);
      if (!tensors) throw new Error(`${dir}: model.json lists no weights for component '${c.def.name}'`);
      restoreComponent(c, (key) => tensors.get(key), join(dir, `${c.def.name}.weights`));
    }
  } catch (e) {
    await model.release();
    throw e;
  }
  return model;
}

/**
 * Adds the metrics of a split to a saved model's model.json (`metrics[name]`): written to a sibling
 * file and renamed over it, so model.json is always whole.
 */
export function recordMetrics(dir: string, name: string, value: unknown): void {
  const path = join(dir, 'model.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as ModelManifest;
  const tmp = join(dir, `.model.json.tmp-${process.pid}`);
  writeFileDurable(tmp, JSON.stringify({ ...manifest, metrics: { ...manifest.metrics, [name]: value } }, null, 2) + '\n');
  renameSync(tmp, path);
  fsyncPath(dir);
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
