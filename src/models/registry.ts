/**
 * Every model kind, in the order the CLI lists them. Adding a kind is adding its file under
 * kinds/ and one line here.
 */
import type { AnyModelDef } from './definition.js';
import { AMAN } from './kinds/aman.js';
import { CROSS_STITCH } from './kinds/cross-stitch.js';
import { BASE } from './kinds/base.js';
import { DIVISION } from './kinds/division.js';
import { ESMM } from './kinds/esmm.js';
import { ESMM_NS } from './kinds/esmm-ns.js';
import { AITM } from './kinds/aitm.js';
import { DCMT } from './kinds/dcmt.js';
import { ESCM2_DR } from './kinds/escm2-dr.js';
import { ESCM2_IPS } from './kinds/escm2-ips.js';
import { MMOE } from './kinds/mmoe.js';
import { OVERSAMPLING } from './kinds/oversampling.js';
import { PLE } from './kinds/ple.js';
import { SHARED_BOTTOM } from './kinds/shared-bottom.js';
import { UNBIAS } from './kinds/unbias.js';

export const MODELS: readonly AnyModelDef[] = [
  ESMM, BASE, AMAN, OVERSAMPLING, UNBIAS, DIVISION, ESMM_NS,
  SHARED_BOTTOM, MMOE, PLE, AITM, ESCM2_IPS, ESCM2_DR, DCMT,
  CROSS_STITCH,
];

/** A model kind's name (the --model value). */
export type ModelKind = string;

export const MODEL_KINDS: readonly ModelKind[] = MODELS.map((m) => m.kind);

/** The definition of `kind` (case-insensitive), or an error that lists the kinds. */
export function modelDef(kind: string): AnyModelDef {
  const def = MODELS.find((m) => m.kind === kind.toLowerCase());
  if (!def) throw new Error(`unknown model '${kind}': choose one of ${MODEL_KINDS.join(', ')}`);
  return def;
}
