/** What tests compare when they say two models ended the same: every weight, by name. */
import type { CvrModel } from '../models/cvr-model.js';

/** Every dense parameter (a copy) and every exported embedding row, keyed by component, then parameter or table. */
export function weightsOf(m: CvrModel): Map<string, Float32Array | Int32Array> {
  const out = new Map<string, Float32Array | Int32Array>();
  for (const c of m.components) {
    for (const [name, p] of c.net.params) out.set(`${c.def.name}/${name}`, p.data.slice());
    for (const t of c.embeddings.tables) {
      const { rows, data } = t.exportRows();
      out.set(`${c.def.name}/${t.name}/rows`, rows);
      out.set(`${c.def.name}/${t.name}/data`, data);
    }
  }
  return out;
}
