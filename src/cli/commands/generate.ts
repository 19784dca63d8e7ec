import { generateDataset, type GenerateOptions } from '../../simulate/generate.js';
import { Progress } from '../../util/progress.js';
import { numberOpt, parseCommand, requireString, type Options } from '../args.js';

export const GENERATE_HELP = `esmm generate --out DIR [--train N] [--test N] [--seed S] [--ctr X] [--cvr X] [--shared-entity-ids]

Writes a simulated dataset in the raw Ali-CCP layout (sample_skeleton_{train,test}.csv,
common_features_{train,test}.csv) plus truth_{train,test}.csv with the true p(click) and
p(conversion | click) of every impression.

  --train N     train impressions (default 200000)
  --test N      test impressions (default 100000)
  --seed S      seed (default 1): the same seed writes the same bytes
  --ctr X       target click-through rate (default 0.04)
  --cvr X       target conversion rate among clicks (default: the simulator's)
  --shared-entity-ids
                the user-history fields (109_14, 110_14, 127_14, 150_14) reuse the item fields'
                ids (206, 207, 216, 210): category c is the same id in 206 and 109_14, which is
                what a spec sharing a table between them expects (default: every field has its
                own ids, as in the real logs)
  -q, --quiet   no progress output
`;

export const GENERATE_OPTIONS: Options = {
  out: { type: 'string', short: 'o' },
  train: { type: 'string' },
  test: { type: 'string' },
  seed: { type: 'string' },
  ctr: { type: 'string' },
  cvr: { type: 'string' },
  'shared-entity-ids': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
};

export async function generateCommand(argv: string[]): Promise<void> {
  const cmd = 'generate';
  const v = parseCommand(cmd, argv, GENERATE_OPTIONS);
  if (v.help) return void process.stdout.write(GENERATE_HELP);
  const outDir = requireString(v, 'out', cmd);
  const train = numberOpt(v, 'train', 200_000, cmd, { min: 0, max: 2e9, integer: true });
  const test = numberOpt(v, 'test', 100_000, cmd, { min: 0, max: 2e9, integer: true });
  const summary = await generate({
    outDir,
    train,
    test,
    seed: numberOpt(v, 'seed', 1, cmd, { min: 0, max: 2 ** 32 - 1, integer: true }),
    ...(v.ctr !== undefined ? { ctr: numberOpt(v, 'ctr', 0.04, cmd, { min: 1e-4, max: 0.9 }) } : {}),
    ...(v.cvr !== undefined ? { cvr: numberOpt(v, 'cvr', 0.05, cmd, { min: 1e-4, max: 0.9 }) } : {}),
    sharedEntityIds: v['shared-entity-ids'] === true,
    quiet: v.quiet === true,
  });
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
}

/** generateDataset with a progress bar per split. */
export async function generate(
  opts: Omit<GenerateOptions, 'onProgress'> & { quiet?: boolean },
): ReturnType<typeof generateDataset> {
  const bars = new Map<string, Progress>();
  const { quiet, ...rest } = opts;
  const summary = await generateDataset({
    ...rest,
    onProgress: (p) => {
      if (quiet) return;
      let bar = bars.get(p.split);
      if (!bar) {
        for (const b of bars.values()) b.finish();
        bar = new Progress({ label: `generate ${p.split}`, total: p.total, unit: 'impressions' });
        bars.set(p.split, bar);
      }
      bar.update(p.written);
    },
  });
  if (!quiet) [...bars.values()].at(-1)?.finish();
  return summary;
}
