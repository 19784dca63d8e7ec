/**
 * A multi-task model: a backbone, one tower per task, and an objective (the entries of parts.ts),
 * as one component over shared embeddings. The named kinds (mmoe, ple, aitm, escm2-ips, escm2-dr,
 * dcmt, shared-bottom, ...) are presets of `--backbone` and `--objective` and of the sizes their
 * reference implementations use; any backbone goes with any objective.
 *
 * A kind's options are its choices, the towers' shape, and the options of every backbone and
 * objective merged from their entries (an option two parts read is one declaration they share).
 * It reads, records and shows those of its chosen backbone and objective only, and refuses the
 * others when given, naming the parts that read them.
 *
 * Parameters: the backbone's (bottom.*, expert<i>.*, gate.<task>.*, ple<l>.*, ...), each task's
 * tower `<task>.w<i>/b<i>` (its hidden layers, then its logit layer), and the objective's (aitm.*).
 */
import { fromComponent } from '../combine.js';
import { defineModel, type AnyModelDef } from '../definition.js';
import { choice, dropoutRate, flagName, layers, type HyperParam, type HyperSchema, type HyperValue, type HyperValues } from '../hyper.js';
import { mlp } from '../layers.js';
import { BACKBONES, BACKBONE_NAMES, OBJECTIVES, OBJECTIVE_NAMES, backboneOf, objectiveOf, type BackboneName, type ObjectiveName } from './parts.js';

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
    /** Defaults of its backbone's and objective's options where the preset's source differs from the entry's. */
    options?: Readonly<Record<string, HyperValue>>;
  };
  paper?: { cvr: readonly [number, number]; ctcvr: readonly [number, number] };
}

/** The options every multi-task kind reads, whatever its parts. */
function sharedHyper(d: Preset['defaults']) {
  return {
    backbone: choice(BACKBONE_NAMES, d.backbone, 'what the task towers read (docs/models.md)'),
    objective: choice(OBJECTIVE_NAMES, d.objective, 'what the towers learn and how pCVR is made (docs/models.md)'),
    tower: layers(d.tower, 'hidden layer sizes of each task tower', { allowEmpty: true }),
    dropout: dropoutRate('dropout after each hidden layer (backbone, towers)'),
  } as const;
}
const SHARED_OPTIONS = Object.keys(sharedHyper({ backbone: 'towers', objective: 'esmm', tower: [] }));

type MultiTaskSchema = ReturnType<typeof sharedHyper> & HyperSchema;
type MultiTaskHyper = HyperValues<MultiTaskSchema>;

/** The parts that read each option, as flags: option name → ['--backbone mmoe', ...]. */
const READERS = new Map<string, string[]>();
/** Every part's option, declared once (two parts that read one option share its declaration). */
const PART_OPTIONS: Record<string, HyperParam> = {};
for (const [flag, parts] of [['--backbone', BACKBONES], ['--objective', OBJECTIVES]] as const)
  for (const part of parts)
    for (const [name, p] of Object.entries(part.options)) {
      const earlier = PART_OPTIONS[name];
      if (earlier && earlier !== p)
        throw new Error(`option '${name}' of ${flag} ${part.name} is declared again, unlike ${READERS.get(name)!.join(', ')}'s: parts that read one option share its declaration`);
      if (SHARED_OPTIONS.includes(name)) throw new Error(`${flag} ${part.name} declares '${name}', which every multi-task kind has`);
      PART_OPTIONS[name] = p;
      READERS.set(name, [...(READERS.get(name) ?? []), `${flag} ${part.name}`]);
    }

/** The kind's options: the shared ones, then every part's, with the preset's defaults and the readers in the help. */
function multiTaskHyper(p: Preset): MultiTaskSchema {
  const given = p.defaults.options ?? {};
  const readers = [...Object.keys(backboneOf(p.defaults.backbone).options), ...Object.keys(objectiveOf(p.defaults.objective).options)];
  for (const name of Object.keys(given))
    if (!readers.includes(name))
      throw new Error(`preset '${p.kind}' sets '${name}', which neither --backbone ${p.defaults.backbone} nor --objective ${p.defaults.objective} reads`);
  const parts: Record<string, HyperParam> = {};
  for (const [name, param] of Object.entries(PART_OPTIONS))
    parts[name] = { ...param, help: `${readersShort(name)}: ${param.help}`, ...(name in given ? { default: given[name]! } : {}) };
  return { ...sharedHyper(p.defaults), ...parts };
}

/** The parts that read an option, for its help: '--backbone mmoe, ple'. */
function readersShort(name: string): string {
  const byFlag = new Map<string, string[]>();
  for (const reader of READERS.get(name)!) {
    const [flag, part] = reader.split(' ') as [string, string];
    byFlag.set(flag, [...(byFlag.get(flag) ?? []), part]);
  }
  return [...byFlag].map(([flag, parts]) => `${flag} ${parts.join(', ')}`).join('; ');
}

/** The options values `h` read: the shared ones and those of its backbone and objective, in the schema's order. */
function optionsRead(schema: MultiTaskSchema, h: MultiTaskHyper): string[] {
  const read = new Set([...SHARED_OPTIONS, ...Object.keys(backboneOf(h.backbone).options), ...Object.keys(objectiveOf(h.objective).options)]);
  return Object.keys(schema).filter((name) => read.has(name));
}

export function multiTaskModel(p: Preset): AnyModelDef {
  const hyper = multiTaskHyper(p);
  return defineModel({
    kind: p.kind,
    title: p.title,
    summary: p.summary,
    hyper,
    reads: (h) => optionsRead(hyper, h),
    describe: (h) => {
      const backbone = backboneOf(h.backbone).describe(h);
      return `${backbone} (towers ${h.tower.join('-') || 'linear'}); ${objectiveOf(h.objective).describe(h)}. ${p.source}`;
    },
    validate: (h, given) => {
      const read = optionsRead(hyper, h);
      for (const name of Object.keys(given))
        if (READERS.has(name) && !read.includes(name))
          throw new Error(
            `--${flagName(name, hyper[name]!)} does nothing with --backbone ${h.backbone} --objective ${h.objective}: ` +
              `${name} is read by ${READERS.get(name)!.join(', ')}`,
          );
      objectiveOf(h.objective).validate?.(h.tower);
    },
    components: (h) => {
      const backbone = backboneOf(h.backbone);
      const objective = objectiveOf(h.objective);
      return [
        {
          name: p.kind,
          embeddingCopies: 1,
          filter: 'all',
          sampling: { kind: 'none' },
          signature: { arch: 'multi-task', ...Object.fromEntries(optionsRead(hyper, h).map((name) => [name, h[name]])) },
          dense: {
            forward: (g, x) => {
              const tasks = objective.tasks;
              const out = backbone.build(g, x, tasks, h);
              const reps = Object.fromEntries(tasks.map((t) => [t, mlp(g, t, out.inputs[t]!, h.tower, h.dropout)]));
              const heads = objective.heads(g, reps, h.tower.length, h);
              return { ...heads, ...out.inspect };
            },
            loss: (g, v) => objective.loss(g, v, h).total,
          },
        },
      ];
    },
    combine: () => fromComponent(p.kind),
    ...(p.paper ? { paper: p.paper } : {}),
  });
}
