import { basename } from 'node:path';
import { MODELS, modelDef, type ModelKind } from '../../models/registry.js';
import { OPTIMIZER_KINDS } from '../../optim/kernels.js';
import { displayName } from '../../experiment/paper.js';
import { resolveOptions } from '../../models/definition.js';
import { flagName } from '../../models/hyper.js';
import { describeSplitFiles, missingSplitMessage } from '../../data/formats/split-files.js';
import { KNOB_GRIDS, LR_GRID, SELECTION_METRIC } from '../../experiment/grids.js';
import { buildResults, fieldMetricsTable, formatValue, markdownTable, protocolMarkdown, tableNotes, textTableMarkdown } from '../../experiment/results.js';
import { estimatedWorkPerRun, planOf, runExperiment, trainingsPerRun, type ExperimentConfig, type RunRecord } from '../../experiment/runner.js';
import { chooseChromium, writeReport } from '../../experiment/write-report.js';
import { Progress } from '../../util/progress.js';
import { UsageError, choiceOpt, numberOpt, optString, parseCommand, requireString, type Options } from '../args.js';
import { DATA_OPTIONS, FORMATS, chooseSpec, loadSplit } from '../data-options.js';
import { MODEL_OPTIONS, modelOptionsHelp, parseModelHyper } from '../model-options.js';
import { EARLY_STOPPING_OPTIONS, SLICE_BATCH_OPTIONS, earlyStoppingOptions, epochsOpt, sliceBatchOpt, validationOptions } from '../training-options.js';

/** The paper's Table 2 order: its baselines first, ESMM last. */
const PAPER_ORDER: readonly ModelKind[] = ['base', 'aman', 'oversampling', 'unbias', 'division', 'esmm-ns', 'esmm'];
const MODEL_KINDS = MODELS.map((m) => m.kind);
/** Words of `text` in lines of at most `width` columns, each after `indent`. */
function wrap(text: string, indent: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines.join('\n');
}

/** The knobs of --tune by their flags, in the order a model picks one. */
const KNOB_FLAGS = KNOB_GRIDS.map((g) => {
  const owner = MODELS.find((m) => g.param in m.hyper);
  return owner ? `--${flagName(g.param, owner.hyper[g.param]!)}` : g.param;
});

export const EXPERIMENT_HELP = `esmm experiment --data DIR --out REPORT_DIR [options]

The paper's Table 2: trains each model --runs times (seeds S, S+1, ...) on the train split and
evaluates it on the test split; prints the mean ± std table next to the paper's, and writes
REPORT_DIR/results.json, REPORT_DIR/report.html (self-contained: ROC curves, calibration, loss
curves and, on simulated data, the entire-space CVR quality against the truth) and, when a
Chromium is installed, REPORT_DIR/png/*.png after checking the page in it.

  --models LIST            comma-separated, from ${MODEL_KINDS.join(', ')}
                           (default: all seven, ${PAPER_ORDER.join(',')})
  --runs N                 runs per model (default 10)
  --seed S                 seed of the first run (default 1)
  --epochs E|auto          passes over the data (default 1); auto: every component, the shared
                           CTR net included, trains until its validation loss stops improving
  --batch-size B           samples per step (default 1024)
  --slice-batch scaled|full  a CVR net on clicked impressions: a batch scaled by their share
                           (default) or --batch-size (docs/models.md)
  --lr X                   learning rate (default 0.001; with --tune it is searched)
  --optimizer adam|adagrad (default adam)
  --spec FILE              feature spec JSON (default: the 23 Ali-CCP fields, dim 18)
  --train-split NAME       (default train)
  --test-split NAME        (default test)
  --threads T              onnxruntime threads (default 2); with 2 or more, the embedding side
                           also runs on 2 threads
  --browser auto|off|PATH  Chromium for the PNGs and the page check (default auto: if installed)
  --cache-dir DIR          where prepared caches go (default DIR/.esmm-cache)
  --format auto|aliccp|paddlerec|csv
  --strict                 stop at the first bad input line instead of counting it
  -q, --quiet              no progress output

The fair protocol (docs/experiments.md): --epochs auto --tune.
  --tune                   per model and run, train every point of its grid on train minus
                           validation, and report the test metrics of the point with the best
                           validation ${SELECTION_METRIC} (pCVR on clicked impressions): the learning
                           rates ${LR_GRID.join(', ')}, then its knob's values at the best one, the
                           first it has of (src/experiment/grids.ts):
${wrap(KNOB_FLAGS.join(', '), ' '.repeat(27), 100)}
  --tune-runs K            with --tune: search the grids in the first K runs only (default: every
                           run); each later run trains every model once at the point the K-th
                           run chose, validated on its own carve
  --validation-fraction F  with --epochs auto or --tune: share of the train split's sessions held
                           out to validate on, carved once per run by its seed (default 0.1)
  --validation-split NAME  validate on this split instead (then all of train trains); not the
                           test split
  --patience P             --epochs auto: evaluations without improvement before a component
                           stops (default 2)
  --eval-every STEPS       --epochs auto: a component's steps between evaluations (default: about
                           4 per epoch of its own data, 1 on a validation slice under 10,000,
                           at least 25); also every epoch's end
  --max-epochs M           --epochs auto: most epochs per component (default 50)
  --min-epochs M           --epochs auto: whole epochs before a component may stop (default 1)

A model option applies to every listed model that declares it.
${modelOptionsHelp()}
`;

export const EXPERIMENT_OPTIONS: Options = {
  ...DATA_OPTIONS,
  out: { type: 'string', short: 'o' },
  models: { type: 'string' },
  runs: { type: 'string' },
  seed: { type: 'string' },
  epochs: { type: 'string' },
  ...EARLY_STOPPING_OPTIONS,
  tune: { type: 'boolean' },
  'tune-runs': { type: 'string' },
  'batch-size': { type: 'string' },
  ...SLICE_BATCH_OPTIONS,
  lr: { type: 'string' },
  optimizer: { type: 'string' },
  ...MODEL_OPTIONS,
  spec: { type: 'string' },
  'train-split': { type: 'string' },
  'test-split': { type: 'string' },
  threads: { type: 'string' },
  browser: { type: 'string' },
};

/** Options whose values are paths on the machine that ran the experiment. */
const PATH_OPTIONS: ReadonlySet<string> = new Set(['data', 'out', 'cache-dir', 'spec', 'browser']);

/**
 * The command line as the report shows it: the values of path options by their last part
 * ("--data data", not "--data /tmp/exp3/data"), so a report names no folder of the machine it
 * was made on; anything else as given, quoted where a shell would need it.
 */
export function reportedCommand(cmd: string, argv: readonly string[]): string {
  const shown = argv.map((arg, i) => {
    const inline = /^--([\w-]+)=(.*)$/.exec(arg);
    if (inline && PATH_OPTIONS.has(inline[1]!)) return `--${inline[1]}=${basename(inline[2]!)}`;
    const previous = argv[i - 1];
    const option = previous === '-o' ? 'out' : previous?.startsWith('--') ? previous.slice(2) : undefined;
    return option !== undefined && PATH_OPTIONS.has(option) && !arg.startsWith('-') ? basename(arg) : arg;
  });
  return ['esmm', cmd, ...shown].map((a) => (/^[\w./:=,-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

/** "base,ESMM" → kinds and the names as given; unknown or repeated names are usage errors. */
export function parseModelList(s: string | undefined, command: string): { kinds: ModelKind[]; names: string[] } {
  if (s === undefined) return { kinds: [...PAPER_ORDER], names: [...PAPER_ORDER] };
  const names = s.split(',').map((n) => n.trim()).filter((n) => n !== '');
  if (names.length === 0) throw new UsageError(`--models needs at least one of ${MODEL_KINDS.join(', ')}`, command);
  const kinds = names.map((n) => {
    try {
      return modelDef(n).kind;
    } catch (e) {
      throw new UsageError(`--models: ${(e as Error).message}`, command);
    }
  });
  const dup = kinds.find((k, i) => kinds.indexOf(k) !== i);
  if (dup) throw new UsageError(`--models lists ${dup} twice`, command);
  return { kinds, names };
}

export async function experimentCommand(argv: string[]): Promise<void> {
  const cmd = 'experiment';
  const v = parseCommand(cmd, argv, EXPERIMENT_OPTIONS);
  if (v.help) return void process.stdout.write(EXPERIMENT_HELP);
  const dataDir = requireString(v, 'data', cmd);
  const out = requireString(v, 'out', cmd);
  const { kinds, names } = parseModelList(optString(v, 'models'), cmd);
  const runs = numberOpt(v, 'runs', 10, cmd, { min: 1, max: 1000, integer: true });
  const seed = numberOpt(v, 'seed', 1, cmd, { min: 0, max: 2 ** 32 - 1 - runs, integer: true });
  const hyper = parseModelHyper(v, kinds, cmd);
  const tune = v.tune === true;
  if (tune && v.lr !== undefined) throw new UsageError(`--tune searches the learning rate over ${LR_GRID.join(', ')}: drop --lr`, cmd);
  if (!tune && v['tune-runs'] !== undefined) throw new UsageError('--tune-runs says in how many runs --tune searches: add --tune, or drop --tune-runs', cmd);
  const tuneRuns = v['tune-runs'] !== undefined ? numberOpt(v, 'tune-runs', runs, cmd, { min: 1, max: runs, integer: true }) : undefined;
  const epochs = epochsOpt(v, cmd);
  const training = {
    epochs,
    batchSize: numberOpt(v, 'batch-size', 1024, cmd, { min: 1, max: 1 << 20, integer: true }),
    lr: numberOpt(v, 'lr', 0.001, cmd, { min: 1e-12, max: 100 }),
    optimizer: choiceOpt(v, 'optimizer', OPTIMIZER_KINDS, 'adam', cmd),
    sliceBatch: sliceBatchOpt(v, cmd),
  };
  const trainSplit = optString(v, 'train-split') ?? 'train';
  const testSplit = optString(v, 'test-split') ?? 'test';
  if (!tune && epochs !== 'auto')
    for (const f of ['validation-fraction', 'validation-split'])
      if (v[f] !== undefined) throw new UsageError(`--${f} chooses the validation data of --epochs auto and --tune: add one of them, or drop --${f}`, cmd);
  const stopping = earlyStoppingOptions(v, epochs, trainSplit, testSplit, cmd, tune ? { needsValidation: '--tune' } : {});
  const validation = stopping ?? (tune ? validationOptions(v, trainSplit, testSplit, cmd) : null);
  if (validation?.validationSplit !== undefined) {
    // Found out now rather than after hours of training.
    const found = describeSplitFiles(dataDir, validation.validationSplit, choiceOpt(v, 'format', FORMATS, 'auto', cmd));
    if (found.kind === 'missing') throw new UsageError(`--validation-split ${validation.validationSplit}: ${missingSplitMessage(found)}`, cmd);
  }
  const threads = numberOpt(v, 'threads', 2, cmd, { min: 1, max: 256, integer: true });
  const chromium = chooseChromium(optString(v, 'browser') ?? 'auto');
  const quiet = v.quiet === true;
  const log = (line: string) => {
    if (!quiet) process.stderr.write((process.stderr.isTTY ? '\r\x1b[K' : '') + line + '\n');
  };

  const t0 = Date.now();
  const config: ExperimentConfig = {
    models: kinds,
    runs,
    seed,
    hyper: Object.fromEntries(kinds.map((k) => [k, resolveOptions(modelDef(k), hyper[k] ?? {}, `--model ${k}`).record])),
    training,
    ...(stopping
      ? {
          earlyStopping: {
            ...(stopping.patience !== undefined ? { patience: stopping.patience } : {}),
            ...(stopping.evalEvery !== undefined ? { evalEvery: stopping.evalEvery } : {}),
            ...(stopping.maxEpochs !== undefined ? { maxEpochs: stopping.maxEpochs } : {}),
          },
        }
      : {}),
    ...(validation
      ? { validation: validation.validationSplit !== undefined ? { split: validation.validationSplit } : { fraction: validation.validationFraction } }
      : {}),
    ...(tune ? { tune } : {}),
    ...(tuneRuns !== undefined ? { tuneRuns } : {}),
    threads,
  };
  if (tune)
    for (const k of kinds)
      try {
        planOf(k, config);
      } catch (e) {
        throw new UsageError((e as Error).message, cmd);
      }

  const train = await loadSplit(v, dataDir, trainSplit, cmd);
  const test = await loadSplit(v, dataDir, testSplit, cmd);
  const validationSplit = validation?.validationSplit !== undefined ? await loadSplit(v, dataDir, validation.validationSplit, cmd) : null;
  const spec = chooseSpec(v, train);
  if (tune) {
    const t = trainingsPerRun(config, spec);
    const total = Object.values(t.models).reduce((a, n) => a + n, 0);
    log(
      `--tune: ${total} trainings per run (${kinds.map((k, i) => `${names[i]} ${t.models[k]}`).join(', ')})` +
        `${t.shared ? ' plus the shared CTR net' : ''}, each model chosen by validation ${SELECTION_METRIC}` +
        (tuneRuns !== undefined && tuneRuns < runs ? `; in runs ${tuneRuns + 1}-${runs} one training per model at the chosen point (--tune-runs ${tuneRuns})` : ''),
    );
  }
  // Work = training and evaluation samples (the bar's rate and ETA are in those).
  const total = estimatedWorkPerRun(train, test, spec, config) * runs;
  const progress = new Progress({ label: 'experiment', total, unit: 'samples', quiet, logEvery: 30 });
  const resultsOf = (records: RunRecord[]) =>
    buildResults({
      config,
      names,
      dataDir,
      train: { impressions: train.numSamples, clicks: train.clicks, conversions: train.conversions },
      test: { impressions: test.numSamples, clicks: test.clicks, conversions: test.conversions },
      records,
      seconds: (Date.now() - t0) / 1000,
    });
  const finished: RunRecord[] = [];
  const records = await runExperiment(
    train,
    test,
    spec,
    config,
    {
      onProgress: (done, _total, what) => progress.update(done, what),
      onRun: (r) => {
        log(runLine(r, runs, kinds, names));
        finished.push(r);
        // The runs so far, written after each one (results.json and report.html, no browser), so
        // that an experiment stopped in its 7th hour keeps what it finished.
        if (finished.length < runs) writeReport(out, resultsOf(finished), { command: reportedCommand(cmd, argv), chromium: null }).catch((e: Error) => log(`could not write the runs so far to ${out}: ${e.message}`));
      },
    },
    validationSplit ? { validation: validationSplit } : {},
  );
  progress.finish('done');

  const results = resultsOf(records);
  const written = await writeReport(out, results, { command: reportedCommand(cmd, argv), chromium });
  process.stdout.write('\n' + markdownTable(results) + '\n' + tableNotes(results) + textTableMarkdown(fieldMetricsTable(results)) + protocolMarkdown(results));
  process.stdout.write(`\nwrote ${written.files.length} files to ${out}: results.json, report.html${written.check ? `, ${written.check.screenshots.size} PNGs` : ''}\n`);
  if (written.check)
    process.stdout.write(`report.html checked in Chromium: ${written.check.plots.length} plots, every line, bar and dot drawn, no console errors\n`);
  else log(`no Chromium${chromium === null && optString(v, 'browser') !== 'off' ? ' found' : ''}: report.html was not checked in a browser and no PNGs were written`);
}

/** One line per finished run: its seed, time, and every model's CVR / CTCVR AUC in %. */
function runLine(r: RunRecord, runs: number, kinds: ModelKind[], names: string[]): string {
  const parts = kinds.map((k, i) => {
    const m = r.models[k];
    const name = names[i]!.toLowerCase() === k ? displayName(k) : names[i]!;
    const pct = (v: number) => (Number.isFinite(v) ? (100 * v).toFixed(2) : 'n/a');
    const t = m?.tuning;
    const p = t ? t.points[t.chosen] : undefined;
    const chosen = p ? ` [lr ${formatValue(p.lr)}${p.knob !== null ? ` ${formatValue(p.knob)}` : ''}]` : '';
    return m ? `${name} ${pct(m.metrics.cvr_auc)}/${pct(m.metrics.ctcvr_auc)}${chosen}` : `${name} -`;
  });
  return `run ${r.run + 1}/${runs} (seed ${r.seed}, ${r.seconds.toFixed(0)} s) CVR/CTCVR AUC %: ${parts.join('  ')}`;
}
