/**
 * The model kinds' hyper-parameters as CLI flags, derived from their declarations
 * (models/kinds/*.ts): the option table, the help text, and the parsing, shared by `esmm train`
 * and `esmm experiment`. A flag that none of the chosen models declares is a usage error.
 */
import { resolveOptions } from '../models/definition.js';
import { flagName, flagText, hyperDefaults, hyperHelp, parseFlagValue, type HyperParam } from '../models/hyper.js';
import { MODELS, modelDef } from '../models/registry.js';
import { UsageError, type Options } from './args.js';

/** Every kind's flags (parsed as strings, then checked against the chosen kinds' declarations). */
export const MODEL_OPTIONS: Options = Object.fromEntries(
  MODELS.flatMap((m) => Object.entries(m.hyper).map(([name, p]) => [flagName(name, p), { type: 'string' as const }])),
);

/**
 * Help lines: the flags grouped by the kinds that read them at their defaults, each flag once; a
 * default that differs between kinds is listed per kind. A flag no kind reads at its defaults (an
 * option of a backbone or objective that no preset uses) is listed with the kinds that take it.
 */
export function modelOptionsHelp(): string {
  const flags = new Map<string, { name: string; param: HyperParam; kinds: string[]; defaults: string[] }>();
  const add = (kind: string, name: string, param: HyperParam) => {
    const flag = flagName(name, param);
    const entry = flags.get(flag) ?? { name, param, kinds: [], defaults: [] };
    entry.kinds.push(kind);
    entry.defaults.push(flagText(param.default));
    flags.set(flag, entry);
  };
  for (const m of MODELS) {
    const read = m.reads?.(hyperDefaults(m.hyper)) ?? Object.keys(m.hyper);
    for (const name of read) add(m.kind, name, m.hyper[name]!);
  }
  const unread = new Map<string, { name: string; param: HyperParam; kinds: string[] }>();
  for (const m of MODELS)
    for (const [name, param] of Object.entries(m.hyper)) {
      const flag = flagName(name, param);
      if (flags.has(flag)) continue;
      const entry = unread.get(flag) ?? { name, param, kinds: [] };
      entry.kinds.push(m.kind);
      unread.set(flag, entry);
    }
  const groups = new Map<string, string[]>();
  for (const { name, param, kinds, defaults } of flags.values()) {
    const key = kinds.length === MODELS.length ? 'every kind' : kinds.join(', ');
    let [line] = hyperHelp({ [name]: param });
    if (new Set(defaults).size > 1) {
      line = line!.replace(/ \(default [^)]*\)$/, '');
      line += ` (default ${kinds.map((k, i) => `${k} ${defaults[i]}`).join('; ')})`;
    }
    groups.set(key, [...(groups.get(key) ?? []), line!]);
  }
  for (const { name, param, kinds } of unread.values()) {
    const key = `${kinds.join(', ')}, with the --backbone or --objective that reads it`;
    groups.set(key, [...(groups.get(key) ?? []), ...hyperHelp({ [name]: param })]);
  }
  const lines: string[] = [];
  for (const [kinds, group] of groups) lines.push(`Model options (${kinds}):`, ...group);
  return lines.join('\n');
}

/** The --model list for help text: each kind with its one-line summary. */
export function modelKindsHelp(indent: string): string {
  const width = Math.max(...MODELS.map((m) => m.kind.length)) + 2;
  return MODELS.map((m) => `${indent}${m.kind.padEnd(width)}${m.summary}`).join('\n');
}

/**
 * The hyper-parameter values given on the command line, per kind of `kinds` that declares each
 * flag (absent ones are left to the defaults). A flag no chosen kind declares is refused, and so is
 * a combination a kind refuses (an option its backbone and objective do not read): here, before
 * any data is read.
 */
export function parseModelHyper(v: Record<string, unknown>, kinds: readonly string[], command: string): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = Object.fromEntries(kinds.map((k) => [k, {}]));
  const given = new Set(Object.keys(MODEL_OPTIONS).filter((flag) => v[flag] !== undefined));
  for (const flag of given) {
    let used = false;
    for (const kind of kinds) {
      const entry = Object.entries(modelDef(kind).hyper).find(([n, p]) => flagName(n, p) === flag) as [string, HyperParam] | undefined;
      if (!entry) continue;
      const [name, p] = entry;
      try {
        out[kind]![name] = parseFlagValue(name, p, String(v[flag]), `--model ${kind}`);
      } catch (e) {
        throw new UsageError((e as Error).message, command);
      }
      used = true;
    }
    if (!used) {
      const owners = MODELS.filter((m) => Object.entries(m.hyper).some(([n, p]) => flagName(n, p) === flag)).map((m) => m.kind);
      throw new UsageError(`--${flag} applies to --model ${owners.join(', ')} only (this is --model${kinds.length > 1 ? 's' : ''} ${kinds.join(',')})`, command);
    }
  }
  for (const kind of kinds) {
    try {
      resolveOptions(modelDef(kind), out[kind]!, `--model ${kind}`);
    } catch (e) {
      throw new UsageError((e as Error).message, command);
    }
  }
  return out;
}
