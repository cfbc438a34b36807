/**
 * Open Inference Protocol v2 (KServe v2 / Triton) REST request decoding and
 * response encoding, including Triton's binary tensor data extension.
 *
 * Decoding validates everything a model needs (names, datatypes, shapes,
 * element counts, value ranges) so that onnxruntime only ever sees
 * well-formed tensors, and every client mistake becomes a 400 that says
 * which input is wrong and what was expected.
 */
import { badRequest } from './errors.js';
import { DATATYPE_INFO, floatToHalfBits, halfBitsToFloat, isDatatype, type Datatype, type NumericArray, type TensorData, type TypedArrayClass } from './datatypes.js';
import { JsonSyntaxError, parseJsonExact, parseJsonFast, type JsonValue } from './json.js';

export interface TensorSpec {
  name: string;
  datatype: Datatype;
  /** -1 marks a dynamic dimension. */
  shape: readonly number[];
}

export interface ModelSignature {
  inputs: readonly TensorSpec[];
  outputs: readonly TensorSpec[];
}

export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: readonly number[];
  data: TensorData;
}

export interface RequestedOutput {
  name: string;
  binary: boolean;
}

export interface InferRequest {
  id?: string;
  /** Request-level parameters other than the binary extension's, echoed in the response. */
  parameters?: { [key: string]: JsonValue };
  /** In the model's input order. */
  inputs: Tensor[];
  outputs: RequestedOutput[];
}

export type JsonObject = { [key: string]: JsonValue };

const MAX_RANK = 32;
/** onnxruntime-node rejects larger dimensions as invalid; checking here makes that a 400, even for a zero-element tensor. */
export const MAX_DIMENSION = 2 ** 32 - 1;

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Short, safe rendering of a client value for error messages (never a whole body). */
function show(value: JsonValue | undefined): string {
  if (value === undefined) return 'nothing';
  const text = Array.isArray(value) ? `array of ${value.length}` : stringifyJson(value, 3);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** Thrown when JSON.parse may have rounded an integer that must be exact: decoding restarts with the exact parser. */
class InexactInteger extends Error {}

const MAX_PARAMETER_DEPTH = 16;

/** Parameters are echoed: they must be shallow enough to write back, and exact. */
function checkParameters(value: JsonValue, exact: boolean, depth = 0): void {
  if (depth > MAX_PARAMETER_DEPTH) throw badRequest(`"parameters" is nested deeper than ${MAX_PARAMETER_DEPTH} levels`);
  if (typeof value === 'number' && !exact && Number.isInteger(value) && !Number.isSafeInteger(value)) throw new InexactInteger();
  if (Array.isArray(value)) for (const item of value) checkParameters(item, exact, depth + 1);
  else if (isObject(value)) for (const item of Object.values(value)) checkParameters(item, exact, depth + 1);
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

function parseShape(value: JsonValue | undefined, where: string): number[] {
  if (!Array.isArray(value)) throw badRequest(`${where}: "shape" must be an array of non-negative integers, got ${show(value)}`);
  if (value.length > MAX_RANK) throw badRequest(`${where}: "shape" has ${value.length} dimensions, at most ${MAX_RANK} are supported`);
  for (const dim of value) {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      throw badRequest(`${where}: "shape" must be an array of non-negative integers, got ${show(value)}`);
    }
    if (dim > MAX_DIMENSION) throw badRequest(`${where}: "shape" dimension ${dim} is larger than ${MAX_DIMENSION}, the most onnxruntime accepts`);
  }
  return value as number[];
}

function checkAgainstSpec(spec: TensorSpec, datatype: Datatype, shape: readonly number[]): void {
  const where = `input "${spec.name}"`;
  if (datatype !== spec.datatype) throw badRequest(`${where}: expected datatype ${spec.datatype}, got ${datatype}`);
  const matches = shape.length === spec.shape.length && spec.shape.every((dim, i) => dim < 0 || dim === shape[i]);
  if (!matches) throw badRequest(`${where}: expected shape ${formatShape(spec.shape)}, got ${formatShape(shape)}`);
}

function flattenNested(data: JsonValue[], shape: readonly number[], where: string): JsonValue[] {
  const flat: JsonValue[] = [];
  const walk = (value: JsonValue, depth: number, path: string): void => {
    if (!Array.isArray(value) || value.length !== shape[depth]) {
      throw badRequest(`${where}: nested "data" does not match shape ${formatShape(shape)}: data${path} has ${Array.isArray(value) ? `${value.length} elements` : 'a scalar'}, expected ${shape[depth]}`);
    }
    if (depth === shape.length - 1) {
      for (let i = 0; i < value.length; i++) {
        if (Array.isArray(value[i])) throw badRequest(`${where}: nested "data" is deeper than shape ${formatShape(shape)} at data${path}[${i}]`);
        flat.push(value[i]!);
      }
      return;
    }
    value.forEach((item, i) => walk(item, depth + 1, `${path}[${i}]`));
  };
  if (shape.length === 0) throw badRequest(`${where}: nested "data" given for a scalar (shape [])`);
  walk(data, 0, '');
  return flat;
}

const NON_FINITE: Readonly<Record<string, number>> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

function elementError(where: string, index: number, expected: string, value: JsonValue | undefined): never {
  throw badRequest(`${where}: data[${index}] must be ${expected}, got ${show(value)}`);
}

function toFloat(value: JsonValue | undefined, where: string, index: number, datatype: Datatype): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value in NON_FINITE) return NON_FINITE[value]!;
  return elementError(where, index, `a number (or "NaN", "Infinity", "-Infinity") for ${datatype}`, value);
}

/** JSON values → the typed array onnxruntime takes, checking type and range of every element. */
function jsonToTensorData(datatype: Datatype, values: readonly JsonValue[], where: string, exact: boolean): TensorData {
  const n = values.length;
  const info = DATATYPE_INFO[datatype];
  switch (datatype) {
    case 'BYTES': {
      for (let i = 0; i < n; i++) {
        if (typeof values[i] !== 'string') elementError(where, i, 'a string for BYTES', values[i]);
        if ((values[i] as string).includes('\0')) throw nulInBytes(where, i);
      }
      return values as string[];
    }
    case 'BOOL': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'boolean') elementError(where, i, 'true or false for BOOL', v);
        out[i] = v ? 1 : 0;
      }
      return out;
    }
    case 'FP32':
    case 'FP64': {
      const out = datatype === 'FP32' ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        out[i] = typeof v === 'number' ? v : toFloat(v, where, i, datatype);
      }
      return out;
    }
    case 'FP16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = floatToHalfBits(toFloat(values[i], where, i, datatype));
      return out;
    }
    case 'INT64':
    case 'UINT64': {
      const [min, max] = info.range!;
      const out = datatype === 'INT64' ? new BigInt64Array(n) : new BigUint64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (!exact && typeof v === 'number' && !Number.isSafeInteger(v) && Number.isInteger(v)) throw new InexactInteger();
        const big = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : undefined;
        if (big === undefined || big < min || big > max) elementError(where, i, `an integer in [${min}, ${max}] for ${datatype}`, v);
        out[i] = big;
      }
      return out;
    }
    default: {
      const [min, max] = info.range!.map(Number) as [number, number];
      const out = new info.arrayClass!(n) as Exclude<NumericArray, BigInt64Array | BigUint64Array>;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) elementError(where, i, `an integer in [${min}, ${max}] for ${datatype}`, v);
        out[i] = v;
      }
      return out;
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * onnxruntime-node copies input strings into the model as C strings, so a NUL would silently cut
 * the element short: refused instead. Outputs holding NUL come back whole.
 */
function nulInBytes(where: string, index: number) {
  return badRequest(`${where}: BYTES element ${index} contains a NUL character; onnxruntime takes input strings up to the first NUL and would cut it short, so it is refused rather than truncated`);
}

/**
 * A typed array over `size` bytes at `offset`: a view where they are aligned for the element size,
 * else a copy. The copy comes from Node's buffer pool (slices aligned to 8 bytes), not a fresh
 * ArrayBuffer: gRPC's raw contents sit at any offset in their message, and allocating an
 * ArrayBuffer per input cost about 1 µs per call.
 */
function alignedView(Class: TypedArrayClass, bytesPerElement: number, body: Uint8Array, offset: number, size: number, count: number): NumericArray {
  const absolute = body.byteOffset + offset;
  if (absolute % bytesPerElement === 0) return new Class(body.buffer, absolute, count);
  const copy = Buffer.allocUnsafe(size);
  copy.set(body.subarray(offset, offset + size));
  return copy.byteOffset % bytesPerElement === 0 ? new Class(copy.buffer, copy.byteOffset, count) : new Class(copy.buffer.slice(copy.byteOffset, copy.byteOffset + size), 0, count);
}

/** Raw little-endian bytes → a typed array view (copy only when the bytes are misaligned for the element size). */
function binaryToTensorData(datatype: Datatype, body: Uint8Array, offset: number, size: number, count: number, where: string): TensorData {
  const info = DATATYPE_INFO[datatype];
  if (datatype === 'BYTES') {
    const strings: string[] = [];
    const view = new DataView(body.buffer, body.byteOffset + offset, size);
    let cursor = 0;
    while (cursor < size) {
      if (cursor + 4 > size) throw badRequest(`${where}: BYTES element ${strings.length} has a truncated 4-byte length prefix`);
      const length = view.getUint32(cursor, true);
      cursor += 4;
      if (cursor + length > size) throw badRequest(`${where}: BYTES element ${strings.length} declares ${length} bytes but only ${size - cursor} remain`);
      try {
        strings.push(utf8.decode(body.subarray(offset + cursor, offset + cursor + length)));
      } catch {
        throw badRequest(`${where}: BYTES element ${strings.length} is not valid UTF-8 (onnxruntime strings are UTF-8)`);
      }
      if (strings[strings.length - 1]!.includes('\0')) throw nulInBytes(where, strings.length - 1);
      cursor += length;
    }
    if (strings.length !== count) throw badRequest(`${where}: binary data holds ${strings.length} BYTES elements, shape needs ${count}`);
    return strings;
  }
  const expected = count * info.bytesPerElement;
  if (size !== expected) {
    throw badRequest(`${where}: binary_data_size is ${size} bytes, but shape and datatype ${datatype} need ${count} × ${info.bytesPerElement} = ${expected} bytes`);
  }
  const data = alignedView(info.arrayClass!, info.bytesPerElement, body, offset, size, count);
  if (datatype === 'BOOL') {
    const bytes = data as Uint8Array;
    for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 1) throw badRequest(`${where}: BOOL element ${i} is ${bytes[i]}, expected 0 or 1`);
  }
  return data;
}

function parseHeader(text: string, parse: (text: string) => JsonValue): JsonObject {
  let header: JsonValue;
  try {
    header = parse(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) throw badRequest(`request body is not valid JSON: ${err.message}`);
    throw err;
  }
  if (!isObject(header)) throw badRequest(`request body must be a JSON object, got ${show(header)}`);
  return header;
}

/**
 * Decodes an infer request for `modelName` with `signature`. `headerLength`
 * is the Inference-Header-Content-Length value when the body carries binary
 * tensor data after its JSON header.
 */
export function decodeInferRequest(body: Uint8Array, headerLength: number | undefined, modelName: string, signature: ModelSignature): InferRequest {
  if (headerLength !== undefined && headerLength > body.length) {
    throw badRequest(`Inference-Header-Content-Length is ${headerLength} but the body has only ${body.length} bytes`);
  }
  const text = Buffer.from(body.buffer, body.byteOffset, headerLength ?? body.length).toString('utf8');
  try {
    return decodeHeader(parseHeader(text, parseJsonFast), body, headerLength, modelName, signature, false);
  } catch (err) {
    if (!(err instanceof InexactInteger)) throw err;
    return decodeHeader(parseHeader(text, parseJsonExact), body, headerLength, modelName, signature, true);
  }
}

/**
 * Decodes an already-parsed request header (REST's JSON, or gRPC's message mapped to the same
 * shape) whose binary inputs, if any, follow `headerLength` in `body`. Integers must be exact
 * (bigint beyond 2^53) when `exact`.
 */
export function decodeInferHeader(header: JsonObject, body: Uint8Array, headerLength: number | undefined, modelName: string, signature: ModelSignature, exact: boolean): InferRequest {
  return decodeHeader(header, body, headerLength, modelName, signature, exact);
}

/** An input whose name, datatype and shape the signature accepts. */
export interface CheckedInput {
  readonly name: string;
  /** How error messages name the input. */
  readonly where: string;
  readonly datatype: Datatype;
  readonly shape: number[];
  readonly count: number;
}

/**
 * A request's tensors, gathered one by one with every check the protocol makes against the
 * model's signature: unknown and repeated names, datatypes, shapes, element counts, missing
 * inputs, unknown and repeated outputs. REST's decoder feeds it parsed JSON and gRPC's fast path
 * feeds it wire fields, so both transports refuse the same requests in the same words.
 */
export class RequestTensors {
  private readonly inputs = new Map<string, Tensor>();
  private readonly outputs = new Set<string>();

  constructor(
    private readonly modelName: string,
    private readonly signature: ModelSignature,
  ) {}

  /** Checks one input's datatype and shape against its spec; the data is added with addInput or addBinaryInput. */
  check(name: string, datatype: JsonValue | undefined, shape: JsonValue | undefined): CheckedInput {
    const where = `input "${name}"`;
    const spec = this.signature.inputs.find((s) => s.name === name);
    if (!spec) {
      throw badRequest(`${where}: model "${this.modelName}" has no such input; its inputs are ${this.signature.inputs.map((s) => s.name).join(', ')}`);
    }
    if (this.inputs.has(name)) throw badRequest(`${where}: given more than once`);
    if (!isDatatype(datatype)) throw badRequest(`${where}: expected datatype ${spec.datatype}, got ${show(datatype)}`);
    const dims = parseShape(shape, where);
    checkAgainstSpec(spec, datatype, dims);
    return { name, where, datatype, shape: dims, count: elementCount(dims) };
  }

  addInput(input: CheckedInput, data: TensorData): void {
    this.inputs.set(input.name, { name: input.name, datatype: input.datatype, shape: input.shape, data });
  }

  /** The input's data as `size` bytes of `body` from `offset` (Triton's binary extension, gRPC's raw_input_contents). */
  addBinaryInput(input: CheckedInput, body: Uint8Array, offset: number, size: number): void {
    this.addInput(input, binaryToTensorData(input.datatype, body, offset, size, input.count, input.where));
  }

  /** Every input the model needs, in its order; fails on the first one missing. */
  modelInputs(): Tensor[] {
    return this.signature.inputs.map((spec) => {
      const tensor = this.inputs.get(spec.name);
      if (!tensor) throw badRequest(`input "${spec.name}" is missing: model "${this.modelName}" needs ${spec.datatype} ${formatShape(spec.shape)}`);
      return tensor;
    });
  }

  /** Checks that the model has output `name` and that it is asked for once. */
  checkOutput(name: string): void {
    if (!this.signature.outputs.some((o) => o.name === name)) {
      throw badRequest(`output "${name}": model "${this.modelName}" has no such output; its outputs are ${this.signature.outputs.map((o) => o.name).join(', ')}`);
    }
    if (this.outputs.has(name)) throw badRequest(`output "${name}": requested more than once`);
    this.outputs.add(name);
  }

  /** Every output, for a request that names none. */
  allOutputs(binary: boolean): RequestedOutput[] {
    return this.signature.outputs.map((o) => ({ name: o.name, binary }));
  }
}

function decodeHeader(header: JsonObject, body: Uint8Array, headerLength: number | undefined, modelName: string, signature: ModelSignature, exact: boolean): InferRequest {
  const request: InferRequest = { inputs: [], outputs: [] };

  if (header.id !== undefined) {
    if (typeof header.id !== 'string') throw badRequest(`"id" must be a string, got ${show(header.id)}`);
    request.id = header.id;
  }
  let binaryOutputs = false;
  if (header.parameters !== undefined) {
    if (!isObject(header.parameters)) throw badRequest(`"parameters" must be an object, got ${show(header.parameters)}`);
    const { binary_data_output: binaryDataOutput, ...rest } = header.parameters;
    if (binaryDataOutput !== undefined && typeof binaryDataOutput !== 'boolean') {
      throw badRequest(`parameters.binary_data_output must be true or false, got ${show(binaryDataOutput)}`);
    }
    binaryOutputs = binaryDataOutput === true;
    checkParameters(rest, exact);
    if (Object.keys(rest).length > 0) request.parameters = rest;
  }

  if (!Array.isArray(header.inputs) || header.inputs.length === 0) {
    throw badRequest(`request must have a non-empty "inputs" array, got ${show(header.inputs)}`);
  }
  const tensors = new RequestTensors(modelName, signature);
  let binaryCursor = headerLength ?? body.length;
  header.inputs.forEach((raw, index) => {
    if (!isObject(raw)) throw badRequest(`inputs[${index}] must be an object, got ${show(raw)}`);
    if (typeof raw.name !== 'string') throw badRequest(`inputs[${index}]: "name" must be a string, got ${show(raw.name)}`);
    const input = tensors.check(raw.name, raw.datatype, raw.shape);
    const { where } = input;

    let binarySize: number | undefined;
    if (raw.parameters !== undefined) {
      if (!isObject(raw.parameters)) throw badRequest(`${where}: "parameters" must be an object, got ${show(raw.parameters)}`);
      const size = raw.parameters.binary_data_size;
      if (size !== undefined) {
        if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
          throw badRequest(`${where}: parameters.binary_data_size must be a non-negative integer, got ${show(size)}`);
        }
        binarySize = size;
      }
    }

    if (binarySize !== undefined) {
      if (raw.data !== undefined) throw badRequest(`${where}: has both "data" and parameters.binary_data_size; send one`);
      if (headerLength === undefined) throw badRequest(`${where}: parameters.binary_data_size needs the Inference-Header-Content-Length header`);
      if (binaryCursor + binarySize > body.length) {
        throw badRequest(`${where}: binary data is truncated: needs ${binarySize} bytes at offset ${binaryCursor}, body has ${body.length - binaryCursor} left`);
      }
      tensors.addBinaryInput(input, body, binaryCursor, binarySize);
      binaryCursor += binarySize;
    } else {
      if (!Array.isArray(raw.data)) throw badRequest(`${where}: "data" must be an array, got ${show(raw.data)}`);
      const flat = raw.data.length > 0 && Array.isArray(raw.data[0]) ? flattenNested(raw.data, input.shape, where) : raw.data;
      if (flat.length !== input.count) {
        throw badRequest(`${where}: shape ${formatShape(input.shape)} needs ${input.count} elements, got ${flat.length}`);
      }
      tensors.addInput(input, jsonToTensorData(input.datatype, flat, where, exact));
    }
  });
  if (binaryCursor !== body.length) {
    throw badRequest(`body has ${body.length - binaryCursor} bytes of binary data that no input claims (binary_data_size)`);
  }
  request.inputs = tensors.modelInputs();

  if (header.outputs === undefined) {
    request.outputs = tensors.allOutputs(binaryOutputs);
  } else {
    if (!Array.isArray(header.outputs)) throw badRequest(`"outputs" must be an array, got ${show(header.outputs)}`);
    header.outputs.forEach((raw, index) => {
      if (!isObject(raw) || typeof raw.name !== 'string') throw badRequest(`outputs[${index}] must be an object with a string "name"`);
      tensors.checkOutput(raw.name);
      let binary = binaryOutputs;
      if (raw.parameters !== undefined) {
        if (!isObject(raw.parameters)) throw badRequest(`output "${raw.name}": "parameters" must be an object, got ${show(raw.parameters)}`);
        if (raw.parameters.classification !== undefined) {
          throw badRequest(`output "${raw.name}": parameters.classification asks for the classification extension, which slipway does not implement; request the output tensor itself and take the top classes from it`);
        }
        const flag = raw.parameters.binary_data;
        if (flag !== undefined && typeof flag !== 'boolean') throw badRequest(`output "${raw.name}": parameters.binary_data must be true or false, got ${show(flag)}`);
        if (flag !== undefined) binary = flag;
      }
      request.outputs.push({ name: raw.name, binary });
    });
    if (request.outputs.length === 0) throw badRequest('"outputs" is empty: leave it out to get every output');
  }
  return request;
}

/** JSON text for parameters, which may hold exact big integers. */
export function stringifyJson(value: JsonValue, maxDepth = Number.POSITIVE_INFINITY): string {
  if (typeof value === 'bigint') return value.toString();
  if ((Array.isArray(value) || isObject(value)) && maxDepth <= 0) return Array.isArray(value) ? '[...]' : '{...}';
  if (Array.isArray(value)) return `[${value.map((v) => stringifyJson(v, maxDepth - 1)).join(',')}]`;
  if (isObject(value)) return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${stringifyJson(v, maxDepth - 1)}`).join(',')}}`;
  return JSON.stringify(value);
}

function floatsToJson(values: ArrayLike<number> & { join(separator: string): string }): string {
  const text = values.join(',');
  // Non-finite floats have no JSON number form: they travel as the strings protobuf's JSON mapping uses.
  if (!text.includes('N') && !text.includes('I')) return text;
  return Array.from(values, (v) => (Number.isFinite(v) ? String(v) : `"${v}"`)).join(',');
}

function tensorDataToJson(datatype: Datatype, data: TensorData): string {
  switch (datatype) {
    case 'BYTES':
      return JSON.stringify(data).slice(1, -1);
    case 'BOOL':
      return Array.from(data as Uint8Array, (v) => (v ? 'true' : 'false')).join(',');
    case 'FP16':
      return floatsToJson(Array.from(data as Uint16Array, halfBitsToFloat));
    case 'FP32':
    case 'FP64':
      return floatsToJson(data as Float32Array | Float64Array);
    default:
      // Integer typed arrays (BigInt64Array included) join to exact decimal text.
      return (data as NumericArray).join(',');
  }
}

const utf8Encoder = new TextEncoder();

export function bytesTensorToBinary(strings: readonly string[]): Buffer {
  const encoded = strings.map((s) => utf8Encoder.encode(s));
  const out = Buffer.allocUnsafe(encoded.reduce((total, e) => total + 4 + e.length, 0));
  let cursor = 0;
  for (const e of encoded) {
    out.writeUInt32LE(e.length, cursor);
    out.set(e, cursor + 4);
    cursor += 4 + e.length;
  }
  return out;
}

export function tensorDataToBinary(data: TensorData): Buffer {
  if (Array.isArray(data)) return bytesTensorToBinary(data);
  const numeric = data as NumericArray;
  return Buffer.from(numeric.buffer, numeric.byteOffset, numeric.byteLength);
}

export interface ResponseOutput {
  tensor: Tensor;
  binary: boolean;
}

export interface EncodedResponse {
  contentType: string;
  /** Set when binary tensor data follows the JSON header. */
  headerLength?: number;
  /**
   * The JSON header first, as a string: node:http then sends status line, headers and JSON in
   * one write instead of a writev of two buffers (a measurable share of CPU at high request rates).
   */
  chunks: [string, ...Buffer[]];
  length: number;
}

export function encodeInferResponse(
  modelName: string,
  modelVersion: string,
  request: Pick<InferRequest, 'id' | 'parameters'>,
  outputs: readonly ResponseOutput[],
): EncodedResponse {
  let header = `{"model_name":${JSON.stringify(modelName)},"model_version":${JSON.stringify(modelVersion)}`;
  if (request.id !== undefined) header += `,"id":${JSON.stringify(request.id)}`;
  if (request.parameters !== undefined) header += `,"parameters":${stringifyJson(request.parameters)}`;
  header += ',"outputs":[';
  const binaryChunks: Buffer[] = [];
  outputs.forEach(({ tensor, binary }, i) => {
    if (i > 0) header += ',';
    header += `{"name":${JSON.stringify(tensor.name)},"datatype":"${tensor.datatype}","shape":[${tensor.shape.join(',')}]`;
    if (binary) {
      const bytes = tensorDataToBinary(tensor.data);
      binaryChunks.push(bytes);
      header += `,"parameters":{"binary_data_size":${bytes.length}}}`;
    } else {
      header += `,"data":[${tensorDataToJson(tensor.datatype, tensor.data)}]}`;
    }
  });
  header += ']}';
  const headerLength = Buffer.byteLength(header, 'utf8');
  if (binaryChunks.length === 0) return { contentType: 'application/json', chunks: [header], length: headerLength };
  const length = binaryChunks.reduce((total, c) => total + c.length, headerLength);
  return { contentType: 'application/octet-stream', headerLength, chunks: [header, ...binaryChunks], length };
}
