import { ProtoWriter } from './protobuf.js';

/** ONNX TensorProto.DataType codes. */
export const OnnxDataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
} as const;
export type OnnxDataTypeName = keyof typeof OnnxDataType;

/** A dimension is fixed (number) or symbolic (string, e.g. "batch"). */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  elemType: OnnxDataTypeName;
  shape: readonly Dim[];
}

export type TensorValues =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | readonly string[];

export interface Initializer {
  name: string;
  elemType: OnnxDataTypeName;
  dims: readonly number[];
  /** Numeric values are stored little-endian in raw_data; BOOL uses a Uint8Array of 0/1. */
  values: TensorValues;
}

export type AttributeValue =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'ints'; value: readonly number[] };

export interface NodeSpec {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attributes?: Readonly<Record<string, AttributeValue>>;
}

export interface GraphSpec {
  name: string;
  nodes: readonly NodeSpec[];
  inputs: readonly ValueInfo[];
  outputs: readonly ValueInfo[];
  initializers?: readonly Initializer[];
}

export interface ModelSpec {
  graph: GraphSpec;
  /** Default opset 17: every operator the writer's users need is stable there. */
  opsetVersion?: number;
  irVersion?: number;
  producerName?: string;
  docString?: string;
}

const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function writeValueInfo(w: ProtoWriter, info: ValueInfo): void {
  w.string(1, info.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, OnnxDataType[info.elemType]);
      tensor.message(2, (shape) => {
        for (const dim of info.shape) {
          shape.message(1, (d) => (typeof dim === 'number' ? d.int(1, dim) : d.string(2, dim)));
        }
      });
    }),
  );
}

function rawBytes(values: Exclude<TensorValues, readonly string[]>): Uint8Array {
  if (!littleEndian) throw new Error('the ONNX writer requires a little-endian host');
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

function writeInitializer(w: ProtoWriter, init: Initializer): void {
  w.packedInts(1, init.dims);
  w.int(2, OnnxDataType[init.elemType]);
  w.string(8, init.name);
  if (init.elemType === 'STRING') {
    if (!Array.isArray(init.values)) throw new Error(`initializer ${init.name}: STRING values must be a string array`);
    for (const s of init.values as readonly string[]) w.string(6, s);
  } else {
    if (Array.isArray(init.values)) throw new Error(`initializer ${init.name}: numeric values must be a typed array`);
    w.bytes(9, rawBytes(init.values as Exclude<TensorValues, readonly string[]>));
  }
}

function writeAttribute(w: ProtoWriter, name: string, attr: AttributeValue): void {
  w.string(1, name);
  switch (attr.kind) {
    case 'float':
      w.float(2, attr.value).int(20, AttributeType.FLOAT);
      break;
    case 'int':
      w.int(3, attr.value).int(20, AttributeType.INT);
      break;
    case 'string':
      w.string(4, attr.value).int(20, AttributeType.STRING);
      break;
    case 'floats':
      w.packedFloats(7, attr.value).int(20, AttributeType.FLOATS);
      break;
    case 'ints':
      w.packedInts(8, attr.value).int(20, AttributeType.INTS);
      break;
  }
}

function writeNode(w: ProtoWriter, node: NodeSpec): void {
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  if (node.name) w.string(3, node.name);
  w.string(4, node.opType);
  for (const [name, attr] of Object.entries(node.attributes ?? {})) w.message(5, (a) => writeAttribute(a, name, attr));
}

/** Serialises a model to ONNX protobuf bytes, ready for onnxruntime or a file. */
export function encodeModel(spec: ModelSpec): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, spec.irVersion ?? 8);
  w.string(2, spec.producerName ?? 'slipway');
  if (spec.docString) w.string(6, spec.docString);
  w.message(7, (g) => {
    for (const node of spec.graph.nodes) g.message(1, (n) => writeNode(n, node));
    g.string(2, spec.graph.name);
    for (const init of spec.graph.initializers ?? []) g.message(5, (t) => writeInitializer(t, init));
    for (const input of spec.graph.inputs) g.message(11, (v) => writeValueInfo(v, input));
    for (const output of spec.graph.outputs) g.message(12, (v) => writeValueInfo(v, output));
  });
  w.message(8, (opset) => opset.string(1, '').int(2, spec.opsetVersion ?? 17));
  return w.finish();
}
