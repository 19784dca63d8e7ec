/**
 * Helpers for the data tests: raw Ali-CCP lines with the real separators, temp folders, and a
 * plain-object dump of a prepared split (so tests compare what training will see).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PreparedSplit } from './cache/prepared-format.js';

/** One raw entry: field 0x02 id 0x03 value. */
export type RawEntry = [field: string, id: string | number, value: string | number];

/** Values as the real files write them: "1.0", "0.69315". */
function formatValue(v: string | number): string {
  if (typeof v === 'string') return v;
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}

export function rawFeatureList(entries: RawEntry[]): string {
  return entries.map(([f, id, v]) => `${f}\x02${id}\x03${formatValue(v)}`).join('\x01');
}

/** `sample_id,click,conversion,common_feature_index,feature_num,feature_list` (no newline). */
export function skeletonLine(
  sampleId: number | string,
  click: number | string,
  conversion: number | string,
  commonIndex: string,
  entries: RawEntry[],
  featureNum: number = entries.length,
): string {
  return `${sampleId},${click},${conversion},${commonIndex},${featureNum},${rawFeatureList(entries)}`;
}

/** `common_feature_index,feature_num,feature_list` (no newline). */
export function commonLine(index: string, entries: RawEntry[], featureNum: number = entries.length): string {
  return `${index},${featureNum},${rawFeatureList(entries)}`;
}

/** A temp folder for one test, removed by the returned cleanup. */
export function tempDir(prefix = 'esmm-data-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes raw split files (lines joined with \n plus a final newline). */
export function writeRawSplit(dir: string, split: string, common: string[], skeleton: string[], truth?: string[]): void {
  writeFileSync(join(dir, `common_features_${split}.csv`), common.map((l) => l + '\n').join(''));
  writeFileSync(join(dir, `sample_skeleton_${split}.csv`), skeleton.map((l) => l + '\n').join(''));
  if (truth) writeFileSync(join(dir, `truth_${split}.csv`), truth.map((l) => l + '\n').join(''));
}

/** A feature entry by field name, as the tests spell them. */
export type DumpedEntry = [field: string, key: number, value: number];

export interface DumpedSample {
  id: number;
  click: number;
  conversion: number;
  own: DumpedEntry[];
  /** The joined group's entries, or null for group -1. */
  common: DumpedEntry[] | null;
  truth?: [number, number];
}

/** Every sample of a prepared split as plain objects, in order. */
export function dumpSamples(split: PreparedSplit): DumpedSample[] {
  const out: DumpedSample[] = [];
  const g = split.groups;
  const entriesOf = (rows: { offsets: Uint32Array; fields: Uint8Array; keys: Uint32Array; values: Float32Array }, r: number): DumpedEntry[] => {
    const list: DumpedEntry[] = [];
    for (let e = rows.offsets[r]!; e < rows.offsets[r + 1]!; e++) list.push([split.fieldNames[rows.fields[e]!]!, rows.keys[e]!, rows.values[e]!]);
    return list;
  };
  for (let b = 0; b < split.numBlocks; b++) {
    const block = split.readBlock(b);
    for (let i = 0; i < block.count; i++) {
      const group = block.group[i]!;
      const sample: DumpedSample = {
        id: block.sampleIds[i]!,
        click: block.click[i]!,
        conversion: block.conversion[i]!,
        own: entriesOf(block, i),
        common: group < 0 ? null : entriesOf(g, group),
      };
      if (block.truth) sample.truth = [block.truth.pClick[i]!, block.truth.pConvGivenClick[i]!];
      out.push(sample);
    }
  }
  return out;
}
