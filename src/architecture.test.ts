/**
 * The import structure of src/, checked from the sources: imports run one way, down the layers
 * below, and no two library files import each other, directly or through others.
 *
 * A module is a folder directly under src/ (`train`, `serve`, ...); data/ is split further, its
 * sub-folders being modules of their own above the seam types in data/*.ts. A library file may
 * import files of its own module and of modules in lower layers, never of its own layer's other
 * modules or of higher layers:
 *
 *   util                      paths, RNG, hashing of bytes, durable writes, progress bars
 *   features                  feature specs and hashing of ids to rows
 *   data                      the seam types (types, problems, sample-source)
 *   data/text                 bytes and lines: line reader, number parsing, feature keys
 *   data/formats              the input layouts' readers and what they fill (rows, groups, blocks)
 *   data/cache  data/batch    the prepared cache (prepare, its on-disk format); training batches
 *   simulate  optim           the data generator; optimizer kinds, kernels and the dense optimizer
 *   sparse  nn                embedding tables, pooling, row-sparse optimizer; graphs, autodiff, ORT
 *   models                    CvrModel and its components
 *   metrics                   AUC, log loss
 *   persist                   model folders, tensor files, ONNX export
 *   train                     trainer, checkpoints, evaluation
 *   serve                     predictor, HTTP server, the export's check against the predictor
 *   experiment                the paper's table: runs, statistics, report
 *   cli                       the `esmm` command
 *   index                     src/index.ts, the public API
 *
 * Tests (*.test.ts) and the test helpers in TEST_HELPERS are outside the layers: a test may use
 * any part to build what it checks (a persist test trains a model first). Library code must not
 * import them, and tsconfig.json (the published build) leaves them out; tsconfig.test.json builds
 * everything into dist-test/, where `npm test` runs the tests.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from './util/paths.js';

const LAYERS: readonly (readonly string[])[] = [
  ['util'],
  ['features'],
  ['data'],
  ['data/text'],
  ['data/formats'],
  ['data/cache', 'data/batch'],
  ['simulate', 'optim'],
  ['sparse', 'nn'],
  ['models'],
  ['metrics'],
  ['persist'],
  ['train'],
  ['serve'],
  ['experiment'],
  ['cli'],
  ['index'],
];

/** Modules used only by tests (and benchmarks, which compile from src/ themselves). */
const TEST_HELPERS: readonly string[] = [
  'data/testing.ts',
  'nn/gradient-check.ts',
  'serve/test-model.ts',
  'serve/testing.ts',
  'sparse/testing.ts',
  'test-support/cli.ts',
  'test-support/dense-feeds.ts',
  'test-support/hyper.ts',
  'test-support/seed.ts',
  'test-support/weights.ts',
];

/**
 * Imports allowed against the rules above, as [importer, imported, why]. Empty: every exception
 * must be listed here with its reason.
 */
const EXCEPTIONS: readonly (readonly [from: string, to: string, why: string])[] = [];

const SRC = join(packageRoot(), 'src');

/** Every .ts file under src/, as a path relative to src/ with forward slashes. */
function sourceFiles(dir = SRC): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(relative(SRC, path).split(sep).join('/'));
  }
  return out.sort();
}

const IMPORT_PATTERNS = [
  /(?:^|\n)\s*(?:import|export)\s[^;'"]*?\sfrom\s*['"]([^'"]+)['"]/g, // import/export ... from '...'
  /(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g, // import '...' (side effects)
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g, // import('...')
  /\bnew URL\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g, // a worker's module
];

/** The src files that `file` imports (relative specifiers only; packages are not modules here). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  const out = new Set<string>();
  for (const pattern of IMPORT_PATTERNS) {
    for (const m of text.matchAll(pattern)) {
      const spec = m[1];
      if (spec === undefined || !/^\.\.?\//.test(spec)) continue;
      out.add(posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.js$/, '.ts'));
    }
  }
  return [...out];
}

function isTest(file: string): boolean {
  return file.endsWith('.test.ts');
}

function isLibrary(file: string): boolean {
  return !isTest(file) && !TEST_HELPERS.includes(file);
}

/** The module of a library file: its top folder, or data's sub-folder; src/index.ts is `index`. */
function moduleOf(file: string): string {
  const parts = file.split('/');
  if (parts.length === 1) return parts[0] === 'index.ts' ? 'index' : `(file ${file})`;
  if (parts[0] === 'data' && parts.length > 2) return `data/${parts[1]}`;
  return parts[0]!;
}

function layerOf(module: string): number {
  return LAYERS.findIndex((layer) => layer.includes(module));
}

const files = sourceFiles();
const graph = new Map(files.map((f) => [f, importsOf(f)]));

function excepted(from: string, to: string): boolean {
  return EXCEPTIONS.some(([a, b]) => a === from && b === to);
}

test('every import names a source file that exists', () => {
  const missing = [...graph].flatMap(([from, tos]) => tos.filter((to) => !graph.has(to)).map((to) => `${from} -> ${to}`));
  assert.deepEqual(missing, []);
});

test('every library module has a layer', () => {
  const unplaced = [...new Set(files.filter(isLibrary).map(moduleOf))].filter((m) => layerOf(m) < 0);
  assert.deepEqual(unplaced, [], 'add these modules to LAYERS in architecture.test.ts');
});

test('library imports run down the layers: no import of a higher layer or of a sibling module', () => {
  const wrong: string[] = [];
  for (const [from, tos] of graph) {
    if (!isLibrary(from)) continue;
    const mod = moduleOf(from);
    for (const to of tos) {
      if (!isLibrary(to) || moduleOf(to) === mod || excepted(from, to)) continue;
      const target = moduleOf(to);
      if (layerOf(target) >= layerOf(mod)) wrong.push(`${from} (${mod}) -> ${to} (${target})`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('library code imports no test and no test helper', () => {
  const wrong = [...graph].flatMap(([from, tos]) => (isLibrary(from) ? tos.filter((to) => !isLibrary(to)).map((to) => `${from} -> ${to}`) : []));
  assert.deepEqual(wrong, []);
});

test('the listed test helpers exist', () => {
  for (const helper of TEST_HELPERS) assert.ok(graph.has(helper), `${helper} is listed in TEST_HELPERS but does not exist`);
});

test('no import cycle between library files', () => {
  // Tarjan's strongly connected components over library files; any component of 2+ files is a cycle.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!isLibrary(w) || !graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const f of files) if (isLibrary(f) && !index.has(f)) visit(f);
  assert.deepEqual(cycles, []);
});

test('the published build (tsconfig.json) leaves out tests and test helpers', () => {
  const config = JSON.parse(readFileSync(join(packageRoot(), 'tsconfig.json'), 'utf8')) as { exclude?: string[] };
  const exclude = config.exclude ?? [];
  assert.ok(exclude.includes('src/**/*.test.ts'), 'tsconfig.json must exclude src/**/*.test.ts');
  const unlisted = TEST_HELPERS.filter((helper) => !exclude.includes(`src/${helper}`));
  assert.deepEqual(unlisted, [], 'tsconfig.json must exclude these test helpers');
});
