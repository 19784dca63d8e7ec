import { hyperDefaults } from '../models/hyper.js';
import { modelDef } from '../models/registry.js';

/**
 * Small hyper-parameters for any model kind, for tests that loop over the registry: every
 * layer-list option the kind reads at its defaults `layers` wide, `dropout` for the dropout,
 * defaults for the rest.
 */
export function smallHyper(kind: string, layers: readonly number[], dropout = 0): Record<string, unknown> {
  const def = modelDef(kind);
  const out: Record<string, unknown> = {};
  for (const name of def.reads?.(hyperDefaults(def.hyper)) ?? Object.keys(def.hyper)) {
    const p = def.hyper[name]!;
    if (name === 'dropout') out[name] = dropout;
    if (p.type === 'layers') out[name] = [...layers];
  }
  return out;
}
