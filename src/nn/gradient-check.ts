/**
 * Numerical gradient check: the gradients that `differentiate` builds, run in float64 through
 * onnxruntime, against central differences (f(v+h) - f(v-h)) / 2h of the same graph's loss.
 * Used by the tests of every gradient rule and of the dense models.
 */
import { differentiate, gradName } from './autodiff.js';
import { GraphBuilder, STOP_GRADIENT, type Graph } from './graph.js';
import { GRAD_RULES, type GradRule } from './grads/index.js';
import { toOnnxModel } from './onnx.js';
import { OrtSession, type HostTensor } from './session.js';
import { BATCH, type Shape } from './shape.js';
import { Rng } from '../util/rng.js';

export interface GradientCheckOptions {
  /** Finite-difference step (default 1e-5). */
  step?: number;
  /** Allowed |analytic - numeric| is atol + rtol * max(|analytic|, |numeric|) (defaults 1e-6, 1e-9). */
  rtol?: number;
  atol?: number;
  /** Gradient rules to differentiate with (default: the real ones). */
  rules?: Readonly<Record<string, GradRule>>;
}

export interface GradientComparison {
  name: string;
  index: number;
  analytic: number;
  numeric: number;
  /** |analytic - numeric| over the allowed difference: above 1 is a failure. */
  ratio: number;
}

export interface GradientCheckResult {
  /** Number of gradient entries compared. */
  checked: number;
  /** The comparison with the largest ratio. */
  worst: GradientComparison;
  /** All comparisons with ratio > 1. */
  failures: GradientComparison[];
}

export type DoubleFeeds = Record<string, HostTensor<Float64Array>>;

/**
 * Checks the gradient of `sum(y * r)` for the value y that `build` returns, with r a fixed random
 * tensor, so every entry of y's gradient is weighted differently (a transposed or misplaced
 * gradient does not cancel out).
 */
export async function checkGradients(
  build: (b: GraphBuilder) => string,
  feeds: DoubleFeeds,
  wrt: readonly string[],
  opts: GradientCheckOptions = {},
): Promise<GradientCheckResult> {
  const b = new GraphBuilder('gradient_check', 'double');
  const y = build(b);
  const proj = b.input('gradient_check_projection', b.shapeOf(y));
  b.reduceSum(b.mul(y, proj), undefined, false, 'gradient_check_loss');
  b.output('gradient_check_loss');
  const graph = b.build();
  const dims = concreteDims(b.shapeOf(y), batchOf(graph, feeds));
  const rng = new Rng(12345);
  const r = Float64Array.from({ length: dims.reduce((a, d) => a * d, 1) }, () => 0.5 + rng.next());
  for (let i = 0; i < r.length; i += 2) r[i] = -r[i]!;
  return checkGraphGradients(graph, 'gradient_check_loss', { ...feeds, [proj]: { data: r, dims } }, wrt, opts);
}

/** Op names whose gradient rule took part in a passing numerical check in this process. */
const checkedRules = new Set<string>();

/**
 * The ops whose gradient rules have been verified numerically in this process: every rule that
 * `differentiate` called while building a graph whose check then passed. The coverage test runs
 * the rules' tests and compares this with GRAD_RULES.
 */
export function rulesCheckedNumerically(): ReadonlySet<string> {
  return checkedRules;
}

/**
 * Checks the gradient of the scalar `lossName` of a double graph with respect to `wrt`. A graph
 * with stop-gradients defines its gradient as that of the loss with the stopped values held fixed:
 * the finite differences then run on the graph with each stopped value frozen at its value for
 * these feeds (a graph input), while the analytic gradient is the original graph's.
 */
export async function checkGraphGradients(
  graph: Graph,
  lossName: string,
  feeds: DoubleFeeds,
  wrt: readonly string[],
  opts: GradientCheckOptions = {},
): Promise<GradientCheckResult> {
  const { step = 1e-5, rtol = 1e-6, atol = 1e-9, rules } = opts;
  if (graph.elemType !== 'double') throw new Error('gradient checks need a double graph');
  const stopped = graph.nodes.filter((n) => n.op === STOP_GRADIENT).map((n) => n.outputs[0]!);
  const used = new Set<string>();
  const recording = Object.fromEntries(
    Object.entries(rules ?? GRAD_RULES).map(([op, rule]) => [op, (ctx: Parameters<GradRule>[0]) => (used.add(op), rule(ctx))]),
  );
  const differentiated = differentiate(graph, lossName, wrt, recording);
  // The stopped values are fetched too, to freeze them at these feeds' values.
  const trained = { ...differentiated, outputs: [...differentiated.outputs, ...stopped] };
  const session = await OrtSession.create(toOnnxModel(trained), { threads: 1 });
  let frozen: OrtSession | null = null;
  try {
    const analytic = await session.run(feeds, [...wrt.map(gradName), ...stopped]);
    let numericFeeds: DoubleFeeds = feeds;
    let numericSession = session;
    if (stopped.length > 0) {
      frozen = await OrtSession.create(toOnnxModel(freezeStopGradients(graph)), { threads: 1 });
      numericSession = frozen;
      numericFeeds = { ...feeds };
      for (const name of stopped) {
        const v = analytic[name]!;
        numericFeeds[name] = { data: Float64Array.from(v.data), dims: v.dims };
      }
    }
    const lossAt = async (f: DoubleFeeds): Promise<number> => (await numericSession.run(f, [lossName]))[lossName]!.data[0]!;
    const comparisons: GradientComparison[] = [];
    for (const name of wrt) {
      const feed = numericFeeds[name];
      if (!feed) throw new Error(`gradient check: no feed for '${name}' (only graph inputs can be checked)`);
      const data = Float64Array.from(feed.data);
      const moved = { ...numericFeeds, [name]: { data, dims: feed.dims } };
      const grad = analytic[gradName(name)]!.data;
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!;
        data[i] = v + step;
        const up = await lossAt(moved);
        data[i] = v - step;
        const down = await lossAt(moved);
        data[i] = v;
        const numeric = (up - down) / (2 * step);
        const a = grad[i]!;
        const ratio = Math.abs(a - numeric) / (atol + rtol * Math.max(Math.abs(a), Math.abs(numeric)));
        comparisons.push({ name, index: i, analytic: a, numeric, ratio: Number.isNaN(ratio) ? Infinity : ratio });
      }
    }
    if (comparisons.length === 0) throw new Error('gradient check: nothing to compare');
    const worst = comparisons.reduce((w, c) => (c.ratio > w.ratio ? c : w));
    const failures = comparisons.filter((c) => c.ratio > 1);
    // Custom rules (a test of the checker itself) verify nothing about the real ones.
    if (failures.length === 0 && !rules) for (const op of used) checkedRules.add(op);
    return { checked: comparisons.length, worst, failures };
  } finally {
    await session.release();
    await frozen?.release();
  }
}

/** The graph with every stop-gradient's output turned into a graph input of the same name. */
export function freezeStopGradients(graph: Graph): Graph {
  const stopped = graph.nodes.filter((n) => n.op === STOP_GRADIENT).map((n) => n.outputs[0]!);
  return {
    ...graph,
    inputs: [...graph.inputs, ...stopped],
    nodes: graph.nodes.filter((n) => n.op !== STOP_GRADIENT),
  };
}

/** The batch size the feeds give to the graph's symbolic batch dimension (1 when none is used). */
function batchOf(graph: Graph, feeds: DoubleFeeds): number {
  let batch: number | undefined;
  for (const name of graph.inputs) {
    const feed = feeds[name];
    if (!feed) continue;
    graph.types.get(name)!.shape.forEach((d, i) => {
      if (d !== BATCH) return;
      const n = feed.dims[i]!;
      if (batch !== undefined && batch !== n) throw new Error(`feeds disagree on the batch size: ${batch} vs ${n} ('${name}')`);
      batch = n;
    });
  }
  return batch ?? 1;
}

function concreteDims(shape: Shape, batch: number): number[] {
  return shape.map((d) => (typeof d === 'string' ? batch : d));
}

/** A double feed of uniform values in [lo, hi). */
export function uniformFeed(rng: Rng, dims: readonly number[], lo: number, hi: number): HostTensor<Float64Array> {
  const data = Float64Array.from({ length: dims.reduce((a, d) => a * d, 1) }, () => lo + (hi - lo) * rng.next());
  return { data, dims };
}

/** A double feed of values with |v| in [lo, hi) and random signs: away from kinks at 0. */
export function signedFeed(rng: Rng, dims: readonly number[], lo: number, hi: number): HostTensor<Float64Array> {
  const feed = uniformFeed(rng, dims, lo, hi);
  for (let i = 0; i < feed.data.length; i++) if (rng.next() < 0.5) feed.data[i] = -feed.data[i]!;
  return feed;
}

export function formatComparison(c: GradientComparison): string {
  return `d/d${c.name}[${c.index}]: analytic ${c.analytic}, numeric ${c.numeric} (${c.ratio.toFixed(2)}× the tolerance)`;
}
