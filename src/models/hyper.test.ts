import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flagText, hyperHelp, layers, parseFlagValue, real } from './hyper.js';

test('an empty layer list is shown and taken as `none`; other values as a flag takes them', () => {
  const schema = { tower: layers([], 'hidden layer sizes of each task tower', { allowEmpty: true }), bottom: layers([128, 128], 'the shared MLP'), alpha: real(0.6, 'weight', { min: 0, max: 1 }) };
  const [tower, bottom, alpha] = hyperHelp(schema);
  assert.match(tower!, /--tower W,W,\.\.\.\|none\s+hidden layer sizes of each task tower \(default none\)$/);
  assert.match(bottom!, /--bottom W,W,\.\.\.\s+the shared MLP \(default 128,128\)$/);
  assert.match(alpha!, /\(default 0\.6\)$/);
  assert.deepEqual(parseFlagValue('tower', schema.tower, 'none', 'test'), []);
  assert.deepEqual(parseFlagValue('tower', schema.tower, '', 'test'), []);
  assert.throws(() => parseFlagValue('bottom', schema.bottom, 'none', 'test'), /bottom \(--bottom\) needs at least one layer/);
  assert.deepEqual([flagText([]), flagText([8, 4]), flagText('mmoe'), flagText(0.5)], ['none', '8,4', 'mmoe', '0.5']);
});
