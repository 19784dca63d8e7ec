import test from 'node:test';
import assert from 'node:assert/strict';
import { BodyError, nestingBeyond, parseJsonBody } from './request-body.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

test('nesting depth counts brackets outside strings only', () => {
  assert.equal(nestingBeyond(bytes('{"instances": [{"205": [[1, 2]]}]}'), 5), -1);
  assert.equal(nestingBeyond(bytes('{"instances": [{"205": [[1, 2]]}]}'), 4), 24);
  assert.equal(nestingBeyond(bytes('["[[[[[[", "\\"[[[[["]'), 1), -1);
  assert.equal(nestingBeyond(bytes('[[[]]]'), 2), 2);
});

test('bodies are parsed, or refused with what is wrong', () => {
  assert.deepEqual(parseJsonBody(bytes('{"instances": [{}]}'), 8), { instances: [{}] });
  const refused: [Uint8Array, RegExp][] = [
    [bytes(''), /empty request body/],
    [Uint8Array.of(0x7b, 0xff, 0x7d), /not valid UTF-8/],
    [bytes('{"instances": [}'), /^invalid JSON: /],
    [bytes('['.repeat(100_000)), /^invalid JSON: nested deeper than 8 levels \(at byte 8\)$/],
  ];
  for (const [body, message] of refused) {
    assert.throws(() => parseJsonBody(body, 8), (e: unknown) => e instanceof BodyError && message.test(e.message));
  }
});
