import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { prepareSplit } from '../cache/prepare.js';
import { commonLine, dumpSamples, skeletonLine, tempDir, writeRawSplit, type RawEntry } from '../testing.js';
import { DataError, PADDING_KEY } from '../types.js';

const f32 = (v: number): number => Math.fround(v);

const USER_A: RawEntry[] = [['101', 31319, 1], ['109_14', 3716224, 1.94591], ['109_14', 3514627, 0.69315], ['121', -1, 1]];
const USER_B: RawEntry[] = [['101', 40000, 1], ['125', 3438774, 1]];

test('LEFT JOIN: samples get their common row; an unknown index keeps the sample with group -1', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeRawSplit(dir, 'train', [commonLine('84dceed2e3a667f8', USER_A), commonLine('0000350f0c2121e7', USER_B)], [
      skeletonLine(1, 0, 0, '84dceed2e3a667f8', [['210', 9052218, 1], ['210', 9064553, 1], ['205', 'item-x', 1]]),
      skeletonLine(2, 1, 1, '0000350f0c2121e7', [['301', 1, 1]]),
      skeletonLine(3, 1, 0, 'ffffffffffffffff', [['301', 2, 1]]),
      skeletonLine(4, 0, 0, '84dceed2e3a667f8', []),
    ]);
    const split = await prepareSplit({ dataDir: dir, split: 'train' });
    assert.equal(split.format, 'aliccp');
    assert.equal(split.reused, false);
    assert.deepEqual(split.fieldNames, ['101', '109_14', '121', '125', '210', '205', '301']);
    assert.equal(split.numSamples, 4);
    assert.equal(split.clicks, 2);
    assert.equal(split.conversions, 1);
    assert.equal(split.groups.count, 2);
    const samples = dumpSamples(split);
    const commonA = [['101', 31319, 1], ['109_14', 3716224, f32(1.94591)], ['109_14', 3514627, f32(0.69315)], ['121', PADDING_KEY, 1]];
    assert.deepEqual(samples[0], { id: 1, click: 0, conversion: 0, own: [['210', 9052218, 1], ['210', 9064553, 1], ['205', samples[0]!.own[2]![1], 1]], common: commonA });
    assert.notEqual(samples[0]!.own[2]![1], PADDING_KEY);
    assert.deepEqual(samples[1]!.common, [['101', 40000, 1], ['125', 3438774, 1]]);
    assert.deepEqual(samples[2], { id: 3, click: 1, conversion: 0, own: [['301', 2, 1]], common: null });
    assert.deepEqual(samples[3], { id: 4, click: 0, conversion: 0, own: [], common: commonA });
    const [commonReport, skeletonReport] = split.reports;
    assert.equal(commonReport!.kept, 2);
    assert.deepEqual(skeletonReport!.problems, { unknown_common_feature_index: 1 });
    assert.equal(skeletonReport!.examples.unknown_common_feature_index![0]!.line, 3);
    assert.equal(skeletonReport!.kept, 4);
  } finally {
    cleanup();
  }
});

/** Good lines, and bad lines of every kind a skeleton can have, each with its expected kind. */
function skeletonCases(): { good: string[]; mixed: string[]; expected: Record<string, number[]> } {
  const good = [
    skeletonLine(10, 1, 1, 'u1', [['210', 5, 1], ['216', 6, 2.5]]),
    skeletonLine(11, 0, 0, 'u2', [['205', 7, 1]]),
    skeletonLine(12, 1, 0, 'u1', [['301', 1, 1]]),
  ];
  const tooManyFields = skeletonLine(99, 0, 0, 'u1', Array.from({ length: 300 }, (_, i): RawEntry => [`new${i}`, i, 1]));
  const bad: [string, string][] = [
    ['malformed_line', '13,0,0,u1,1'],
    ['malformed_line', skeletonLine('x13', 0, 0, 'u1', [['210', 5, 1]])],
    ['malformed_line', skeletonLine(13, '', 0, 'u1', [['210', 5, 1]])],
    ['malformed_line', skeletonLine(13, 0, 0, '', [['210', 5, 1]])],
    ['malformed_line', skeletonLine(13, 0, 0, 'u1', [['210', 5, 1]], -1)],
    ['malformed_line', skeletonLine(13, 0, 0, 'u1', [['210', 5, 1]]) + ',extra'],
    ['bad_label', skeletonLine(14, 2, 0, 'u1', [['210', 5, 1]])],
    ['bad_label', skeletonLine(14, 0, 'yes', 'u1', [['210', 5, 1]])],
    ['illegal_label', skeletonLine(15, 0, 1, 'u1', [['210', 5, 1]])],
    ['feature_num_mismatch', skeletonLine(16, 0, 0, 'u1', [['210', 5, 1]], 2)],
    ['bad_feature', '17,0,0,u1,1,210\x035\x031.0'],
    ['bad_feature', '17,0,0,u1,1,210\x025\x021.0'],
    ['bad_feature', skeletonLine(17, 0, 0, 'u1', [['210', '', 1]])],
    ['bad_feature', skeletonLine(17, 0, 0, 'u1', [['', 5, 1]])],
    ['bad_feature', skeletonLine(17, 0, 0, 'u1', [['brand_new_field', 5, 1], ['210', 6, 'abc']])],
    ['bad_feature', skeletonLine(17, 0, 0, 'u1', [['210', 5, 'inf']])],
    ['bad_feature', skeletonLine(17, 0, 0, 'u1', [['210', 5, '1e39']])],
    ['bad_feature', skeletonLine(17, 0, 0, 'u1', [['210', 5, 1]], 2) + '\x01'],
    ['too_many_fields', tooManyFields],
    ['line_too_long', skeletonLine(18, 0, 0, 'u1', Array.from({ length: 400 }, (): RawEntry => ['210', 123456789, 1]))],
  ];
  const mixed: string[] = [];
  const expected: Record<string, number[]> = {};
  bad.forEach(([kind, line], i) => {
    mixed.push(line);
    (expected[kind] ??= []).push(mixed.length);
    if (i % 7 === 0) mixed.push(good[(i / 7) % good.length]!);
  });
  // every good line appears; rebuild `good` in the order the mixed file has them
  return { good: mixed.filter((l) => good.includes(l)), mixed, expected };
}

test('every skeleton problem kind is counted with its line, and the good rows read as if the bad ones were absent', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const { good, mixed, expected } = skeletonCases();
    const common = [commonLine('u1', [['101', 1, 1]]), commonLine('u2', [['101', 2, 1]])];
    const goodDir = join(dir, 'good');
    const mixedDir = join(dir, 'mixed');
    for (const d of [goodDir, mixedDir]) mkdirSync(d);
    writeRawSplit(goodDir, 'train', common, good);
    writeRawSplit(mixedDir, 'train', common, mixed);
    const clean = await prepareSplit({ dataDir: goodDir, split: 'train', maxLineBytes: 6000 });
    const dirty = await prepareSplit({ dataDir: mixedDir, split: 'train', maxLineBytes: 6000 });
    assert.deepEqual(dumpSamples(dirty), dumpSamples(clean));
    assert.deepEqual(dirty.fieldNames, clean.fieldNames, 'names seen only in dropped rows are forgotten');
    const report = dirty.reports[1]!;
    assert.equal(report.lines, mixed.length);
    assert.equal(report.kept, good.length);
    const counts = Object.fromEntries(Object.entries(expected).map(([k, lines]) => [k, lines.length]));
    assert.deepEqual(report.problems, counts);
    for (const [kind, lines] of Object.entries(expected)) {
      const examples = report.examples[kind as keyof typeof report.examples]!;
      assert.deepEqual(examples.map((e) => e.line), lines.slice(0, 5), kind);
      for (const e of examples) assert.ok(e.detail.length > 0 && e.detail.length <= 200, e.detail);
    }
    assert.match(report.examples.illegal_label![0]!.detail, /conversion=1 without a click/);
    assert.match(report.examples.feature_num_mismatch![0]!.detail, /feature_num is 2 but feature_list has 1 entries/);
  } finally {
    cleanup();
  }
});

test('a comma anywhere in a skeleton feature list is a sixth column, reported before any other problem of the row', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const lines = [
      skeletonLine(1, 0, 0, 'u1', [['2,10', 5, 1]]),
      skeletonLine(2, 0, 0, 'u1', [['210', 5, 1], ['2,1', 6, 1], ['2,1', 7, 1]]), // a name in a run
      skeletonLine(3, 0, 0, 'u1', [['a_long,field_name', 5, 1]]),
      skeletonLine(4, 0, 0, 'u1', [['210', '5,6', 1]]),
      skeletonLine(5, 0, 0, 'u1', [['210', 5, '1,0']]),
      skeletonLine(6, 2, 0, 'u1', [['210', 5, '1,0']]), // also a bad label
      skeletonLine(7, 0, 0, 'u1', [['210', '5,6', 1]], 2), // also a feature_num mismatch
      skeletonLine(8, 0, 0, 'u1', [['210', 5, 1], ['x\x03', 6, 1], ['2,1', 7, 1]]), // also a bad entry before it
      skeletonLine(9, 0, 0, 'u1', [['210', 5, 1], ['2,10', 6, 1]]), // the name of line 1 again
      skeletonLine(10, 0, 0, 'u1', [['210', 5, 1]]),
    ];
    writeRawSplit(dir, 'train', [commonLine('u1', [['101', 1, 1]])], lines);
    const split = await prepareSplit({ dataDir: dir, split: 'train' });
    const report = split.reports[1]!;
    assert.deepEqual(report.problems, { malformed_line: 9 });
    for (const e of report.examples.malformed_line!) assert.match(e.detail, /^expected 6 comma-separated columns/, `line ${e.line}`);
    assert.deepEqual(dumpSamples(split).map((s) => s.id), [10]);
    assert.deepEqual(split.fieldNames, ['101', '210'], 'names seen only in dropped rows are forgotten');
  } finally {
    cleanup();
  }
});

test('common file: duplicates keep the first row; a malformed row is dropped so its samples are unknown', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeRawSplit(dir, 'train', [
      commonLine('u1', [['101', 1, 1]]),
      commonLine('u1', [['101', 999, 1]]),
      commonLine('u2', [['101', 2, 1]], 5),
      commonLine('u3', [['101', 3, 1]]),
      'u4,1',
    ], [
      skeletonLine(1, 0, 0, 'u1', []),
      skeletonLine(2, 0, 0, 'u2', []),
      skeletonLine(3, 0, 0, 'u3', []),
    ]);
    const split = await prepareSplit({ dataDir: dir, split: 'train' });
    const [commonReport, skeletonReport] = split.reports;
    assert.deepEqual(commonReport!.problems, { duplicate_common_feature_index: 1, feature_num_mismatch: 1, malformed_line: 1 });
    assert.deepEqual(commonReport!.examples.duplicate_common_feature_index!.map((e) => e.line), [2]);
    assert.equal(commonReport!.kept, 2);
    assert.equal(split.groups.count, 2);
    const samples = dumpSamples(split);
    assert.deepEqual(samples.map((s) => s.common), [[['101', 1, 1]], null, [['101', 3, 1]]]);
    assert.deepEqual(skeletonReport!.problems, { unknown_common_feature_index: 1 });
  } finally {
    cleanup();
  }
});

test('strict mode throws at the first problem with file:line, kind and detail, and leaves no cache', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeRawSplit(dir, 'train', [commonLine('u1', [['101', 1, 1]])], [
      skeletonLine(1, 0, 0, 'u1', []),
      skeletonLine(2, 1, 0, 'u1', [['210', 5, 1]]),
      skeletonLine(3, 0, 1, 'u1', []),
      skeletonLine(4, 7, 0, 'u1', []),
    ]);
    const skeleton = join(dir, 'sample_skeleton_train.csv');
    await assert.rejects(prepareSplit({ dataDir: dir, split: 'train', strict: true }), (e: unknown) => {
      assert.ok(e instanceof DataError);
      assert.equal(e.message, `${skeleton}:3: illegal_label: conversion=1 without a click (z=1, y=0): dropped`);
      assert.equal(e.line, 3);
      assert.equal(e.kind, 'illegal_label');
      return true;
    });
    assert.deepEqual(readdirSync(join(dir, '.esmm-cache')), [], 'no split folder and no temp folder left');
    // The same data without strict is prepared, and a later strict run on that cache still fails.
    const split = await prepareSplit({ dataDir: dir, split: 'train' });
    assert.equal(split.numSamples, 2);
    await assert.rejects(prepareSplit({ dataDir: dir, split: 'train', strict: true }), /sample_skeleton_train\.csv:3: illegal_label/);
  } finally {
    cleanup();
  }
});

test('unknown_common_feature_index is fatal in strict mode too', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeRawSplit(dir, 'test', [commonLine('u1', [['101', 1, 1]])], [skeletonLine(1, 0, 0, 'nope', [])]);
    await assert.rejects(prepareSplit({ dataDir: dir, split: 'test', strict: true }), /sample_skeleton_test\.csv:1: unknown_common_feature_index: common_feature_index "nope"/);
  } finally {
    cleanup();
  }
});

test('CRLF line ends, blank lines and a missing final newline read the same as clean files', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const common = [commonLine('u1', [['101', 1, 1], ['109_14', 2, 0.5]]), commonLine('u2', [['101', 3, 1]])];
    const skeleton = [skeletonLine(1, 1, 0, 'u1', [['210', 5, 1]]), skeletonLine(2, 0, 0, 'u2', [['216', 6, 1]]), skeletonLine(3, 1, 1, 'u1', [])];
    const clean = join(dir, 'clean');
    const messy = join(dir, 'messy');
    mkdirSync(clean);
    mkdirSync(messy);
    writeRawSplit(clean, 'train', common, skeleton);
    writeFileSync(join(messy, 'common_features_train.csv'), '\r\n' + common.join('\r\n') + '\r\n\r\n');
    writeFileSync(join(messy, 'sample_skeleton_train.csv'), skeleton[0] + '\n\n' + skeleton[1] + '\r\n' + skeleton[2]);
    const a = await prepareSplit({ dataDir: clean, split: 'train' });
    const b = await prepareSplit({ dataDir: messy, split: 'train' });
    assert.deepEqual(dumpSamples(b), dumpSamples(a));
    assert.deepEqual(b.reports.map((r) => [r.lines, r.kept, r.problems]), a.reports.map((r) => [r.lines, r.kept, r.problems]));
  } finally {
    cleanup();
  }
});

test('a raw split without its common file is a clear error', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'sample_skeleton_train.csv'), skeletonLine(1, 0, 0, 'u1', []) + '\n');
    await assert.rejects(prepareSplit({ dataDir: dir, split: 'train' }), /found .*sample_skeleton_train\.csv but not .*common_features_train\.csv/);
    assert.equal(existsSync(join(dir, '.esmm-cache', 'train')), false);
  } finally {
    cleanup();
  }
});
