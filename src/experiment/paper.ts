import { MODELS, modelDef } from '../models/registry.js';

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

/**
 * What an experiment over `kinds` compares, for a report's title: "the seven models of the paper's
 * Table 2" when they are exactly those, "the seven models of the paper's Table 2, Shared-Bottom and
 * MMoE" when it adds others to them, and otherwise the models by name.
 */
export function comparedModels(kinds: readonly string[]): string {
  const table2 = MODELS.filter((m) => m.paper).map((m) => m.kind);
  const count = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'][table2.length] ?? String(table2.length);
  const list = (names: readonly string[]) => (names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`);
  const others = kinds.filter((k) => !table2.includes(modelDef(k).kind)).map(displayName);
  if (!table2.every((k) => kinds.some((given) => modelDef(given).kind === k))) return list(kinds.map(displayName));
  const paper = `the ${count} models of the paper's Table 2`;
  return list([paper, ...others]);
}

export function formatPaper(v: readonly [number, number] | undefined): string {
  return v ? `${v[0].toFixed(2)} ± ${v[1].toFixed(2)}` : '–';
}
