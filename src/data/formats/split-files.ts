import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The input layouts prepareSplit reads. */
export type SourceFormat = 'aliccp' | 'paddlerec' | 'csv';

/** What describeSplitFiles found for a split; `lookedFor` lists the patterns it tried. */
export type SplitFiles =
  | { kind: 'aliccp'; skeleton: string; common: string; truth: string | null; lookedFor: string[] }
  | { kind: 'paddlerec'; files: string[]; lookedFor: string[] }
  | { kind: 'csv'; files: string[]; lookedFor: string[] }
  | { kind: 'missing'; problem: string; lookedFor: string[] };

/** Raw Ali-CCP files of a split. */
export function rawFileNames(split: string): { skeleton: string; common: string; truth: string } {
  return {
    skeleton: `sample_skeleton_${split}.csv`,
    common: `common_features_${split}.csv`,
    truth: `truth_${split}.csv`,
  };
}

/**
 * Finds the input files of `split` in `dataDir`. With format 'auto' the first layout present
 * wins: raw Ali-CCP (sample_skeleton_<split>.csv, which requires common_features_<split>.csv),
 * then PaddleRec (<split>/*.txt, else *<split>*.txt), then CSV (*<split>*.csv). Files are sorted
 * by name. Never throws: a `missing` result says what is wrong and what was looked for.
 */
export function describeSplitFiles(dataDir: string, split: string, format: SourceFormat | 'auto' = 'auto'): SplitFiles {
  const dir = resolve(dataDir);
  const names = rawFileNames(split);
  const lookedFor: string[] = [];
  if (!isDirectory(dir)) {
    return { kind: 'missing', problem: `the data folder ${dir} does not exist (or is not a folder)`, lookedFor };
  }
  const entries = readdirSync(dir).sort();

  if (format === 'auto' || format === 'aliccp') {
    lookedFor.push(join(dir, names.skeleton) + ' + ' + names.common + ' (raw Ali-CCP)');
    const skeleton = join(dir, names.skeleton);
    const common = join(dir, names.common);
    if (isFile(skeleton)) {
      if (!isFile(common)) {
        return { kind: 'missing', problem: `found ${skeleton} but not ${common}: the raw Ali-CCP layout needs both files of the split`, lookedFor };
      }
      const truth = join(dir, names.truth);
      return { kind: 'aliccp', skeleton, common, truth: isFile(truth) ? truth : null, lookedFor };
    }
  }

  if (format === 'auto' || format === 'paddlerec') {
    const sub = join(dir, split);
    lookedFor.push(join(sub, '*.txt') + ' (PaddleRec)', join(dir, `*${split}*.txt`) + ' (PaddleRec)');
    let files: string[] = [];
    if (isDirectory(sub)) {
      files = readdirSync(sub).sort().filter((n) => n.endsWith('.txt')).map((n) => join(sub, n)).filter(isFile);
    }
    if (files.length === 0) files = entries.filter((n) => n.endsWith('.txt') && n.includes(split)).map((n) => join(dir, n)).filter(isFile);
    if (files.length > 0) return { kind: 'paddlerec', files, lookedFor };
  }

  if (format === 'auto' || format === 'csv') {
    lookedFor.push(join(dir, `*${split}*.csv`) + ' (CSV with a click,purchase header)');
    const reserved = [/^sample_skeleton_/, /^common_features_/, /^truth_/];
    const files = entries
      .filter((n) => n.endsWith('.csv') && n.includes(split) && !reserved.some((r) => r.test(n)))
      .map((n) => join(dir, n))
      .filter(isFile);
    if (files.length > 0) return { kind: 'csv', files, lookedFor };
  }

  const what = format === 'auto' ? 'no data' : `no ${format} data`;
  return { kind: 'missing', problem: `${what} for split "${split}" in ${dir}`, lookedFor };
}

/** A one-paragraph error message for a `missing` result. */
export function missingSplitMessage(found: Extract<SplitFiles, { kind: 'missing' }>): string {
  if (found.lookedFor.length === 0) return found.problem;
  return `${found.problem}; looked for:\n${found.lookedFor.map((p) => '  ' + p).join('\n')}`;
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}
