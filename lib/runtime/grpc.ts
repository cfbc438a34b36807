/**
 * The Open Inference Protocol over gRPC (inference.GRPCInferenceService): a thin transport over
 * the same data plane as REST (DataPlane: models, admission, batching, metrics, observers).
 * Requests go through the same validation as REST's (RequestTensors), so both transports accept
 * and refuse exactly the same tensors: raw requests straight from the wire fields, typed contents
 * mapped onto REST's request shape first.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import type { DataPlane } from './data-plane.js';
import { isDatatype, type NumericArray } from './datatypes.js';
import { InferenceError, badRequest } from './errors.js';
import { decodeRawInferRequest, encodeRawInferResponse, RawInferMessage, type RawInferResponse } from './grpc-codec.js';
import { GrpcError, GrpcServer, GrpcStatus, type GrpcConnectionLimits, type GrpcStatusCode, type StreamCall, type StreamMethod, type UnaryMethod } from './grpc-transport.js';
import type { ModelRepository } from './model-repository.js';
import type { JsonValue } from './json.js';
import { decodeInferHeader, RequestTensors, tensorDataToBinary, type InferRequest, type JsonObject, type ModelSignature, type ResponseOutput } from './protocol.js';

/** The .proto, beside the sources (proto/) or the compiled build (build/proto/). */
export const PROTO_PATH = [new URL('../../proto/grpc_predict_v2.proto', import.meta.url), new URL('../../../proto/grpc_predict_v2.proto', import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((p) => existsSync(p)) ?? fileURLToPath(new URL('../../proto/grpc_predict_v2.proto', import.meta.url));

/** Loader options shared with clients built from the same file: snake_case fields, 64-bit integers as decimal strings (exact). */
export const PROTO_OPTIONS: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

export const SERVICE_NAME = 'inference.GRPCInferenceService';

type MethodDefinition = protoLoader.MethodDefinition<object, object>;

/** The service's methods as protobufjs compiled them from the .proto (serializers, path, streaming). */
export function loadInferenceService(): Readonly<Record<string, MethodDefinition>> {
  return protoLoader.loadSync(PROTO_PATH, PROTO_OPTIONS)[SERVICE_NAME] as unknown as Record<string, MethodDefinition>;
}

type Parameter = { bool_param?: boolean; int64_param?: string; string_param?: string; double_param?: number; uint64_param?: string; parameter_choice?: string };

interface Contents {
  bool_contents: boolean[];
  int_contents: number[];
  int64_contents: string[];
  uint_contents: number[];
  uint64_contents: string[];
  fp32_contents: number[];
  fp64_contents: number[];
  bytes_contents: Buffer[];
}

interface InputTensor {
  name: string;
  datatype: string;
  shape: string[];
  parameters: Record<string, Parameter>;
  contents: Contents | null;
}

/** ModelInferRequest as protobufjs decodes it (the general path). */
interface InferMessage {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, Parameter>;
  inputs: InputTensor[];
  outputs: Array<{ name: string; parameters: Record<string, Parameter> }>;
  raw_input_contents: Buffer[];
}

/** A ModelInferRequest from either path. */
type InferRequestMessage = InferMessage | RawInferMessage;

/** Which typed-contents field carries each datatype (FP16 has none: raw only). */
const CONTENTS_FIELD: Readonly<Record<string, keyof Contents | undefined>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents', INT16: 'int_contents', INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents', UINT16: 'uint_contents', UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
  FP16: undefined,
};

function parameterValue(p: Parameter): JsonValue {
  switch (p.parameter_choice) {
    case 'bool_param': return p.bool_param!;
    case 'string_param': return p.string_param!;
    case 'double_param': return p.double_param!;
    case 'int64_param':
    case 'uint64_param': {
      const big = BigInt(p[p.parameter_choice]!);
      return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    }
    default: return null;
  }
}

function parameters(map: Record<string, Parameter>): JsonObject {
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, parameterValue(v)]));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function shapeOf(shape: string[], where: string): JsonValue[] {
  return shape.map((dim) => {
    const n = Number(dim);
    if (!Number.isSafeInteger(n)) throw badRequest(`${where}: "shape" must be an array of non-negative integers, got ${dim}`);
    return n;
  });
}

/** Typed contents → the REST `data` array the shared decoder validates. */
function contentsData(input: InputTensor, where: string): JsonValue[] {
  const contents = input.contents!;
  const used = (Object.keys(contents) as Array<keyof Contents>).filter((k) => contents[k].length > 0);
  const field = isDatatype(input.datatype) ? CONTENTS_FIELD[input.datatype] : undefined;
  if (isDatatype(input.datatype) && field === undefined) {
    throw badRequest(`${where}: ${input.datatype} has no typed contents field; send its bytes in raw_input_contents`);
  }
  const stray = used.filter((k) => k !== field);
  if (stray.length > 0) throw badRequest(`${where}: datatype ${input.datatype} takes contents.${field ?? '<none>'}, got contents.${stray.join(', contents.')}`);
  if (field === undefined) return [];
  switch (field) {
    case 'int64_contents':
    case 'uint64_contents':
      return contents[field].map((v) => BigInt(v));
    case 'bytes_contents':
      return contents.bytes_contents.map((b, i) => {
        try {
          return utf8.decode(b);
        } catch {
          throw badRequest(`${where}: BYTES element ${i} is not valid UTF-8 (onnxruntime strings are UTF-8)`);
        }
      });
    default:
      return contents[field];
  }
}

function checkRawCount(inputs: number, raw: number): void {
  if (raw !== inputs) throw badRequest(`raw_input_contents has ${raw} entries, but there are ${inputs} inputs: send one per input, in the order of "inputs"`);
}

/** A gRPC ModelInferRequest → the shared request decoder (REST's header shape, raw inputs as its binary section). */
export function decodeGrpcRequest(message: InferMessage, modelName: string, signature: ModelSignature): { request: InferRequest; raw: boolean } {
  const raw = message.raw_input_contents.length > 0;
  if (raw) checkRawCount(message.inputs.length, message.raw_input_contents.length);
  const inputs = message.inputs.map((input, i): JsonObject => {
    const where = `input "${input.name}"`;
    const base: JsonObject = { name: input.name, datatype: input.datatype, shape: shapeOf(input.shape, where) };
    if (raw) {
      if (input.contents && Object.values(input.contents).some((v: unknown[]) => v.length > 0)) {
        throw badRequest(`${where}: has both contents and raw_input_contents; when raw_input_contents is used, no input may use contents`);
      }
      return { ...base, parameters: { binary_data_size: message.raw_input_contents[i]!.length } };
    }
    return { ...base, data: input.contents ? contentsData(input, where) : [] };
  });
  const header: JsonObject = { inputs };
  if (message.id !== '') header.id = message.id;
  if (Object.keys(message.parameters).length > 0) header.parameters = parameters(message.parameters);
  if (message.outputs.length > 0) header.outputs = message.outputs.map((o) => ({ name: o.name, parameters: parameters(o.parameters) }));
  // One raw input is its own buffer; several are joined once so the shared decoder sees one binary section.
  const body = !raw ? new Uint8Array(0) : message.raw_input_contents.length === 1 ? message.raw_input_contents[0]! : Buffer.concat(message.raw_input_contents);
  const request = decodeInferHeader(header, body, raw ? 0 : undefined, modelName, signature, true);
  return { request, raw };
}

/**
 * The fast path's request (grpc-codec.ts), checked by the same RequestTensors as every other
 * request but without a REST-shaped header in between: each raw_input_contents entry is its
 * input's data as it stands.
 */
export function decodeRawRequest(message: RawInferMessage, modelName: string, signature: ModelSignature): InferRequest {
  checkRawCount(message.inputs.length, message.raw_input_contents.length);
  const tensors = new RequestTensors(modelName, signature);
  for (let i = 0; i < message.inputs.length; i++) {
    const { name, datatype, shape } = message.inputs[i]!;
    const bytes = message.raw_input_contents[i]!;
    tensors.addBinaryInput(tensors.check(name, datatype, shape), bytes, 0, bytes.length);
  }
  const inputs = tensors.modelInputs();
  const outputs = message.outputs.length === 0
    ? tensors.allOutputs(false)
    : message.outputs.map((name) => {
        tensors.checkOutput(name);
        return { name, binary: false };
      });
  const request: InferRequest = { inputs, outputs };
  if (message.id !== '') request.id = message.id;
  return request;
}

function typedContents(output: ResponseOutput): Partial<Record<keyof Contents, unknown[]>> {
  const { datatype, data } = output.tensor;
  const field = CONTENTS_FIELD[datatype]!;
  switch (datatype) {
    case 'BOOL': return { [field]: Array.from(data as Uint8Array, (v) => v !== 0) };
    case 'INT64':
    case 'UINT64': return { [field]: Array.from(data as BigInt64Array, (v) => v.toString()) };
    case 'BYTES': return { [field]: (data as string[]).map((s) => Buffer.from(s, 'utf8')) };
    // protobufjs encodes repeated fields from plain arrays.
    default: return { [field]: Array.from(data as Exclude<NumericArray, BigInt64Array | BigUint64Array>) };
  }
}

/**
 * A response the fast path serializes (grpc-codec.ts) instead of protobufjs. A class to test with
 * instanceof: marking plain objects in a WeakSet cost about 1 µs per call (ephemerons for the GC).
 */
class FastResponse {
  constructor(readonly message: RawInferResponse) {}
}

/** Outputs go raw when the request sent raw inputs, asked for binary_data, or an output has no typed field (FP16). */
export function encodeGrpcResponse(modelName: string, modelVersion: string, message: InferRequestMessage, outputs: readonly ResponseOutput[], rawInputs: boolean): object {
  const raw = rawInputs || outputs.some((o) => o.binary || CONTENTS_FIELD[o.tensor.datatype] === undefined);
  if (message instanceof RawInferMessage || (raw && Object.keys(message.parameters).length === 0)) {
    return new FastResponse({
      model_name: modelName,
      model_version: modelVersion,
      id: message.id,
      outputs: outputs.map((o) => ({ name: o.tensor.name, datatype: o.tensor.datatype, shape: o.tensor.shape })),
      raw_output_contents: outputs.map((o) => tensorDataToBinary(o.tensor.data as NumericArray)),
    });
  }
  return {
    model_name: modelName,
    model_version: modelVersion,
    id: message.id,
    parameters: message.parameters,
    outputs: outputs.map((o) => ({
      name: o.tensor.name,
      datatype: o.tensor.datatype,
      shape: o.tensor.shape,
      ...(raw ? {} : { contents: typedContents(o) }),
    })),
    raw_output_contents: raw ? outputs.map((o) => tensorDataToBinary(o.tensor.data as NumericArray)) : [],
  };
}

const STATUS_CODES: Readonly<Record<number, GrpcStatusCode>> = {
  400: GrpcStatus.INVALID_ARGUMENT,
  404: GrpcStatus.NOT_FOUND,
  413: GrpcStatus.RESOURCE_EXHAUSTED,
  499: GrpcStatus.CANCELLED,
  503: GrpcStatus.UNAVAILABLE,
};

/** The data plane's refusals keep their meaning; anything else is the transport's INTERNAL (logged there). */
function toGrpcError(err: unknown): unknown {
  return err instanceof InferenceError ? new GrpcError(STATUS_CODES[err.status] ?? GrpcStatus.INTERNAL, err.message) : err;
}

function logFailure(plane: DataPlane, err: unknown): void {
  if (!(err instanceof InferenceError) || (err.status >= 500 && err.status !== 503)) {
    plane.logger.log('error', 'request_failed', { transport: 'grpc', reason: (err as Error)?.message ?? String(err) });
  }
}

/** decode → infer → encode over the data plane, as REST does. */
async function modelInfer(plane: DataPlane, message: InferRequestMessage): Promise<object> {
  const call = await plane.admit(message.model_name, message.model_version === '' ? undefined : message.model_version);
  try {
    const { model } = call;
    const { request, raw } = message instanceof RawInferMessage
      ? { request: decodeRawRequest(message, model.name, model.signature!), raw: true }
      : decodeGrpcRequest(message, model.name, model.signature!);
    const outputs = await call.infer(request);
    const response = encodeGrpcResponse(model.name, model.version, message, outputs, raw);
    call.finish();
    return response;
  } catch (err) {
    call.finish(err);
    throw err;
  }
}

/**
 * ModelStreamInfer: every request on the stream is one inference, answered on the stream when it
 * finishes (so a batch of them shares the dynamic batcher); a failure answers that request with
 * its error_message and the stream carries on. The stream ends once the client's half has ended
 * and every answer is out.
 */
function modelStreamInfer(plane: DataPlane) {
  return (stream: StreamCall<InferRequestMessage, object>): void => {
    let pending = 0;
    let ended = false;
    const settle = () => {
      if (ended && pending === 0) stream.end();
    };
    stream.onMessage((message) => {
      pending++;
      modelInfer(plane, message)
        .then(
          (response) => stream.write({ error_message: '', infer_response: response }),
          (err: unknown) => {
            logFailure(plane, err);
            stream.write({ error_message: err instanceof InferenceError ? err.message : 'internal error', infer_response: null });
          },
        )
        .finally(() => {
          pending--;
          settle();
        });
    });
    stream.onEnd(() => {
      ended = true;
      settle();
    });
  };
}

interface StatisticsMessage {
  name: string;
  version: string;
}

/** Each unary method's body over the data plane and the model repository, by method name. */
function unaryBodies(plane: DataPlane, repository: ModelRepository): Record<string, (request: never) => object | Promise<object>> {
  const model = (name: string, version: string) => plane.lookup(name, version === '' ? undefined : version).model;
  return {
    ServerLive: () => ({ live: true }),
    ServerReady: () => ({ ready: plane.ready }),
    ModelReady: (req: { name: string; version: string }) => ({ ready: plane.modelReady(model(req.name, req.version)) }),
    ServerMetadata: () => plane.serverMetadata(),
    ModelMetadata: (req: { name: string; version: string }) => plane.modelMetadata(model(req.name, req.version)),
    ModelInfer: (message: InferRequestMessage) => modelInfer(plane, message),
    ModelStatistics: (req: StatisticsMessage) => plane.statistics(req.name === '' ? undefined : plane.lookup(req.name, req.version === '' ? undefined : req.version)),
    RepositoryIndex: async (req: { ready: boolean }) => ({ models: (await repository.index()).filter((m) => !req.ready || m.state === 'READY') }),
    RepositoryModelLoad: async (req: { model_name: string }) => {
      await repository.load(req.model_name);
      return {};
    },
    RepositoryModelUnload: async (req: { model_name: string }) => {
      await repository.unload(req.model_name);
      return {};
    },
  };
}

/** ModelStreamInferResponse { infer_response = 2 } around fast-path response bytes. */
function streamResponseBytes(inner: Buffer): Buffer {
  const header: number[] = [0x12];
  for (let n = inner.length; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      header.push(n);
      break;
    }
    header.push((n % 128) | 0x80);
  }
  return Buffer.concat([Buffer.from(header), inner]);
}

/**
 * The service over the data plane: protobufjs's serializers from the .proto, with inference
 * messages on the fast path where they can be (raw requests decoded and raw responses encoded by
 * grpc-codec.ts, no message objects).
 */
export function inferenceMethods(plane: DataPlane, repository: ModelRepository): Record<string, UnaryMethod<unknown, object> | StreamMethod<InferRequestMessage, object>> {
  const service = loadInferenceService();
  const bodies = unaryBodies(plane, repository);
  const inferRequest = (bytes: Buffer): InferRequestMessage => decodeRawInferRequest(bytes) ?? (service.ModelInfer!.requestDeserialize(bytes) as InferMessage);
  const methods: Record<string, UnaryMethod<unknown, object> | StreamMethod<InferRequestMessage, object>> = {};
  for (const [name, definition] of Object.entries(service)) {
    if (name === 'ModelStreamInfer') continue;
    const body = bodies[name];
    if (!body) throw new Error(`${SERVICE_NAME}/${name} is in ${PROTO_PATH} but has no implementation`);
    methods[name] = {
      kind: 'unary',
      decode: name === 'ModelInfer' ? inferRequest : (bytes) => definition.requestDeserialize(bytes),
      encode: (response) => (response instanceof FastResponse ? encodeRawInferResponse(response.message) : definition.responseSerialize(response)),
      handle: async (request) => {
        try {
          return await body(request as never);
        } catch (err) {
          logFailure(plane, err);
          throw toGrpcError(err);
        }
      },
    };
  }
  const stream = service.ModelStreamInfer!;
  methods.ModelStreamInfer = {
    kind: 'stream',
    decode: inferRequest,
    encode: (value) => {
      const { infer_response } = value as { infer_response: object | null };
      return infer_response instanceof FastResponse ? streamResponseBytes(encodeRawInferResponse(infer_response.message)) : stream.responseSerialize(value);
    },
    handle: modelStreamInfer(plane),
  };
  return methods;
}

export function createGrpcServer(plane: DataPlane, repository: ModelRepository, maxMessageBytes: number, connections: GrpcConnectionLimits = {}): GrpcServer {
  return new GrpcServer({
    ...connections,
    service: SERVICE_NAME,
    methods: inferenceMethods(plane, repository),
    maxReceiveMessageBytes: maxMessageBytes,
    // Errors the methods did not map were logged as request_failed already.
    onInternalError: () => undefined,
  });
}
