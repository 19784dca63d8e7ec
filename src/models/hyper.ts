/**
 * Typed hyper-parameters of a model kind. A kind declares each one once (name, type, default,
 * bounds, help); the CLI flags, their help text, the validation, what model.json records and what a
 * checkpoint's fingerprint compares are all derived from that declaration.
 *
 *   const HYPER = { hidden: layers([360, 200, 80], 'tower layer sizes'), dropout: rate(0, 'dropout after each hidden layer') };
 *   type Hyper = HyperValues<typeof HYPER>;   // { hidden: number[]; dropout: number }
 */

/** One hyper-parameter: its value type T, default, bounds and help. */
export interface HyperParam<T extends HyperValue = HyperValue> {
  type: 'number' | 'integer' | 'layers' | 'choice';
  default: T;
  /** Inclusive bounds of a number, an integer, or each layer width. */
  min: number;
  max: number;
  /** Whether `min` itself is allowed (a rate in (0, 1] is not 0). */
  minInclusive: boolean;
  help: string;
  /** The allowed values of a choice. */
  choices?: readonly string[];
  /** The CLI flag without dashes; default: the name in kebab case (hiddenLayers → hidden-layers). */
  flag?: string;
}

export type HyperValue = number | number[] | string;
export type HyperSchema = Readonly<Record<string, HyperParam>>;
export type HyperValues<S extends HyperSchema> = { [K in keyof S]: S[K] extends HyperParam<infer T> ? T : never };
/** Hyper-parameter values as JSON holds them (model.json, a checkpoint's fingerprint, results.json). */
export type HyperRecord = Readonly<Record<string, HyperValue>>;

/** A real number in [min, max] (or (min, max] with `minInclusive: false`). */
export function real(dflt: number, help: string, bounds: { min: number; max: number; minInclusive?: boolean; flag?: string }): HyperParam<number> {
  return { type: 'number', default: dflt, min: bounds.min, max: bounds.max, minInclusive: bounds.minInclusive ?? true, help, ...flagOf(bounds) };
}

export function integer(dflt: number, help: string, bounds: { min: number; max: number; flag?: string }): HyperParam<number> {
  return { type: 'integer', default: dflt, min: bounds.min, max: bounds.max, minInclusive: true, help, ...flagOf(bounds) };
}

/** Layer widths, e.g. 360,200,80 (empty, written `none`: no hidden layer). */
export function layers(dflt: readonly number[], help: string, opts: { flag?: string; allowEmpty?: boolean } = {}): HyperParam<number[]> {
  return { type: 'layers', default: [...dflt], min: opts.allowEmpty ? 0 : 1, max: 65536, minInclusive: true, help, ...flagOf(opts) };
}

/** One of `choices`. */
export function choice<T extends string>(choices: readonly T[], dflt: T, help: string, opts: { flag?: string } = {}): HyperParam<T> {
  return { type: 'choice', default: dflt, min: 0, max: 0, minInclusive: true, help, choices: [...choices], ...flagOf(opts) };
}

/** A dropout rate in [0, 0.95]. */
export function dropoutRate(help = 'dropout after each hidden layer'): HyperParam<number> {
  return real(0, help, { min: 0, max: 0.95 });
}

function flagOf(o: { flag?: string }): { flag?: string } {
  return o.flag === undefined ? {} : { flag: o.flag };
}

export function flagName(name: string, p: HyperParam): string {
  return p.flag ?? name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The schema's defaults. */
export function hyperDefaults<S extends HyperSchema>(schema: S): HyperValues<S> {
  const out: Record<string, HyperValue> = {};
  for (const [name, p] of Object.entries(schema)) out[name] = copy(p.default);
  return out as HyperValues<S>;
}

/**
 * The full values of `schema` from a partial record: defaults filled in, every value checked.
 * Unknown names are refused. `where` prefixes the messages (a file, a command).
 */
export function resolveHyper<S extends HyperSchema>(schema: S, given: Readonly<Record<string, unknown>>, where: string): HyperValues<S> {
  const out: Record<string, HyperValue> = {};
  for (const name of Object.keys(given))
    if (!(name in schema))
      throw new Error(`${where}: unknown hyper-parameter '${name}' (this model has: ${Object.keys(schema).join(', ') || 'none'})`);
  for (const [name, p] of Object.entries(schema)) {
    const v = given[name];
    out[name] = v === undefined ? copy(p.default) : checkValue(name, p, v, where);
  }
  return out as HyperValues<S>;
}

/** Checks one value against its declaration; returns it (copied) or throws naming the flag. */
export function checkValue(name: string, p: HyperParam, v: unknown, where: string): HyperValue {
  const bad = (what: string): never => {
    throw new Error(`${where}: ${name} (--${flagName(name, p)}) ${what}`);
  };
  const inRange = (x: number): boolean => (p.minInclusive ? x >= p.min : x > p.min) && x <= p.max;
  const range = `${p.minInclusive ? '[' : '('}${p.min}, ${p.max}]`;
  switch (p.type) {
    case 'number':
    case 'integer':
      if (typeof v !== 'number' || !Number.isFinite(v)) return bad(`must be a number (got ${JSON.stringify(v)})`);
      if (p.type === 'integer' && !Number.isInteger(v)) return bad(`must be an integer (got ${v})`);
      if (!inRange(v)) return bad(`must be in ${range} (got ${v})`);
      return v;
    case 'choice':
      if (typeof v !== 'string' || !(p.choices ?? []).includes(v)) return bad(`must be one of ${(p.choices ?? []).join(', ')} (got ${JSON.stringify(v)})`);
      return v;
    case 'layers':
      if (!Array.isArray(v) || !v.every((w) => typeof w === 'number' && Number.isInteger(w) && w >= 1 && w <= p.max))
        return bad(`must be a list of layer widths, integers in [1, ${p.max}] (got ${JSON.stringify(v)})`);
      if (v.length < p.min) return bad('needs at least one layer');
      return [...(v as number[])];
  }
}

/** Parses a flag's text into the declared type (then checkValue checks it). */
export function parseFlagValue(name: string, p: HyperParam, text: string, where: string): HyperValue {
  const flag = `--${flagName(name, p)}`;
  if (p.type === 'choice') return checkValue(name, p, text.trim(), where);
  if (p.type === 'layers') {
    const parts = text.trim() === '' || text.trim() === 'none' ? [] : text.split(',');
    if (!parts.every((s) => /^\s*\d+\s*$/.test(s))) throw new Error(`${where}: ${flag} takes comma-separated layer widths like 360,200,80 (got '${text}')`);
    return checkValue(name, p, parts.map(Number), where);
  }
  if (!/^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/.test(text)) throw new Error(`${where}: ${flag} takes a number (got '${text}')`);
  return checkValue(name, p, Number(text), where);
}

/** A value as a flag takes it: 360,200,80, and `none` for no layers. */
export function flagText(v: HyperValue): string {
  if (!Array.isArray(v)) return String(v);
  return v.length === 0 ? 'none' : v.join(',');
}

/** Help lines of a schema, aligned like the rest of the CLI's help. */
export function hyperHelp(schema: HyperSchema, indent = '  '): string[] {
  return Object.entries(schema).map(([name, p]) => {
    const shown = flagText(p.default);
    const arg = p.type === 'layers' ? (p.min === 0 ? 'W,W,...|none' : 'W,W,...') : p.type === 'integer' ? 'N' : p.type === 'choice' ? (p.choices ?? []).join('|') : 'X';
    const left = `${indent}--${flagName(name, p)} ${arg}`;
    return left.length < 27 ? `${left.padEnd(27)}${p.help} (default ${shown})` : `${left}\n${' '.repeat(27)}${p.help} (default ${shown})`;
  });
}

function copy(v: HyperValue): HyperValue {
  return Array.isArray(v) ? [...v] : v;
}
