/**
 * The dense optimizer: Adam or Adagrad over a fixed list of parameters (the towers' weights), every
 * value updated every step, with the kernels of kernels.ts.
 */
import {
  OptimizerBase,
  adagradUpdateRange,
  adamStepSize,
  adamUpdateRange,
  checkSameHyper,
  defaultHyper,
  slotInitialValues,
  type OptimizerHyper,
  type OptimizerKind,
} from './kernels.js';

export interface DenseOptimizerState {
  format: 'esmm-dense-optimizer';
  version: 1;
  hyper: OptimizerHyper;
  step: number;
  /** [slot][param]: one array per SLOT_NAMES[kind] entry per parameter (empty before the first step). */
  slots: Float32Array[][];
}

/** Updates a fixed list of dense parameters (the towers' weights) with the same kernels. */
export class DenseOptimizer extends OptimizerBase {
  /** [slot][param], allocated on the first step to match the parameters. */
  private slots: Float32Array[][] = [];

  /** One training step: params[i] -= update(grads[i]); the same parameter list every call. */
  step(params: Float32Array[], grads: Float32Array[]): void {
    if (params.length !== grads.length) throw new RangeError(`dense optimizer: ${params.length} parameters but ${grads.length} gradients`);
    params.forEach((p, i) => {
      if (grads[i]!.length !== p.length) throw new RangeError(`dense optimizer: parameter ${i} has ${p.length} values but its gradient ${grads[i]!.length}`);
    });
    if (this.slots.length === 0) {
      this.slots = slotInitialValues(this.current).map((value) => params.map((p) => new Float32Array(p.length).fill(value)));
    }
    this.checkSameParameters(params);
    this.t++;
    const h = this.current;
    switch (h.kind) {
      case 'adam': {
        const stepSize = adamStepSize(h, this.t);
        const [m, v] = this.slots as [Float32Array[], Float32Array[]];
        params.forEach((p, i) => adamUpdateRange(p, 0, grads[i]!, 0, p.length, m[i]!, v[i]!, h, stepSize));
        break;
      }
      case 'adagrad': {
        const [accum] = this.slots as [Float32Array[]];
        params.forEach((p, i) => adagradUpdateRange(p, 0, grads[i]!, 0, p.length, accum[i]!, h.lr));
        break;
      }
    }
  }

  exportState(): DenseOptimizerState {
    return {
      format: 'esmm-dense-optimizer',
      version: 1,
      hyper: { ...this.current },
      step: this.t,
      slots: this.slots.map((perParam) => perParam.map((a) => a.slice())),
    };
  }

  /** Restores steps and slots; the learning rate stays this optimizer's own. */
  importState(state: DenseOptimizerState): void {
    if (state.format !== 'esmm-dense-optimizer' || state.version !== 1) {
      throw new Error(`dense optimizer state: expected format esmm-dense-optimizer version 1, got ${state.format} ${state.version}`);
    }
    checkSameHyper(this.current, state.hyper, 'dense optimizer state');
    const expected = slotInitialValues(this.current).length;
    if (state.slots.length !== 0 && state.slots.length !== expected) {
      throw new RangeError(`dense optimizer state: ${state.slots.length} slots; ${this.kind} has ${expected}`);
    }
    const lengths = state.slots[0]?.map((a) => a.length) ?? [];
    if (state.slots.some((perParam) => perParam.length !== lengths.length || perParam.some((a, i) => a.length !== lengths[i]))) {
      throw new RangeError('dense optimizer state: slots disagree on the number or sizes of parameters');
    }
    this.slots = state.slots.map((perParam) => perParam.map((a) => a.slice()));
    this.t = state.step;
  }

  private checkSameParameters(params: Float32Array[]): void {
    const have = this.slots[0]!;
    const lengths = params.map((p) => p.length);
    if (have.length !== lengths.length || have.some((a, i) => a.length !== lengths[i])) {
      throw new RangeError(
        `dense optimizer: got ${lengths.length} parameters of sizes [${lengths.join(', ')}] but the state is for ` +
          `[${have.map((a) => a.length).join(', ')}]; pass the same parameter list every step`,
      );
    }
  }
}

export function createDenseOptimizer(kind: OptimizerKind, lr: number): DenseOptimizer {
  return new DenseOptimizer(defaultHyper(kind, lr));
}
