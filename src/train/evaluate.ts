import type { SampleSource } from '../data/sample-source.js';
import { BinaryTaskMetrics } from '../metrics/binary-task.js';
import { CalibrationStats } from '../metrics/calibration.js';
import { GroupedAuc } from '../metrics/grouped-auc.js';
import { PADDING_KEY, type GroupTable, type SampleBlock } from '../data/types.js';
import type { CvrModel } from '../models/cvr-model.js';
import { Rng } from '../util/rng.js';
import { predictAll } from './predict-all.js';

/**
 * The paper's protocol: CTR AUC on all impressions, CVR AUC on clicked impressions only, CTCVR
 * AUC on all impressions; exact global AUCs. On generated data (truth present) also the
 * entire-space CVR quality that real data cannot show: AUC of pCVR against conversion labels
 * drawn from the true p(conversion | click) for EVERY impression, clicked or not, and the mean
 * absolute error of pCVR against that true probability on clicked and on unclicked impressions.
 *
 * And the metrics the multi-task literature reports beside them (docs/models.md, "Evaluation
 * protocol", has each definition and source): cvr_auc_exposure (pCVR against click AND conversion
 * over all impressions, what torch-rechub and PaddleRec call CVR AUC according to issue 14), the per-user GAUCs, PCOC
 * and ECE per task. Everything is exact and over the whole split, never averaged over batches.
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
  /** pCVR against conversion (unclicked: none) over ALL impressions. */
  cvr_auc_exposure: number;
  /** Per-user AUC, impression-weighted over users with both classes (CVR: clicked impressions); NaN without a user field. */
  ctr_gauc: number;
  cvr_gauc: number;
  ctcvr_gauc: number;
  /** Sum of predictions / sum of labels (CVR: clicked impressions). */
  ctr_pcoc: number;
  cvr_pcoc: number;
  ctcvr_pcoc: number;
  /** Expected calibration error, 10 equal-width bins weighted by their counts (CVR: clicked impressions). */
  ctr_ece: number;
  cvr_ece: number;
  ctcvr_ece: number;
  /** The field that names the user for the GAUCs, and the impressions it is missing from (left out of them). */
  gauc_user_field: string;
  impressions_without_user: number;
  cvr_auc_entire_space_truth?: number;
  pcvr_mae_truth_clicked?: number;
  pcvr_mae_truth_unclicked?: number;
}

/** The raw field that identifies the user in Ali-CCP (a common feature: "User ID"). */
export const DEFAULT_USER_FIELD = '101';

export interface EvaluateOptions {
  batchSize?: number;
  quiet?: boolean;
  embeddingThreads?: boolean;
  /** The field whose id is the user of the GAUCs (default 101). */
  userField?: string;
  /** Memory for the GAUCs' records before they spill to temporary files (metrics/grouped-auc.ts). */
  gaucMemoryBytes?: number;
}

/** Seed of the truth-drawn labels: fixed, so every model is scored against the same draw. */
export const TRUTH_LABEL_SEED = 20180708;

export async function evaluateModel(
  model: CvrModel,
  source: SampleSource,
  opts: EvaluateOptions = {},
): Promise<EvalResult> {
  const ctr = new BinaryTaskMetrics();
  const cvr = new BinaryTaskMetrics();
  const ctcvr = new BinaryTaskMetrics();
  const cvrExposure = new BinaryTaskMetrics();
  const calibration = { ctr: new CalibrationStats(), cvr: new CalibrationStats(), ctcvr: new CalibrationStats() };
  const userField = opts.userField ?? DEFAULT_USER_FIELD;
  const userOf = userLookup(source, userField);
  const gauc = userOf ? new GroupedAuc(3, source.numSamples, opts.gaucMemoryBytes !== undefined ? { memoryBytes: opts.gaucMemoryBytes } : {}) : null;
  let withoutUser = 0;
  const scores = new Float64Array(3);
  const truthCvr = new BinaryTaskMetrics();
  const truthRng = new Rng(TRUTH_LABEL_SEED);
  let hasTruth = true;
  const mae = { clicked: 0, clickedN: 0, unclicked: 0, unclickedN: 0 };
  try {
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
        cvrExposure.update(p.pcvr, ctcvrLabel);
        calibration.ctr.update(p.pctr, batch.click);
        calibration.cvr.update(p.pcvr, batch.conversion, batch.click);
        calibration.ctcvr.update(p.pctcvr, ctcvrLabel);
        if (gauc && userOf) {
          for (let i = 0; i < n; i++) {
            const user = userOf(block, start + i);
            if (user < 0) {
              withoutUser++;
              continue;
            }
            const click = batch.click[i]!;
            scores[0] = p.pctr[i]!;
            scores[1] = p.pcvr[i]!;
            scores[2] = p.pctcvr[i]!;
            // Bits per task (0 CTR, 1 CVR, 2 CTCVR): the labels, and which tasks the impression counts for.
            const labels = click | (batch.conversion[i]! << 1) | (ctcvrLabel[i]! << 2);
            gauc.add(user, scores, labels, click ? 0b111 : 0b101);
          }
        } else {
          withoutUser += n;
        }
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
      {
        ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
        ...(opts.quiet !== undefined ? { quiet: opts.quiet } : {}),
        ...(opts.embeddingThreads !== undefined ? { embeddingThreads: opts.embeddingThreads } : {}),
        label: `evaluate ${model.config.kind}`,
      },
    );
  } catch (e) {
    gauc?.dispose();
    throw e;
  }
  const [gCtr, gCvr, gCtcvr] = gauc ? gauc.compute().map((g) => g.gauc) : [NaN, NaN, NaN];
  const cal = { ctr: calibration.ctr.compute(), cvr: calibration.cvr.compute(), ctcvr: calibration.ctcvr.compute() };
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
    cvr_auc_exposure: cvrExposure.compute().auc,
    ctr_gauc: gCtr!,
    cvr_gauc: gCvr!,
    ctcvr_gauc: gCtcvr!,
    ctr_pcoc: cal.ctr.pcoc,
    cvr_pcoc: cal.cvr.pcoc,
    ctcvr_pcoc: cal.ctcvr.pcoc,
    ctr_ece: cal.ctr.ece,
    cvr_ece: cal.cvr.ece,
    ctcvr_ece: cal.ctcvr.ece,
    gauc_user_field: userField,
    impressions_without_user: withoutUser,
  };
  if (hasTruth && rCtr.count > 0) {
    result.cvr_auc_entire_space_truth = truthCvr.compute().auc;
    result.pcvr_mae_truth_clicked = mae.clickedN ? mae.clicked / mae.clickedN : NaN;
    result.pcvr_mae_truth_unclicked = mae.unclickedN ? mae.unclicked / mae.unclickedN : NaN;
  }
  return result;
}

/**
 * The user key of sample i of a block: the id of `field` among the sample's own features, else
 * among its session's common features (where Ali-CCP keeps field 101); -1 when it has none. Null
 * when the split has no such field at all (then the GAUCs are NaN). Each group's user is found once.
 */
export function userLookup(source: { fieldNames: string[]; groups: GroupTable }, field: string): ((block: SampleBlock, i: number) => number) | null {
  const f = source.fieldNames.indexOf(field);
  if (f < 0) return null;
  const groups = source.groups;
  const groupUser = new Float64Array(groups.count).fill(-1);
  for (let g = 0; g < groups.count; g++) {
    for (let e = groups.offsets[g]!; e < groups.offsets[g + 1]!; e++) {
      if (groups.fields[e] === f) {
        groupUser[g] = userKey(groups.keys[e]!);
        break;
      }
    }
  }
  return (block, i) => {
    for (let e = block.offsets[i]!; e < block.offsets[i + 1]!; e++) if (block.fields[e] === f) return userKey(block.keys[e]!);
    const g = block.group[i]!;
    return g >= 0 ? groupUser[g]! : -1;
  };
}

/** A padding id ("-1") names no user. */
function userKey(key: number): number {
  return key === PADDING_KEY ? -1 : key;
}
