import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FieldDictionary, MAX_FIELDS } from './field-dictionary.js';

const idx = (d: FieldDictionary, s: string): number => {
  const buf = Buffer.from(`..${s}..`, 'latin1');
  return d.indexOf(buf, 2, 2 + s.length);
};

test('indices follow first appearance; short and long names; repeated lookups are stable', () => {
  const d = new FieldDictionary();
  assert.equal(idx(d, '210'), 0);
  assert.equal(idx(d, '210'), 0);
  assert.equal(idx(d, '109_14'), 1);
  assert.equal(idx(d, 'a_much_longer_field'), 2);
  assert.equal(idx(d, '210'), 0);
  assert.equal(idx(d, 'a_much_longer_field'), 2);
  assert.equal(idx(d, '21'), 3);
  assert.deepEqual(d.names, ['210', '109_14', 'a_much_longer_field', '21']);
});

test('rollback forgets names added after the mark (the last-lookup cache included)', () => {
  const d = new FieldDictionary();
  idx(d, '101');
  const mark = d.mark();
  idx(d, '205');
  idx(d, 'long_field_name');
  d.rollback(mark);
  assert.deepEqual(d.names, ['101']);
  assert.equal(idx(d, 'long_field_name'), 1);
  assert.equal(idx(d, '205'), 2);
});

test(`at most ${MAX_FIELDS} names: the next one is -1, known ones still resolve`, () => {
  const d = new FieldDictionary();
  for (let i = 0; i < MAX_FIELDS; i++) assert.equal(idx(d, `f${i}`), i);
  assert.equal(idx(d, 'one_too_many'), -1);
  assert.equal(idx(d, 'x'), -1);
  assert.equal(idx(d, 'f7'), 7);
  assert.equal(d.size, MAX_FIELDS);
});
