import { modelDef } from '../models/registry.js';

/**
 * Table 2 of Ma et al. 2018 (SIGIR), on the public Ali-CCP data, as each model kind declares it:
 * AUC in %, mean ± std over 10 runs. CVR task: pCVR on clicked impressions; CTCVR task: pCTCVR on
 * all impressions. null for a kind the paper did not report.
 */
export function paperTable2(kind: string): { cvr: [number, number]; ctcvr: [number, number] } | null {
  const p = modelDef(kind).paper;
  return p ? { cvr: [...p.cvr], ctcvr: [...p.ctcvr] } : null;
}

/** How papers write a model's name. */
export function displayName(kind: string): string {
  return modelDef(kind).title;
}

export function formatPaper(v: readonly [number, number] | undefined): string {
  return v ? `${v[0].toFixed(2)} ± ${v[1].toFixed(2)}` : '–';
}
