/**
 * The two parts a multi-task model is made of, each one self-describing entry: a backbone (what
 * turns the pooled embeddings x into one input per task tower) and an objective (which towers it
 * trains, how their outputs make pCTR, pCVR and pCTCVR, and the loss). An entry declares its own
 * options (name, default, bounds, help: models/hyper.ts), describes itself, builds its part of the
 * graph, and says what its reference test needs; compose.ts merges the entries of parts.ts into
 * every multi-task kind, and a kind records and shows only the options its two parts read.
 */
import type { GraphBuilder } from '../../nn/graph.js';
import type { HyperSchema, HyperValues } from '../hyper.js';

/** What every part reads besides its own options. */
export interface PartContext {
  /** Dropout after each hidden layer (backbone MLPs, towers, AITM's info layer). */
  dropout: number;
}

/** A part's options: its own declared values and the context. */
export type PartOptions<S extends HyperSchema> = HyperValues<S> & PartContext;

export interface BackboneOutput {
  /** Each task's tower input, [batch, width]. */
  inputs: Record<string, string>;
  /** Values to expose as graph outputs for inspection (gate weights), by output name. */
  inspect: Record<string, string>;
}

export interface Backbone<N extends string = string, S extends HyperSchema = HyperSchema> {
  /** The --backbone value. */
  name: N;
  /** The options it reads, each declared once here; their help says what they do, not who reads them. */
  options: S;
  /** A phrase for a kind's description: what the towers read, with the option values. */
  describe(o: HyperValues<S>): string;
  /** The towers' inputs over x for `tasks` (the objective's, in order). */
  build(g: GraphBuilder, x: string, tasks: readonly string[], o: PartOptions<S>): BackboneOutput;
  /**
   * What its reference test (multitask/multitask.test.ts) needs: values of its options small enough
   * for a float64 gradient check of the whole graph, still exercising every structure it builds.
   */
  small: Partial<HyperValues<S>>;
}

/**
 * An objective's loss: the per-impression total [batch] and the terms it adds, each [batch] and
 * before its weight (multitask/gradient-reach.test.ts measures which parameters each term reaches).
 */
export interface ObjectiveLoss {
  total: string;
  terms: Record<string, string>;
}

export interface Objective<N extends string = string, S extends HyperSchema = HyperSchema> {
  /** The --objective value. */
  name: N;
  /** The towers it trains, in order; its heads read their last hidden layers. */
  tasks: readonly string[];
  /** The options it reads, each declared once; options that several objectives read are one declaration they share. */
  options: S;
  /** A phrase for a kind's description, with the option values. */
  describe(o: HyperValues<S>): string;
  /** Refuses a tower shape it cannot build, saying why (`tower`: the towers' hidden layers). */
  validate?(tower: readonly number[]): void;
  /**
   * Its heads over the towers' last hidden layers `reps` (one per task; `layer`: the index of the
   * towers' logit layer): the predictions (pctr, pcvr, pctcvr), values to inspect, and the values
   * its loss reads ('_'-named).
   */
  heads(g: GraphBuilder, reps: Readonly<Record<string, string>>, layer: number, o: PartOptions<S>): Record<string, string>;
  /** Its loss from the heads' values. */
  loss(g: GraphBuilder, values: Readonly<Record<string, string>>, o: PartOptions<S>): ObjectiveLoss;
}

/** Declares a backbone (typed against its own options) for parts.ts. */
export function defineBackbone<const N extends string, S extends HyperSchema>(b: Backbone<N, S>): Backbone<N> {
  return b as unknown as Backbone<N>;
}

/** Declares an objective (typed against its own options) for parts.ts. */
export function defineObjective<const N extends string, S extends HyperSchema>(o: Objective<N, S>): Objective<N> {
  return o as unknown as Objective<N>;
}
