/**
 * Every gradient rule in GRAD_RULES has a float64 check against central differences: this file
 * runs the rules' tests (every *.test.js beside it) in its own process, and
 * gradient-check.ts records each rule that took part in a passing check. A rule added without a
 * check, or a check that stops exercising its rule, fails here.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { rulesCheckedNumerically } from '../gradient-check.js';
import { GRAD_RULES } from './index.js';

const here = dirname(fileURLToPath(import.meta.url));
const self = basename(fileURLToPath(import.meta.url));
const ruleTests = readdirSync(here).filter((f) => f.endsWith('.test.js') && f !== self).sort();
for (const f of ruleTests) await import(new URL(f, import.meta.url).href);

test('every gradient rule in GRAD_RULES took part in a passing numerical check', () => {
  assert.ok(ruleTests.length >= 5, `rule tests found: ${ruleTests.join(', ')}`);
  const checked = rulesCheckedNumerically();
  const missing = Object.keys(GRAD_RULES).filter((op) => !checked.has(op));
  assert.deepEqual(missing, [], `gradient rules without a numerical check in ${ruleTests.join(', ')}: ${missing.join(', ')}`);
});
