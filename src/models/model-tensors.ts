/**
 * One way from a model to named tensors and back, used by the model directory (persist/model-dir.ts)
 * and the training checkpoints (train/checkpoint.ts) alike. A component's tensors:
 *
 *   dense/<param>          its dense parameter (names as its graph declares them)
 *   emb/<table>/rows       the rows of the table that training touched, int32 [R]
 *   emb/<table>/data       their values, float32 [R, width]
 *
 * and a model's are its components', each under `<component>/`.
 */
import type { Component } from './component.js';
import type { CvrModel } from './cvr-model.js';
import type { ParamSet } from './dense-graph.js';

export interface ModelTensor {
  dims: number[];
  data: Float32Array | Int32Array;
}

/** A component's tensors (keys without the component prefix); the arrays are the live ones, not copies. */
export function componentTensors(c: Component): Map<string, ModelTensor> {
  const tensors = new Map<string, ModelTensor>();
  for (const [name, p] of c.net.params) tensors.set(`dense/${name}`, { dims: p.dims, data: p.data });
  for (const table of c.embeddings.tables) {
    const { rows, data } = table.exportRows();
    tensors.set(`emb/${table.name}/rows`, { dims: [rows.length], data: rows });
    tensors.set(`emb/${table.name}/data`, { dims: [rows.length, table.dim], data });
  }
  return tensors;
}

/** Every component's tensors, under `<component>/`. */
export function modelTensors(model: CvrModel): Map<string, ModelTensor> {
  const tensors = new Map<string, ModelTensor>();
  for (const c of model.components) for (const [key, t] of componentTensors(c)) tensors.set(`${c.def.name}/${key}`, t);
  return tensors;
}

/** The dense parameters among a component's tensors, to build its net with (loading a model). */
export function denseParams(tensors: ReadonlyMap<string, { dims: readonly number[]; data: unknown }>, where: string): ParamSet {
  const params: ParamSet = new Map();
  for (const [key, t] of tensors) {
    if (!key.startsWith('dense/')) continue;
    if (!(t.data instanceof Float32Array)) throw new Error(`${where}: dense parameter ${key} is not float32`);
    params.set(key.slice('dense/'.length), { dims: [...t.dims], data: t.data });
  }
  return params;
}

/**
 * Puts a component's tensors (keys without the prefix) into it: dense parameters copied into its
 * params, embedding rows imported into its tables. Every parameter and table must be there.
 */
export function restoreComponent(c: Component, get: (key: string) => { dims: readonly number[]; data: unknown } | undefined, where: string): void {
  const need = (key: string) => {
    const t = get(key);
    if (!t) throw new Error(`${where}: no tensor ${key} for component '${c.def.name}'`);
    return t;
  };
  for (const [name, p] of c.net.params) {
    const t = need(`dense/${name}`);
    if (!(t.data instanceof Float32Array) || t.data.length !== p.data.length || t.dims.join() !== p.dims.join())
      throw new Error(`${where}: dense parameter ${name} of '${c.def.name}' is [${t.dims.join(', ')}], the model's is [${p.dims.join(', ')}]`);
    p.data.set(t.data);
  }
  for (const table of c.embeddings.tables) {
    const rows = need(`emb/${table.name}/rows`).data;
    const data = need(`emb/${table.name}/data`).data;
    if (!(rows instanceof Int32Array) || !(data instanceof Float32Array))
      throw new Error(`${where}: embedding table ${table.name} of '${c.def.name}' has tensors of the wrong type`);
    table.importRows(rows, data);
  }
}

/** restoreComponent for every component, from `<component>/` keys. */
export function restoreModel(model: CvrModel, tensors: ReadonlyMap<string, { dims: readonly number[]; data: unknown }>, where: string): void {
  for (const c of model.components) restoreComponent(c, (key) => tensors.get(`${c.def.name}/${key}`), where);
}
