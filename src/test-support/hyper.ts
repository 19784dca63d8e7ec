import { modelDef } from '../models/registry.js';

/**
 * Small hyper-parameters for any model kind, for tests that loop over the registry: every
 * layer-list option `layers` wide, `dropout` for the dropout, the kind's defaults for the rest.
 */
export function smallHyper(kind: string, layers: readonly number[], dropout = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(modelDef(kind).hyper)) {
    if (p.type === 'layers') out[name] = [...layers];
    else if (name === 'dropout') out[name] = dropout;
  }
  return out;
}
