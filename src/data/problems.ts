import { DataError, type InputProblemKind, type InputReport } from './types.js';

/** Examples kept per problem kind: enough to find the pattern, bounded for a 40M-line file. */
export const EXAMPLES_PER_KIND = 5;

/** Longest detail text kept in an example. */
const MAX_DETAIL = 200;

/**
 * Counts the bad input of one file. Readers call `problem()` for every dropped (or, for
 * unknown_common_feature_index, kept but incomplete) row; in strict mode the first one throws a
 * DataError naming file, line, kind and detail instead.
 */
export class ProblemCounter {
  /** Data lines read (not counting a header or blank lines). */
  lines = 0;
  /** Rows kept. */
  kept = 0;
  private readonly counts: Partial<Record<InputProblemKind, number>> = {};
  private readonly examples: Partial<Record<InputProblemKind, { line: number; detail: string }[]>> = {};

  constructor(
    readonly file: string,
    readonly strict: boolean,
  ) {}

  problem(kind: InputProblemKind, line: number, detail: string): void {
    if (detail.length > MAX_DETAIL) detail = detail.slice(0, MAX_DETAIL - 3) + '...';
    if (this.strict) throw new DataError(this.file, line, kind, detail);
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    const list = (this.examples[kind] ??= []);
    if (list.length < EXAMPLES_PER_KIND) list.push({ line, detail });
  }

  /** Total problems counted, all kinds. */
  get total(): number {
    let n = 0;
    for (const k of Object.values(this.counts)) n += k ?? 0;
    return n;
  }

  report(): InputReport {
    const examples: InputReport['examples'] = {};
    for (const [kind, list] of Object.entries(this.examples)) {
      examples[kind as InputProblemKind] = list.map((e) => ({ ...e }));
    }
    return { file: this.file, lines: this.lines, kept: this.kept, problems: { ...this.counts }, examples };
  }
}

/** The first problem example of a set of reports as a DataError (strict mode on a reused cache). */
export function firstProblemError(reports: InputReport[]): DataError | null {
  for (const r of reports) {
    let best: { kind: InputProblemKind; line: number; detail: string } | null = null;
    for (const [kind, list] of Object.entries(r.examples)) {
      const e = list?.[0];
      if (e && (!best || e.line < best.line)) best = { kind: kind as InputProblemKind, ...e };
    }
    if (best) return new DataError(r.file, best.line, best.kind, best.detail);
  }
  return null;
}
