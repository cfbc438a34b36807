// The gRPC API, driven by a client built from proto/grpc_predict_v2.proto with @grpc/grpc-js.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allTypesModel, doubleModel, identityModel } from '../../lib/onnx/builders.js';
import { decodeRawInferRequest, encodeRawInferResponse, RawInferMessage } from '../../lib/runtime/grpc-codec.js';
import { decodeGrpcRequest, decodeRawRequest, PROTO_OPTIONS, PROTO_PATH } from '../../lib/runtime/grpc.js';
import type { ModelSignature } from '../../lib/runtime/protocol.js';
import { http, infer, startTestServer, type TestServer } from './helpers.js';

const PROTO = new URL('../../proto/grpc_predict_v2.proto', import.meta.url).pathname;

type Client = grpc.Client & Record<string, (request: object, callback: (err: grpc.ServiceError | null, response: any) => void) => void>; // eslint-disable-line @typescript-eslint/no-explicit-any -- responses are checked field by field

function client(port: number): Client {
  // A client as any user would build it from the .proto (longs as strings keep int64 exact).
  const definition = protoLoader.loadSync(PROTO, { keepCase: true, longs: String, defaults: true, oneofs: true });
  const { inference } = grpc.loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
  return new inference.GRPCInferenceService(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Client;
}

function call<T = any>(c: Client, method: string, request: object): Promise<T> { // eslint-disable-line @typescript-eslint/no-explicit-any -- see above
  return new Promise((resolve, reject) => c[method]!(request, (err, response) => (err ? reject(err) : resolve(response))));
}

const failure = (c: Client, method: string, request: object) => call(c, method, request).then(() => undefined, (err: grpc.ServiceError) => ({ code: grpc.status[err.code], details: err.details }));

describe('gRPC inference.GRPCInferenceService', () => {
  let t: TestServer;
  let c: Client;
  beforeAll(async () => {
    t = await startTestServer(
      [
        { name: 'double', bytes: doubleModel(), config: { batching: { maxBatchSize: 64, maxQueueDelayMs: 30 } } },
        { name: 'types', bytes: allTypesModel() },
        { name: 'strings', bytes: identityModel('STRING') },
        { name: 'int64', bytes: identityModel('INT64') },
        { name: 'bool', bytes: identityModel('BOOL') },
      ],
      { grpcPort: 0 },
    );
    c = client(t.server.grpcPort!);
  });
  afterAll(async () => {
    c?.close();
    await t.close();
  });

  it('answers health, server and model metadata like REST', async () => {
    expect(await call(c, 'ServerLive', {})).toEqual({ live: true });
    expect(await call(c, 'ServerReady', {})).toEqual({ ready: true });
    expect(await call(c, 'ModelReady', { name: 'double' })).toEqual({ ready: true });
    expect(await call(c, 'ModelReady', { name: 'double', version: '1' })).toEqual({ ready: true });
    expect(await call(c, 'ServerMetadata', {})).toEqual((await http(t.port, 'GET', '/v2')).json());
    const meta = await call(c, 'ModelMetadata', { name: 'double' });
    expect(meta).toEqual({
      name: 'double', versions: ['1'], platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: ['-1', '-1'] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: ['-1', '-1'] }],
      properties: {},
    });
  });

  it('infers with typed contents, echoing id and parameters', async () => {
    const res = await call(c, 'ModelInfer', {
      model_name: 'double', id: 'req-1', parameters: { tag: { string_param: 'a' } },
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], contents: { fp32_contents: [1, 2, 3, 4.5] } }],
    });
    expect(res).toMatchObject({ model_name: 'double', model_version: '1', id: 'req-1', parameters: { tag: { string_param: 'a' } }, raw_output_contents: [] });
    expect(res.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: ['2', '2'], parameters: {}, contents: expect.objectContaining({ fp32_contents: [2, 4, 6, 9] }) }]);
  });

  it('infers with raw_input_contents and answers with raw_output_contents', async () => {
    const x = Float32Array.from([1.5, -2, 3, 1e-7]);
    const res = await call(c, 'ModelInfer', { model_name: 'double', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [Buffer.from(x.buffer)] });
    expect(res.outputs[0]).toMatchObject({ name: 'y', shape: ['1', '4'], contents: null });
    const y = new Float32Array(new Uint8Array(res.raw_output_contents[0]).buffer);
    expect(Array.from(y)).toEqual(Array.from(x, (v) => Math.fround(v * 2)));
  });

  it('carries every datatype exactly: typed contents (INT64 beyond 2^53, BYTES, BOOL) and raw (FP16)', async () => {
    const typed = await call(c, 'ModelInfer', {
      model_name: 'strings', inputs: [{ name: 'x', datatype: 'BYTES', shape: [1, 2], contents: { bytes_contents: [Buffer.from('héllo'), Buffer.from('')] } }],
    });
    expect(typed.outputs[0].contents.bytes_contents.map((b: Buffer) => b.toString())).toEqual(['héllo', '']);
    // Every input of the all-types model, raw: one entry per input in the order of `inputs`
    const names = ['bool', 'uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'int32', 'int64', 'float16', 'float', 'double', 'string'];
    const datatypes = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'];
    const raw = [
      Buffer.from([1, 0]), Buffer.from([255, 7]), Buffer.from(Uint16Array.from([65535, 1]).buffer), Buffer.from(Uint32Array.from([4294967295, 2]).buffer),
      Buffer.from(BigUint64Array.from([2n ** 64n - 1n, 3n]).buffer), Buffer.from(Int8Array.from([-128, 127]).buffer), Buffer.from(Int16Array.from([-32768, 5]).buffer),
      Buffer.from(Int32Array.from([-2147483648, 6]).buffer), Buffer.from(BigInt64Array.from([-(2n ** 63n), 2n ** 53n + 1n]).buffer), Buffer.from(Uint16Array.from([0x3c00, 0xc000]).buffer),
      Buffer.from(Float32Array.from([0.1, -0]).buffer), Buffer.from(Float64Array.from([0.1, 1e308]).buffer),
      Buffer.concat([Buffer.from([1, 0, 0, 0]), Buffer.from('a'), Buffer.from([2, 0, 0, 0]), Buffer.from('bc')]),
    ];
    const res = await call(c, 'ModelInfer', {
      model_name: 'types',
      inputs: names.map((n, i) => ({ name: `x_${n}`, datatype: datatypes[i], shape: [1, 2] })),
      outputs: names.map((n) => ({ name: `y_${n}` })),
      raw_input_contents: raw,
    });
    expect(res.outputs.map((o: { datatype: string }) => o.datatype)).toEqual(datatypes);
    res.raw_output_contents.forEach((bytes: Buffer, i: number) => expect([names[i], Buffer.from(bytes).equals(raw[i]!)]).toEqual([names[i], true]));
    // INT64 typed contents stay exact beyond 2^53 both ways; BOOL travels as bools
    const int64 = await call(c, 'ModelInfer', { model_name: 'int64', inputs: [{ name: 'x', datatype: 'INT64', shape: [1, 2], contents: { int64_contents: ['9007199254740993', '-9223372036854775808'] } }] });
    expect(int64.outputs[0].contents.int64_contents).toEqual(['9007199254740993', '-9223372036854775808']);
    const bool = await call(c, 'ModelInfer', { model_name: 'bool', inputs: [{ name: 'x', datatype: 'BOOL', shape: [1, 2], contents: { bool_contents: [true, false] } }] });
    expect(bool.outputs[0].contents.bool_contents).toEqual([true, false]);
    // FP16 has no typed field: a typed request for it says to send raw bytes
    expect(await failure(c, 'ModelInfer', { model_name: 'types', inputs: [{ name: 'x_float16', datatype: 'FP16', shape: [1, 1], contents: {} }] })).toEqual({
      code: 'INVALID_ARGUMENT', details: 'input "x_float16": FP16 has no typed contents field; send its bytes in raw_input_contents',
    });
  });

  it('fails with the status and message REST gives, for unknown models, bad tensors and the classification extension', async () => {
    expect(await failure(c, 'ModelInfer', { model_name: 'nope', inputs: [] })).toEqual({ code: 'NOT_FOUND', details: 'unknown model "nope"; served models: bool, double, int64, strings, types' });
    expect(await failure(c, 'ModelMetadata', { name: 'double', version: '7' })).toEqual({ code: 'NOT_FOUND', details: 'model "double" has no version "7"; version 1 is served' });
    const bad = { model_name: 'double', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2] } }] };
    const rest = await infer(t.port, 'double', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2] }] });
    expect(await failure(c, 'ModelInfer', bad)).toEqual({ code: 'INVALID_ARGUMENT', details: rest.json().error });
    expect(await failure(c, 'ModelInfer', { ...bad, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], contents: { int_contents: [1] } }] })).toEqual({
      code: 'INVALID_ARGUMENT', details: 'input "x": datatype FP32 takes contents.fp32_contents, got contents.int_contents',
    });
    expect(await failure(c, 'ModelInfer', { model_name: 'double', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1] }], raw_input_contents: [Buffer.alloc(4), Buffer.alloc(4)] })).toEqual({
      code: 'INVALID_ARGUMENT', details: 'raw_input_contents has 2 entries, but there are 1 inputs: send one per input, in the order of "inputs"',
    });
    const classification = await failure(c, 'ModelInfer', {
      model_name: 'double', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], contents: { fp32_contents: [1] } }],
      outputs: [{ name: 'y', parameters: { classification: { int64_param: 3 } } }],
    });
    expect(classification).toEqual({ code: 'INVALID_ARGUMENT', details: expect.stringContaining('parameters.classification asks for the classification extension, which slipway does not implement') });
  });

  it('shares batching and metrics with REST: concurrent calls over both batch together, bit-identical', async () => {
    const metricsBefore = (await http(t.port, 'GET', '/metrics')).body.toString();
    const count = (text: string, series: string) => Number(text.split('\n').find((l) => l.startsWith(series))?.split(' ')[1] ?? 0);
    const rows = Array.from({ length: 16 }, (_, i) => [i * 0.1, -i]);
    const answers = await Promise.all(rows.map((row, i) =>
      i % 2 === 0
        ? call(c, 'ModelInfer', { model_name: 'double', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: row } }] }).then((r) => r.outputs[0].contents.fp32_contents as number[])
        : infer(t.port, 'double', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: row }] }).then((r) => r.json().outputs[0].data as number[])));
    answers.forEach((answer, i) => expect(answer).toEqual(rows[i]!.map((v) => Math.fround(Math.fround(v) * 2))));
    const after = (await http(t.port, 'GET', '/metrics')).body.toString();
    const requests = 'slipway_inference_requests_total{model="double",version="1",status="200"}';
    expect(count(after, requests) - count(metricsBefore, requests)).toBe(16);
    const executions = count(after, 'slipway_inference_batch_size_count{model="double",version="1"}') - count(metricsBefore, 'slipway_inference_batch_size_count{model="double",version="1"}');
    expect(executions).toBeLessThan(16);
  });

  it('streams inferences on ModelStreamInfer: one answer per request, a failure answered with its error and the stream carrying on', async () => {
    const stream = (c as unknown as { ModelStreamInfer(): grpc.ClientDuplexStream<object, { error_message: string; infer_response: any }> }).ModelStreamInfer(); // eslint-disable-line @typescript-eslint/no-explicit-any -- checked field by field
    const answers: Array<{ error_message: string; infer_response: any }> = []; // eslint-disable-line @typescript-eslint/no-explicit-any -- see above
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (answer) => answers.push(answer));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    for (let i = 0; i < 4; i++) stream.write({ model_name: 'double', id: `s${i}`, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1] }], raw_input_contents: [Buffer.from(Float32Array.from([i]).buffer)] });
    stream.write({ model_name: 'nope', id: 'bad', inputs: [] });
    stream.write({ model_name: 'double', id: 'typed', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], contents: { fp32_contents: [7] } }] });
    stream.end();
    await done;
    expect(answers).toHaveLength(6);
    const byId = new Map(answers.filter((a) => a.infer_response).map((a) => [a.infer_response.id, a.infer_response]));
    for (let i = 0; i < 4; i++) expect(Array.from(new Float32Array(new Uint8Array(byId.get(`s${i}`).raw_output_contents[0]).buffer))).toEqual([2 * i]);
    expect(byId.get('typed').outputs[0].contents.fp32_contents).toEqual([14]);
    expect(answers.filter((a) => a.error_message !== '').map((a) => a.error_message)).toEqual([expect.stringMatching(/^unknown model "nope"/)]);
  });

  it('reports statistics and the repository, and loads and unloads models, as REST does', async () => {
    const stats = await call(c, 'ModelStatistics', { name: 'double' });
    const rest = (await http(t.port, 'GET', '/v2/models/double/stats')).json();
    expect(stats.model_stats[0]).toMatchObject({ name: 'double', version: '1', inference_count: String(rest.model_stats[0].inference_count), execution_count: String(rest.model_stats[0].execution_count) });
    expect((await call(c, 'ModelStatistics', {})).model_stats.map((m: { name: string }) => m.name)).toEqual(['bool', 'double', 'int64', 'strings', 'types']);
    await call(c, 'RepositoryModelUnload', { model_name: 'bool' });
    expect((await call(c, 'RepositoryIndex', {})).models.find((m: { name: string }) => m.name === 'bool')).toEqual({ name: 'bool', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' });
    expect((await call(c, 'RepositoryIndex', { ready: true })).models.map((m: { name: string }) => m.name)).toEqual(['double', 'int64', 'strings', 'types']);
    await call(c, 'RepositoryModelLoad', { model_name: 'bool' });
    expect(await call(c, 'ModelReady', { name: 'bool' })).toEqual({ ready: true });
    expect(await failure(c, 'RepositoryModelLoad', { model_name: 'ghost' })).toEqual({ code: 'NOT_FOUND', details: `model repository ${t.repository} has no model "ghost"` });
  });
});

describe('gRPC fast path (raw tensors without protobufjs objects)', () => {
  const definition = protoLoader.loadSync(PROTO_PATH, PROTO_OPTIONS);
  const method = (definition['inference.GRPCInferenceService'] as Record<string, grpc.MethodDefinition<object, object>>).ModelInfer!;
  const raw = [Buffer.from(Float32Array.from([1, -2.5]).buffer), Buffer.from(BigInt64Array.from([2n ** 62n]).buffer)];

  it('reads a raw request as protobufjs does, dimensions as numbers', () => {
    // GIVEN a raw request with an id, a version, two inputs and a requested output
    const message = {
      model_name: 'm', model_version: '3', id: 'r-1',
      inputs: [{ name: 'a', datatype: 'FP32', shape: [1, 2] }, { name: 'b', datatype: 'INT64', shape: [0, 2 ** 48] }],
      outputs: [{ name: 'y' }], raw_input_contents: raw,
    };
    const bytes = method.requestSerialize(message);
    // WHEN the fast path reads it
    const fast = decodeRawInferRequest(bytes)!;
    // THEN it holds what protobufjs reads, without the fields it leaves to the general path
    const general = method.requestDeserialize(bytes) as { inputs: Array<{ name: string; datatype: string; shape: string[] }> } & Record<string, unknown>;
    expect(fast).toBeInstanceOf(RawInferMessage);
    expect({ ...fast }).toEqual({
      model_name: general.model_name, model_version: general.model_version, id: general.id,
      inputs: general.inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape.map(Number) })),
      outputs: ['y'], raw_input_contents: general.raw_input_contents,
    });
  });

  it('leaves typed contents, parameters, negative or huge dimensions and unknown fields to the general path', () => {
    const base = { model_name: 'm', inputs: [{ name: 'a', datatype: 'FP32', shape: [1, 1] }] };
    expect(decodeRawInferRequest(method.requestSerialize({ ...base, inputs: [{ ...base.inputs[0], contents: { fp32_contents: [1] } }] }))).toBeUndefined();
    expect(decodeRawInferRequest(method.requestSerialize({ ...base, raw_input_contents: [raw[0]], parameters: { p: { bool_param: true } } }))).toBeUndefined();
    expect(decodeRawInferRequest(method.requestSerialize({ ...base, raw_input_contents: [raw[0]], outputs: [{ name: 'y', parameters: { binary_data: { bool_param: true } } }] }))).toBeUndefined();
    for (const dim of ['-1', String(2 ** 49), '9007199254740993']) {
      expect(decodeRawInferRequest(method.requestSerialize({ ...base, inputs: [{ ...base.inputs[0], shape: [1, dim] }], raw_input_contents: [raw[0]] }))).toBeUndefined();
    }
    expect(decodeRawInferRequest(Buffer.concat([method.requestSerialize({ ...base, raw_input_contents: [raw[0]] }), Buffer.from([0x40, 0x01])]))).toBeUndefined();
    expect(decodeRawInferRequest(Buffer.from([0x0a, 0x05, 0x61]))).toBeUndefined();
  });

  it('decodes the same request, and refuses with the same words, as the general path (fast-check)', () => {
    // GIVEN a model with a batched FP32 input, an INT64 input and two outputs
    const signature: ModelSignature = {
      inputs: [{ name: 'a', datatype: 'FP32', shape: [-1, 2] }, { name: 'b', datatype: 'INT64', shape: [1] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }, { name: 'z', datatype: 'INT64', shape: [1] }],
    };
    // Valid inputs, each perhaps with one mistake; then perhaps one dropped, repeated or added.
    const mistake = fc.oneof({ arbitrary: fc.constant(undefined), weight: 10 }, { arbitrary: fc.constantFrom('name', 'datatype', 'rank', 'dimension', 'bytes'), weight: 3 });
    const input = (name: string, datatype: string, shape: fc.Arbitrary<number[]>) => fc.record({ shape, mistake }).map(({ shape, mistake }) => ({
      name: mistake === 'name' ? 'c' : name,
      datatype: mistake === 'datatype' ? (datatype === 'FP32' ? 'INT64' : 'float') : datatype,
      shape: mistake === 'rank' ? [...shape, 1] : mistake === 'dimension' ? shape.map((d) => d + 1) : shape,
      bytes: (datatype === 'FP32' ? 4 : 8) * shape.reduce((n, d) => n * d, 1) + (mistake === 'bytes' ? 4 : 0),
    }));
    const request = fc.record({
      id: fc.constantFrom('', 'r-7'),
      inputs: fc.tuple(input('a', 'FP32', fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constant(2))), input('b', 'INT64', fc.constant([1]))),
      change: fc.constantFrom(undefined, undefined, 'drop', 'repeat', 'swap'),
      extraRaw: fc.constantFrom(0, 0, 0, 1),
      outputs: fc.constantFrom([], [], ['y'], ['z', 'y'], ['y', 'y'], ['w']),
    });
    let decoded = 0;
    fc.assert(fc.property(request, (r) => {
      const [a, b] = r.inputs;
      const inputs = r.change === 'drop' ? [a] : r.change === 'repeat' ? [a, b, a] : r.change === 'swap' ? [b, a] : [a, b];
      const bytes = method.requestSerialize({
        model_name: 'm', id: r.id,
        inputs: inputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })),
        outputs: r.outputs.map((name) => ({ name })),
        raw_input_contents: [...inputs.map((i) => Buffer.alloc(i.bytes, 1)), ...Array.from({ length: r.extraRaw }, () => Buffer.alloc(4))],
      });
      // WHEN the fast path and protobufjs' general path each decode it
      const outcome = (decode: () => unknown) => {
        try {
          return { request: decode() };
        } catch (err) {
          return { error: (err as Error).message };
        }
      };
      const fast = outcome(() => decodeRawRequest(decodeRawInferRequest(bytes)!, 'm', signature));
      const general = outcome(() => decodeGrpcRequest(method.requestDeserialize(bytes) as never, 'm', signature).request);
      // THEN both give the same tensors, or the same error
      expect(fast).toEqual(general);
      if ('request' in fast) decoded++;
    }), { numRuns: 1000 });
    // AND valid requests were among them, not only refusals
    expect(decoded).toBeGreaterThan(100);
  });

  it('writes a raw response that protobufjs reads back field for field', () => {
    const response = {
      model_name: 'mödel', model_version: '1.3.0', id: '',
      outputs: [{ name: 'y', datatype: 'FP32', shape: [2, 0, 300] }, { name: 'scalar', datatype: 'INT64', shape: [] }],
      raw_output_contents: [Buffer.alloc(0), Buffer.from(BigInt64Array.from([-1n]).buffer)],
    };
    expect(method.responseDeserialize(encodeRawInferResponse(response))).toEqual({
      model_name: 'mödel', model_version: '1.3.0', id: '', parameters: {},
      outputs: [
        { name: 'y', datatype: 'FP32', shape: ['2', '0', '300'], parameters: {}, contents: null },
        { name: 'scalar', datatype: 'INT64', shape: [], parameters: {}, contents: null },
      ],
      raw_output_contents: response.raw_output_contents,
    });
  });
});
