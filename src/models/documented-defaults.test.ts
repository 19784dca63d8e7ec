import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../util/paths.js';
import { resolveModel } from './cvr-model.js';
import { flagName, flagText, type HyperValue } from './hyper.js';
import { MODELS } from './registry.js';
import { oneFieldSpec } from '../test-support/dense-feeds.js';

/**
 * docs/models.md's "Every kind's defaults" table against the code: each kind's row lists, as
 * flags, every option the kind reads with the value it resolves to when none is given. A default
 * changed in a kind's file (so published results would silently not reproduce) or in the docs
 * alone fails here, naming the kind and the flag.
 */
const DOCS = join(packageRoot(), 'docs', 'models.md');
const HEADING = "### Every kind's defaults";

/** kind → flag → value as written in the table. */
function documentedDefaults(): Map<string, Map<string, string>> {
  const text = readFileSync(DOCS, 'utf8');
  const start = text.indexOf(HEADING);
  assert.ok(start >= 0, `${DOCS} has no "${HEADING}" section`);
  const rows = new Map<string, Map<string, string>>();
  const lines = text.slice(start).split('\n').slice(1);
  const first = lines.findIndex((l) => l.startsWith('|'));
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim().replace(/^`|`$/g, ''));
    assert.equal(cells.length, 2, `${DOCS}: a defaults row has ${cells.length} cells: ${line}`);
    const flags = new Map<string, string>();
    for (const part of cells[1]!.split(/\s+(?=--)/)) {
      const m = /^--([a-z-]+) (\S+)$/.exec(part.trim());
      assert.ok(m, `${DOCS}: '${part}' in the row of ${cells[0]} is not '--flag value'`);
      assert.ok(!flags.has(m[1]!), `${DOCS}: --${m[1]} twice in the row of ${cells[0]}`);
      flags.set(m[1]!, m[2]!);
    }
    rows.set(cells[0]!, flags);
  }
  return rows;
}

const format = (v: HyperValue) => flagText(v);
const SPEC = oneFieldSpec(4);

test('docs/models.md lists every kind with exactly the defaults its code resolves to', () => {
  const docs = documentedDefaults();
  assert.deepEqual([...docs.keys()].sort(), MODELS.map((m) => m.kind).sort(), 'the table\'s kinds against the registry');
  for (const def of MODELS) {
    // What the kind records with no option given: every option it reads (a multi-task kind: its
    // backbone's and objective's), as ModelDef.reads declares.
    const hyper = resolveModel({ kind: def.kind, spec: SPEC as never, seed: 1 }).config.hyper;
    const documented = docs.get(def.kind)!;
    const flags = new Set<string>();
    for (const name of Object.keys(hyper)) {
      const flag = flagName(name, def.hyper[name]!);
      flags.add(flag);
      const stated = documented.get(flag);
      assert.ok(stated !== undefined, `${def.kind}: --${flag} (default ${format(hyper[name]!)}) is not in docs/models.md's defaults table`);
      assert.equal(format(hyper[name]!), stated, `${def.kind}: --${flag} is ${format(hyper[name]!)} in the code; docs/models.md says ${stated}`);
    }
    for (const flag of documented.keys()) assert.ok(flags.has(flag), `${def.kind}: docs/models.md gives --${flag}, which ${def.kind} does not read`);
  }
});
