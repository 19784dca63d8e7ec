import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LineEvent, LineReader } from './line-reader.js';
import { tempDir } from '../testing.js';
import { DataError } from '../types.js';

type Seen = [lineNo: number, text: string] | [lineNo: number, 'TOO LONG'];

function readAll(path: string, options: { maxLineBytes?: number; chunkBytes?: number } = {}): { seen: Seen[]; maxBuffer: number } {
  const reader = new LineReader(path, options);
  const seen: Seen[] = [];
  let maxBuffer = 0;
  try {
    for (;;) {
      const event = reader.next();
      maxBuffer = Math.max(maxBuffer, reader.buf.length);
      if (event === LineEvent.Eof) break;
      if (event === LineEvent.TooLong) seen.push([reader.lineNo, 'TOO LONG']);
      else seen.push([reader.lineNo, reader.buf.toString('latin1', reader.start, reader.end)]);
    }
  } finally {
    reader.close();
  }
  return { seen, maxBuffer };
}

test('splits on \\n, strips \\r, skips blank lines but counts them in line numbers', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'a.txt');
    writeFileSync(path, 'one\r\ntwo\n\n\r\nthree\nfour');
    assert.deepEqual(readAll(path).seen, [[1, 'one'], [2, 'two'], [5, 'three'], [6, 'four']]);
    writeFileSync(path, 'x\n');
    assert.deepEqual(readAll(path).seen, [[1, 'x']]);
    writeFileSync(path, '');
    assert.deepEqual(readAll(path).seen, []);
  } finally {
    cleanup();
  }
});

test('lines crossing chunk boundaries come out whole (tiny buffer, growing for long lines)', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'a.txt');
    const lines = Array.from({ length: 300 }, (_, i) => 'x'.repeat((i * 37) % 3000) + `#${i}`);
    writeFileSync(path, lines.join('\r\n'));
    const { seen } = readAll(path, { chunkBytes: 1024 });
    assert.deepEqual(seen.map((s) => s[1]), lines);
    assert.deepEqual(seen.map((s) => s[0]), lines.map((_, i) => i + 1));
  } finally {
    cleanup();
  }
});

test('a gigantic line is skipped without being buffered, and reading goes on after it', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'a.txt');
    const giant = 'g'.repeat(3_000_000);
    writeFileSync(path, `short\n${giant}\nafter\n${'h'.repeat(101)}\r\n${'i'.repeat(100)}\r\nend-without-newline-${giant}`);
    const { seen, maxBuffer } = readAll(path, { maxLineBytes: 100, chunkBytes: 4096 });
    assert.deepEqual(seen, [[1, 'short'], [2, 'TOO LONG'], [3, 'after'], [4, 'TOO LONG'], [5, 'i'.repeat(100)], [6, 'TOO LONG']]);
    assert.equal(maxBuffer, 4096, 'the buffer never grew for the long lines');
  } finally {
    cleanup();
  }
});

test('a line of exactly maxLineBytes is accepted even when the buffer has to grow for it', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'a.txt');
    const line = 'z'.repeat(5000);
    writeFileSync(path, `${line}\r\n${line}z\n`);
    const { seen } = readAll(path, { maxLineBytes: 5000, chunkBytes: 1024 });
    assert.deepEqual(seen, [[1, line], [2, 'TOO LONG']]);
  } finally {
    cleanup();
  }
});

test('a missing file is a DataError of kind io naming the file', () => {
  assert.throws(() => new LineReader('/nonexistent/esmm.csv'), (e: unknown) => e instanceof DataError && e.kind === 'io' && e.message.startsWith('/nonexistent/esmm.csv:0: io:'));
});
