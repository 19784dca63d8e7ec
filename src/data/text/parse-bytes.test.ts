import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../util/rng.js';
import { FLOAT32_MAX, parseDecimal, parseLabel, parseUnsigned, showBytes } from './parse-bytes.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const dec = (s: string): number => parseDecimal(b(s), 0, s.length);

test('parseDecimal equals Number() on the forms the datasets use', () => {
  for (const s of ['1.0', '0.69315', '1.94591', '0', '-0.5', '+2', '12345678', '1e-05', '2.5E+3', '.5', '3.', '0.000001', '9.999999']) {
    assert.equal(dec(s), Number(s), s);
  }
});

test('parseDecimal is exact (same double as Number) on random decimals, long mantissas included', () => {
  const rng = new Rng(7);
  for (let n = 0; n < 20000; n++) {
    const intDigits = rng.int(12);
    const fracDigits = rng.int(20);
    let s = rng.int(2) ? '-' : '';
    for (let i = 0; i < intDigits; i++) s += String(rng.int(10));
    if (fracDigits > 0 || intDigits === 0) {
      s += '.';
      for (let i = 0; i < Math.max(1, fracDigits); i++) s += String(rng.int(10));
    }
    if (rng.int(5) === 0) s += 'e' + (rng.int(2) ? '-' : '') + String(rng.int(40));
    assert.equal(dec(s), Number(s), s);
  }
});

test('parseDecimal: the one-pass path (digits, one dot, up to 15 digits) equals Number() at and around its limits', () => {
  const rng = new Rng(19);
  for (let n = 0; n < 20000; n++) {
    const digits = 1 + rng.int(17); // 16 and 17 digits leave the fast path
    let s = '';
    for (let i = 0; i < digits; i++) s += String(rng.int(10));
    const dot = rng.int(digits + 2); // digits + 1: no dot
    if (dot <= digits) s = s.slice(0, dot) + '.' + s.slice(dot);
    assert.equal(dec(s), Number(s), s);
  }
  for (const s of ['0', '0.0', '5.', '.5', '000123.4500', '999999999999999', '99999999999999.9', '9999999999999999']) assert.equal(dec(s), Number(s), s);
});

test('parseDecimal rejects what is not a plain decimal (NaN), where Number() would accept it', () => {
  for (const s of ['', ' ', '-', '.', 'e5', '1e', '1e+', '0x10', 'inf', 'Infinity', 'nan', ' 1', '1 ', '1,5', '1.2.3', '--1', '1\x03']) {
    assert.ok(Number.isNaN(dec(s)), JSON.stringify(s));
  }
});

test('parseDecimal reads inside a larger buffer and returns Infinity for overflow', () => {
  const buf = b('xx0.69315yy');
  assert.equal(parseDecimal(buf, 2, 9), 0.69315);
  assert.equal(dec('1e999'), Infinity);
  assert.ok(dec('3.5e38') > FLOAT32_MAX);
});

test('parseUnsigned: digits only, exact to 2^53', () => {
  assert.equal(parseUnsigned(b('0'), 0, 1), 0);
  assert.equal(parseUnsigned(b('42300135'), 0, 8), 42300135);
  assert.equal(parseUnsigned(b('9007199254740991'), 0, 16), 9007199254740991);
  for (const s of ['', '-1', '+1', '1.0', '12a', '9007199254740993', '12345678901234567']) {
    assert.equal(parseUnsigned(b(s), 0, s.length), -1, s);
  }
});

test('parseLabel: 0/1 (also written as floats), -1 for anything else', () => {
  const lab = (s: string): number => parseLabel(b(s), 0, s.length);
  assert.equal(lab('0'), 0);
  assert.equal(lab('1'), 1);
  assert.equal(lab('1.0'), 1);
  assert.equal(lab('0.0'), 0);
  for (const s of ['2', '', 'x', '0.5', '-1', '01x']) assert.equal(lab(s), -1, s);
});

test('showBytes escapes separators and cuts long slices', () => {
  assert.equal(showBytes(b('210\x029052218\x031.0'), 0, 15), '210\\x029052218\\x031.0');
  assert.equal(showBytes(b('abcdefgh'), 0, 8, 3), 'abc...');
});
