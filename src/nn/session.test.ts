import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraphBuilder } from './graph.js';
import { toOnnxModel } from './onnx.js';
import { OrtSession } from './session.js';
import { BATCH } from './shape.js';

function twoOutputs(): Uint8Array {
  const b = new GraphBuilder('two', 'float');
  const x = b.input('x', [BATCH, 2]);
  const y = b.input('y', [2]);
  b.add(x, y, 'sum');
  b.mul(x, y, 'product');
  b.output('sum');
  b.output('product');
  return toOnnxModel(b.build());
}

test('run fetches every output, or only the named ones', async () => {
  const s = await OrtSession.create(twoOutputs(), { threads: 1 });
  try {
    const feeds = { x: { data: Float32Array.of(1, 2, 3, 4), dims: [2, 2] }, y: { data: Float32Array.of(10, 100), dims: [2] } };
    const all = await s.run(feeds);
    assert.deepEqual(Object.keys(all).sort(), ['product', 'sum']);
    assert.deepEqual(Array.from(all.sum!.data), [11, 102, 13, 104]);
    assert.deepEqual(all.sum!.dims, [2, 2]);
    const some = await s.run(feeds, ['product']);
    assert.deepEqual(Object.keys(some), ['product']);
    assert.deepEqual(Array.from(some.product!.data), [10, 200, 30, 400]);
    // Feeds are wrapped, not copied: a view into a larger buffer works as is.
    const big = Float32Array.of(9, 9, 1, 2, 3, 4);
    const viewed = await s.run({ ...feeds, x: { data: big.subarray(2), dims: [2, 2] } }, ['sum']);
    assert.deepEqual(Array.from(viewed.sum!.data), [11, 102, 13, 104]);
  } finally {
    await s.release();
  }
});

test('a feed whose length does not match its dims is refused with its name', async () => {
  const s = await OrtSession.create(twoOutputs(), { threads: 1 });
  try {
    await assert.rejects(
      s.run({ x: { data: new Float32Array(3), dims: [2, 2] }, y: { data: new Float32Array(2), dims: [2] } }),
      /feed 'x': 3 values for dims \[2, 2\] \(4 expected\)/,
    );
  } finally {
    await s.release();
  }
  await assert.rejects(OrtSession.create(twoOutputs(), { threads: 0 }), /threads must be a positive integer/);
});
