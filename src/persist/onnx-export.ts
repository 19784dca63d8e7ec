/**
 * ONNX export of a whole model: feature hashing, embedding lookups with pooling, and the dense
 * towers in one graph that any ONNX runtime runs (opset 18 + ai.onnx.ml 3 for LabelEncoder).
 *
 * Inputs, for every field f of the model's spec (jagged, one field at a time, like TorchRec's
 * KeyedJaggedTensor):
 *   "<f>.ids"      int64 [n_f]    feature keys of f's entries, instance after instance
 *   "<f>.values"   float [n_f]    their values: the pooling weights of weighted fields (else unused)
 *   "<f>.lengths"  int64 [batch]  entries of f per instance (they add up to n_f)
 * Outputs: "pctr", "pcvr", "pctcvr", float [batch].
 * A key is the 32-bit id the raw reader stores (data/text/feature-key.ts): a decimal id below
 * 2^32 - 1 is its own key, -1 (or 2^32 - 1) is padding and pools to nothing, other id text is
 * FNV-1a hashed. Every field needs its three inputs, empty ([0]) when no instance has it.
 *
 * Per component of the model (its own embedding tables, rows as wide as its dense net reads; one
 * dense net):
 *   bucket = mix32(key ^ tableSalt) % buckets   int64 ops; mix32's 32-bit products are made of
 *                                                16-bit halves so nothing overflows int64
 *   row    = LabelEncoder(bucket)               touched rows → 0..R-1, others → R, a zero row,
 *                                                as inference pools never-trained rows
 *   e      = Gather(table, row) · weight         in float64; padding entries weigh 0
 *   pooled = C[end_b] - C[start_b]               C = running sum over the entries (CumSum) with
 *                                                a zero row in front; float64 keeps it exact to
 *                                                far below float32; mean divides by the summed
 *                                                weights (0 when they sum to 0, as native)
 *   x      = concat of the pooled fields → the dense graph with its weights baked in.
 * pCTR, pCVR and pCTCVR then combine the components' outputs by their targets, the way
 * CvrModel.predict does (pCVR = min(1, pCTCVR / pCTR) when a CTCVR net stands in for a CVR net;
 * pCTCVR = pCTR × pCVR when no tower gives it); exportOnnxChecked() (serve/export-check.ts)
 * compares the result with the native predictor, so a kind that combines otherwise is refused,
 * never exported wrong.
 */
import type { FeatureSpec } from '../features/spec-types.js';
import { tableSalt } from '../features/hash.js';
import type { CvrModel } from '../models/cvr-model.js';
import type { Component } from '../models/component.js';
import { buildDenseGraph, outputNames } from '../models/dense.js';
import { ONNX_ELEM_CODE } from '../nn/graph.js';
import { IR_VERSION, OPSET_VERSION, PRODUCER, graphMessage } from '../nn/onnx.js';
import {
  AttributeType,
  ModelProto,
  type AttributeMessage,
  type GraphMessage,
  type ModelMessage,
  type NodeMessage,
  type TensorMessage,
  type ValueInfoMessage,
} from '../nn/onnx-schema.js';
import { PADDING_KEY, type FeatureRows } from '../data/types.js';

export const ONNX_ML_DOMAIN = 'ai.onnx.ml';
/** LabelEncoder-2 (int64 → int64) is the newest LabelEncoder of ai.onnx.ml opset 3. */
export const ONNX_ML_OPSET = 3;
export const PREDICTION_OUTPUTS = ['pctr', 'pcvr', 'pctcvr'] as const;
type Task = (typeof PREDICTION_OUTPUTS)[number];

const M1 = 0x85ebca6b;
const M2 = 0xc2b2ae35;
const DOUBLE = ONNX_ELEM_CODE.double;
const FLOAT = ONNX_ELEM_CODE.float;
const INT64 = ONNX_ELEM_CODE.int64;

/** Names of a field's inputs. */
export function fieldInputs(field: string): { ids: string; values: string; lengths: string } {
  return { ids: `${field}.ids`, values: `${field}.values`, lengths: `${field}.lengths` };
}

/** The ONNX model of `model` (see the module comment for its inputs and outputs). */
export function exportOnnx(model: CvrModel): Uint8Array {
  const spec = model.config.spec;
  const g = new Emitter();
  const front = featureFront(g, spec);
  const produced: Partial<Record<Task | 'ctcvr', string>> = {};
  for (const c of model.components) {
    const prefix = `${c.def.name}/`;
    const x = pooledInput(g, spec, c, front, prefix);
    const outputs = appendDense(g, c, x, prefix);
    for (const [name, value] of outputs) {
      const task = taskOf(c, name);
      if (produced[task]) throw new Error(`cannot export: two components give ${task} (the second is '${c.def.name}')`);
      produced[task] = value;
    }
  }
  // A CTCVR net's output with a CTR net (DIVISION): pCVR = min(1, pCTCVR / pCTR).
  if (!produced.pcvr && produced.ctcvr && produced.pctr) {
    produced.pcvr = g.one('Min', [g.one('Div', [produced.ctcvr, produced.pctr]), g.f32Scalar(1)]);
  }
  if (!produced.pctcvr && produced.pctr && produced.pcvr) produced.pctcvr = g.one('Mul', [produced.pctr, produced.pcvr]);
  for (const task of PREDICTION_OUTPUTS) {
    const value = produced[task];
    if (!value) throw new Error(`cannot export a '${model.config.kind}' model: no component gives ${task}`);
    g.node('Identity', [value], {}, [task]);
  }

  const inputs: ValueInfoMessage[] = [];
  for (const field of spec.fields) {
    const names = fieldInputs(field.name);
    const entries = `n_${field.name}`;
    inputs.push(valueInfo(names.ids, INT64, entries), valueInfo(names.values, FLOAT, entries), valueInfo(names.lengths, INT64, 'batch'));
  }
  const graph: GraphMessage = {
    name: `esmm_${model.config.kind}`,
    node: g.nodes,
    initializer: g.initializers,
    input: inputs,
    output: PREDICTION_OUTPUTS.map((o) => valueInfo(o, FLOAT, 'batch')),
  };
  const message: ModelMessage & { doc_string: string } = {
    ir_version: IR_VERSION,
    opset_import: [
      { domain: '', version: OPSET_VERSION },
      { domain: ONNX_ML_DOMAIN, version: ONNX_ML_OPSET },
    ],
    producer_name: PRODUCER,
    producer_version: '1',
    doc_string:
      `${model.config.kind} model over ${spec.fields.length} fields. Inputs per field f: "<f>.ids" int64 [n_f] feature keys, ` +
      `"<f>.values" float [n_f] values, "<f>.lengths" int64 [batch] entries per instance. Outputs pctr, pcvr, pctcvr float [batch].`,
    graph,
  };
  return ModelProto.encode(message).finish();
}

/** One input tensor in the export's layout. */
export type OnnxFeed = { type: 'int64'; data: BigInt64Array; dims: number[] } | { type: 'float32'; data: Float32Array; dims: number[] };

/**
 * Parsed instances (rows whose fields index `spec.fields`, as serve/instances.ts's InstanceRows)
 * as the exported model's inputs.
 */
export function onnxFeeds(rows: FeatureRows, spec: FeatureSpec): Record<string, OnnxFeed> {
  const F = spec.fields.length;
  const B = rows.count;
  const lengths = Array.from({ length: F }, () => new BigInt64Array(B));
  const counts = new Int32Array(F);
  for (let r = 0; r < B; r++) {
    for (let e = rows.offsets[r]!; e < rows.offsets[r + 1]!; e++) {
      const f = rows.fields[e]!;
      lengths[f]![r]!++;
      counts[f]!++;
    }
  }
  const ids = Array.from(counts, (n) => new BigInt64Array(n));
  const values = Array.from(counts, (n) => new Float32Array(n));
  const at = new Int32Array(F);
  // Rows are instance-major, so walking them in order lays each field's entries out instance by instance.
  for (let e = 0; e < rows.offsets[B]!; e++) {
    const f = rows.fields[e]!;
    const i = at[f]!++;
    ids[f]![i] = BigInt(rows.keys[e]!);
    values[f]![i] = rows.values[e]!;
  }
  const feeds: Record<string, OnnxFeed> = {};
  spec.fields.forEach((field, f) => {
    const names = fieldInputs(field.name);
    feeds[names.ids] = { type: 'int64', data: ids[f]!, dims: [counts[f]!] };
    feeds[names.values] = { type: 'float32', data: values[f]!, dims: [counts[f]!] };
    feeds[names.lengths] = { type: 'int64', data: lengths[f]!, dims: [B] };
  });
  return feeds;
}

// ---- graph assembly ----

/** The spec-level part every component shares: keys, buckets, weights, instance boundaries. */
interface FieldFront {
  /** Bucket of every entry in the field's table, int64 [n_f]. */
  bucket: string;
  /** Pooling weight of every entry (0 for padding), double [n_f]. */
  weight: string;
  /** Entry index where each instance's entries start / end, int64 [batch]. */
  starts: string;
  ends: string;
  /** 1 / Σ weight per instance (0 when Σ = 0), double [batch, 1]; mean pooling only. */
  meanScale: string | null;
}

function featureFront(g: Emitter, spec: FeatureSpec): FieldFront[] {
  const tables = new Map(spec.tables.map((t) => [t.name, t]));
  const low32 = g.i64([0xffffffff]);
  const padding = g.i64([PADDING_KEY]);
  const zero = g.f64(0);
  const one = g.f64(1);
  const axis0 = g.i64([0], []);
  return spec.fields.map((field) => {
    const names = fieldInputs(field.name);
    const table = tables.get(field.table)!;
    // -1 and 2^32 - 1 both mean padding; keys are the low 32 bits.
    const key = g.one('BitwiseAnd', [names.ids, low32]);
    const isPadding = g.one('Equal', [key, padding]);
    const raw = field.weighted ? g.one('Cast', [names.values], { to: DOUBLE }) : one;
    const weight = g.one('Where', [isPadding, zero, raw]);
    const ends = g.one('CumSum', [names.lengths, axis0]);
    const starts = g.one('Sub', [ends, names.lengths]);
    let meanScale: string | null = null;
    switch (field.pooling) {
      case 'sum':
        break;
      case 'mean': {
        const sums = segmentSums(g, g.one('Unsqueeze', [weight, g.i64([1])]), starts, ends);
        const isZero = g.one('Equal', [sums, zero]);
        const safe = g.one('Where', [isZero, one, sums]);
        meanScale = g.one('Where', [isZero, zero, g.one('Div', [one, safe])]);
        break;
      }
      default: {
        const never: never = field.pooling;
        throw new Error(`field "${field.name}": unknown pooling ${String(never)}`);
      }
    }
    return { bucket: bucketOf(g, key, tableSalt(table.name), table.buckets), weight, starts, ends, meanScale };
  });
}

/** mix32(key ^ salt) % buckets on uint32 values held in int64. */
function bucketOf(g: Emitter, key: string, salt: number, buckets: number): string {
  let h = g.one('BitwiseXor', [key, g.i64([salt])]);
  h = shiftXor(g, h, 16);
  h = mulLow32(g, h, M1);
  h = shiftXor(g, h, 13);
  h = mulLow32(g, h, M2);
  h = shiftXor(g, h, 16);
  return g.one('Mod', [h, g.i64([buckets])]);
}

/** x ^ (x >>> s) for 0 <= x < 2^32 (a non-negative Div is a shift). */
function shiftXor(g: Emitter, x: string, s: number): string {
  return g.one('BitwiseXor', [x, g.one('Div', [x, g.i64([2 ** s])])]);
}

/** (x * c) mod 2^32 for 0 <= x, c < 2^32: x·c_lo + ((x·c_hi) mod 2^16)·2^16, all below 2^49. */
function mulLow32(g: Emitter, x: string, c: number): string {
  const lo = g.one('Mul', [x, g.i64([c & 0xffff])]);
  const hi = g.one('BitwiseAnd', [g.one('Mul', [x, g.i64([c >>> 16])]), g.i64([0xffff])]);
  const sum = g.one('Add', [lo, g.one('Mul', [hi, g.i64([0x10000])])]);
  return g.one('BitwiseAnd', [sum, g.i64([0xffffffff])]);
}

/** Per-instance sums of `values` [n, k] over entries [start_b, end_b): [batch, k], float64. */
function segmentSums(g: Emitter, values: string, starts: string, ends: string): string {
  // A zero row in front makes C[i] the sum of the first i entries, also when n = 0.
  const padded = g.one('Pad', [values, g.i64([1, 0, 0, 0])]);
  const running = g.one('CumSum', [padded, g.i64([0], [])]);
  return g.one('Sub', [g.one('Gather', [running, ends], { axis: 0 }), g.one('Gather', [running, starts], { axis: 0 })]);
}

/** The component's dense input x [batch, F*D]: every field pooled from its embedding table. */
function pooledInput(g: Emitter, spec: FeatureSpec, c: Component, front: FieldFront[], prefix: string): string {
  const tableIndex = new Map(spec.tables.map((t, i) => [t.name, i]));
  // The component's rows may be wider than the spec's dim (one vector per tower: esmm-ns).
  const dim = c.embeddings.dim;
  const lookups = spec.tables.map((tableSpec) => {
    const table = c.embeddings.tables.find((t) => t.name === tableSpec.name);
    if (!table || table.rows !== tableSpec.buckets) {
      throw new Error(`cannot export component '${c.def.name}': its embedding tables do not match the spec's table "${tableSpec.name}"`);
    }
    const { rows, data } = table.exportRows();
    // The row after the touched ones is all zeros: where untouched buckets land.
    const padded = new Float32Array((rows.length + 1) * dim);
    padded.set(data);
    const name = g.f32(`${prefix}table/${tableSpec.name}`, padded, [rows.length + 1, dim]);
    return { name, rows: Array.from(rows), missing: rows.length };
  });
  // One LabelEncoder per table, over the buckets of all its fields (shared tables store their keys once).
  const rowOf = new Map<number, string>();
  spec.tables.forEach((table, t) => {
    const fields = spec.fields.flatMap((f, i) => (f.table === table.name ? [i] : []));
    if (fields.length === 0) return;
    const lookup = lookups[t]!;
    const encode = (buckets: string): string =>
      lookup.rows.length === 0
        ? g.one('Mul', [buckets, g.i64([0])]) // nothing trained: every bucket reads the zero row 0
        : g.one(
            'LabelEncoder',
            [buckets],
            { keys_int64s: lookup.rows, values_int64s: lookup.rows.map((_, i) => i), default_int64: lookup.missing },
            ONNX_ML_DOMAIN,
          );
    if (fields.length === 1) {
      rowOf.set(fields[0]!, encode(front[fields[0]!]!.bucket));
      return;
    }
    const all = encode(g.one('Concat', fields.map((f) => front[f]!.bucket), { axis: 0 }));
    const sizes = g.one('Concat', fields.map((f) => g.one('Shape', [fieldInputs(spec.fields[f]!.name).ids])), { axis: 0 });
    g.node('Split', [all, sizes], { axis: 0 }, fields.length).forEach((rows, k) => rowOf.set(fields[k]!, rows));
  });
  const pooled = spec.fields.map((field, f) => {
    const lookup = lookups[tableIndex.get(field.table)!]!;
    const ff = front[f]!;
    const embedded = g.one('Cast', [g.one('Gather', [lookup.name, rowOf.get(f)!], { axis: 0 })], { to: DOUBLE });
    const weighted = g.one('Mul', [embedded, g.one('Unsqueeze', [ff.weight, g.i64([1])])]);
    let sums = segmentSums(g, weighted, ff.starts, ff.ends);
    if (ff.meanScale) sums = g.one('Mul', [sums, ff.meanScale]);
    return g.one('Cast', [sums], { to: FLOAT });
  });
  return g.one('Concat', pooled, { axis: 1 });
}

/** Appends the component's inference graph (weights baked in) reading `x`; its outputs by name. */
function appendDense(g: Emitter, c: Component, x: string, prefix: string): [string, string][] {
  const dense = graphMessage(buildDenseGraph(c.def.dense, { training: false, params: c.net.params }));
  const rename = (n: string): string => (n === '' ? '' : n === 'x' ? x : prefix + n);
  for (const node of dense.node) {
    g.nodes.push({ ...node, name: prefix + node.name, input: node.input.map(rename), output: node.output.map(rename) });
  }
  for (const init of dense.initializer) g.initializers.push({ ...init, name: rename(init.name) });
  return outputNames(c.def.dense).map((o) => [o, rename(o)]);
}

/**
 * Which prediction a component's dense output is. Outputs named pctr/pcvr/pctcvr are that; a
 * single-tower net's `p` is what its target says. (A kind that combines its components another
 * way fails exportOnnxChecked's comparison with the native predictor instead of exporting wrongly.)
 */
function taskOf(c: Component, output: string): Task | 'ctcvr' {
  if ((PREDICTION_OUTPUTS as readonly string[]).includes(output)) return output as Task;
  // A string switch: model kinds and targets are being extended elsewhere; new ones must land in
  // the default branch with a clear message, not break this file's build.
  const target: string = c.def.target;
  switch (target) {
    case 'click':
      return 'pctr';
    case 'conversion':
      return 'pcvr';
    case 'ctcvr':
      return 'ctcvr';
    default:
      throw new Error(`cannot export component '${c.def.name}': its output '${output}' has target '${target}', which the export does not map to pctr, pcvr or pctcvr`);
  }
}

function valueInfo(name: string, elem: number, dim: string): ValueInfoMessage {
  return { name, type: { tensor_type: { elem_type: elem, shape: { dim: [{ dim_param: dim }] } } } };
}

type AttrValue = number | readonly number[];

/** Appends ONNX nodes and initializers with fresh value names; small int64 constants are shared. */
class Emitter {
  readonly nodes: NodeMessage[] = [];
  readonly initializers: TensorMessage[] = [];
  private readonly constants = new Map<string, string>();
  private counter = 0;

  /** One node; returns its output names (fresh unless given). */
  node(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, outputs: number | readonly string[] = 1, domain = ''): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(op)) : [...outputs];
    const attribute: AttributeMessage[] = Object.entries(attrs).map(([name, v]) =>
      typeof v === 'number' ? { name, type: AttributeType.INT, i: v } : { name, type: AttributeType.INTS, ints: [...v] },
    );
    this.nodes.push({ input: [...inputs], output: outs, name: `${op}_${this.nodes.length}`, op_type: op, domain, attribute });
    return outs;
  }

  /** A node with one fresh output. */
  one(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, domain = ''): string {
    return this.node(op, inputs, attrs, 1, domain)[0]!;
  }

  /** An int64 constant, 1-D by default (dims [] for a scalar). */
  i64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant(`i64[${dims.join(',')}]:${values.join(',')}`, (name) => {
      const data = BigInt64Array.from(values, (v) => BigInt(v));
      this.initializers.push({ name, dims: [...dims], data_type: INT64, raw_data: bytesOf(data) });
    });
  }

  /** A float64 scalar constant. */
  f64(value: number): string {
    return this.constant(`f64:${value}`, (name) => {
      this.initializers.push({ name, dims: [], data_type: DOUBLE, raw_data: bytesOf(Float64Array.of(value)) });
    });
  }

  /** A float32 scalar constant. */
  f32Scalar(value: number): string {
    return this.constant(`f32:${value}`, (name) => void this.f32(name, Float32Array.of(value), []));
  }

  f32(name: string, data: Float32Array, dims: readonly number[]): string {
    this.initializers.push({ name, dims: [...dims], data_type: FLOAT, raw_data: bytesOf(data) });
    return name;
  }

  /** The initializer named for `key`, written by `write` under a fresh name the first time. */
  private constant(key: string, write: (name: string) => void): string {
    let name = this.constants.get(key);
    if (name === undefined) {
      name = this.fresh('const');
      write(name);
      this.constants.set(key, name);
    }
    return name;
  }

  private fresh(hint: string): string {
    return `${hint.toLowerCase()}_${this.counter++}`;
  }
}

/** Little-endian bytes of a typed array (ONNX raw_data). */
function bytesOf(data: BigInt64Array | Float64Array | Float32Array): Uint8Array {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('ONNX export needs a little-endian host');
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
