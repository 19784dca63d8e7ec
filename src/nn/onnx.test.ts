import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraphBuilder } from './graph.js';
import { IR_VERSION, OPSET_VERSION, toOnnxModel } from './onnx.js';
import { ModelProto } from './onnx-schema.js';
import { OrtSession } from './session.js';
import { BATCH } from './shape.js';

/** p = sigmoid(x · W + b) with W, b baked in; relu(x) - 1 as a second output. */
function model(): Uint8Array {
  const b = new GraphBuilder('layer', 'float');
  const x = b.input('x', [BATCH, 3]);
  const w = b.initializer('W', Float32Array.of(1, -1, 0.5, 2, -0.25, 0), [3, 2]);
  const bias = b.initializer('b', Float32Array.of(0.1, -0.2), [2]);
  b.sigmoid(b.gemm(x, w, bias), 'p');
  b.sub(b.relu(x), b.scalar(1), 'shifted');
  b.output('p');
  b.output('shifted');
  return toOnnxModel(b.build());
}

test('a serialized model runs in onnxruntime and matches a hand computation', async () => {
  const session = await OrtSession.create(model(), { threads: 1 });
  try {
    assert.deepEqual(session.inputNames, ['x']);
    assert.deepEqual(session.outputNames, ['p', 'shifted']);
    const W = [
      [1, -1],
      [0.5, 2],
      [-0.25, 0],
    ];
    const bias = [0.1, -0.2];
    for (const rows of [[[1, 2, 3]], [[0.5, -1, 2], [-3, 0.25, 4], [0, 0, 0]]]) {
      const x = Float32Array.from(rows.flat());
      const out = await session.run({ x: { data: x, dims: [rows.length, 3] } });
      assert.deepEqual(out.p!.dims, [rows.length, 2]);
      const expected = rows.flatMap((r) =>
        [0, 1].map((j) => 1 / (1 + Math.exp(-(r[0]! * W[0]![j]! + r[1]! * W[1]![j]! + r[2]! * W[2]![j]! + bias[j]!)))),
      );
      Array.from(out.p!.data).forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `p[${i}] = ${v}, expected ${expected[i]}`));
      assert.deepEqual(Array.from(out.shifted!.data), rows.flat().map((v) => Math.max(v, 0) - 1));
    }
  } finally {
    await session.release();
  }
});

test('the model header carries the ir_version, the opset, and a symbolic batch', () => {
  const bytes = model();
  // Field 1 (ir_version) is the first varint: tag 0x08, then the value.
  assert.deepEqual(Array.from(bytes.subarray(0, 2)), [0x08, IR_VERSION]);
  type Dim = { dim_param?: string; dim_value?: number };
  type Input = { type: { tensor_type: { elem_type: number; shape: { dim: Dim[] } } } };
  const m = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number }) as {
    opset_import: { domain?: string; version: number }[];
    graph: { input: Input[]; initializer: { name: string; raw_data: Uint8Array }[] };
  };
  assert.equal(m.opset_import[0]!.version, OPSET_VERSION);
  assert.deepEqual(m.graph.input[0]!.type.tensor_type.shape.dim, [{ dim_param: 'batch' }, { dim_value: 3 }]);
  assert.equal(m.graph.input[0]!.type.tensor_type.elem_type, 1);
  const w = m.graph.initializer.find((i) => i.name === 'W')!;
  assert.deepEqual(Array.from(new Float32Array(new Uint8Array(w.raw_data).buffer)), [1, -1, 0.5, 2, -0.25, 0]);
});

test('double graphs and int64 constants serialize too', async () => {
  const b = new GraphBuilder('double', 'double');
  const x = b.input('x', [BATCH, 2]);
  b.reduceSum(b.reshape(x, [BATCH, 2, 1]), [1, 2], false, 'row_sum');
  b.output('row_sum');
  const session = await OrtSession.create(toOnnxModel(b.build()), { threads: 1 });
  try {
    const out = await session.run({ x: { data: Float64Array.of(0.1, 0.2, 1e-300, 3), dims: [2, 2] } });
    assert.ok(out.row_sum!.data instanceof Float64Array);
    assert.deepEqual(Array.from(out.row_sum!.data), [0.1 + 0.2, 3]);
  } finally {
    await session.release();
  }
});
