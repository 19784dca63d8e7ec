import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOG_COUNT, LOG_COUNT_BYTES, MAX_COUNT, ONE_VALUE_BYTES, formatLogCount } from './log-values.js';

test('log counts are formatted like the real logs', () => {
  assert.equal(formatLogCount(2), '0.69315');
  assert.equal(formatLogCount(7), '1.94591');
  assert.equal(formatLogCount(4), '1.38629');
  assert.equal(formatLogCount(10), '2.30259');
  assert.equal(formatLogCount(1), '0.0');
  assert.equal(Buffer.from(ONE_VALUE_BYTES).toString('latin1'), '1.0');
});

test('every precomputed value has at most 5 decimals and parses back to ln(count)', () => {
  for (let c = 1; c <= MAX_COUNT; c++) {
    const text = Buffer.from(LOG_COUNT_BYTES[c]!).toString('latin1');
    assert.match(text, /^\d+\.\d{1,5}$/, `count ${c}`);
    assert.ok(Math.abs(Number(text) - Math.log(c)) <= 5e-6, `count ${c}: ${text}`);
    assert.equal(LOG_COUNT[c], Math.log(c));
  }
  assert.equal(LOG_COUNT[0], 0);
});
