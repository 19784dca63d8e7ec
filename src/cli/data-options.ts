import { prepareSplit, type PreparedSplit } from '../data/cache/prepare.js';
import type { InputReport } from '../data/types.js';
import { defaultSpec, loadSpec, specForFields } from '../features/spec.js';
import type { FeatureSpec } from '../features/spec-types.js';
import { Progress } from '../util/progress.js';
import { choiceOpt, optString, type Options } from './args.js';

/** Options every command that reads data shares. */
export const DATA_OPTIONS: Options = {
  data: { type: 'string' },
  'cache-dir': { type: 'string' },
  format: { type: 'string' },
  strict: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
};

export const FORMATS = ['auto', 'aliccp', 'paddlerec', 'csv'] as const;

/** Prepares (or reuses the cache of) one split, with a progress bar and a problems summary. */
export async function loadSplit(
  values: Record<string, unknown>,
  dataDir: string,
  split: string,
  command: string,
): Promise<PreparedSplit> {
  const quiet = values.quiet === true;
  let bar: Progress | null = null;
  let phase = '';
  const cacheDir = optString(values, 'cache-dir');
  const prepared = await prepareSplit({
    dataDir,
    split,
    format: choiceOpt(values, 'format', FORMATS, 'auto', command),
    strict: values.strict === true,
    force: values.force === true,
    ...(cacheDir ? { cacheDir } : {}),
    onProgress: (p) => {
      if (quiet) return;
      if (p.phase !== phase || !bar) {
        bar?.finish();
        phase = p.phase;
        bar = new Progress({ label: `prepare ${split} (${p.phase})`, total: p.bytesTotal / 1e6, unit: 'MB' });
      }
      (bar as Progress).update(p.bytesDone / 1e6, `${p.lines} lines`);
    },
  });
  (bar as Progress | null)?.finish();
  if (!quiet) {
    process.stderr.write(
      `${split}: ${prepared.numSamples} impressions, ${prepared.clicks} clicks, ${prepared.conversions} conversions` +
        ` (${prepared.format}${prepared.reused ? ', cached' : ''})\n`,
    );
    for (const r of prepared.reports) {
      const s = summarizeReport(r);
      if (s) process.stderr.write(s);
    }
    for (const w of prepared.warnings) process.stderr.write(`  warning: ${w}\n`);
  }
  return prepared;
}

/** The feature spec: a file, or the default for the data's format. */
export function chooseSpec(values: Record<string, unknown>, split: PreparedSplit): FeatureSpec {
  const path = optString(values, 'spec');
  if (path) return loadSpec(path);
  return split.format === 'aliccp' ? defaultSpec() : specForFields(split.fieldNames);
}

/** Multi-line summary of one file's problems, or '' when it had none. */
export function summarizeReport(r: InputReport): string {
  const kinds = Object.entries(r.problems).filter(([, n]) => (n ?? 0) > 0);
  if (kinds.length === 0) return '';
  let s = `  ${r.file}: ${r.lines} lines, ${r.kept} kept\n`;
  for (const [kind, n] of kinds) {
    const ex = (r.examples[kind as keyof typeof r.examples] ?? [])
      .map((e) => `line ${e.line}: ${e.detail}`)
      .join('; ');
    s += `    ${kind}: ${n}${ex ? ` (first: ${ex})` : ''}\n`;
  }
  return s;
}
