/**
 * Writes an experiment's outputs into one folder: results.json, report.html and, when a Chromium
 * is at hand, png/<plot>.png; the page is then checked in that browser (it renders, every plot is
 * there and drawn, no console errors).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findChromium, inspectPage, type PageReport } from './browser.js';
import { reportHtml, reportPlots } from './report.js';
import type { ExperimentResults } from './results.js';

export interface WrittenReport {
  files: string[];
  /** What the browser saw; null when no Chromium was used. */
  check: PageReport | null;
}

export interface WriteOptions {
  command: string;
  /** Chromium binary, or null for none (no PNGs, no check). */
  chromium: string | null;
}

/** The report folder's files; throws when the browser finds the page broken. */
export async function writeReport(outDir: string, results: ExperimentResults, opts: WriteOptions): Promise<WrittenReport> {
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, data: string | Buffer) => {
    const path = join(outDir, name);
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, data);
    renameSync(tmp, path);
    files.push(path);
  };
  write('results.json', JSON.stringify(results, null, 1) + '\n');
  const plots = reportPlots(results);
  const pngs = opts.chromium ? new Map(plots.map((p) => [p.id, `png/${p.id}.png`])) : undefined;
  write('report.html', reportHtml(results, plots, { command: opts.command, ...(pngs ? { pngs } : {}) }));
  if (!opts.chromium) return { files, check: null };

  const check = await inspectPage(join(outDir, 'report.html'), { chromium: opts.chromium, screenshots: true });
  const problems = pageProblems(check, plots.map((p) => ({ id: p.id, marks: marksIn(p.svg) })));
  if (problems.length > 0) throw new Error(`${join(outDir, 'report.html')} does not render as it should in ${opts.chromium}:\n  ${problems.join('\n  ')}`);
  mkdirSync(join(outDir, 'png'), { recursive: true });
  for (const [id, png] of check.screenshots) write(`png/${id}.png`, png);
  return { files, check };
}

/** Marks (lines, bars, dots) in an SVG text: what the browser must show (browser.ts counts the same). */
export function marksIn(svg: string): number {
  return (svg.match(/<polyline|<rect class="bar"|<circle/g) ?? []).length;
}

/** What is wrong with a rendered report: browser errors, plots missing, too small, or not all drawn. */
export function pageProblems(check: PageReport, expected: { id: string; marks: number }[]): string[] {
  const problems = check.errors.map((e) => `browser: ${e}`);
  const seen = new Map(check.plots.map((p) => [p.id, p]));
  for (const { id, marks } of expected) {
    const p = seen.get(id);
    if (!p) problems.push(`plot '${id}' is not on the page`);
    else if (p.width < 100 || p.height < 100) problems.push(`plot '${id}' renders at ${p.width}×${p.height} px`);
    else if (p.marks !== marks) problems.push(`plot '${id}' shows ${p.marks} lines, bars and dots of the ${marks} written`);
  }
  return problems;
}

/** The Chromium for `--browser`: 'auto' finds one (or none), 'off' none, anything else is a path. */
export function chooseChromium(choice: string): string | null {
  if (choice === 'off') return null;
  if (choice === 'auto') return findChromium();
  return choice;
}
