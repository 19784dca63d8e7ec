import { resolveHyper } from '../models/hyper.js';
import { modelDef } from '../models/registry.js';

/**
 * Small hyper-parameters for any model kind, for tests that loop over the registry: every
 * layer-list option the kind reads `layers` wide (an option its other choices would refuse, such
 * as a backbone's it does not use, is left out), `dropout` for the dropout, defaults for the rest.
 */
export function smallHyper(kind: string, layers: readonly number[], dropout = 0): Record<string, unknown> {
  const def = modelDef(kind);
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(def.hyper)) {
    if (name === 'dropout') out[name] = dropout;
    if (p.type !== 'layers') continue;
    const trial = { ...out, [name]: [...layers] };
    try {
      def.validate?.(resolveHyper(def.hyper, trial, kind), trial);
      out[name] = [...layers];
    } catch {
      // An option this kind's backbone or objective does not read: keep its default.
    }
  }
  return out;
}
