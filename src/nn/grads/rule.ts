/**
 * What a gradient rule sees and returns. A rule is data keyed by op name (as in TensorFlow.js):
 * given the node and the gradient of its output, it appends ONNX ops that compute the gradient of
 * each input that needs one.
 */
import type { GraphBuilder, GraphNode } from '../graph.js';
import { broadcastAxes, sameShape, type Shape } from '../shape.js';

export interface GradContext {
  /** The builder the backward pass is appended to (the forward values are in it). */
  readonly b: GraphBuilder;
  readonly node: GraphNode;
  /** Gradient of the loss with respect to the node's (single) output. */
  readonly dy: string;
  /** Whether input i needs a gradient; rules skip the work for inputs that do not. */
  needs(i: number): boolean;
}

/** One entry per node input: its gradient, or undefined (not needed, or not differentiable). */
export type GradRule = (ctx: GradContext) => readonly (string | undefined)[];

/**
 * Sums a gradient of a broadcast result back to the shape of one operand: over the leading axes
 * the operand lacks, and (keeping them) over the axes where it has size 1.
 */
export function sumToShape(b: GraphBuilder, grad: string, shape: Shape): string {
  const from = b.shapeOf(grad);
  if (sameShape(from, shape)) return grad;
  const { leading, kept } = broadcastAxes(from, shape);
  let g = grad;
  if (leading.length > 0) g = b.reduceSum(g, leading, false);
  if (kept.length > 0) g = b.reduceSum(g, kept, true);
  return g;
}

/** Input i of the node, which rules only read for inputs that exist. */
export function input(ctx: GradContext, i: number): string {
  const name = ctx.node.inputs[i];
  if (name === undefined || name === '') throw new Error(`${ctx.node.op}: input ${i} is missing`);
  return name;
}

/** The node's single output. */
export function output(ctx: GradContext): string {
  return ctx.node.outputs[0]!;
}

/** The int64 constant that input i must be (axes, shapes), with an error saying so when it is not. */
export function constantInput(ctx: GradContext, i: number): number[] {
  const values = ctx.b.constantInts(input(ctx, i));
  if (values === undefined)
    throw new Error(`${ctx.node.op} (output ${ctx.node.outputs[0]}): input ${i} must be an int64 initializer to differentiate`);
  return values;
}

/** A numeric attribute of the node, or its ONNX default. */
export function attr(ctx: GradContext, name: string, fallback: number): number {
  const a = ctx.node.attrs[name];
  if (a === undefined) return fallback;
  if (a.kind === 'ints') throw new Error(`${ctx.node.op}: attribute ${name} is a list, expected a number`);
  return a.value;
}
