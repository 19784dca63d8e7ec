import type { SampleSource } from '../data/sample-source.js';
import { BinaryTaskMetrics } from '../metrics/binary-task.js';
import type { CvrModel } from '../models/cvr-model.js';
import { Rng } from '../util/rng.js';
import { predictAll } from './predict-all.js';

/**
 * The paper's protocol: CTR AUC on all impressions, CVR AUC on clicked impressions only, CTCVR
 * AUC on all impressions; exact global AUCs. On generated data (truth present) also the
 * entire-space CVR quality that real data cannot show: AUC of pCVR against conversion labels
 * drawn from the true p(conversion | click) for EVERY impression, clicked or not, and the mean
 * absolute error of pCVR against that true probability on clicked and on unclicked impressions.
 */
export interface EvalResult {
  impressions: number;
  clicks: number;
  conversions: number;
  ctr_auc: number;
  cvr_auc: number;
  ctcvr_auc: number;
  ctr_logloss: number;
  cvr_logloss: number;
  ctcvr_logloss: number;
  cvr_auc_entire_space_truth?: number;
  pcvr_mae_truth_clicked?: number;
  pcvr_mae_truth_unclicked?: number;
}

/** Seed of the truth-drawn labels: fixed, so every model is scored against the same draw. */
export const TRUTH_LABEL_SEED = 20180708;

export async function evaluateModel(
  model: CvrModel,
  source: SampleSource,
  opts: { batchSize?: number; quiet?: boolean; embeddingThreads?: boolean } = {},
): Promise<EvalResult> {
  const ctr = new BinaryTaskMetrics();
  const cvr = new BinaryTaskMetrics();
  const ctcvr = new BinaryTaskMetrics();
  const truthCvr = new BinaryTaskMetrics();
  const truthRng = new Rng(TRUTH_LABEL_SEED);
  let hasTruth = true;
  const mae = { clicked: 0, clickedN: 0, unclicked: 0, unclickedN: 0 };
  await predictAll(
    model,
    source,
    (p, batch, block, start) => {
      const n = batch.size;
      const ctcvrLabel = new Uint8Array(n);
      for (let i = 0; i < n; i++) ctcvrLabel[i] = batch.click[i]! * batch.conversion[i]!;
      ctr.update(p.pctr, batch.click);
      cvr.update(p.pcvr, batch.conversion, batch.click);
      ctcvr.update(p.pctcvr, ctcvrLabel);
      if (!block.truth) {
        hasTruth = false;
        return;
      }
      const truth = block.truth.pConvGivenClick.subarray(start, start + n);
      const drawn = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        drawn[i] = truthRng.next() < truth[i]! ? 1 : 0;
        const err = Math.abs(p.pcvr[i]! - truth[i]!);
        if (batch.click[i]) {
          mae.clicked += err;
          mae.clickedN++;
        } else {
          mae.unclicked += err;
          mae.unclickedN++;
        }
      }
      truthCvr.update(p.pcvr, drawn);
    },
    { ...opts, label: `evaluate ${model.config.kind}` },
  );
  const rCtr = ctr.compute();
  const rCvr = cvr.compute();
  const rCtcvr = ctcvr.compute();
  const result: EvalResult = {
    impressions: rCtr.count,
    clicks: rCtr.positives,
    conversions: rCtcvr.positives,
    ctr_auc: rCtr.auc,
    cvr_auc: rCvr.auc,
    ctcvr_auc: rCtcvr.auc,
    ctr_logloss: rCtr.logloss,
    cvr_logloss: rCvr.logloss,
    ctcvr_logloss: rCtcvr.logloss,
  };
  if (hasTruth && rCtr.count > 0) {
    result.cvr_auc_entire_space_truth = truthCvr.compute().auc;
    result.pcvr_mae_truth_clicked = mae.clickedN ? mae.clicked / mae.clickedN : NaN;
    result.pcvr_mae_truth_unclicked = mae.unclickedN ? mae.unclicked / mae.unclickedN : NaN;
  }
  return result;
}
