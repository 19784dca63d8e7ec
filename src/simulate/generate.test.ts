import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { COMBINATION_FIELDS, HISTORY_FIELDS, ITEM_ENTITY_FIELDS, PROFILE_FIELDS } from './feature-ids.js';
import { generateDataset, type GenerateOptions, type GenerateSummary } from './generate.js';
import { formatLogCount } from './log-values.js';
import { TRUTH_HEADER } from './raw-writer.js';

const root = mkdtempSync(join(tmpdir(), 'esmm-generate-'));
after(() => rmSync(root, { recursive: true, force: true }));

const SPLITS = ['train', 'test'] as const;
const FILES = SPLITS.flatMap((s) => [`sample_skeleton_${s}.csv`, `common_features_${s}.csv`, `truth_${s}.csv`]);

async function generate(name: string, opts: Omit<GenerateOptions, 'outDir'>): Promise<{ dir: string; summary: GenerateSummary }> {
  const dir = join(root, name);
  return { dir, summary: await generateDataset({ outDir: dir, ...opts }) };
}

interface Entry {
  field: string;
  id: number;
  value: string;
}

/** Parses a feature_list strictly: `field 0x02 id 0x03 value` entries joined by 0x01. */
function parseFeatures(list: string, where: string): Entry[] {
  return list.split('\x01').map((raw) => {
    const m = /^([0-9_]+)\x02([1-9][0-9]*)\x03([^\x01\x02\x03]+)$/.exec(raw);
    assert.ok(m, `${where}: bad entry ${JSON.stringify(raw)}`);
    const id = Number(m[2]);
    assert.ok(Number.isSafeInteger(id) && id < 2 ** 32 - 1, `${where}: id ${m[2]}`);
    assert.ok(Number.isFinite(Number(m[3])), `${where}: value ${m[3]}`);
    return { field: m[1]!, id, value: m[3]! };
  });
}

function lines(path: string): string[] {
  const text = readFileSync(path, 'latin1');
  assert.ok(text.endsWith('\n'), `${path}: last line not ended`);
  assert.ok(!text.includes('\r'), `${path}: carriage return`);
  return text.slice(0, -1).split('\n');
}

interface CommonRow {
  entries: Entry[];
}
interface SkeletonRow {
  sampleId: number;
  click: number;
  conversion: number;
  index: string;
  entries: Entry[];
}

function readSplit(dir: string, split: string): { common: Map<string, CommonRow>; skeleton: SkeletonRow[]; truth: string[] } {
  const common = new Map<string, CommonRow>();
  lines(join(dir, `common_features_${split}.csv`)).forEach((line, n) => {
    const where = `common_features_${split}.csv:${n + 1}`;
    const cols = line.split(',');
    assert.equal(cols.length, 3, `${where}: columns`);
    assert.match(cols[0]!, /^[0-9a-f]{16}$/, where);
    assert.ok(!common.has(cols[0]!), `${where}: duplicate index ${cols[0]}`);
    const entries = parseFeatures(cols[2]!, where);
    assert.equal(Number(cols[1]), entries.length, `${where}: feature_num`);
    common.set(cols[0]!, { entries });
  });
  const skeleton = lines(join(dir, `sample_skeleton_${split}.csv`)).map((line, n) => {
    const where = `sample_skeleton_${split}.csv:${n + 1}`;
    const cols = line.split(',');
    assert.equal(cols.length, 6, `${where}: columns`);
    assert.equal(cols[0], String(n + 1), `${where}: sample_id`);
    assert.match(cols[1]!, /^[01]$/, where);
    assert.match(cols[2]!, /^[01]$/, where);
    assert.ok(!(cols[1] === '0' && cols[2] === '1'), `${where}: conversion without click`);
    assert.ok(common.has(cols[3]!), `${where}: index ${cols[3]} has no common row`);
    const entries = parseFeatures(cols[5]!, where);
    assert.equal(Number(cols[4]), entries.length, `${where}: feature_num`);
    return { sampleId: n + 1, click: Number(cols[1]), conversion: Number(cols[2]), index: cols[3]!, entries };
  });
  const truth = lines(join(dir, `truth_${split}.csv`));
  return { common, skeleton, truth };
}

const countOf = (entries: Entry[], field: string): number => entries.filter((e) => e.field === field).length;

test('same seed, same bytes; another seed, other bytes; nothing partial left', async () => {
  const opts = { train: 4000, test: 1500, seed: 5 };
  const a = await generate('a', opts);
  const b = await generate('b', opts);
  const c = await generate('c', { ...opts, seed: 6 });
  assert.deepEqual(readdirSync(a.dir).sort(), [...FILES].sort());
  for (const f of FILES) {
    assert.ok(readFileSync(join(a.dir, f)).equals(readFileSync(join(b.dir, f))), `${f} differs between two runs`);
    assert.ok(!readFileSync(join(a.dir, f)).equals(readFileSync(join(c.dir, f))), `${f} is the same for another seed`);
  }
  assert.equal(a.summary.train.impressions, 4000);
  assert.equal(a.summary.test.impressions, 1500);
  assert.equal(a.summary.train.bytes, FILES.filter((f) => f.endsWith('train.csv')).reduce((n, f) => n + readFileSync(join(a.dir, f)).length, 0));
});

test('exact layout, field shapes and truth rows aligned with skeleton rows', async () => {
  const { dir, summary } = await generate('layout', { train: 6000, test: 2000, seed: 9 });
  for (const split of SPLITS) {
    const { common, skeleton, truth } = readSplit(dir, split);
    const s = summary[split];
    assert.equal(skeleton.length, s.impressions);
    assert.equal(common.size, s.commonRows);
    assert.equal(sum(skeleton.map((r) => r.click)), s.clicks);
    assert.equal(sum(skeleton.map((r) => r.conversion)), s.conversions);
    const fieldsSeen = new Map<string, Set<number>>();
    const note = (e: Entry): void => {
      let ids = fieldsSeen.get(e.field);
      if (!ids) fieldsSeen.set(e.field, (ids = new Set()));
      ids.add(e.id);
    };
    for (const [index, row] of common) {
      const where = `common ${index}`;
      assert.equal(countOf(row.entries, '101'), 1, where);
      for (const f of PROFILE_FIELDS) assert.ok(countOf(row.entries, f) <= 1, `${where}: field ${f}`);
      for (const e of row.entries) {
        note(e);
        const history = (HISTORY_FIELDS as readonly string[]).includes(e.field);
        assert.ok(history || e.field === '101' || (PROFILE_FIELDS as readonly string[]).includes(e.field), `${where}: field ${e.field}`);
        if (history) assert.equal(e.value, formatLogCount(Math.round(Math.exp(Number(e.value)))), `${where}: value ${e.value}`);
        else assert.equal(e.value, '1.0', where);
      }
    }
    for (const row of skeleton) {
      const where = `${split} sample ${row.sampleId}`;
      const es = row.entries;
      for (const f of ['205', '206', '207', '216', '301']) assert.equal(countOf(es, f), 1, `${where}: field ${f}`);
      assert.ok(countOf(es, '210') >= 1);
      for (const f of ['508', '509', '702']) assert.ok(countOf(es, f) <= 1, `${where}: field ${f}`);
      assert.ok(countOf(es, '853') <= countOf(es, '210'), where);
      assert.ok(es.length >= 6 && es.length <= 20, `${where}: ${es.length} entries`);
      for (const e of es) {
        note(e);
        const combination = (COMBINATION_FIELDS as readonly string[]).includes(e.field);
        assert.ok(combination || ['205', '301', ...ITEM_ENTITY_FIELDS].includes(e.field), `${where}: field ${e.field}`);
        if (!combination) assert.equal(e.value, '1.0', where);
      }
    }
    // Globally encoded ids: no id appears in two fields.
    const owner = new Map<number, string>();
    for (const [field, ids] of fieldsSeen) {
      for (const id of ids) {
        assert.ok(!owner.has(id), `id ${id} is in fields ${owner.get(id)} and ${field}`);
        owner.set(id, field);
      }
    }
    // Truth: a header, then one row per skeleton row, same sample ids, probabilities in (0, 1).
    assert.equal(truth[0], TRUTH_HEADER);
    assert.equal(truth.length, skeleton.length + 1);
    let sumPClick = 0;
    truth.slice(1).forEach((line, n) => {
      const [id, pClick, pConv, ...rest] = line.split(',');
      assert.equal(rest.length, 0);
      assert.equal(id, String(n + 1), `truth row ${n + 1}`);
      for (const p of [pClick, pConv]) assert.match(p!, /^[01]\.\d{10}$/, `truth row ${n + 1}`);
      assert.ok(Number(pClick) > 0 && Number(pClick) < 1 && Number(pConv) > 0 && Number(pConv) < 1);
      sumPClick += Number(pClick);
    });
    assert.ok(Math.abs(sumPClick / skeleton.length - s.meanPClick) < 1e-6);
  }
});

test('combination features: present exactly when the history has the item entity, with its count', async () => {
  // With shared entity ids, 109_14 category c and 206 category c are the same id: easy to join.
  const { dir } = await generate('combos', { train: 3000, test: 0, seed: 3, sharedEntityIds: true });
  const { common, skeleton } = readSplit(dir, 'train');
  const pairs = [
    ['206', '109_14', '508'],
    ['207', '110_14', '509'],
    ['216', '127_14', '702'],
    ['210', '150_14', '853'],
  ] as const;
  let combos = 0;
  for (const row of skeleton) {
    const history = common.get(row.index)!.entries;
    for (const [itemField, historyField, comboField] of pairs) {
      const expected = row.entries
        .filter((e) => e.field === itemField)
        .map((e) => history.find((h) => h.field === historyField && h.id === e.id)?.value)
        .filter((v): v is string => v !== undefined);
      const got = row.entries.filter((e) => e.field === comboField).map((e) => e.value);
      assert.deepEqual(got, expected, `sample ${row.sampleId}: ${comboField}`);
      combos += got.length;
    }
  }
  assert.ok(combos > skeleton.length, `only ${combos} combination entries`);
});

test('statistics of a 50k-impression split look like Ali-CCP', async () => {
  const { dir, summary } = await generate('stats', { train: 50_000, test: 0, seed: 12 });
  const s = summary.train;
  const ctr = s.clicks / s.impressions;
  assert.ok(ctr > 0.03 && ctr < 0.05, `CTR ${ctr}`);
  const cvr = s.conversions / s.clicks;
  assert.ok(cvr > 0.03 && cvr < 0.075, `CVR among clicks ${cvr}`);
  assert.ok(s.meanPConvGivenClickAmongClicked > 1.3 * s.meanPConvGivenClick, 'no selection bias in the summary');
  const { common, skeleton } = readSplit(dir, 'train');
  let historyEntries = 0;
  let allEntries = 0;
  for (const row of common.values()) {
    assert.ok(row.entries.length >= 7 && row.entries.length <= 1000, `${row.entries.length} entries in a common row`);
    allEntries += row.entries.length;
    historyEntries += row.entries.filter((e) => e.field.endsWith('_14')).length;
  }
  assert.ok(historyEntries > 0.6 * allEntries, `history entries ${historyEntries} of ${allEntries}`);
  assert.ok(allEntries / common.size > 50, `mean common entries ${allEntries / common.size}`);
  const perIndex = skeleton.length / common.size;
  assert.ok(perIndex >= 15 && perIndex <= 60, `${perIndex} impressions per common row`);
  // Several 210 intentions per item for some rows, and some combination fields, as in the real rows.
  assert.ok(skeleton.some((r) => countOf(r.entries, '210') >= 3));
  assert.ok(skeleton.filter((r) => countOf(r.entries, '508') === 1).length > 0.2 * skeleton.length);
});

test('an empty split still writes its files; bad options are refused with the reason', async () => {
  const { dir, summary } = await generate('empty', { train: 500, test: 0, seed: 1 });
  assert.equal(summary.test.impressions, 0);
  assert.equal(readFileSync(join(dir, 'sample_skeleton_test.csv')).length, 0);
  assert.equal(readFileSync(join(dir, 'truth_test.csv'), 'latin1'), TRUTH_HEADER + '\n');
  const base = { outDir: join(root, 'bad'), train: 10, test: 10, seed: 1 };
  await assert.rejects(generateDataset({ ...base, train: 0, test: 0 }), /both 0/);
  await assert.rejects(generateDataset({ ...base, train: 1.5 }), /train must be a whole number/);
  await assert.rejects(generateDataset({ ...base, ctr: 1.2 }), /ctr must be in \(0, 1\)/);
  await assert.rejects(generateDataset({ ...base, seed: -1 }), /seed must be an integer/);
  assert.equal(existsSync(base.outDir), false);
});

test('progress reports count up to each split total', async () => {
  const seen: { split: string; written: number; total: number }[] = [];
  await generateDataset({ outDir: join(root, 'progress'), train: 3000, test: 1000, seed: 2, onProgress: (p) => seen.push(p) });
  for (const split of SPLITS) {
    const mine = seen.filter((p) => p.split === split);
    assert.ok(mine.length >= 1);
    assert.deepEqual(mine.at(-1), { split, written: split === 'train' ? 3000 : 1000, total: split === 'train' ? 3000 : 1000 });
    for (let i = 1; i < mine.length; i++) assert.ok(mine[i]!.written >= mine[i - 1]!.written);
  }
});

function sum(a: number[]): number {
  return a.reduce((x, y) => x + y, 0);
}
