import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../util/paths.js';
import { prepareSplit } from '../cache/prepare.js';
import { dumpSamples, tempDir } from '../testing.js';
import { DataError } from '../types.js';

/** Real Ali-CCP samples carried in the repository (see its PROVENANCE.md). */
const FIXTURES = join(packageRoot(), 'fixtures', 'aliccp-real');

/** A fixture's lines, split by hand (independently of the readers). */
function fixtureLines(name: string): string[] {
  return readFileSync(join(FIXTURES, name), 'latin1').split('\n').filter((l) => l.length > 0);
}

function copyFixtures(dir: string, names: string[], sub = ''): void {
  mkdirSync(join(dir, sub), { recursive: true });
  for (const n of names) copyFileSync(join(FIXTURES, n), join(dir, sub, n));
}

test('PaddleRec fixtures: every field:id token of every line, labels, line-number ids', async () => {
  const { dir, cleanup } = tempDir();
  try {
    copyFixtures(dir, ['paddlerec_esmm_train_small.txt', 'paddlerec_esmm_test_small.txt']);
    for (const split of ['train', 'test']) {
      const name = `paddlerec_esmm_${split}_small.txt`;
      const lines = fixtureLines(name);
      const prepared = await prepareSplit({ dataDir: dir, split });
      assert.equal(prepared.format, 'paddlerec');
      assert.equal(prepared.numSamples, 10);
      assert.equal(prepared.groups.count, 0);
      assert.deepEqual(prepared.reports.map((r) => [r.lines, r.kept, r.problems]), [[10, 10, {}]]);
      const samples = dumpSamples(prepared);
      lines.forEach((line, i) => {
        const [, click, conversion, ...tokens] = line.split(',');
        const s = samples[i]!;
        assert.equal(s.id, i + 1);
        assert.equal(s.click, Number(click));
        assert.equal(s.conversion, Number(conversion));
        assert.equal(s.common, null);
        assert.deepEqual(s.own, tokens.map((t) => {
          const [field, id] = t.split(':');
          return [field, Number(id), 1];
        }));
      });
      if (split === 'train') {
        // PROVENANCE.md: line 1 has 117 ids in 109_14 and 342 in 110_14; counted here by hand too.
        const count = (field: string): number => lines[0]!.split(',').filter((t) => t.startsWith(field + ':')).length;
        assert.equal(count('109_14'), 117);
        assert.equal(samples[0]!.own.filter(([f]) => f === '109_14').length, 117);
        assert.equal(samples[0]!.own.filter(([f]) => f === '110_14').length, count('110_14'));
        assert.equal(count('110_14'), 342);
        assert.equal(prepared.clicks, 2);
      }
    }
  } finally {
    cleanup();
  }
});

test('PaddleRec: a <split>/ folder of .txt files, numbered on across files; a bad token drops its line', async () => {
  const { dir, cleanup } = tempDir();
  try {
    copyFixtures(dir, ['paddlerec_esmm_train_small.txt'], 'train');
    writeFileSync(join(dir, 'train', 'part-1.txt'), '1,1,0,210:5,101:7\n2,0,0,210:6,nocolon\n3,0,1,210:1\n4,1,1\n');
    const prepared = await prepareSplit({ dataDir: dir, split: 'train' });
    assert.equal(prepared.numSamples, 12);
    const samples = dumpSamples(prepared);
    assert.deepEqual(samples.slice(10).map((s) => [s.id, s.click, s.conversion, s.own]), [
      [11, 1, 0, [['210', 5, 1], ['101', 7, 1]]],
      [14, 1, 1, []],
    ]);
    const report = prepared.reports[1]!;
    assert.deepEqual(report.problems, { bad_feature: 1, illegal_label: 1 });
    assert.deepEqual(report.examples.bad_feature, [{ line: 2, detail: 'feature 2: not field:id: "nocolon"' }]);
  } finally {
    cleanup();
  }
});

test('torch-rechub CSVs: 23 id columns read, 8 dense D* columns ignored with a warning', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const names = { train: 'ali_ccp_train_sample.csv', val: 'ali_ccp_val_sample.csv', test: 'ali_ccp_test_sample.csv' };
    copyFixtures(dir, Object.values(names));
    const expectedRows = { train: 100, val: 50, test: 50 };
    for (const [split, name] of Object.entries(names)) {
      const [header, ...rows] = fixtureLines(name);
      const columns = header!.split(',');
      const prepared = await prepareSplit({ dataDir: dir, split });
      assert.equal(prepared.format, 'csv');
      assert.equal(prepared.numSamples, rows.length);
      assert.equal(rows.length, expectedRows[split as keyof typeof expectedRows]);
      const idColumns = columns.filter((c) => c !== 'click' && c !== 'purchase' && !c.startsWith('D'));
      assert.equal(idColumns.length, 23);
      assert.deepEqual(prepared.fieldNames, idColumns);
      assert.match(prepared.warnings.join('\n'), /ignored 8 dense columns \(D109_14, D110_14, D127_14, D150_14, D508, D509, D702, D853\)/);
      const samples = dumpSamples(prepared);
      rows.forEach((row, i) => {
        const cells = row.split(',');
        const cell = (c: string): string => cells[columns.indexOf(c)]!;
        assert.equal(samples[i]!.id, i + 1);
        assert.equal(samples[i]!.click, Number(cell('click')));
        assert.equal(samples[i]!.conversion, Number(cell('purchase')));
        assert.deepEqual(samples[i]!.own, idColumns.map((c) => [c, Number(cell(c)), 1]));
      });
    }
  } finally {
    cleanup();
  }
});

test('AITM: the headerless test file borrows the header of aitm_train_sample.csv; its click=0,purchase=1 rows are dropped', async () => {
  const { dir, cleanup } = tempDir();
  try {
    copyFixtures(dir, ['aitm_train_sample.csv', 'aitm_test_sample.csv']);
    const [header, ...trainRows] = fixtureLines('aitm_train_sample.csv');
    const testRows = fixtureLines('aitm_test_sample.csv');
    const columns = header!.split(',');
    // The real AITM samples hold purchases without a click (y=0, z=1): illegal for ESMM, counted.
    const illegal = (rows: string[]): number[] => rows.flatMap((r, i) => (r.startsWith('0,1,') ? [i] : []));
    assert.equal(illegal(trainRows).length, 2);
    assert.equal(illegal(testRows).length, 3);

    const train = await prepareSplit({ dataDir: dir, split: 'train' });
    assert.equal(trainRows.length, 48);
    assert.equal(train.numSamples, trainRows.length - 2);
    assert.equal(train.fieldNames.length, 18);
    assert.deepEqual(train.reports[0]!.examples.illegal_label!.map((e) => e.line), illegal(trainRows).map((i) => i + 2), 'line numbers count the header');

    const test_ = await prepareSplit({ dataDir: dir, split: 'test' });
    assert.equal(testRows.length, 50);
    assert.equal(test_.numSamples, testRows.length - 3);
    assert.deepEqual(test_.reports[0]!.examples.illegal_label!.map((e) => e.line), illegal(testRows).map((i) => i + 1));
    assert.match(test_.warnings.join('\n'), /aitm_test_sample\.csv has no header line: used the header of .*aitm_train_sample\.csv/);
    const keptRows = testRows.map((row, i) => ({ row, id: i + 1 })).filter(({ row }) => !row.startsWith('0,1,'));
    const samples = dumpSamples(test_);
    keptRows.forEach(({ row, id }, i) => {
      const cells = row.split(',');
      assert.equal(samples[i]!.id, id);
      assert.equal(samples[i]!.click, Number(cells[0]));
      assert.equal(samples[i]!.conversion, Number(cells[1]));
      assert.deepEqual(samples[i]!.own, columns.slice(2).map((c, j) => [c, Number(cells[j + 2]), 1]));
    });
    // The borrowed header is a source of the cache: changing that file rebuilds.
    assert.equal((await prepareSplit({ dataDir: dir, split: 'test' })).reused, true);
    writeFileSync(join(dir, 'aitm_train_sample.csv'), readFileSync(join(dir, 'aitm_train_sample.csv'), 'latin1') + '\n');
    assert.equal((await prepareSplit({ dataDir: dir, split: 'test' })).reused, false);
  } finally {
    cleanup();
  }
});

test('AITM test file alone (no header, no sibling): a clear error saying what to add', async () => {
  const { dir, cleanup } = tempDir();
  try {
    copyFixtures(dir, ['aitm_test_sample.csv']);
    await assert.rejects(prepareSplit({ dataDir: dir, split: 'test' }), (e: unknown) => {
      assert.ok(e instanceof DataError);
      assert.match(e.message, /aitm_test_sample\.csv:1: io: no header line \(the first line is all numbers\).*add a header line/);
      return true;
    });
  } finally {
    cleanup();
  }
});

test('CSV files of one split with different columns are refused (one dataset per folder)', async () => {
  const { dir, cleanup } = tempDir();
  try {
    copyFixtures(dir, ['ali_ccp_test_sample.csv', 'aitm_test_sample.csv', 'aitm_train_sample.csv']);
    await assert.rejects(prepareSplit({ dataDir: dir, split: 'test' }), /different columns.*keep one dataset per data folder/);
  } finally {
    cleanup();
  }
});

test('CSV rows: wrong column count, bad and illegal labels, empty ids are counted and dropped', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'mini_train.csv'), 'click,conversion,101,205\r\n1,1,7,8\r\n1,0,7\r\n2,0,7,8\r\n0,1,7,8\r\n0,0,,8\r\n0,0,x9,0\r\n');
    const prepared = await prepareSplit({ dataDir: dir, split: 'train' });
    const samples = dumpSamples(prepared);
    assert.equal(samples.length, 2);
    assert.deepEqual(samples[0]!.own, [['101', 7, 1], ['205', 8, 1]]);
    assert.equal(samples[1]!.id, 6);
    assert.notEqual(samples[1]!.own[0]![1], 9, 'non-numeric token is hashed');
    const r = prepared.reports[0]!;
    assert.deepEqual(r.problems, { malformed_line: 1, bad_label: 1, illegal_label: 1, bad_feature: 1 });
    assert.deepEqual([r.lines, r.kept], [6, 2]);
    assert.equal(r.examples.malformed_line![0]!.line, 3);
  } finally {
    cleanup();
  }
});
