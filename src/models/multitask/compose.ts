/**
 * A multi-task model: a backbone (backbones.ts), one tower per task, and an objective
 * (objectives.ts), as one component over shared embeddings. The named kinds (mmoe, ple, aitm,
 * escm2-ips, escm2-dr, dcmt, shared-bottom) are presets of `--backbone` and `--objective` and of
 * the sizes their reference implementations use; any backbone goes with any objective.
 *
 * Parameters: the backbone's (bottom.*, expert<i>.*, gate.<task>.*, ple<l>.*), each task's tower
 * `<task>.w<i>/b<i>` (its hidden layers, then its logit layer), and the objective's (aitm.*).
 */
import { fromComponent } from '../combine.js';
import { defineModel, type AnyModelDef } from '../definition.js';
import { choice, dropoutRate, flagName, integer, layers, real, type HyperValues } from '../hyper.js';
import { mlp } from '../layers.js';
import { BACKBONES, BACKBONE_OPTIONS, buildBackbone, type BackboneName } from './backbones.js';
import { OBJECTIVES, OBJECTIVE_OPTIONS, OBJECTIVE_TASKS, buildHeads, buildLoss, type ObjectiveName } from './objectives.js';

/** The options of every multi-task model, with a preset's defaults. */
function multiTaskHyper(d: Preset['defaults']) {
  return {
    backbone: choice(BACKBONES, d.backbone, 'what the task towers read: x itself, a shared MLP, MMoE experts, or PLE levels'),
    objective: choice(OBJECTIVES, d.objective, 'what the towers learn and how pCVR is made (docs/models.md)'),
    tower: layers(d.tower, 'hidden layer sizes of each task tower', { allowEmpty: true }),
    dropout: dropoutRate('dropout after each hidden layer (bottom, experts, towers)'),
    bottom: layers(d.bottom ?? [128, 128], 'shared-bottom backbone: the shared MLP layer sizes'),
    experts: integer(d.experts ?? 8, 'mmoe backbone: number of experts', { min: 1, max: 256 }),
    expert: layers(d.expert ?? [16], 'mmoe and ple backbones: each expert MLP\'s layer sizes'),
    levels: integer(d.levels ?? 2, 'ple backbone: extraction levels (1 is CGC)', { min: 1, max: 8 }),
    taskExperts: integer(d.taskExperts ?? 2, 'ple backbone: experts of each task per level', { min: 1, max: 64 }),
    sharedExperts: integer(d.sharedExperts ?? 1, 'ple backbone: shared experts per level', { min: 1, max: 64 }),
    cvrWeight: real(d.cvrWeight ?? 0.5, 'escm2 / dcmt: weight of the counterfactual CVR loss (λc, w_cvr)', { min: 0, max: 100 }),
    ctcvrWeight: real(d.ctcvrWeight ?? 0.5, 'escm2 / dcmt: weight of the CTCVR loss (λg, w_ctcvr)', { min: 0, max: 100 }),
    ipsClip: real(15, 'escm2: the largest inverse propensity 1/pCTR', { min: 1, max: 1e6 }),
    propensityClip: real(0.05, 'dcmt: pCTR clipped to [c, 1 - c] as the propensity', { min: 0, max: 0.5, minInclusive: false }),
    constraintWeight: real(0.001, 'dcmt: weight λ of the counterfactual constraint |1 - (r + r*)|', { min: 0, max: 100 }),
    alpha: real(0.6, 'aitm: weight of the behavioural expectation calibrator', { min: 0, max: 100 }),
  } as const;
}

type MultiTaskHyper = HyperValues<ReturnType<typeof multiTaskHyper>>;

export interface Preset {
  kind: string;
  title: string;
  summary: string;
  /** Where the model and its defaults come from. */
  source: string;
  defaults: {
    backbone: BackboneName;
    objective: ObjectiveName;
    tower: readonly number[];
    bottom?: readonly number[];
    experts?: number;
    expert?: readonly number[];
    levels?: number;
    taskExperts?: number;
    sharedExperts?: number;
    cvrWeight?: number;
    ctcvrWeight?: number;
  };
  paper?: { cvr: readonly [number, number]; ctcvr: readonly [number, number] };
}

/** Options that only some backbones or objectives read. */
const PART_OPTIONS = new Set<string>([...Object.values(BACKBONE_OPTIONS).flat(), ...Object.values(OBJECTIVE_OPTIONS).flat()]);

export function multiTaskModel(p: Preset): AnyModelDef {
  const hyper = multiTaskHyper(p.defaults);
  return defineModel({
    kind: p.kind,
    title: p.title,
    summary: p.summary,
    hyper,
    describe: (h) => `${describeParts(h)} ${p.source}`,
    validate: (h, given) => {
      const used = new Set<string>([...BACKBONE_OPTIONS[h.backbone], ...OBJECTIVE_OPTIONS[h.objective]]);
      // An option counts as set when it differs from its default: model.json records every
      // option, so a loaded model gives them all.
      const isDefault = (name: string) => JSON.stringify(given[name]) === JSON.stringify(hyper[name as keyof typeof hyper].default);
      for (const name of Object.keys(given))
        if (PART_OPTIONS.has(name) && !used.has(name) && !isDefault(name))
          throw new Error(
            `--${flagName(name, hyper[name as keyof typeof hyper])} does nothing with --backbone ${h.backbone} --objective ${h.objective}: ` +
              `${name} is read by ${readers(name)}`,
          );
      if (h.objective === 'aitm' && h.tower.length === 0)
        throw new Error('--objective aitm transfers the click tower\'s last hidden layer: give the towers at least one layer (--tower)');
    },
    components: (h) => [
      {
        name: p.kind,
        embeddingCopies: 1,
        filter: 'all',
        sampling: { kind: 'none' },
        signature: { arch: 'multi-task', ...h },
        dense: {
          forward: (g, x) => {
            const tasks = OBJECTIVE_TASKS[h.objective];
            const backbone = buildBackbone(h.backbone, g, x, tasks, h);
            const reps = Object.fromEntries(tasks.map((t) => [t, mlp(g, t, backbone.inputs[t]!, h.tower, h.dropout)]));
            const heads = buildHeads(h.objective, g, reps, h.tower.length, h);
            return { ...heads, ...backbone.inspect };
          },
          loss: (g, v) => buildLoss(h.objective, g, v, h).total,
        },
      },
    ],
    combine: () => fromComponent(p.kind),
    ...(p.paper ? { paper: p.paper } : {}),
  });
}

function readers(option: string): string {
  const b = BACKBONES.filter((n) => (BACKBONE_OPTIONS[n] as readonly string[]).includes(option)).map((n) => `--backbone ${n}`);
  const o = OBJECTIVES.filter((n) => (OBJECTIVE_OPTIONS[n] as readonly string[]).includes(option)).map((n) => `--objective ${n}`);
  return [...b, ...o].join(', ');
}

function describeParts(h: MultiTaskHyper): string {
  const backbone = {
    towers: 'shared embeddings, one tower per task',
    'shared-bottom': `a shared MLP (${h.bottom.join('-')}) under one tower per task`,
    mmoe: `MMoE: ${h.experts} experts (${h.expert.join('-')}) and a softmax gate per task`,
    ple: `PLE: ${h.levels} level${h.levels > 1 ? 's' : ''} of ${h.taskExperts} task and ${h.sharedExperts} shared experts (${h.expert.join('-')})`,
  }[h.backbone];
  const objective = {
    independent: 'a CTR head and a CTCVR head over all impressions; pCVR = min(1, pCTCVR / pCTR)',
    esmm: 'ESMM\'s objective: pCTCVR = pCTR × pCVR, loss on CTR and CTCVR',
    'escm2-ips': `ESMM's objective plus the IPS counterfactual CVR loss (λc ${h.cvrWeight}, λg ${h.ctcvrWeight}, 1/pCTR ≤ ${h.ipsClip})`,
    'escm2-dr': `ESMM's objective plus the doubly robust CVR loss and its imputation tower (λc ${h.cvrWeight}, λg ${h.ctcvrWeight})`,
    dcmt: `factual and counterfactual CVR towers with propensity-weighted losses and the constraint λ ${h.constraintWeight}`,
    aitm: `click then purchase with the attention transfer and the calibrator (α ${h.alpha})`,
  }[h.objective];
  return `${backbone} (towers ${h.tower.join('-') || 'linear'}); ${objective}.`;
}
