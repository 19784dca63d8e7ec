import { parseCommand, requireString, optString, type Options } from '../args.js';
import { DATA_OPTIONS, loadSplit } from '../data-options.js';

export const PREPARE_HELP = `esmm prepare --data DIR [--split train|test|all] [--force]

Converts raw splits into the compact binary cache that training reads every epoch (train,
evaluate and predict do this on first use and reuse the cache while the raw files are unchanged).
Bad lines are counted by kind and reported with their first line numbers; --strict stops at the
first one.

  --split NAME       train, test, or all (default all)
  --force            rebuild the cache even when the raw files are unchanged
  --cache-dir DIR    where caches go (default DIR/.esmm-cache)
  --format auto|aliccp|paddlerec|csv
  --strict, -q as for train
`;

export const PREPARE_OPTIONS: Options = { ...DATA_OPTIONS, split: { type: 'string' }, force: { type: 'boolean' } };

export async function prepareCommand(argv: string[]): Promise<void> {
  const cmd = 'prepare';
  const v = parseCommand(cmd, argv, PREPARE_OPTIONS);
  if (v.help) return void process.stdout.write(PREPARE_HELP);
  const dataDir = requireString(v, 'data', cmd);
  const which = optString(v, 'split') ?? 'all';
  const splits = which === 'all' ? ['train', 'test'] : [which];
  for (const s of splits) {
    const p = await loadSplit({ ...v, quiet: false }, dataDir, s, cmd);
    process.stdout.write(`${s}: ${p.numSamples} impressions in ${p.numBlocks} blocks at ${p.dir}\n`);
  }
}
