/**
 * What the report draws for one trained model, from its predictions on the test split: ROC
 * curves of the paper's two tasks, calibration buckets, and (simulated data) the entire-space
 * calibration of pCVR against the true conversion probability.
 */
import type { SampleSource } from '../data/sample-source.js';
import type { CvrModel } from '../models/cvr-model.js';
import { predictAll } from '../train/predict-all.js';
import { ROC_POINTS, calibrationBuckets, rocOnGrid, type CalibrationBucket } from './curves.js';
import { ScoreBuffer } from '../metrics/binary-task.js';

export const CALIBRATION_BUCKETS = 10;

export interface ModelCurves {
  /** TPR on the ROC_POINTS FPR grid: CVR task (pCVR, clicked impressions, conversion). */
  rocCvr: number[];
  /** CTCVR task (pCTCVR, all impressions, click AND conversion). */
  rocCtcvr: number[];
  calibrationCvr: CalibrationBucket[];
  calibrationCtcvr: CalibrationBucket[];
  /** pCVR over ALL impressions against the true p(conversion | click); null without truth. */
  calibrationTruth: CalibrationBucket[] | null;
}

/** One pass over `test`; memory: a few float32 values per impression, released on return. */
export async function collectCurves(
  model: CvrModel,
  test: SampleSource,
  opts: { quiet?: boolean; embeddingThreads?: boolean } = {},
): Promise<ModelCurves> {
  const cvr = { pos: new ScoreBuffer(), neg: new ScoreBuffer() };
  const ctcvr = { pos: new ScoreBuffer(), neg: new ScoreBuffer() };
  const pcvrAll = new ScoreBuffer();
  const truth = new ScoreBuffer();
  let hasTruth = true;
  await predictAll(
    model,
    test,
    (p, batch, block, start) => {
      for (let i = 0; i < batch.size; i++) {
        const converted = batch.click[i]! * batch.conversion[i]!;
        (converted ? ctcvr.pos : ctcvr.neg).push(p.pctcvr[i]!);
        if (batch.click[i]) (batch.conversion[i] ? cvr.pos : cvr.neg).push(p.pcvr[i]!);
        if (!block.truth) continue;
        pcvrAll.push(p.pcvr[i]!);
        truth.push(block.truth.pConvGivenClick[start + i]!);
      }
      if (!block.truth) hasTruth = false;
    },
    { quiet: opts.quiet ?? true, label: `curves ${model.config.kind}`, ...(opts.embeddingThreads !== undefined ? { embeddingThreads: opts.embeddingThreads } : {}) },
  );
  const calibration = (task: { pos: ScoreBuffer; neg: ScoreBuffer }) => {
    const pos = task.pos.view();
    const neg = task.neg.view();
    const scores = new Float32Array(pos.length + neg.length);
    scores.set(pos);
    scores.set(neg, pos.length);
    const labels = new Uint8Array(scores.length).fill(1, 0, pos.length);
    return calibrationBuckets(scores, labels, CALIBRATION_BUCKETS);
  };
  // Like the AUC, a ROC curve needs both classes: without, it is NaN (null in JSON, not drawn).
  const roc = (task: { pos: ScoreBuffer; neg: ScoreBuffer }) =>
    task.pos.length > 0 && task.neg.length > 0 ? Array.from(rocOnGrid(task.pos.view(), task.neg.view())) : new Array<number>(ROC_POINTS).fill(NaN);
  return {
    rocCvr: roc(cvr),
    rocCtcvr: roc(ctcvr),
    calibrationCvr: calibration(cvr),
    calibrationCtcvr: calibration(ctcvr),
    calibrationTruth: hasTruth && truth.length > 0 ? calibrationBuckets(pcvrAll.view(), truth.view(), CALIBRATION_BUCKETS) : null,
  };
}
