#!/usr/bin/env node
/**
 * Mutation probe: applies one deliberate bug at a time to a scratch copy of the tree (never the
 * working tree), builds the tests there, runs the test files relevant to that bug, and reports
 * whether the suite caught it (some test failed) or missed it (all passed).
 *
 *   node scripts/mutation-probe.mjs              every mutation, its relevant test files
 *   node scripts/mutation-probe.mjs --full       every mutation, the whole suite each time (slow)
 *   node scripts/mutation-probe.mjs --only a,b   the named mutations
 *   node scripts/mutation-probe.mjs --list       the mutations and the files they run
 *
 * The scratch copy is src/, the tsconfigs, package.json, fixtures/ and docs/models.md (which a test
 * holds the code against) with node_modules linked,
 * in a temporary folder removed at the end. The unmutated tests run first: a failure there stops
 * the probe (a probe over a failing suite proves nothing). An edit whose text is no longer found
 * exactly once is reported as stale: the probe is updated with the code, not silently skipped.
 * Exit status: 0 when every mutation was caught, 1 otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** file: under src/; edits: [exact text found once, replacement]; tests: files under dist-test/. */
const MUTATIONS = [
  {
    id: 'embedding-grad-zeroed',
    what: 'the gradient into the embeddings zeroed in the train step (embeddings never train)',
    file: 'train/trainer.ts',
    edits: [
      ['await thread.backwardAndStep(batch, res.gradX, sparseOpt,', 'await thread.backwardAndStep(batch, res.gradX.fill(0), sparseOpt,'],
      ['const grads = component.embeddings.backward(batch, res.gradX);', 'const grads = component.embeddings.backward(batch, res.gradX.fill(0));'],
    ],
    tests: ['train/train-step.test.js', 'cli/cli.e2e.test.js'],
  },
  {
    id: 'cvr-auc-all-impressions',
    what: 'CVR AUC over all impressions instead of the clicked ones',
    file: 'train/evaluate.ts',
    // The AUC accumulator's update, not the calibration's, which reads the same arguments.
    edits: [['        cvr.update(p.pcvr, batch.conversion, batch.click);\n        ctcvr.update', '        cvr.update(p.pcvr, batch.conversion);\n        ctcvr.update']],
    tests: ['train/evaluate-protocol.test.js'],
  },
  {
    id: 'mae-swapped',
    what: 'clicked and unclicked pCVR MAE swapped',
    file: 'train/evaluate.ts',
    edits: [['if (batch.click[i]) {', 'if (!batch.click[i]) {']],
    tests: ['train/evaluate-protocol.test.js'],
  },
  {
    id: 'truth-auc-observed',
    what: 'entire-space truth AUC against observed conversions, not truth-drawn labels',
    file: 'train/evaluate.ts',
    edits: [['truthCvr.update(p.pcvr, drawn);', 'truthCvr.update(p.pcvr, batch.conversion);']],
    tests: ['train/evaluate-protocol.test.js'],
  },
  {
    id: 'internal-error-400',
    what: 'an internal error answered 400 instead of 500',
    file: 'serve/server.ts',
    edits: [['code = this.sendError(res, 500, `internal error:', 'code = this.sendError(res, 400, `internal error:']],
    tests: ['serve/server.test.js'],
  },
  {
    id: 'healthz-200-shutdown',
    what: '/healthz answers 200 while shutting down',
    file: 'serve/server.ts',
    edits: [["? this.sendJson(res, 503, { status: 'shutting down' })", "? this.sendJson(res, 200, { status: 'shutting down' })"]],
    tests: ['serve/server.test.js'],
  },
  {
    id: 'logloss-clamp-1e-2',
    what: 'the log-loss clamp changed from 1e-7 to 1e-2',
    file: 'metrics/logloss.ts',
    edits: [['export const LOGLOSS_EPS = 1e-7;', 'export const LOGLOSS_EPS = 1e-2;']],
    tests: ['metrics/logloss.test.js', 'train/evaluate-protocol.test.js'],
  },
  {
    id: 'auc-ties',
    what: 'AUC tie handling broken (a tie counts as a loss, not half a win)',
    file: 'metrics/auc.ts',
    edits: [['wins += (j - i) * (lo + 0.5 * (hi - lo));', 'wins += (j - i) * lo;']],
    tests: ['metrics/auc.test.js', 'train/evaluate-protocol.test.js'],
  },
  {
    id: 'grad-sign-flip',
    what: "a gradient rule's sign flipped (Sub's second operand)",
    file: 'nn/grads/elementwise.ts',
    edits: [['passTo(ctx, 1, () => ctx.b.neg(ctx.dy))', 'passTo(ctx, 1, () => ctx.dy)']],
    tests: ['nn/grads/elementwise.test.js', 'nn/grads/coverage.test.js'],
  },
  {
    id: 'adam-no-bias-correction',
    what: "Adam's bias correction removed",
    file: 'optim/kernels.ts',
    edits: [['return (h.lr * Math.sqrt(1 - Math.pow(h.beta2, t))) / (1 - Math.pow(h.beta1, t));', 'return h.lr + 0 * t;']],
    tests: ['sparse/row-sparse-optimizer.test.js'],
  },
  {
    id: 'pooling-weights-ignored',
    what: 'pooling weights (feature values) ignored',
    file: 'sparse/embedding-collection.ts',
    edits: [['for (let j = 0; j < D; j++) acc[j] = acc[j]! + w * data[at + j]!;', 'for (let j = 0; j < D; j++) acc[j] = acc[j]! + data[at + j]!;']],
    tests: ['sparse/embedding-collection.test.js'],
  },
  {
    id: 'dropout-rng-not-restored',
    what: 'the dropout generator not restored on resume',
    file: 'train/checkpoint.ts',
    edits: [['c.net.setDropoutRngState(saved[ci]!.dropoutRng);', 'void saved[ci]!.dropoutRng;']],
    tests: ['train/checkpoint.test.js'],
  },
  {
    id: 'export-no-mean-scale',
    what: 'the mean-pooling scale missing from the ONNX export',
    file: 'persist/onnx-export.ts',
    edits: [["if (ff.meanScale) sums = g.one('Mul', [sums, ff.meanScale], 'double', [BATCH, dim]);", 'void ff.meanScale;']],
    tests: ['serve/export-check.test.js', 'persist/onnx-export.test.js'],
  },
  {
    id: 'serve-parse-bug-400',
    what: 'any exception while parsing a predict body answered 400 instead of 500',
    file: 'serve/server.ts',
    edits: [['if (isInputError(e)) return this.sendError(res, 400, e.message);', 'if (isInputError(e) || e instanceof Error) return this.sendError(res, 400, e.message);']],
    tests: ['serve/server-faults.test.js'],
  },
  {
    id: 'serve-instance-error-any',
    what: 'every Error taken for an InstanceError (a 400)',
    file: 'serve/server.ts',
    edits: [['return e instanceof BodyError || e instanceof InstanceError;', 'return e instanceof BodyError || e instanceof Error;']],
    tests: ['serve/server-faults.test.js'],
  },
  {
    id: 'serve-read-bug-499',
    what: 'an exception while reading the body hidden as a client disconnect (499)',
    file: 'serve/server.ts',
    edits: [['if (e instanceof ClientGoneError) {', 'if (e instanceof ClientGoneError || e instanceof Error) {']],
    tests: ['serve/server-faults.test.js'],
  },
  {
    id: 'serve-disconnect-500',
    what: 'a client leaving mid-body counted as a 500, not a 499',
    file: 'serve/request-body.ts',
    edits: [['reject(new ClientGoneError(`connection failed before the body was complete: ${e.message}`, { cause: e }));', 'reject(e);']],
    tests: ['serve/server-faults.test.js'],
  },
  {
    id: 'serve-fast-path-bug-fallback',
    what: "the fast parse path's exceptions swallowed (the general path answers instead of a 500)",
    file: 'serve/server.ts',
    edits: [['const plain = predictor.parser.parseJson(bytes);', 'let plain: InstanceRows | null; try { plain = predictor.parser.parseJson(bytes); } catch { plain = null; }']],
    tests: ['serve/server-faults.test.js'],
  },
  {
    id: 'fast-reader-swallows-bugs',
    what: 'the fast JSON reader takes its own exceptions for a body it gives up on',
    file: 'serve/instances-json.ts',
    edits: [['if (e === GIVE_UP) return false;', 'if (e === GIVE_UP || e instanceof Error) return false;']],
    tests: ['serve/instances-json.test.js'],
  },
  {
    id: 'escm2-propensity-not-stopped',
    what: "ESCM²'s propensity without its stop-gradient (the counterfactual term trains the CTR tower)",
    file: 'models/multitask/objectives.ts',
    edits: [['g.max(g.stopGradient(v.pctr!), g.scalar(1 / ipsClip))', 'g.max(v.pctr!, g.scalar(1 / ipsClip))']],
    tests: ['models/multitask/gradient-reach.test.js'],
  },
  {
    id: 'escm2-dr-error-not-fixed',
    what: "ESCM²-DR's imputation term with the prediction error un-stopped (PaddleRec's form: it trains the CVR tower)",
    file: 'models/multitask/objectives.ts',
    edits: [['const err = g.sub(g.stopGradient(e), v._imp!);', 'const err = g.sub(e, v._imp!);']],
    tests: ['models/multitask/gradient-reach.test.js'],
  },
  {
    id: 'escm2-dr-imputation-not-fixed',
    what: "ESCM²-DR's DR term with the imputation un-stopped (it trains the imputation tower)",
    file: 'models/multitask/objectives.ts',
    edits: [['const fixedImputation = g.stopGradient(v._imp!);', 'const fixedImputation = v._imp!;']],
    tests: ['models/multitask/gradient-reach.test.js'],
  },
  {
    id: 'dcmt-propensity-not-stopped',
    what: "DCMT's propensity without its stop-gradient",
    file: 'models/multitask/objectives.ts',
    edits: [['g.clip(g.stopGradient(v.pctr!), o.propensityClip, 1 - o.propensityClip)', 'g.clip(v.pctr!, o.propensityClip, 1 - o.propensityClip)']],
    tests: ['models/multitask/gradient-reach.test.js'],
  },
  {
    id: 'escm2-weights-swapped',
    what: "ESCM²'s two loss weights swapped (--cvr-weight sets λg)",
    file: 'models/multitask/objectives.ts',
    edits: [[
      'g.add(ctr, g.mul(g.scalar(o.cvrWeight), counterfactual)), g.mul(g.scalar(o.ctcvrWeight), ctcvr)',
      'g.add(ctr, g.mul(g.scalar(o.ctcvrWeight), counterfactual)), g.mul(g.scalar(o.cvrWeight), ctcvr)',
    ]],
    tests: ['models/multitask/multitask.test.js'],
  },
  {
    id: 'dcmt-upper-clip-dropped',
    what: "DCMT's propensity without its upper clip 1 − c",
    file: 'models/multitask/objectives.ts',
    edits: [['g.clip(g.stopGradient(v.pctr!), o.propensityClip, 1 - o.propensityClip)', 'g.max(g.stopGradient(v.pctr!), g.scalar(o.propensityClip))']],
    tests: ['models/multitask/multitask.test.js'],
  },
  {
    id: 'escm2-ips-clip-dropped',
    what: "ESCM²'s inverse propensity unclipped",
    file: 'models/multitask/objectives.ts',
    edits: [['g.max(g.stopGradient(v.pctr!), g.scalar(1 / ipsClip))', 'g.max(g.stopGradient(v.pctr!), g.scalar(0 * ipsClip))']],
    tests: ['models/multitask/multitask.test.js'],
  },
  {
    id: 'aitm-alpha-ignored',
    what: "AITM's calibrator weight fixed at 0.6 whatever --alpha says",
    file: 'models/multitask/objectives.ts',
    edits: [['g.mul(g.scalar(o.alpha), calibrator)', 'g.mul(g.scalar(0.6 + 0 * o.alpha), calibrator)']],
    tests: ['models/multitask/multitask.test.js'],
  },
  {
    id: 'dcmt-default-changed',
    what: "a preset's documented default changed (DCMT's CTCVR weight 1 → 0.5)",
    file: 'models/kinds/dcmt.ts',
    edits: [['cvrWeight: 1, ctcvrWeight: 1 }', 'cvrWeight: 1, ctcvrWeight: 0.5 }']],
    tests: ['models/documented-defaults.test.js'],
  },
  {
    id: 'max-tie-strict',
    what: 'Max gives a tie to the second operand (>= became >)',
    file: 'nn/grads/elementwise.ts',
    edits: [['ctx.b.greaterOrEqual(a, b)', 'ctx.b.greater(a, b)']],
    tests: ['nn/grads/edges.test.js'],
  },
  {
    id: 'min-tie-strict',
    what: 'Min gives a tie to the second operand (<= became <)',
    file: 'nn/grads/elementwise.ts',
    edits: [['ctx.b.lessOrEqual(a, b)', 'ctx.b.less(a, b)']],
    tests: ['nn/grads/edges.test.js'],
  },
  {
    id: 'clip-min-exclusive',
    what: "Clip's lower bound exclusive in the gradient",
    file: 'nn/grads/activations.ts',
    edits: [['conds.push(b.greaterOrEqual(x, min))', 'conds.push(b.greater(x, min))']],
    tests: ['nn/grads/edges.test.js'],
  },
  {
    id: 'clip-max-exclusive',
    what: "Clip's upper bound exclusive in the gradient",
    file: 'nn/grads/activations.ts',
    edits: [['conds.push(b.lessOrEqual(x, max))', 'conds.push(b.less(x, max))']],
    tests: ['nn/grads/edges.test.js'],
  },
  {
    id: 'relu-zero-on',
    what: 'Relu passes dY at x = 0 (> became >= on the input)',
    file: 'nn/grads/activations.ts',
    edits: [['b.greater(output(ctx), b.scalar(0))', 'b.greaterOrEqual(input(ctx, 0), b.scalar(0))']],
    tests: ['nn/grads/edges.test.js'],
  },
  {
    id: 'abs-sign-zero-one',
    what: 'Abs passes dY at x = 0 (sign(0) taken as 1)',
    file: 'nn/grads/activations.ts',
    edits: [['ctx.b.mul(ctx.dy, ctx.b.sign(input(ctx, 0)))', 'ctx.b.where(ctx.b.greaterOrEqual(input(ctx, 0), ctx.b.scalar(0)), ctx.dy, ctx.b.neg(ctx.dy))']],
    tests: ['nn/grads/edges.test.js'],
  },
  {
    id: 'pow-zero-exponent-nan',
    what: 'Pow with exponent 0 back to 0 · 0^-1 = NaN at x = 0',
    file: 'nn/grads/elementwise.ts',
    edits: [['    if (p === 0) return [undefined, undefined];\n', '']],
    tests: ['nn/grads/edges.test.js'],
  },
];

function parseArgs(argv) {
  const opts = { full: false, only: null, list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--full') opts.full = true;
    else if (a === '--list') opts.list = true;
    else if (a === '--only') opts.only = new Set((argv[++i] ?? '').split(',').filter(Boolean));
    else throw new Error(`unknown option ${a}; use --full, --only ID[,ID], --list`);
  }
  return opts;
}

/** The scratch copy: src, configs, fixtures, the docs that tests hold the code against; node_modules linked. */
function scratchCopy() {
  const dir = mkdtempSync(join(tmpdir(), 'esmm-mutation-probe-'));
  for (const f of ['src', 'fixtures', 'docs/models.md', 'package.json', 'tsconfig.json', 'tsconfig.test.json']) {
    if (existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(dir, f), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

/** Builds the tests (dist-test/, what they run from, the CLI included) incrementally. */
function build(dir) {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.test.json', '--incremental', '--tsBuildInfoFile', '.probe.tsbuildinfo'], { cwd: dir, encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

function allTestFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.test.js')) out.push(relative(join(dir, 'dist-test'), join(d, e.name)));
    }
  };
  walk(join(dir, 'dist-test'));
  return out.sort();
}

const FILE_TIMEOUT_MS = 300_000;

/** Runs each test file in its own `node --test`, two at a time; returns the files that failed. */
async function runTests(dir, files) {
  const failed = [];
  const queue = [...files];
  const worker = async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
      const code = await new Promise((resolve) => {
        const child = spawn(process.execPath, ['--test', join('dist-test', f)], { cwd: dir, stdio: 'ignore', detached: true });
        // A mutant that hangs a test is caught too (CI would time out), but not waited for forever.
        const timer = setTimeout(() => process.kill(-child.pid, 'SIGKILL'), FILE_TIMEOUT_MS);
        child.on('exit', (c, signal) => {
          clearTimeout(timer);
          resolve(signal ? `killed after ${FILE_TIMEOUT_MS / 1000} s` : c);
        });
      });
      if (code !== 0) failed.push(typeof code === 'string' ? `${f} (${code})` : f);
    }
  };
  await Promise.all([worker(), worker()]);
  return failed.sort();
}

function apply(dir, m) {
  const path = join(dir, 'src', m.file);
  let text = readFileSync(path, 'utf8');
  for (const [find, replace] of m.edits) {
    const n = text.split(find).length - 1;
    if (n !== 1) return `stale: found ${n} times in src/${m.file}: ${find}`;
    text = text.replace(find, replace);
  }
  writeFileSync(path, text);
  return null;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const chosen = MUTATIONS.filter((m) => !opts.only || opts.only.has(m.id));
  if (opts.only) for (const id of opts.only) if (!MUTATIONS.some((m) => m.id === id)) throw new Error(`no mutation '${id}'`);
  if (opts.list) {
    for (const m of chosen) console.log(`${m.id}\t${m.file}\t${m.what}\t${m.tests.join(' ')}`);
    return 0;
  }
  const t0 = Date.now();
  const dir = scratchCopy();
  const log = (s) => process.stderr.write(`${s}\n`);
  try {
    log(`scratch copy: ${dir}`);
    const base = build(dir);
    if (!base.ok) throw new Error(`the unmutated tree does not build:\n${base.output}`);
    const everything = allTestFiles(dir);
    const filesOf = (m) => (opts.full ? everything : m.tests);
    const baselineFiles = [...new Set(chosen.flatMap(filesOf))].sort();
    for (const f of baselineFiles) if (!everything.includes(f)) throw new Error(`no test file dist-test/${f}`);
    log(`baseline: ${baselineFiles.length} test files, unmutated`);
    const baseFailed = await runTests(dir, baselineFiles);
    if (baseFailed.length > 0) throw new Error(`the unmutated tests fail (${baseFailed.join(', ')}): fix them before probing`);
    const rows = [];
    for (const m of chosen) {
      const t = Date.now();
      const original = readFileSync(join(dir, 'src', m.file), 'utf8');
      let result;
      let caughtBy = [];
      const stale = apply(dir, m);
      if (stale) result = stale;
      else {
        const b = build(dir);
        if (!b.ok) {
          result = 'stale: the mutant does not compile';
          log(b.output);
        } else {
          caughtBy = await runTests(dir, filesOf(m));
          result = caughtBy.length > 0 ? 'caught' : 'MISSED';
        }
      }
      writeFileSync(join(dir, 'src', m.file), original);
      const seconds = Math.round((Date.now() - t) / 1000);
      rows.push({ m, result, caughtBy, seconds });
      log(`${m.id}: ${result}${caughtBy.length ? ` by ${caughtBy.join(', ')}` : ''} (${seconds}s)`);
    }
    const caught = rows.filter((r) => r.result === 'caught').length;
    console.log(`| mutation | where | tests run | result | failing test files |`);
    console.log(`|---|---|---|---|---|`);
    for (const { m, result, caughtBy, seconds } of rows) {
      const run = opts.full ? 'whole suite' : m.tests.join(', ');
      console.log(`| ${m.what} | src/${m.file} | ${run} | ${result} (${seconds} s) | ${caughtBy.join(', ')} |`);
    }
    console.log(`\n${caught} of ${rows.length} mutations caught; ${opts.full ? 'the whole suite per mutation' : 'the relevant test files per mutation'}; ${Math.round((Date.now() - t0) / 1000)} s in all.`);
    return caught === rows.length ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`mutation probe: ${e.message}\n`);
    process.exit(2);
  },
);
