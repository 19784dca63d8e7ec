import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filterView, selectSamples, type SampleSource } from './sample-source.js';
import { splitBySession } from './session-split.js';
import { NO_GROUPS, type SampleBlock } from './types.js';
import { Rng } from '../util/rng.js';

/** Blocks of samples with groups (sessions of 1-60 impressions, some without a group), one entry each. */
function source(seed: number, blocks: number): SampleSource {
  const rng = new Rng(seed);
  const made: SampleBlock[] = [];
  let id = 0;
  let group = 0;
  for (let b = 0; b < blocks; b++) {
    const count = 500 + rng.int(500);
    const block: SampleBlock = {
      count,
      offsets: Uint32Array.from({ length: count + 1 }, (_, i) => i),
      fields: new Uint8Array(count),
      keys: new Uint32Array(count),
      values: new Float32Array(count).fill(1),
      sampleIds: new Float64Array(count),
      click: new Uint8Array(count),
      conversion: new Uint8Array(count),
      group: new Int32Array(count),
    };
    let left = 0;
    for (let i = 0; i < count; i++) {
      if (left === 0) {
        group++;
        left = 1 + rng.int(60);
      }
      left--;
      block.group[i] = rng.next() < 0.05 ? -1 : group;
      // Large ids too: both 32-bit halves reach the hash.
      block.sampleIds[i] = id++ * 4294967311;
      block.keys[i] = i;
      block.click[i] = rng.next() < 0.1 ? 1 : 0;
    }
    made.push(block);
  }
  return { fieldNames: ['205'], groups: NO_GROUPS, numSamples: made.reduce((n, b) => n + b.count, 0), numBlocks: made.length, readBlock: (i) => made[i]! };
}

function ids(s: SampleSource): number[] {
  const out: number[] = [];
  for (let b = 0; b < s.numBlocks; b++) out.push(...s.readBlock(b).sampleIds);
  return out;
}

test('the validation carve keeps whole sessions on one side, loses and repeats nothing, and depends only on the seed', () => {
  const data = source(1, 6);
  const { train, validation } = splitBySession(data, 0.1, 7);
  const t = ids(train);
  const v = ids(validation);
  assert.equal(t.length + v.length, data.numSamples);
  assert.equal(train.numSamples, t.length);
  assert.equal(validation.numSamples, v.length);
  assert.deepEqual([...t, ...v].sort((a, b) => a - b), ids(data).sort((a, b) => a - b));
  // Whole groups: no group on both sides.
  const side = new Map<number, string>();
  for (const [name, s] of [['train', train], ['validation', validation]] as const) {
    for (let b = 0; b < s.numBlocks; b++) {
      const block = s.readBlock(b);
      for (let i = 0; i < block.count; i++) {
        const g = block.group[i]!;
        if (g < 0) continue;
        assert.notEqual(side.get(g) ?? name, name === 'train' ? 'validation' : 'train', `group ${g} on both sides`);
        side.set(g, name);
      }
    }
  }
  const share = v.length / data.numSamples;
  assert.ok(share > 0.05 && share < 0.17, `validation share ${share}`);
  // The same seed: the same carve (a second call, and blocks read in another order); another seed: another.
  assert.deepEqual(ids(splitBySession(data, 0.1, 7).validation), v);
  const reversed: SampleSource = { ...data, readBlock: (i) => data.readBlock(data.numBlocks - 1 - i) };
  assert.deepEqual(ids(splitBySession(reversed, 0.1, 7).validation).sort((a, b) => a - b), [...v].sort((a, b) => a - b));
  assert.notDeepEqual(ids(splitBySession(data, 0.1, 8).validation), v);
  // Each session's hash is compared with the fraction: a larger fraction holds every session of a smaller one.
  const wider = new Set(ids(splitBySession(data, 0.3, 7).validation));
  assert.ok(v.every((x) => wider.has(x)));
});

test('the carve refuses fractions outside (0, 1) and sides left empty, naming the option', () => {
  const data = source(2, 1);
  assert.throws(() => splitBySession(data, 0, 1), /\(0, 1\)/);
  assert.throws(() => splitBySession(data, 1, 1), /\(0, 1\)/);
  assert.throws(() => splitBySession(data, 1e-9, 1), /--validation-fraction .* leaves the validation side .* empty/);
});

test('filterView reads what selectSamples copies, block by block, and skips empty blocks', () => {
  const data = source(3, 4);
  const keep = (b: SampleBlock, i: number) => b.click[i] === 1 || b.sampleIds[i]! % 7 === 0;
  const view = filterView(data, keep);
  const copied = selectSamples(data, keep);
  assert.equal(view.numSamples, copied.numSamples);
  assert.deepEqual(ids(view), ids(copied));
  const none = filterView(data, () => false);
  assert.equal(none.numBlocks, 0);
  assert.equal(none.numSamples, 0);
});
