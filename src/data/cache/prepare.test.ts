import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { READ_CHUNK_BYTES } from '../text/line-reader.js';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeSplitFiles, openPreparedSplit, prepareSplit, type PrepareProgress } from './prepare.js';
import { featureKey } from '../text/feature-key.js';
import { commonLine, dumpSamples, skeletonLine, tempDir, writeRawSplit, type RawEntry } from '../testing.js';
import { BLOCK_SAMPLES, DataError } from '../types.js';

function smallRawSplit(dir: string, split = 'train'): void {
  writeRawSplit(dir, split, [commonLine('u1', [['101', 1, 1]]), commonLine('u2', [['101', 2, 1]])], [
    skeletonLine(1, 1, 0, 'u1', [['210', 5, 1]]),
    skeletonLine(2, 0, 0, 'u2', [['216', 6, 1]]),
  ]);
}

test('a fresh cache is reused without parsing; a changed source file, option or --force rebuilds it', async () => {
  const { dir, cleanup } = tempDir();
  try {
    smallRawSplit(dir);
    const first = await prepareSplit({ dataDir: dir, split: 'train' });
    assert.equal(first.reused, false);
    assert.equal(first.dir, join(dir, '.esmm-cache', 'train'));
    const manifest = readFileSync(join(first.dir, 'manifest.json'), 'utf8');

    const calls: PrepareProgress[] = [];
    const again = await prepareSplit({ dataDir: dir, split: 'train', onProgress: (p) => calls.push(p) });
    assert.equal(again.reused, true);
    assert.equal(calls.length, 0, 'no parsing: no progress');
    assert.equal(readFileSync(join(first.dir, 'manifest.json'), 'utf8'), manifest);
    assert.deepEqual(dumpSamples(again), dumpSamples(first));

    appendFileSync(join(dir, 'sample_skeleton_train.csv'), skeletonLine(3, 1, 1, 'u1', []) + '\n');
    const grown = await prepareSplit({ dataDir: dir, split: 'train', onProgress: (p) => calls.push(p) });
    assert.equal(grown.reused, false);
    assert.equal(grown.numSamples, 3);
    assert.ok(calls.some((c) => c.phase === 'common') && calls.some((c) => c.phase === 'samples'));
    const last = calls[calls.length - 1]!;
    assert.equal(last.bytesDone, last.bytesTotal);
    assert.equal(last.lines, 3);

    const later = new Date(Date.now() + 5000);
    utimesSync(join(dir, 'common_features_train.csv'), later, later);
    assert.equal((await prepareSplit({ dataDir: dir, split: 'train' })).reused, false, 'mtime change');
    assert.equal((await prepareSplit({ dataDir: dir, split: 'train' })).reused, true);
    assert.equal((await prepareSplit({ dataDir: dir, split: 'train', maxLineBytes: 1 << 20 })).reused, false, 'option change');
    assert.equal((await prepareSplit({ dataDir: dir, split: 'train', maxLineBytes: 1 << 20, force: true })).reused, false, 'force');
    assert.deepEqual(readdirSync(join(dir, '.esmm-cache')), ['train'], 'old caches and temp folders are gone');
  } finally {
    cleanup();
  }
});

test('only a folder with a manifest counts as a cache: partial folders and stale temp folders are rebuilt or removed', async () => {
  const { dir, cleanup } = tempDir();
  try {
    smallRawSplit(dir);
    const good = await prepareSplit({ dataDir: dir, split: 'train' });
    const cacheRoot = join(dir, '.esmm-cache');
    // A crash before the rename leaves only a temp folder (even one holding a manifest): never read.
    const staleTemp = join(cacheRoot, 'train.tmp-999999999-abcd1234');
    const liveTemp = join(cacheRoot, `train.tmp-${process.ppid}-beef0001`);
    for (const t of [staleTemp, liveTemp]) {
      mkdirSync(t);
      writeFileSync(join(t, 'manifest.json'), '{}');
    }
    // A split folder without its manifest is not a cache.
    const manifest = join(good.dir, 'manifest.json');
    writeFileSync(manifest + '.bak', readFileSync(manifest));
    rmSync(manifest);
    const rebuilt = await prepareSplit({ dataDir: dir, split: 'train' });
    assert.equal(rebuilt.reused, false);
    assert.deepEqual(dumpSamples(rebuilt), dumpSamples(good));
    assert.equal(existsSync(staleTemp), false, 'temp folder of a dead process removed');
    assert.equal(existsSync(liveTemp), true, 'temp folder of a live process kept');
    // A damaged cache (truncated samples.bin) is rebuilt rather than trusted.
    truncateSync(join(rebuilt.dir, 'samples.bin'), 10);
    assert.throws(() => openPreparedSplit(rebuilt.dir), (e: unknown) => e instanceof DataError && /samples\.bin.*expected.*delete the cache folder/.test(e.message));
    assert.equal((await prepareSplit({ dataDir: dir, split: 'train' })).reused, false);
  } finally {
    cleanup();
  }
});

test('an unwritable cache location is an error that suggests --cache-dir; cacheDir moves the cache', async () => {
  const { dir, cleanup } = tempDir();
  try {
    smallRawSplit(dir);
    writeFileSync(join(dir, 'not-a-folder'), 'x');
    await assert.rejects(prepareSplit({ dataDir: dir, split: 'train', cacheDir: join(dir, 'not-a-folder', 'cache') }), (e: unknown) => {
      assert.ok(e instanceof DataError && e.kind === 'io');
      assert.match(e.message, /cannot write the prepared cache here \(ENOTDIR\).*--cache-dir/);
      return true;
    });
    const split = await prepareSplit({ dataDir: dir, split: 'train', cacheDir: join(dir, 'elsewhere') });
    assert.equal(split.dir, join(dir, 'elsewhere', 'train'));
    assert.equal(existsSync(join(dir, '.esmm-cache')), false);
  } finally {
    cleanup();
  }
});

/** Entries of sample `id` in the block test: field order rotates, so field guesses miss too. */
function rotatingEntries(id: number): RawEntry[] {
  const entries: RawEntry[] = [['210', id, 1], ['216', id + 1, 0.5], ['301', id % 5, 1], ['109_14', 1e10 + id, 2]];
  const r = id % 4;
  return [...entries.slice(r), ...entries.slice(0, r)];
}

test('blocks hold BLOCK_SAMPLES samples; truth is aligned with kept samples across blocks', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const n = BLOCK_SAMPLES + 1000;
    const skeleton: string[] = [];
    const truth = ['sample_id,p_click,p_conv_given_click'];
    for (let id = 1; id <= n; id++) {
      const dropped = id % 1000 === 0; // illegal label: dropped, its truth row skipped
      skeleton.push(skeletonLine(id, dropped ? 0 : id % 2, dropped ? 1 : 0, `u${id % 7}`, rotatingEntries(id)));
      truth.push(`${id},${(id % 100) / 100},0.25`);
    }
    const common = Array.from({ length: 7 }, (_, u) => commonLine(`u${u}`, [['101', u, 1]]));
    writeRawSplit(dir, 'train', common, skeleton, truth);
    const split = await prepareSplit({ dataDir: dir, split: 'train' });
    assert.ok(statSync(join(dir, 'sample_skeleton_train.csv')).size > READ_CHUNK_BYTES, 'the line buffer is refilled');
    const kept = n - Math.floor(n / 1000);
    assert.equal(split.numSamples, kept);
    assert.equal(split.numBlocks, 2);
    assert.equal(split.hasTruth, true);
    assert.deepEqual(split.warnings, []);
    const b0 = split.readBlock(0);
    const b1 = split.readBlock(1);
    assert.equal(b0.count, BLOCK_SAMPLES);
    assert.equal(b1.count, kept - BLOCK_SAMPLES);
    for (const block of [b0, b1]) {
      for (let i = 0; i < block.count; i++) {
        const id = block.sampleIds[i]!;
        const expected = rotatingEntries(id);
        const s = block.offsets[i]!;
        assert.equal(block.offsets[i + 1]! - s, expected.length);
        expected.forEach(([field, key, value], j) => {
          assert.equal(split.fieldNames[block.fields[s + j]!], field);
          assert.equal(block.keys[s + j], field === '109_14' ? featureKey(Buffer.from(String(key)), 0, String(key).length) : key);
          assert.equal(block.values[s + j], value);
        });
        assert.equal(block.truth!.pClick[i], Math.fround((id % 100) / 100));
        assert.equal(block.group[i], id % 7);
      }
    }
    assert.throws(() => split.readBlock(2), RangeError);
    assert.equal(split.reports[2]!.kept, kept, 'truth report: rows matched');
  } finally {
    cleanup();
  }
});

test('a truth file that misses a kept sample (or has a bad header) gives hasTruth=false and a warning, not a crash', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const skeleton = [1, 2, 3, 4].map((id) => skeletonLine(id, 1, 0, 'u1', []));
    const common = [commonLine('u1', [['101', 1, 1]])];
    writeRawSplit(dir, 'train', common, skeleton, ['sample_id,p_click,p_conv_given_click', '1,0.5,0.5', '2,0.5,0.5', '4,0.5,0.5']);
    const split = await prepareSplit({ dataDir: dir, split: 'train', strict: true });
    assert.equal(split.hasTruth, false);
    assert.equal(split.numSamples, 4);
    assert.match(split.warnings.join('\n'), /truth_train\.csv has no row for kept sample_id 3/);
    assert.equal(split.readBlock(0).truth, undefined);

    writeRawSplit(dir, 'test', common, skeleton, ['id,p,q', '1,0.5,0.5']);
    const bad = await prepareSplit({ dataDir: dir, split: 'test' });
    assert.equal(bad.hasTruth, false);
    assert.match(bad.warnings.join('\n'), /first line must be "sample_id,p_click,p_conv_given_click"/);

    writeRawSplit(dir, 'val', common, skeleton, ['sample_id,p_click,p_conv_given_click', '1,0.5,0.5', '2,1.5,0.5', '3,0.5,0.5', '4,0.5,0.5']);
    const outOfRange = await prepareSplit({ dataDir: dir, split: 'val' });
    assert.equal(outOfRange.hasTruth, false);
    assert.match(outOfRange.warnings.join('\n'), /truth_val\.csv:3: probabilities must be numbers in \[0, 1\]/);
    const again = await prepareSplit({ dataDir: dir, split: 'val', strict: true });
    assert.equal(again.reused, true, 'strict mode accepts a cache whose only trouble is the truth');
  } finally {
    cleanup();
  }
});

test('describeSplitFiles says what it found and what it looked for', () => {
  const { dir, cleanup } = tempDir();
  try {
    const none = describeSplitFiles(dir, 'train');
    assert.equal(none.kind, 'missing');
    assert.equal(none.lookedFor.length, 4);
    smallRawSplit(dir);
    writeFileSync(join(dir, 'other_train.csv'), 'click,purchase,101\n0,0,1\n');
    const raw = describeSplitFiles(dir, 'train');
    assert.equal(raw.kind, 'aliccp');
    assert.equal(describeSplitFiles(dir, 'train', 'csv').kind, 'csv', 'an explicit format skips detection');
    assert.equal(describeSplitFiles(join(dir, 'nope'), 'train').kind, 'missing');
  } finally {
    cleanup();
  }
});

test('no data for a split: the error lists every pattern looked for', async () => {
  const { dir, cleanup } = tempDir();
  try {
    await assert.rejects(prepareSplit({ dataDir: dir, split: 'valid' }), (e: unknown) => {
      assert.ok(e instanceof DataError);
      for (const p of ['sample_skeleton_valid.csv', 'common_features_valid.csv', 'valid/*.txt', '*valid*.txt', '*valid*.csv']) assert.ok(e.message.includes(p), p);
      return true;
    });
    await assert.rejects(prepareSplit({ dataDir: dir, split: '../x' }), /split name/);
  } finally {
    cleanup();
  }
});

test('empty input files give an empty split, not an error', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeRawSplit(dir, 'train', [], []);
    const split = await prepareSplit({ dataDir: dir, split: 'train' });
    assert.deepEqual([split.numSamples, split.numBlocks, split.groups.count, split.clicks], [0, 0, 0, 0]);
    assert.deepEqual(split.reports.map((r) => [r.lines, r.kept]), [[0, 0], [0, 0]]);
    assert.equal((await prepareSplit({ dataDir: dir, split: 'train' })).reused, true);
  } finally {
    cleanup();
  }
});
