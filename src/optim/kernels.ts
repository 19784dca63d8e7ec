/**
 * What the dense and the row-sparse optimizer share: the optimizer kinds, their hyper-parameters
 * and state slots, Adam and Adagrad as range kernels, and the base class that checks
 * hyper-parameters and counts steps. The dense optimizer is optim/dense.ts; the row-sparse one,
 * which updates only the rows of an embedding table that a gradient names, is
 * sparse/row-sparse-optimizer.ts.
 *
 * Adam (TF's form, eps outside the bias correction):
 *   m ← β1·m + (1-β1)·g      v ← β2·v + (1-β2)·g²
 *   p ← p − lr·√(1-β2^t)/(1-β1^t) · m / (√v + eps)
 *
 * Adagrad (tf.train.AdagradOptimizer, the seed's choice):
 *   a ← a + g²               p ← p − lr · g / √a        a starts at 0.1
 *
 * Optimizer state is float32 with the same layout as the parameters.
 */
export type OptimizerKind = 'adam' | 'adagrad';
export const OPTIMIZER_KINDS: readonly OptimizerKind[] = ['adam', 'adagrad'];

export type OptimizerHyper =
  | { kind: 'adam'; lr: number; beta1: number; beta2: number; eps: number }
  | { kind: 'adagrad'; lr: number; initialAccumulator: number };
export type AdamHyper = Extract<OptimizerHyper, { kind: 'adam' }>;
export type AdagradHyper = Extract<OptimizerHyper, { kind: 'adagrad' }>;

/** State slots per kind, in the order of the `slots` arrays of exported states. */
export const SLOT_NAMES: Readonly<Record<OptimizerKind, readonly string[]>> = {
  adam: ['m', 'v'],
  adagrad: ['accumulator'],
};

/** The usual defaults: Adam β1 0.9, β2 0.999, eps 1e-8; Adagrad initial accumulator 0.1 (TF). */
export function defaultHyper(kind: OptimizerKind, lr: number): OptimizerHyper {
  switch (kind) {
    case 'adam':
      return { kind, lr, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
    case 'adagrad':
      return { kind, lr, initialAccumulator: 0.1 };
    default: {
      const never: never = kind;
      throw new Error(`unknown optimizer "${String(never)}"; use one of: ${OPTIMIZER_KINDS.join(', ')}`);
    }
  }
}

/** Adam's bias-corrected step size at step t (1-based): lr·√(1-β2^t)/(1-β1^t). */
export function adamStepSize(h: AdamHyper, t: number): number {
  return (h.lr * Math.sqrt(1 - Math.pow(h.beta2, t))) / (1 - Math.pow(h.beta1, t));
}

/**
 * Adam update of param[pOff .. pOff+len) with grad[gOff .. gOff+len); m and v are laid out like
 * param. `stepSize` is adamStepSize(h, t), computed once per step rather than once per row.
 */
export function adamUpdateRange(
  param: Float32Array,
  pOff: number,
  grad: Float32Array,
  gOff: number,
  len: number,
  m: Float32Array,
  v: Float32Array,
  h: AdamHyper,
  stepSize: number,
): void {
  const { beta1, beta2, eps } = h;
  for (let i = 0; i < len; i++) {
    const k = pOff + i;
    const g = grad[gOff + i]!;
    const mk = beta1 * m[k]! + (1 - beta1) * g;
    const vk = beta2 * v[k]! + (1 - beta2) * g * g;
    m[k] = mk;
    v[k] = vk;
    param[k] = param[k]! - (stepSize * mk) / (Math.sqrt(vk) + eps);
  }
}

/** Adagrad update of param[pOff .. pOff+len) with grad[gOff ..); accum is laid out like param. */
export function adagradUpdateRange(
  param: Float32Array,
  pOff: number,
  grad: Float32Array,
  gOff: number,
  len: number,
  accum: Float32Array,
  lr: number,
): void {
  for (let i = 0; i < len; i++) {
    const k = pOff + i;
    const g = grad[gOff + i]!;
    const a = accum[k]! + g * g;
    accum[k] = a;
    param[k] = param[k]! - (lr * g) / Math.sqrt(a);
  }
}

/** Initial value of each state slot. */
export function slotInitialValues(h: OptimizerHyper): number[] {
  switch (h.kind) {
    case 'adam':
      return [0, 0];
    case 'adagrad':
      return [h.initialAccumulator];
  }
}

/** What both optimizers share: checked hyper-parameters, the step count, the learning-rate setter. */
export abstract class OptimizerBase {
  protected t = 0;
  protected readonly current: OptimizerHyper;

  constructor(hyper: OptimizerHyper) {
    this.current = checkHyper(hyper);
  }

  get kind(): OptimizerKind {
    return this.current.kind;
  }

  get hyper(): Readonly<OptimizerHyper> {
    return this.current;
  }

  get stepCount(): number {
    return this.t;
  }

  /** Learning-rate schedules; takes effect from the next update. */
  setLearningRate(lr: number): void {
    checkLearningRate(lr);
    this.current.lr = lr;
  }
}

/** Hyper-parameters other than the learning rate must agree for a state to be meaningful. */
export function checkSameHyper(own: OptimizerHyper, saved: OptimizerHyper, where: string): void {
  if (own.kind !== saved.kind) throw new Error(`${where}: saved by ${saved.kind}, cannot restore into ${own.kind}`);
  const mine = own as unknown as Record<string, unknown>;
  const theirs = saved as unknown as Record<string, unknown>;
  const differs = Object.keys(mine).filter((key) => key !== 'lr' && mine[key] !== theirs[key]);
  if (differs.length > 0) {
    const detail = differs.map((k) => `${k} ${String(theirs[k])} (saved) vs ${String(mine[k])}`).join(', ');
    throw new Error(`${where}: ${detail}; build the optimizer with the saved values`);
  }
}

/** Rejects hyper-parameters that would make updates meaningless (NaN, no-ops, divergence). */
function checkHyper(h: OptimizerHyper): OptimizerHyper {
  checkLearningRate(h.lr);
  switch (h.kind) {
    case 'adam':
      if (!(h.beta1 >= 0 && h.beta1 < 1 && h.beta2 >= 0 && h.beta2 < 1 && h.eps > 0)) {
        throw new RangeError(`adam: need 0 <= beta1, beta2 < 1 and eps > 0, got beta1 ${h.beta1}, beta2 ${h.beta2}, eps ${h.eps}`);
      }
      return { ...h };
    case 'adagrad':
      if (!(h.initialAccumulator > 0 && Number.isFinite(h.initialAccumulator))) {
        throw new RangeError(`adagrad: initialAccumulator must be positive, got ${h.initialAccumulator}`);
      }
      return { ...h };
  }
}

function checkLearningRate(lr: number): void {
  if (!(lr > 0 && Number.isFinite(lr))) throw new RangeError(`learning rate must be a positive number, got ${lr}`);
}
