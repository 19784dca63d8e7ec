/**
 * What a model kind declares, in its one file under models/kinds/: its hyper-parameters, its
 * components (what trains on what data, in what order, with which dense graph and loss), and how
 * their outputs make pCTR, pCVR and pCTCVR. Everything else (training, evaluation, prediction,
 * serving, checkpoints, the ONNX export, the CLI flags) reads these declarations; nothing outside a
 * kind's file switches on the kind.
 */
import type { GraphBuilder } from '../nn/graph.js';
import type { Combination } from './combine.js';
import { resolveHyper, type HyperRecord, type HyperSchema, type HyperValues } from './hyper.js';

/** Which impressions a component trains on, before sampling. */
export type SampleFilter = 'all' | 'clicked';

/**
 * How the filtered impressions are sampled for training (train/component-data.ts applies it).
 * Random samplings carry their seed, derived from the model seed, so a run is reproducible.
 */
export type Sampling =
  | { kind: 'none' }
  /** Keep every clicked impression and each unclicked one with probability `rate` (AMAN). */
  | { kind: 'unclicked-negatives'; rate: number; seed: number }
  /** Every conversion `copies` times, every other impression once (OVERSAMPLING). */
  | { kind: 'copy-conversions'; copies: number }
  /**
   * Keep an impression with probability min(1, c / pCTR), pCTR from the trained component
   * `ctrComponent` and c the `quantile` of pCTR over the filtered impressions (UNBIAS).
   */
  | { kind: 'reject-by-pctr'; quantile: number; ctrComponent: string; seed: number };

/**
 * The dense part of a component: a graph over the pooled embeddings x [batch, inputDim]. The graph
 * declares its own parameters (g.param), dropout (g.dropout), labels (g.label) and gradient stops,
 * so the runtime needs no side tables.
 */
export interface DenseArch {
  /**
   * The forward graph. Returns the component's predictions by output name: the model's outputs
   * pctr, pcvr, pctcvr where the component gives them, or its own names (a lone CTR net's `p`).
   * Values a loss reads may also be returned, under names starting with '_' (not outputs).
   */
  forward(g: GraphBuilder, x: string): Record<string, string>;
  /** The per-sample loss [batch] of a training graph, from forward's values and g.label(...); averaged over the batch. */
  loss(g: GraphBuilder, values: Readonly<Record<string, string>>): string;
}

export interface ComponentDef {
  /** Unique within the model; seeds derive from it, so the same name and seed give the same start. */
  name: string;
  dense: DenseArch;
  /** Embedding vectors per id in this component's tables: 1, or one per tower that reads its own (ESMM-NS: 2). */
  embeddingCopies: number;
  filter: SampleFilter;
  sampling: Sampling;
  /**
   * JSON of everything that determines the component besides its name and the model's seed and
   * spec (architecture, hyper-parameters, data): two models whose components agree on name and
   * signature can share one trained component (the experiment trains BASE's CTR net once for all
   * the baselines).
   */
  signature: unknown;
}

export interface ModelContext {
  /** The feature spec's embedding dimension (one field's vector per tower). */
  embeddingDim: number;
  /** The model's seed: random samplings derive theirs from it. */
  seed: number;
}

export interface ModelDef<S extends HyperSchema = HyperSchema> {
  /** The --model name, lower case. */
  kind: string;
  /** How papers and reports write it (ESMM, Shared-Bottom). */
  title: string;
  /** One line for `--help`. */
  summary: string;
  /** What it is and how it is built, with its source: for reports and docs. */
  describe(h: HyperValues<S>): string;
  hyper: S;
  /**
   * The options that values `h` read, in `hyper`'s order (absent: all of them). Only these are
   * recorded (model.json, a checkpoint's fingerprint, results.json) and shown as the kind's in
   * `--help`; a multi-task kind reads those of its chosen backbone and objective, and its validate()
   * refuses the others when given.
   */
  reads?(h: HyperValues<S>): readonly string[];
  /**
   * Refuses combinations of options that make no sense, with a message saying why; `given` holds
   * the options as given (from the command line, or all of them from a saved model.json).
   */
  validate?(h: HyperValues<S>, given: Readonly<Record<string, unknown>>): void;
  components(h: HyperValues<S>, ctx: ModelContext): ComponentDef[];
  /** How the components' outputs give pctr, pcvr and pctcvr (the native predictor and the ONNX export both read it). */
  combine(h: HyperValues<S>): Combination;
  /** Table 2 of Ma et al. 2018 (SIGIR), AUC % mean ± std over 10 runs on Ali-CCP, where the paper reports the model. */
  paper?: { cvr: readonly [number, number]; ctcvr: readonly [number, number] };
}

/** A kind's definition with its hyper-parameter types erased, as the registry holds it. */
export type AnyModelDef = ModelDef<HyperSchema>;

/**
 * A kind's options from those given: every value checked, defaults filled in and the combination
 * validated. `values` holds every option of the kind (what its components are built from; the ones
 * it does not read at their defaults), `record` the ones it reads: what is recorded and shown.
 */
export function resolveOptions(def: AnyModelDef, given: Readonly<Record<string, unknown>>, where: string): { values: HyperRecord; record: HyperRecord } {
  const values = resolveHyper(def.hyper, given, where);
  def.validate?.(values, given);
  const read = def.reads?.(values) ?? Object.keys(def.hyper);
  return { values, record: Object.fromEntries(read.map((name) => [name, values[name]!])) };
}

/** Declares a model kind (typed against its own schema) for the registry. */
export function defineModel<S extends HyperSchema>(def: ModelDef<S>): AnyModelDef {
  return def as unknown as AnyModelDef;
}
