/**
 * Serializes a Graph to ONNX bytes that onnxruntime loads.
 *
 * Opset 18 (ir_version 8): from opset 18 on, every Reduce* op takes its axes as an input, like
 * Squeeze/Unsqueeze/Split already do since 13, so the builder has one convention for all of them.
 */
import { ONNX_ELEM_CODE, STOP_GRADIENT, type Attr, type Graph, type GraphNode, type InitializerData } from './graph.js';
import {
  AttributeType,
  ModelProto,
  type AttributeMessage,
  type GraphMessage,
  type ModelMessage,
  type NodeMessage,
  type ValueInfoMessage,
} from './onnx-schema.js';

export const OPSET_VERSION = 18;
export const IR_VERSION = 8;
export const PRODUCER = 'esmm-ts';

/** Versions of the operator sets besides the default one that graphs may use. */
export const DOMAIN_OPSETS: Readonly<Record<string, number>> = {
  // LabelEncoder-2 (int64 → int64) is the newest LabelEncoder of ai.onnx.ml opset 3.
  'ai.onnx.ml': 3,
};

export function toOnnxModel(graph: Graph, docString?: string): Uint8Array {
  const domains = [...new Set(graph.nodes.flatMap((n) => (n.domain ? [n.domain] : [])))];
  const message: ModelMessage & { doc_string?: string } = {
    ir_version: IR_VERSION,
    opset_import: [
      { domain: '', version: OPSET_VERSION },
      ...domains.map((domain) => {
        const version = DOMAIN_OPSETS[domain];
        if (version === undefined) throw new Error(`graph '${graph.name}' uses operator set '${domain}', which has no known version`);
        return { domain, version };
      }),
    ],
    producer_name: PRODUCER,
    producer_version: '1',
    graph: graphMessage(graph),
    ...(docString ? { doc_string: docString } : {}),
  };
  return ModelProto.encode(message).finish();
}

/** The GraphProto message of a graph (for callers that assemble a model from several graphs). */
export function graphMessage(graph: Graph): GraphMessage {
  const valueInfo = (name: string): ValueInfoMessage => {
    const t = graph.types.get(name);
    if (!t) throw new Error(`graph '${graph.name}': no type for '${name}'`);
    const dim = t.shape.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d }));
    return { name, type: { tensor_type: { elem_type: ONNX_ELEM_CODE[t.elem], shape: { dim } } } };
  };
  return {
    name: graph.name,
    node: graph.nodes.map(nodeMessage),
    initializer: [...graph.initializers.values()].map((init) => ({
      name: init.name,
      dims: [...init.dims],
      data_type: ONNX_ELEM_CODE[elemOf(init.data)],
      raw_data: littleEndianBytes(init.data),
    })),
    input: graph.inputs.map(valueInfo),
    output: graph.outputs.map(valueInfo),
  };
}

function nodeMessage(node: GraphNode, index: number): NodeMessage {
  return {
    input: [...node.inputs],
    output: [...node.outputs],
    name: `${node.op}_${index}`,
    op_type: node.op === STOP_GRADIENT ? 'Identity' : node.op,
    domain: node.domain ?? '',
    attribute: Object.entries(node.attrs).map(([name, a]) => attributeMessage(name, a)),
  };
}

function attributeMessage(name: string, a: Attr): AttributeMessage {
  switch (a.kind) {
    case 'int':
      return { name, type: AttributeType.INT, i: a.value };
    case 'float':
      return { name, type: AttributeType.FLOAT, f: a.value };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: [...a.value] };
  }
}

function elemOf(data: InitializerData): 'float' | 'double' | 'int64' {
  if (data instanceof Float32Array) return 'float';
  if (data instanceof Float64Array) return 'double';
  return 'int64';
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** ONNX raw_data is little-endian; typed arrays use the host order. */
function littleEndianBytes(data: InitializerData): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error('ONNX serialization needs a little-endian host');
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
