import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../util/rng.js';
import { featureKey } from '../text/feature-key.js';
import { FeatureRowsBuilder } from './feature-rows-builder.js';
import { FieldDictionary } from './field-dictionary.js';
import { parseDecimal } from '../text/parse-bytes.js';
import { RawFeatureListParser } from './raw-feature-list.js';
import { MAX_ROW_ENTRIES } from '../text/read-lines.js';

const ID_FORMS = ['0', '7', '9052218', '999999999', '1000000000', '2147483648', '4294967294', '4294967295', '-1', '007', '12345678901', 'abc', '3e5', '-5', '99999999999999999999'];
const VALUE_FORMS = ['1.0', '0.69315', '1', '.5', '3.', '-0.25', '+2', '1e-05', '2.5E+3', '0.000000000000000000001', '1234567890.123456789', '0', '123456789012345', '123456789', '1234567890', '0.123456789', '1234.56789', '12345.678901'];

test('the fused id/value scanning gives exactly featureKey and parseDecimal results', () => {
  const rng = new Rng(3);
  const text: string[] = [];
  const expected: [string, string, string][] = [];
  for (let i = 0; i < 5000; i++) {
    const field = ['101', '109_14', '210', 'x'][rng.int(4)]!;
    const id = rng.int(3) === 0 ? ID_FORMS[rng.int(ID_FORMS.length)]! : String(rng.nextU32());
    const value = rng.int(2) === 0 ? VALUE_FORMS[rng.int(VALUE_FORMS.length)]! : (rng.next() * 10).toFixed(rng.int(9));
    text.push(`${field}\x02${id}\x03${value}`);
    expected.push([field, id, value]);
  }
  const buf = Buffer.from(text.join('\x01'), 'latin1');
  const fields = new FieldDictionary();
  const rows = new FeatureRowsBuilder();
  assert.equal(new RawFeatureListParser(fields).parse(buf, 0, buf.length, rows, MAX_ROW_ENTRIES), expected.length);
  expected.forEach(([field, id, value], e) => {
    const idBytes = Buffer.from(id, 'latin1');
    const valueBytes = Buffer.from(value, 'latin1');
    assert.equal(fields.names[rows.fields[e]!], field);
    assert.equal(rows.keys[e], featureKey(idBytes, 0, idBytes.length), id);
    assert.equal(rows.values[e], Math.fround(parseDecimal(valueBytes, 0, valueBytes.length)), value);
  });
});

test('bad entries stop the parse with a detail naming the entry', () => {
  const cases: [string, string, RegExp][] = [
    ['210\x025\x031.0\x01216\x036', 'bad_feature', /^entry 2: no 0x02 after the field name: "216\\x036"$/],
    ['210\x025\x021.0', 'bad_feature', /^entry 1: no 0x03 after the id/],
    ['210\x02\x031.0', 'bad_feature', /^entry 1: empty id/],
    ['\x025\x031.0', 'bad_feature', /^entry 1: empty field name/],
    ['210\x025\x031.0\x01', 'bad_feature', /^entry 2: no 0x02/],
    ['210\x025\x03', 'bad_feature', /^entry 1: value "" is not a finite number/],
    ['210\x025\x031,0', 'bad_feature', /value "1,0" is not a finite number/],
    ['210\x025\x03NaN', 'bad_feature', /value "NaN"/],
  ];
  for (const [text, kind, detail] of cases) {
    const parser = new RawFeatureListParser(new FieldDictionary());
    const buf = Buffer.from(text, 'latin1');
    assert.equal(parser.parse(buf, 0, buf.length, new FeatureRowsBuilder(), MAX_ROW_ENTRIES), -1, JSON.stringify(text));
    assert.equal(parser.failKind, kind);
    assert.match(parser.failDetail, detail);
  }
  const empty = new RawFeatureListParser(new FieldDictionary());
  assert.equal(empty.parse(Buffer.alloc(0), 0, 0, new FeatureRowsBuilder(), MAX_ROW_ENTRIES), 0, 'an empty list has no entries');
});

test('entries beyond maxEntries are counted, not stored; a trailing 0x01 at the limit is still a bad entry', () => {
  const list = Array.from({ length: 50 }, (_, i) => `210\x02${i}\x031.0`).join('\x01');
  const buf = Buffer.from(list, 'latin1');
  const rows = new FeatureRowsBuilder();
  assert.equal(new RawFeatureListParser(new FieldDictionary()).parse(buf, 0, buf.length, rows, 3), 50);
  assert.equal(rows.pending, 3, 'only the first three entries were pushed');
  const trailing = Buffer.from('210\x025\x031.0\x01', 'latin1');
  const parser = new RawFeatureListParser(new FieldDictionary());
  assert.equal(parser.parse(trailing, 0, trailing.length, new FeatureRowsBuilder(), 1), -1);
  assert.match(parser.failDetail, /^entry 2: no 0x02/);
});

test('the field cache resolves every name as the dictionary does: collisions, long names, any order', () => {
  const rng = new Rng(11);
  // Names that share their last 4 bytes, names longer than the 8 packed bytes, bytes above 0x7f.
  const names = ['110_14', '150_14', '109_14', '9_14', '0_14', 'a_much_longer_name', 'b_much_longer_name', '\xff\x80x', '210'];
  for (let i = 0; i < 150; i++) names.push(String(100 + rng.int(900)) + (rng.int(3) === 0 ? '_' + String(rng.int(99)) : ''));
  const lists: string[][] = [];
  for (let l = 0; l < 300; l++) lists.push(Array.from({ length: 1 + rng.int(20) }, () => names[rng.int(names.length)]!));
  const fields = new FieldDictionary();
  const parser = new RawFeatureListParser(fields);
  const reference = new FieldDictionary();
  for (const list of lists) {
    const buf = Buffer.from(list.map((f, i) => `${f}\x02${i}\x031`).join('\x01'), 'latin1');
    const rows = new FeatureRowsBuilder();
    assert.equal(parser.parse(buf, 0, buf.length, rows, MAX_ROW_ENTRIES), list.length);
    list.forEach((f, e) => assert.equal(rows.fields[e], reference.indexOfName(f), f));
  }
  assert.deepEqual(fields.names, reference.names);
});

test('after the dictionary forgets names (a dropped row), their indices are not taken from the field cache', () => {
  const fields = new FieldDictionary();
  const parser = new RawFeatureListParser(fields);
  const parse = (text: string): number[] => {
    const buf = Buffer.from(text, 'latin1');
    const rows = new FeatureRowsBuilder();
    assert.equal(parser.parse(buf, 0, buf.length, rows, MAX_ROW_ENTRIES), text.split('\x01').length);
    return Array.from(rows.fields.subarray(0, rows.pending));
  };
  assert.deepEqual(parse('101\x021\x031'), [0]);
  const mark = fields.mark();
  assert.deepEqual(parse('101\x021\x031\x01205\x022\x031'), [0, 1]);
  fields.rollback(mark); // the caller dropped that row: "205" is gone, index 1 is free again
  assert.deepEqual(parse('301\x023\x031\x01205\x024\x031\x01101\x025\x031'), [1, 2, 0]);
  assert.deepEqual(fields.names, ['101', '301', '205']);
});

test('commaSeen: a list that parses whole reports a comma exactly when it holds one', () => {
  const rng = new Rng(23);
  const pick = (forms: string[]): string => forms[rng.int(forms.length)]!;
  const fields = new FieldDictionary();
  const parser = new RawFeatureListParser(fields);
  let withComma = 0;
  for (let l = 0; l < 2000; l++) {
    const entries = Array.from({ length: 1 + rng.int(8) }, () => {
      const comma = rng.int(12) === 0;
      const field = comma ? pick(['2,10', 'a_long,field', ',']) : pick(['210', '216', '109_14', 'a_long_field_name']);
      const id = comma && rng.int(2) ? pick(['5,6', ',', '123,']) : pick(['5', '9052218', 'abc', '007']);
      const value = comma && rng.int(2) ? pick(['1,0', ',5']) : pick(['1.0', '0.69315', '1e-05', '-2']);
      return `${field}\x02${id}\x03${value}`;
    });
    const text = entries.join('\x01');
    const buf = Buffer.from(text, 'latin1');
    const rows = new FeatureRowsBuilder();
    const mark = fields.mark();
    const count = parser.parse(buf, 0, buf.length, rows, MAX_ROW_ENTRIES);
    if (count === entries.length) {
      assert.equal(parser.commaSeen, text.includes(','), JSON.stringify(text));
      if (parser.commaSeen) withComma++;
    }
    if (rng.int(3) === 0) fields.rollback(mark); // as a reader dropping the row
  }
  assert.ok(withComma > 100, `${withComma} lists with commas parsed whole`);
});
