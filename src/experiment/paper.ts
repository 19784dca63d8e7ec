import type { ModelKind } from '../models/model-kinds.js';

/**
 * Table 2 of Ma et al. 2018 (SIGIR), on the public Ali-CCP data: AUC in %, mean ± std over 10
 * runs. CVR task: pCVR on clicked impressions; CTCVR task: pCTCVR on all impressions.
 */
export const PAPER_TABLE2: Readonly<Record<ModelKind, { cvr: [number, number]; ctcvr: [number, number] }>> = {
  base: { cvr: [66.0, 0.37], ctcvr: [62.07, 0.45] },
  aman: { cvr: [65.21, 0.59], ctcvr: [63.53, 0.57] },
  oversampling: { cvr: [67.18, 0.32], ctcvr: [63.05, 0.48] },
  unbias: { cvr: [66.65, 0.28], ctcvr: [63.56, 0.7] },
  division: { cvr: [67.56, 0.48], ctcvr: [63.62, 0.09] },
  'esmm-ns': { cvr: [68.25, 0.44], ctcvr: [64.44, 0.62] },
  esmm: { cvr: [68.56, 0.37], ctcvr: [65.32, 0.49] },
};

/** How the paper writes a model's name. */
export function displayName(kind: ModelKind): string {
  return kind.toUpperCase();
}

export function formatPaper(v: [number, number]): string {
  return `${v[0].toFixed(2)} ± ${v[1].toFixed(2)}`;
}
