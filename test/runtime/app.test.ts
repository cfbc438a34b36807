import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corruptModelBytes, doubleModel, fixedShapeModel, identityModel, unknownOperatorModel } from '../../lib/onnx/builders.js';
import { binaryBody, http, infer, startTestServer, type TestServer } from './helpers.js';

const features = (rows: number[][]) => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [rows.length, rows[0]!.length], data: rows }] });

describe('protocol endpoints', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(
      [
        { name: 'double', version: '3', bytes: doubleModel() },
        { name: 'fixed', bytes: fixedShapeModel() },
        { name: 'ids', bytes: identityModel('INT64') },
      ],
      { maxBodyBytes: 4096 },
    );
  });
  afterAll(() => t.close());

  it('answers server metadata, liveness and readiness', async () => {
    expect((await http(t.port, 'GET', '/v2')).json()).toEqual({ name: 'slipway', version: '0.1.0', extensions: ['binary_tensor_data', 'model_repository', 'statistics', 'model_configuration'] });
    expect((await http(t.port, 'GET', '/v2/health/live')).json()).toEqual({ live: true });
    const ready = await http(t.port, 'GET', '/v2/health/ready');
    expect([ready.status, ready.json()]).toEqual([200, { ready: true }]);
  });

  it('serves metadata and readiness with and without the version path', async () => {
    const expected = {
      name: 'double', versions: ['3'], platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, -1] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, -1] }],
    };
    expect((await http(t.port, 'GET', '/v2/models/double')).json()).toEqual(expected);
    expect((await http(t.port, 'GET', '/v2/models/double/versions/3')).json()).toEqual(expected);
    expect((await http(t.port, 'GET', '/v2/models/double/ready')).json()).toEqual({ name: 'double', ready: true });
    expect((await http(t.port, 'GET', '/v2/models/double/versions/3/ready')).status).toBe(200);
    expect((await http(t.port, 'GET', '/v2/models/fixed')).json().inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [2, 3] }]);
  });

  it('infers through /infer and /versions/{v}/infer, echoing id and request parameters', async () => {
    const res = await http(t.port, 'POST', '/v2/models/double/versions/3/infer', JSON.stringify({ id: 'req-7', parameters: { priority: 2, big: 1 }, ...features([[1, 2.5], [-3, 0]]) }));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json()).toEqual({
      model_name: 'double', model_version: '3', id: 'req-7', parameters: { priority: 2, big: 1 },
      outputs: [{ name: 'y', datatype: 'FP32', shape: [2, 2], data: [2, 5, -6, 0] }],
    });
    expect((await infer(t.port, 'double', features([[4]]))).json().outputs[0].data).toEqual([8]);
  });

  it('echoes request parameters exactly, big integers included', async () => {
    const body = '{"parameters":{"trace":18446744073709551615,"tags":["a",{"b":-0.5}]},"inputs":[{"name":"x","datatype":"FP32","shape":[1,1],"data":[1]}]}';
    expect((await infer(t.port, 'double', body)).body.toString()).toContain('"parameters":{"trace":18446744073709551615,"tags":["a",{"b":-0.5}]}');
  });

  it('keeps INT64 exact in both directions, including values that JSON.parse would round', async () => {
    const body = '{"inputs":[{"name":"x","datatype":"INT64","shape":[1,3],"data":[9007199254740993,-9223372036854775808,12345]}]}';
    const res = await infer(t.port, 'ids', body);
    expect(res.body.toString()).toContain('"data":[9007199254740993,-9223372036854775808,12345]');
  });

  const failures: Array<[string, string, unknown, number, RegExp]> = [
    ['unknown model', 'nope', features([[1]]), 404, /unknown model "nope"; served models: double, fixed, ids/],
    ['wrong datatype', 'double', { inputs: [{ name: 'x', datatype: 'INT32', shape: [1, 1], data: [1] }] }, 400, /input "x": expected datatype FP32, got INT32/],
    ['unknown datatype', 'double', { inputs: [{ name: 'x', datatype: 'FLOAT', shape: [1, 1], data: [1] }] }, 400, /input "x": expected datatype FP32, got "FLOAT"/],
    ['wrong rank', 'double', { inputs: [{ name: 'x', datatype: 'FP32', shape: [3], data: [1, 2, 3] }] }, 400, /input "x": expected shape \[-1,-1\], got \[3\]/],
    ['wrong fixed dim', 'fixed', { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4], data: new Array(8).fill(0) }] }, 400, /input "x": expected shape \[2,3\], got \[2,4\]/],
    ['count mismatch', 'double', { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5] }] }, 400, /input "x": shape \[2,3\] needs 6 elements, got 5/],
    ['nested mismatch', 'double', { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], data: [[1, 2], [3]] }] }, 400, /nested "data" does not match shape \[2,2\]: data\[1\] has 1 elements, expected 2/],
    ['non-number', 'double', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 'two'] }] }, 400, /input "x": data\[1\] must be a number .* for FP32, got "two"/],
    ['out of range int', 'ids', '{"inputs":[{"name":"x","datatype":"INT64","shape":[1,1],"data":[9223372036854775808]}]}', 400, /data\[0\] must be an integer in \[-9223372036854775808, 9223372036854775807\] for INT64, got 9223372036854775808/],
    ['fractional int', 'ids', { inputs: [{ name: 'x', datatype: 'INT64', shape: [1, 1], data: [1.5] }] }, 400, /must be an integer/],
    ['unknown input', 'double', { inputs: [{ name: 'z', datatype: 'FP32', shape: [1, 1], data: [1] }] }, 400, /input "z": model "double" has no such input; its inputs are x/],
    ['no inputs', 'double', { inputs: [] }, 400, /non-empty "inputs" array/],
    ['duplicate input', 'double', { inputs: [features([[1]]).inputs[0], features([[1]]).inputs[0]] }, 400, /input "x": given more than once/],
    ['unknown output', 'double', { ...features([[1]]), outputs: [{ name: 'w' }] }, 400, /output "w": model "double" has no such output; its outputs are y/],
    ['non-string id', 'double', { id: 5, ...features([[1]]) }, 400, /"id" must be a string, got 5/],
    ['negative dim', 'double', { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1], data: [1] }] }, 400, /"shape" must be an array of non-negative integers/],
    ['huge dims', 'double', { inputs: [{ name: 'x', datatype: 'FP32', shape: [2 ** 20, 2 ** 20], data: [1] }] }, 400, /needs 1099511627776 elements, got 1/],
    ['not json', 'double', '{"inputs": [', 400, /request body is not valid JSON/],
    ['deep parameters', 'double', `{"parameters":{"a":${'['.repeat(1500)}${']'.repeat(1500)}},"inputs":[{"name":"x","datatype":"FP32","shape":[1,1],"data":[1]}]}`, 400, /"parameters" is nested deeper than 16 levels/],
    ['deeply nested inputs', 'double', `{"inputs":{"a":${'['.repeat(1500)}${']'.repeat(1500)}}}`, 400, /non-empty "inputs" array, got \{"a":\[\[\[\.\.\.\]\]\]\}/],
    ['not an object', 'double', '[1,2]', 400, /request body must be a JSON object/],
  ];
  it.each(failures)('fails when the request has %s', async (_, model, body, status, message) => {
    const res = await infer(t.port, model, body);
    expect(res.status).toBe(status);
    expect(res.json().error).toMatch(message);
  });

  it('fails when the version does not exist, or the path or method is wrong', async () => {
    const version = await http(t.port, 'POST', '/v2/models/double/versions/2/infer', JSON.stringify(features([[1]])));
    expect([version.status, version.json().error]).toEqual([404, 'model "double" has no version "2"; version 3 is served']);
    expect((await http(t.port, 'GET', '/v2/models/double/versions/9/ready')).status).toBe(404);
    const path = await http(t.port, 'GET', '/v2/nothing');
    expect([path.status, path.json().error]).toEqual([404, 'no such endpoint: GET /v2/nothing']);
    const method = await http(t.port, 'GET', '/v2/models/double/infer');
    expect([method.status, method.headers.allow, method.json().error]).toEqual([405, 'POST', 'GET is not allowed here; use POST']);
  });

  it('fails with 413 when the body is over the configured limit, and stays healthy', async () => {
    const big = JSON.stringify(features([new Array(2000).fill(1.25)]));
    const res = await infer(t.port, 'double', big);
    expect(res.status).toBe(413);
    expect(res.json().error).toBe(`request body is ${big.length} bytes, over the limit of 4096 bytes`);
    expect((await infer(t.port, 'double', features([[1]]))).status).toBe(200);
  });

  it('fails with 413 when a chunked body (no Content-Length) grows over the limit', async () => {
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: t.port, method: 'POST', path: '/v2/models/double/infer' }, (r) => {
        let text = '';
        r.on('data', (c: Buffer) => (text += c.toString()));
        r.on('end', () => resolve({ status: r.statusCode!, text }));
      });
      req.on('error', (err) => (err.message.includes('EPIPE') || err.message.includes('ECONNRESET') ? undefined : reject(err)));
      for (let i = 0; i < 8; i++) req.write('x'.repeat(1024));
      req.end();
    });
    expect(res).toEqual({ status: 413, text: '{"error":"request body is over the limit of 4096 bytes"}' });
    expect(t.app.inFlightRequests).toBe(0);
  });

  it('forgets a request whose client disconnects mid-body', async () => {
    const req = request({ host: '127.0.0.1', port: t.port, method: 'POST', path: '/v2/models/double/infer', headers: { 'content-length': 1000 } });
    req.on('error', () => undefined);
    req.write('{"inputs":');
    await new Promise((r) => setTimeout(r, 100));
    expect(t.app.inFlightRequests).toBe(1);
    req.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(t.app.inFlightRequests).toBe(0);
    const metrics = (await http(t.port, 'GET', '/metrics')).body.toString();
    expect(metrics).toContain('slipway_inference_in_flight_requests{model="double",version="3"} 0');
    expect(metrics).toContain('slipway_inference_requests_total{model="double",version="3",status="499"} 1');
    expect(metrics).not.toMatch(/status="5\d\d"/);
  });

  it('fails when binary data is truncated, oversized or unclaimed', async () => {
    const header = (size: number) => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: size } }] });
    const floats = new Uint8Array(Float32Array.from([1, 2]).buffer);
    const send = (h: unknown, bytes: Uint8Array[]) => {
      const { body, headerLength } = binaryBody(h, bytes);
      return infer(t.port, 'double', body, { 'inference-header-content-length': headerLength });
    };
    expect((await send(header(8), [floats.subarray(0, 5)])).json().error).toMatch(/input "x": binary data is truncated: needs 8 bytes at offset \d+, body has 5 left/);
    expect((await send(header(4), [floats.subarray(0, 4)])).json().error).toBe('input "x": binary_data_size is 4 bytes, but shape and datatype FP32 need 2 × 4 = 8 bytes');
    expect((await send(header(8), [floats, floats])).json().error).toBe('body has 8 bytes of binary data that no input claims (binary_data_size)');
    const res = await infer(t.port, 'double', '{}', { 'inference-header-content-length': 99 });
    expect([res.status, res.json().error]).toEqual([400, 'Inference-Header-Content-Length is 99 but the body has only 2 bytes']);
    const ok = await send(header(8), [floats]);
    expect(ok.json().outputs[0].data).toEqual([2, 4]);
  });

  it('does not count requests for unknown models in metrics (no unbounded label values)', async () => {
    await infer(t.port, 'made-up-name', features([[1]]));
    expect((await http(t.port, 'GET', '/metrics')).body.toString()).not.toContain('made-up-name');
  });
});

describe('model load failures', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer([
      { name: 'good', bytes: doubleModel() },
      { name: 'corrupt', bytes: corruptModelBytes() },
      { name: 'unknown-op', bytes: unknownOperatorModel() },
      { name: 'bad-config', bytes: doubleModel(), config: { batching: { maxBatchSize: 0 } } },
    ]);
  });
  afterAll(() => t.close());

  it('keep the server up and the other models serving', async () => {
    expect((await http(t.port, 'GET', '/v2/health/live')).status).toBe(200);
    expect((await infer(t.port, 'good', features([[1, 2]]))).json().outputs[0].data).toEqual([2, 4]);
  });

  it('mark only the broken models not ready, with the reason in ready, metadata, infer and the log', async () => {
    const ready = await http(t.port, 'GET', '/v2/models/unknown-op/ready');
    expect(ready.status).toBe(503);
    expect(ready.json()).toMatchObject({ name: 'unknown-op', ready: false });
    expect(ready.json().error).toMatch(/model "unknown-op" version 1 is not ready: failed to load: .*SlipwayNoSuchOperator/);
    const meta = await http(t.port, 'GET', '/v2/models/corrupt');
    expect([meta.status, meta.json().error]).toEqual([503, expect.stringMatching(/failed to load: .*model\.onnx failed:Protobuf parsing failed/)]);
    const inferred = await infer(t.port, 'bad-config', features([[1]]));
    expect(inferred.status).toBe(503);
    expect(inferred.json().error).toMatch(/config\.json: batching\.maxBatchSize: must be >= 1, got 0/);
    const failed = t.logger.records.filter((r) => r.event === 'model_load_failed').map((r) => r.model);
    expect(failed.sort()).toEqual(['bad-config', 'corrupt', 'unknown-op']);
    expect((await http(t.port, 'GET', '/v2/models/good/ready')).status).toBe(200);
  });

  it('report the server not ready (strict readiness) while any model is not ready', async () => {
    const res = await http(t.port, 'GET', '/v2/health/ready');
    expect([res.status, res.json()]).toEqual([503, { ready: false, error: expect.stringMatching(/^model "bad-config" version 1 is not ready: .*; model "corrupt" version 1 is not ready: failed to load: .*; model "unknown-op"/) }]);
    const metrics = (await http(t.port, 'GET', '/metrics')).body.toString();
    expect(metrics).toContain('slipway_model_ready{model="good",version="1"} 1');
    expect(metrics).toContain('slipway_model_ready{model="corrupt",version="1"} 0');
  });
});

describe('dotted model versions', () => {
  it('serve the highest one through /versions/{v}, with the version string in responses and metrics', async () => {
    // GIVEN versions 1, 1.2.10 and 1.3.0 of one model (the ModelServing layout)
    const t = await startTestServer([
      { name: 'm', version: '1', bytes: doubleModel() },
      { name: 'm', version: '1.2.10', bytes: doubleModel() },
      { name: 'm', version: '1.3.0', bytes: doubleModel() },
    ]);
    try {
      // WHEN it is asked for by version
      const res = await infer(t.port, 'm/versions/1.3.0', features([[1, 2]]));
      // THEN 1.3.0 serves, answers with its version, and the metrics label it
      expect([res.status, res.json().model_version, res.json().outputs[0].data]).toEqual([200, '1.3.0', [2, 4]]);
      expect((await http(t.port, 'GET', '/v2/models/m')).json().versions).toEqual(['1.3.0']);
      expect((await http(t.port, 'GET', '/v2/models/m/versions/1.3.0/ready')).status).toBe(200);
      const old = await infer(t.port, 'm/versions/1.2.10', features([[1, 2]]));
      expect([old.status, old.json().error]).toEqual([404, 'model "m" has no version "1.2.10"; version 1.3.0 is served']);
      const metrics = (await http(t.port, 'GET', '/metrics')).body.toString();
      expect(metrics).toContain('slipway_inference_requests_total{model="m",version="1.3.0",status="200"} 1');
      expect(metrics).toContain('slipway_model_ready{model="m",version="1.3.0"} 1');
    } finally {
      await t.close();
    }
  });
});
