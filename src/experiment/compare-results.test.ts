import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../test-support/cli.js';
import { packageRoot } from '../util/paths.js';
import { summarize } from './stats.js';

// scripts/compare-results.mjs: two experiments' results.json side by side (docs/experiments.md, "Two protocols side by side").
test('compare-results: both means, the difference and its standard error, models in the first file\'s order', () => {
  const dir = tempDir('compare');
  try {
    const results = (cvr: Record<string, number[]>) => ({
      seeds: [1, 2, 3],
      models: Object.fromEntries(
        Object.entries(cvr).map(([kind, runs]) => [kind, { kind, cvr_auc: summarize(runs), cvr_pcoc: summarize(runs.map((v) => 2 * v)) }]),
      ),
    });
    writeFileSync(join(dir, 'a.json'), JSON.stringify(results({ base: [0.6, 0.62, 0.64], esmm: [0.7, 0.7, 0.7] })));
    writeFileSync(join(dir, 'b.json'), JSON.stringify(results({ esmm: [0.71, 0.72, 0.73], base: [0.65, 0.66, 0.67] })));
    const run = (...args: string[]) => spawnSync(process.execPath, [join(packageRoot(), 'scripts', 'compare-results.mjs'), join(dir, 'a.json'), join(dir, 'b.json'), ...args], { encoding: 'utf8' });
    const r = run('--labels', 'paper,fair', '--metrics', 'cvr_auc');
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('| '));
    assert.equal(rows[0], '| model | CVR AUC: paper | fair | Δ (SE) |');
    // BASE: 62.00 ± 2.00 → 66.00 ± 1.00, Δ +4.00, SE sqrt(2²/3 + 1²/3) = 1.29.
    assert.equal(rows[2], '| BASE | 62.00 ± 2.00 | 66.00 ± 1.00 | +4.00 (1.29) |');
    assert.equal(rows[3], '| ESMM | 70.00 ± 0.00 | 72.00 ± 1.00 | +2.00 (0.58) |');
    const field = run('--field', '--metrics', 'cvr_pcoc');
    assert.match(field.stdout, /\| BASE \| 1\.240 ± 0\.040 \| 1\.320 ± 0\.020 \| \+0\.080 \(0\.026\) \|/);
    const bad = run('--metrics', 'nope');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--metrics: no metric 'nope'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
