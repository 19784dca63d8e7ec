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

/** Parses argv against the command's option table; unknown options are usage errors. */
export function parseCommand(command: string, argv: string[], options: Options): Record<string, string | boolean | undefined> {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, command);
    return values as Record<string, string | boolean | undefined>;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError((e as Error).message.replace(/\. To specify.*$/s, ''), command);
  }
}

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
  if (typeof s !== 'string' || s.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
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
  const parts = String(s).split(',').map((p) => Number(p.trim()));
  if (parts.length === 0 || parts.some((n) => !Number.isInteger(n) || n < 1 || n > 65536)) {
    throw new UsageError(`--${name} must be comma-separated positive layer sizes like 360,200,80, got '${String(s)}'`, command);
  }
  return parts;
}
