import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in how a command was called: printed with a pointer to --help, exit status 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses argv against the command's option table. Unknown options (with the nearest known one as
 * a suggestion), missing values, stray arguments and options given twice are usage errors.
 */
export function parseCommand(command: string, argv: string[], options: Options): Record<string, string | boolean | undefined> {
  const table: Options = { ...options, help: { type: 'boolean', short: 'h' } };
  const { values, positionals, tokens } = parseStrict(command, argv, table);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (options take the form --name value)`, command);
  const seen = new Map<string, string | undefined>();
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    if (seen.has(t.name)) {
      const values = [seen.get(t.name), t.value].filter((x) => x !== undefined).map((x) => `'${x}'`);
      throw new UsageError(`--${t.name} is given twice${values.length > 0 ? ` (${values.join(' and ')})` : ''}: give it once`, command);
    }
    seen.set(t.name, t.value);
  }
  return values as Record<string, string | boolean | undefined>;
}

function parseStrict(command: string, argv: string[], table: Options) {
  try {
    return parseArgs({ args: argv, options: table, strict: true, allowPositionals: true, tokens: true });
  } catch (e) {
    const message = (e as Error).message.replace(/\. To specify.*$/s, '');
    const unknown = /^Unknown option '(-{1,2}[^']*)'/.exec(message);
    const hint = unknown ? nearestOption(unknown[1]!, Object.keys(table)) : null;
    throw new UsageError(hint ? `${message}; did you mean --${hint}?` : message, command);
  }
}

/** The option name closest to a mistyped one (edit distance at most 2, or a prefix), if any. */
function nearestOption(typed: string, names: string[]): string | null {
  const word = typed.replace(/^-+/, '').replace(/=.*$/, '');
  let best: string | null = null;
  let bestDistance = 3;
  for (const name of names) {
    const d = name.startsWith(word) && word.length >= 3 ? 1 : editDistance(word, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    previous = row;
  }
  return previous[b.length]!;
}

/** A plain decimal number as people type it: 3, -2, 0.001, .5, 1e-3 (no hex, no spaces, no "Infinity"). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function requireString(v: Record<string, unknown>, name: string, command: string): string {
  const s = v[name];
  if (typeof s !== 'string' || s === '') throw new UsageError(`--${name} is required`, command);
  return s;
}

export function optString(v: Record<string, unknown>, name: string): string | undefined {
  const s = v[name];
  return typeof s === 'string' ? s : undefined;
}

/** A number option with bounds; `integer` rejects fractions. */
export function numberOpt(
  v: Record<string, unknown>,
  name: string,
  dflt: number,
  command: string,
  { min = -Infinity, max = Infinity, integer = false }: { min?: number; max?: number; integer?: boolean } = {},
): number {
  const s = v[name];
  if (s === undefined) return dflt;
  const n = Number(s);
  const what = integer ? 'an integer' : 'a number';
  if (typeof s !== 'string' || !DECIMAL.test(s) || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be ${what}, got '${String(s)}'`, command);
  }
  if (n < min || n > max) {
    throw new UsageError(`--${name} must be ${what} in [${min}, ${max}], got ${n}`, command);
  }
  return n;
}

export function choiceOpt<T extends string>(v: Record<string, unknown>, name: string, choices: readonly T[], dflt: T, command: string): T {
  const s = v[name];
  if (s === undefined) return dflt;
  if (typeof s === 'string' && (choices as readonly string[]).includes(s)) return s as T;
  throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${String(s)}'`, command);
}

/** "360,200,80" → [360, 200, 80]. */
export function layersOpt(v: Record<string, unknown>, name: string, dflt: number[], command: string): number[] {
  const s = v[name];
  if (s === undefined) return dflt;
  const texts = String(s).split(',').map((p) => p.trim());
  const parts = texts.map(Number);
  if (texts.some((t) => !/^\d+$/.test(t)) || parts.some((n) => n < 1 || n > 65536)) {
    throw new UsageError(`--${name} must be comma-separated positive layer sizes like 360,200,80, got '${String(s)}'`, command);
  }
  return parts;
}
