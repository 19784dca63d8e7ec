/** The gradient rules by ONNX op name, and the ops whose outputs carry no gradient. */
import { STOP_GRADIENT } from '../graph.js';
import { activationRules } from './activations.js';
import { elementwiseRules } from './elementwise.js';
import { linalgRules } from './linalg.js';
import { reduceRules } from './reduce.js';
import type { GradRule } from './rule.js';
import { shapeRules } from './shape-ops.js';

export type { GradContext, GradRule } from './rule.js';

export const GRAD_RULES: Readonly<Record<string, GradRule>> = {
  ...elementwiseRules,
  ...activationRules,
  ...linalgRules,
  ...reduceRules,
  ...shapeRules,
};

/**
 * Ops whose outputs are integers, booleans or shapes, or piecewise constant (Sign), and the graph's
 * stop-gradient: a path through them carries no gradient.
 */
export const NON_DIFFERENTIABLE: ReadonlySet<string> = new Set([
  STOP_GRADIENT,
  'Sign',
  'Shape',
  'Size',
  'Greater',
  'GreaterOrEqual',
  'Less',
  'LessOrEqual',
  'Equal',
  'And',
  'Or',
  'Not',
]);
