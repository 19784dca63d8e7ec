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
 *   x      = concat of the pooled fields → the component's dense graph with its weights baked in.
 * pCTR, pCVR and pCTCVR are then the model's combination of its components' outputs
 * (models/combine.ts), the very rule the native predictor evaluates; exportOnnxChecked() (serve/export-check.ts) also
 * compares the result with the native predictor before anything is written.
 *
 * The graph is built with the same GraphBuilder as the dense graphs (the integer and
 * domain-specific ops through its op()), and each component's dense graph is inlined into it.
 */
import type { FeatureSpec } from '../features/spec-types.js';
import { tableSalt } from '../features/hash.js';
import type { CvrModel } from '../models/cvr-model.js';
import type { Component } from '../models/component.js';
import { emitCombination, PREDICTIONS } from '../models/combine.js';
import { buildDenseGraph } from '../models/dense-graph.js';
import { GraphBuilder, type Attr, type ValueElem } from '../nn/graph.js';
import { DOMAIN_OPSETS, toOnnxModel } from '../nn/onnx.js';
import { BATCH, type Shape } from '../nn/shape.js';
import { PADDING_KEY, type FeatureRows } from '../data/types.js';

export const ONNX_ML_DOMAIN = 'ai.onnx.ml';
export const ONNX_ML_OPSET = DOMAIN_OPSETS[ONNX_ML_DOMAIN]!;
export const PREDICTION_OUTPUTS = PREDICTIONS;

const M1 = 0x85ebca6b;
const M2 = 0xc2b2ae35;

/** Names of a field's inputs. */
export function fieldInputs(field: string): { ids: string; values: string; lengths: string } {
  return { ids: `${field}.ids`, values: `${field}.values`, lengths: `${field}.lengths` };
}

/** The ONNX model of `model` (see the module comment for its inputs and outputs). */
export function exportOnnx(model: CvrModel): Uint8Array {
  const spec = model.config.spec;
  const g = new Exporter(new GraphBuilder(`esmm_${model.config.kind}`, 'float'));
  for (const field of spec.fields) {
    const names = fieldInputs(field.name);
    const entries = `n_${field.name}`;
    g.b.input(names.ids, [entries], 'int64');
    g.b.input(names.values, [entries], 'float');
    g.b.input(names.lengths, [BATCH], 'int64');
  }
  const front = featureFront(g, spec);
  const outputs = new Map<string, Record<string, string>>();
  for (const c of model.components) {
    const prefix = `${c.def.name}/`;
    const x = pooledInput(g, spec, c, front, prefix);
    const dense = buildDenseGraph(c.def.dense, c.inputDim, { training: false, params: c.net.params, name: c.def.name });
    outputs.set(c.def.name, g.b.inline(dense, prefix, { x }));
  }
  const predictions = emitCombination(g.b, model.combination, (component, output) => {
    const v = outputs.get(component)?.[output];
    if (v === undefined) throw new Error(`cannot export: component '${component}' has no output '${output}'`);
    return v;
  });
  for (const task of PREDICTION_OUTPUTS) {
    g.b.identity(predictions[task], task);
    g.b.output(task);
  }
  return toOnnxModel(
    g.b.build(),
    `${model.config.kind} model over ${spec.fields.length} fields. Inputs per field f: "<f>.ids" int64 [n_f] feature keys, ` +
      `"<f>.values" float [n_f] values, "<f>.lengths" int64 [batch] entries per instance. Outputs pctr, pcvr, pctcvr float [batch].`,
  );
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

function featureFront(g: Exporter, spec: FeatureSpec): FieldFront[] {
  const tables = new Map(spec.tables.map((t) => [t.name, t]));
  const low32 = g.i64([0xffffffff]);
  const padding = g.i64([PADDING_KEY]);
  const zero = g.f64(0);
  const one = g.f64(1);
  const axis0 = g.i64([0], []);
  return spec.fields.map((field) => {
    const names = fieldInputs(field.name);
    const entries = [`n_${field.name}`];
    const table = tables.get(field.table)!;
    // -1 and 2^32 - 1 both mean padding; keys are the low 32 bits.
    const key = g.one('BitwiseAnd', [names.ids, low32], 'int64', entries);
    const isPadding = g.one('Equal', [key, padding], 'bool', entries);
    const raw = field.weighted ? g.one('Cast', [names.values], 'double', entries, { to: ATTR_TO.double }) : one;
    const weight = g.one('Where', [isPadding, zero, raw], 'double', entries);
    const ends = g.one('CumSum', [names.lengths, axis0], 'int64', [BATCH]);
    const starts = g.one('Sub', [ends, names.lengths], 'int64', [BATCH]);
    let meanScale: string | null = null;
    switch (field.pooling) {
      case 'sum':
        break;
      case 'mean': {
        const sums = segmentSums(g, g.one('Unsqueeze', [weight, g.i64([1])], 'double', [...entries, 1]), starts, ends, 1);
        const isZero = g.one('Equal', [sums, zero], 'bool', [BATCH, 1]);
        const safe = g.one('Where', [isZero, one, sums], 'double', [BATCH, 1]);
        meanScale = g.one('Where', [isZero, zero, g.one('Div', [one, safe], 'double', [BATCH, 1])], 'double', [BATCH, 1]);
        break;
      }
      default: {
        const never: never = field.pooling;
        throw new Error(`field "${field.name}": unknown pooling ${String(never)}`);
      }
    }
    return { bucket: bucketOf(g, key, tableSalt(table.name), table.buckets, entries), weight, starts, ends, meanScale };
  });
}

/** mix32(key ^ salt) % buckets on uint32 values held in int64. */
function bucketOf(g: Exporter, key: string, salt: number, buckets: number, shape: Shape): string {
  let h = g.one('BitwiseXor', [key, g.i64([salt])], 'int64', shape);
  h = shiftXor(g, h, 16, shape);
  h = mulLow32(g, h, M1, shape);
  h = shiftXor(g, h, 13, shape);
  h = mulLow32(g, h, M2, shape);
  h = shiftXor(g, h, 16, shape);
  return g.one('Mod', [h, g.i64([buckets])], 'int64', shape);
}

/** x ^ (x >>> s) for 0 <= x < 2^32 (a non-negative Div is a shift). */
function shiftXor(g: Exporter, x: string, s: number, shape: Shape): string {
  return g.one('BitwiseXor', [x, g.one('Div', [x, g.i64([2 ** s])], 'int64', shape)], 'int64', shape);
}

/** (x * c) mod 2^32 for 0 <= x, c < 2^32: x·c_lo + ((x·c_hi) mod 2^16)·2^16, all below 2^49. */
function mulLow32(g: Exporter, x: string, c: number, shape: Shape): string {
  const lo = g.one('Mul', [x, g.i64([c & 0xffff])], 'int64', shape);
  const hi = g.one('BitwiseAnd', [g.one('Mul', [x, g.i64([c >>> 16])], 'int64', shape), g.i64([0xffff])], 'int64', shape);
  const sum = g.one('Add', [lo, g.one('Mul', [hi, g.i64([0x10000])], 'int64', shape)], 'int64', shape);
  return g.one('BitwiseAnd', [sum, g.i64([0xffffffff])], 'int64', shape);
}

/** Per-instance sums of `values` [n, k] over entries [start_b, end_b): [batch, k], float64. */
function segmentSums(g: Exporter, values: string, starts: string, ends: string, k: number): string {
  // A zero row in front makes C[i] the sum of the first i entries, also when n = 0.
  const rows = `${String(g.b.shapeOf(values)[0])}+1`;
  const padded = g.one('Pad', [values, g.i64([1, 0, 0, 0])], 'double', [rows, k]);
  const running = g.one('CumSum', [padded, g.i64([0], [])], 'double', [rows, k]);
  const at = (index: string) => g.one('Gather', [running, index], 'double', [BATCH, k], { axis: { kind: 'int', value: 0 } });
  return g.one('Sub', [at(ends), at(starts)], 'double', [BATCH, k]);
}

/** The component's dense input x [batch, F*D]: every field pooled from its embedding table. */
function pooledInput(g: Exporter, spec: FeatureSpec, c: Component, front: FieldFront[], prefix: string): string {
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
    const name = g.b.initializer(`${prefix}table/${tableSpec.name}`, padded, [rows.length + 1, dim]);
    return { name, rows: Array.from(rows), missing: rows.length };
  });
  // One LabelEncoder per table, over the buckets of all its fields (shared tables store their keys once).
  const rowOf = new Map<number, string>();
  spec.tables.forEach((table, t) => {
    const fields = spec.fields.flatMap((f, i) => (f.table === table.name ? [i] : []));
    if (fields.length === 0) return;
    const lookup = lookups[t]!;
    const encode = (buckets: string, shape: Shape): string =>
      lookup.rows.length === 0
        ? g.one('Mul', [buckets, g.i64([0])], 'int64', shape) // nothing trained: every bucket reads the zero row 0
        : g.one('LabelEncoder', [buckets], 'int64', shape, {
            keys_int64s: { kind: 'ints', value: lookup.rows },
            values_int64s: { kind: 'ints', value: lookup.rows.map((_, i) => i) },
            default_int64: { kind: 'int', value: lookup.missing },
          }, ONNX_ML_DOMAIN);
    if (fields.length === 1) {
      const f = fields[0]!;
      rowOf.set(f, encode(front[f]!.bucket, [`n_${spec.fields[f]!.name}`]));
      return;
    }
    const allEntries = [fields.map((f) => `n_${spec.fields[f]!.name}`).join('+')];
    const all = encode(g.one('Concat', fields.map((f) => front[f]!.bucket), 'int64', allEntries, { axis: { kind: 'int', value: 0 } }), allEntries);
    const sizes = g.one('Concat', fields.map((f) => g.one('Shape', [fieldInputs(spec.fields[f]!.name).ids], 'int64', [1])), 'int64', [fields.length], {
      axis: { kind: 'int', value: 0 },
    });
    const parts = g.b.op('Split', [all, sizes], fields.map((f) => ({ elem: 'int64', shape: [`n_${spec.fields[f]!.name}`] })), { axis: { kind: 'int', value: 0 } });
    parts.forEach((rows, k) => rowOf.set(fields[k]!, rows));
  });
  const pooled = spec.fields.map((field, f) => {
    const lookup = lookups[tableIndex.get(field.table)!]!;
    const ff = front[f]!;
    const entries = `n_${field.name}`;
    const gathered = g.one('Gather', [lookup.name, rowOf.get(f)!], 'float', [entries, dim], { axis: { kind: 'int', value: 0 } });
    const embedded = g.one('Cast', [gathered], 'double', [entries, dim], { to: ATTR_TO.double });
    const weighted = g.one('Mul', [embedded, g.one('Unsqueeze', [ff.weight, g.i64([1])], 'double', [entries, 1])], 'double', [entries, dim]);
    let sums = segmentSums(g, weighted, ff.starts, ff.ends, dim);
    if (ff.meanScale) sums = g.one('Mul', [sums, ff.meanScale], 'double', [BATCH, dim]);
    return g.one('Cast', [sums], 'float', [BATCH, dim], { to: ATTR_TO.float });
  });
  return g.b.concat(pooled, 1, `${prefix}x`);
}

const ATTR_TO = { double: { kind: 'int', value: 11 }, float: { kind: 'int', value: 1 } } as const satisfies Record<string, Attr>;

/** The export's shorthand over GraphBuilder.op(): one output of a given type. */
class Exporter {
  constructor(readonly b: GraphBuilder) {}

  one(op: string, inputs: readonly string[], elem: ValueElem, shape: Shape, attrs: Record<string, Attr> = {}, domain = ''): string {
    return this.b.op(op, inputs, [{ elem, shape }], attrs, domain ? { domain } : {})[0]!;
  }

  /** An int64 constant, 1-D by default (dims [] for a scalar). */
  i64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.b.typedConstant('int64', values, dims);
  }

  /** A float64 scalar constant. */
  f64(value: number): string {
    return this.b.typedConstant('double', [value], []);
  }
}
