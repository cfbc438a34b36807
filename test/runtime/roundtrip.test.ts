import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_ELEM_TYPES, allTypesModel } from '../../lib/onnx/builders.js';
import { floatToHalfBits, halfBitsToFloat } from '../../lib/runtime/datatypes.js';
import { binaryBody, infer, splitBinaryResponse, startTestServer, type TestServer } from './helpers.js';

// Every datatype, with the edge values that break naive implementations: integer extremes,
// 64-bit values beyond 2^53, signed zero, denormals, non-finite floats, non-ASCII strings.
const values = {
  BOOL: [true, false, true, true, false, false],
  UINT8: [0, 1, 127, 128, 254, 255],
  UINT16: [0, 1, 255, 256, 65534, 65535],
  UINT32: [0, 1, 65536, 2147483648, 4294967294, 4294967295],
  UINT64: [0n, 1n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 2n, 2n ** 64n - 1n],
  INT8: [-128, -1, 0, 1, 126, 127],
  INT16: [-32768, -1, 0, 1, 32766, 32767],
  INT32: [-2147483648, -1, 0, 1, 2147483646, 2147483647],
  INT64: [-(2n ** 63n), -(2n ** 53n) - 1n, -1n, 0n, 2n ** 53n + 1n, 2n ** 63n - 1n],
  FP16: [0, -2, 0.5, 65504, 6.103515625e-5, 0.0999755859375],
  FP32: [1.5, -0, 3.4028234663852886e38, 1.401298464324817e-45, Math.fround(0.1), -123.25],
  FP64: [0.1, -0, 1.7976931348623157e308, 5e-324, Math.PI, -1e-300],
  BYTES: ['hello', '', 'ünïcödé ✓', '{"json": [1, 2]}', 'quote " and \\ backslash', 'line\nbreak'],
} as const;
type Typed = keyof typeof values;
const datatypeOf = (elem: string): Typed =>
  (({ FLOAT16: 'FP16', FLOAT: 'FP32', DOUBLE: 'FP64', STRING: 'BYTES' }) as Record<string, Typed>)[elem] ?? (elem as Typed);
const datatypes = ALL_ELEM_TYPES.map(datatypeOf);
const inputName = (dt: Typed) => `x_${ALL_ELEM_TYPES[datatypes.indexOf(dt)]!.toLowerCase()}`;
const outputName = (dt: Typed) => `y_${ALL_ELEM_TYPES[datatypes.indexOf(dt)]!.toLowerCase()}`;

/** JSON text with big integers written exactly (JSON.stringify cannot). */
function toJsonText(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`).join(',')}}`;
  return Object.is(value, -0) ? '-0' : JSON.stringify(value);
}

/** Parses a response keeping big integers exact, by quoting long integer literals first. */
function parseExact(text: string): any { // eslint-disable-line @typescript-eslint/no-explicit-any -- arbitrary response JSON
  return JSON.parse(text.replace(/(?<=[[,])(-?\d{16,})(?=[,\]])/g, '"$1"'));
}

function toBytes(dt: Typed): Uint8Array {
  const v = values[dt] as readonly unknown[];
  switch (dt) {
    case 'BOOL': return Uint8Array.from(v as boolean[], (b) => (b ? 1 : 0));
    case 'UINT8': return Uint8Array.from(v as number[]);
    case 'UINT16': return new Uint8Array(Uint16Array.from(v as number[]).buffer);
    case 'UINT32': return new Uint8Array(Uint32Array.from(v as number[]).buffer);
    case 'UINT64': return new Uint8Array(BigUint64Array.from(v as bigint[]).buffer);
    case 'INT8': return new Uint8Array(Int8Array.from(v as number[]).buffer);
    case 'INT16': return new Uint8Array(Int16Array.from(v as number[]).buffer);
    case 'INT32': return new Uint8Array(Int32Array.from(v as number[]).buffer);
    case 'INT64': return new Uint8Array(BigInt64Array.from(v as bigint[]).buffer);
    case 'FP16': return new Uint8Array(Uint16Array.from(v as number[], floatToHalfBits).buffer);
    case 'FP32': return new Uint8Array(Float32Array.from(v as number[]).buffer);
    case 'FP64': return new Uint8Array(Float64Array.from(v as number[]).buffer);
    case 'BYTES': return Buffer.concat((v as string[]).map((s) => {
      const b = Buffer.from(s, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.length);
      return Buffer.concat([len, b]);
    }));
  }
}

describe('round trip of every datatype through an Identity model', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer([{ name: 'all-types', bytes: allTypesModel() }]);
  });
  afterAll(() => t.close());

  it('reports every datatype in the model metadata', async () => {
    const { http } = await import('./helpers.js');
    const meta = (await http(t.port, 'GET', '/v2/models/all-types')).json();
    expect(meta.inputs.map((i: { datatype: string }) => i.datatype)).toEqual(datatypes);
    expect(meta.inputs[0]).toEqual({ name: 'x_bool', datatype: 'BOOL', shape: [-1, -1] });
  });

  it('returns JSON data unchanged, 64-bit integers exact (flat data)', async () => {
    // GIVEN every datatype as flat JSON data, big integers as bare JSON numbers
    const inputs = datatypes.map((dt) => ({ name: inputName(dt), datatype: dt, shape: [2, 3], data: values[dt] }));
    // WHEN inferred
    const res = await infer(t.port, 'all-types', toJsonText({ id: 'rt-1', inputs }));
    // THEN each output equals its input exactly
    expect(res.status, res.body.toString().slice(0, 300)).toBe(200);
    const body = parseExact(res.body.toString('utf8'));
    expect(body.id).toBe('rt-1');
    for (const dt of datatypes) {
      const out = body.outputs.find((o: { name: string }) => o.name === outputName(dt));
      expect(out, dt).toMatchObject({ datatype: dt, shape: [2, 3] });
      const expected = (values[dt] as readonly unknown[]).map((v) => (typeof v === 'bigint' ? (v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v.toString()) : v));
      if (dt === 'FP32' || dt === 'FP64' || dt === 'FP16') {
        (out.data as number[]).forEach((got, i) => expect(Object.is(got, expected[i]) || got === expected[i], `${dt}[${i}] ${got}`).toBe(true));
      } else {
        expect(out.data, dt).toEqual(expected);
      }
    }
  });

  it('accepts nested data in the shape of the tensor', async () => {
    const nest = (flat: readonly unknown[]) => [flat.slice(0, 3), flat.slice(3)];
    const inputs = datatypes.map((dt) => ({ name: inputName(dt), datatype: dt, shape: [2, 3], data: nest(values[dt] as readonly unknown[]) }));
    const res = await infer(t.port, 'all-types', toJsonText({ inputs, outputs: [{ name: 'y_int64' }] }));
    expect(res.status, res.body.toString().slice(0, 300)).toBe(200);
    const body = parseExact(res.body.toString('utf8'));
    expect(body.outputs).toHaveLength(1);
    expect(body.outputs[0].data).toEqual(values.INT64.map((v) => v.toString()).map((s) => (s.length < 16 ? Number(s) : s)));
  });

  it('carries NaN and ±Infinity as the strings protobuf JSON uses, and rounds FP16 like IEEE', async () => {
    const inputs = datatypes.map((dt) => ({ name: inputName(dt), datatype: dt, shape: [2, 3], data: values[dt] }));
    const special = ['NaN', 'Infinity', '-Infinity', 1, 0.1, 2];
    for (const dt of ['FP16', 'FP32', 'FP64'] as const) inputs[datatypes.indexOf(dt)] = { name: inputName(dt), datatype: dt, shape: [2, 3], data: special as never };
    const res = await infer(t.port, 'all-types', toJsonText({ inputs, outputs: [{ name: 'y_float16' }, { name: 'y_float' }, { name: 'y_double' }] }));
    expect(res.status, res.body.toString().slice(0, 300)).toBe(200);
    const [fp16, fp32, fp64] = parseExact(res.body.toString('utf8')).outputs;
    expect(fp64.data).toEqual(['NaN', 'Infinity', '-Infinity', 1, 0.1, 2]);
    expect(fp32.data).toEqual(['NaN', 'Infinity', '-Infinity', 1, Math.fround(0.1), 2]);
    expect(fp16.data).toEqual(['NaN', 'Infinity', '-Infinity', 1, halfBitsToFloat(floatToHalfBits(0.1)), 2]);
    expect(halfBitsToFloat(floatToHalfBits(0.1))).toBe(0.0999755859375);
  });

  it('returns binary data unchanged, byte for byte, with binary_data_output', async () => {
    // GIVEN every datatype as binary tensor data after the JSON header
    const segments = datatypes.map(toBytes);
    const header = {
      id: 'bin-1',
      parameters: { binary_data_output: true, trace: 'abc' },
      inputs: datatypes.map((dt, i) => ({ name: inputName(dt), datatype: dt, shape: [2, 3], parameters: { binary_data_size: segments[i]!.length } })),
    };
    const { body, headerLength } = binaryBody(header, segments);
    // WHEN inferred
    const res = await infer(t.port, 'all-types', body, { 'inference-header-content-length': headerLength, 'content-type': 'application/octet-stream' });
    // THEN every output comes back as binary with the same bytes, and the header echoes id and parameters
    expect(res.status, res.body.toString().slice(0, 300)).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    const { header: out, segments: got } = splitBinaryResponse(res);
    expect(out.id).toBe('bin-1');
    expect(out.parameters).toEqual({ trace: 'abc' });
    datatypes.forEach((dt, i) => {
      expect(out.outputs[i]).toEqual({ name: outputName(dt), datatype: dt, shape: [2, 3], parameters: { binary_data_size: segments[i]!.length } });
      expect(Buffer.from(segments[i]!).equals(got.get(outputName(dt))!), dt).toBe(true);
    });
  });

  it('mixes JSON and binary: binary inputs at odd offsets, binary_data per output', async () => {
    // GIVEN one input as JSON and the rest binary, in an order that leaves segments misaligned
    const segments = datatypes.filter((dt) => dt !== 'INT32').map(toBytes);
    let s = 0;
    const inputs = datatypes.map((dt) => (dt === 'INT32'
      ? { name: inputName(dt), datatype: dt, shape: [2, 3], data: values.INT32 }
      : { name: inputName(dt), datatype: dt, shape: [2, 3], parameters: { binary_data_size: segments[s++]!.length } }));
    const { body, headerLength } = binaryBody({ inputs, outputs: [{ name: 'y_int64', parameters: { binary_data: true } }, { name: 'y_int32' }, { name: 'y_string', parameters: { binary_data: false } }] }, segments);
    const res = await infer(t.port, 'all-types', body, { 'inference-header-content-length': headerLength });
    expect(res.status, res.body.toString().slice(0, 300)).toBe(200);
    const { header, segments: got } = splitBinaryResponse(res);
    expect(header.outputs.map((o: { name: string }) => o.name)).toEqual(['y_int64', 'y_int32', 'y_string']);
    expect(Array.from(new BigInt64Array(new Uint8Array(got.get('y_int64')!).buffer))).toEqual(values.INT64);
    expect(header.outputs[1].data).toEqual(values.INT32);
    expect(header.outputs[2].data).toEqual(values.BYTES);
  });
});
