/**
 * The loss curve a training run records per component. Its own module because the trainer
 * produces it, checkpoints store it and the experiment reports plot it: none of them owns it
 * alone, and the trainer imports checkpoint.ts, so it cannot live in either without a cycle.
 */
/** Loss curve of one component: mean loss over every `every` steps. */
export interface LossCurve {
  component: string;
  every: number;
  points: { step: number; epoch: number; loss: number }[];
}
