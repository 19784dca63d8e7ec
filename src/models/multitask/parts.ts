/**
 * Every backbone and every objective a multi-task kind can be made of, in the order `--help` lists
 * them. Adding one is adding its entry (part.ts) and one line here; every multi-task kind then takes
 * it as `--backbone` or `--objective`, with its options.
 */
import { CROSS_STITCH_BACKBONE } from './backbones/cross-stitch.js';
import { MMOE_BACKBONE } from './backbones/mmoe.js';
import { PLE_BACKBONE } from './backbones/ple.js';
import { SHARED_BOTTOM_BACKBONE } from './backbones/shared-bottom.js';
import { TOWERS } from './backbones/towers.js';
import { AITM_OBJECTIVE, DCMT_OBJECTIVE, ESCM2_DR_OBJECTIVE, ESCM2_IPS_OBJECTIVE, ESMM_OBJECTIVE, INDEPENDENT } from './objectives.js';
import type { Backbone, Objective } from './part.js';

export const BACKBONES = [
  TOWERS,
  SHARED_BOTTOM_BACKBONE,
  MMOE_BACKBONE,
  PLE_BACKBONE,
  CROSS_STITCH_BACKBONE,
] as const;

export const OBJECTIVES = [INDEPENDENT, ESMM_OBJECTIVE, ESCM2_IPS_OBJECTIVE, ESCM2_DR_OBJECTIVE, DCMT_OBJECTIVE, AITM_OBJECTIVE] as const;

export type BackboneName = (typeof BACKBONES)[number]['name'];
export type ObjectiveName = (typeof OBJECTIVES)[number]['name'];

export const BACKBONE_NAMES: readonly BackboneName[] = BACKBONES.map((b) => b.name);
export const OBJECTIVE_NAMES: readonly ObjectiveName[] = OBJECTIVES.map((o) => o.name);

export function backboneOf(name: string): Backbone {
  const b = BACKBONES.find((x) => x.name === name);
  if (!b) throw new Error(`unknown backbone '${name}': choose one of ${BACKBONE_NAMES.join(', ')}`);
  return b;
}

export function objectiveOf(name: string): Objective {
  const o = OBJECTIVES.find((x) => x.name === name);
  if (!o) throw new Error(`unknown objective '${name}': choose one of ${OBJECTIVE_NAMES.join(', ')}`);
  return o;
}
