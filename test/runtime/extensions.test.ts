// Open Inference Protocol extensions beyond inference: model repository, statistics, model
// configuration, gzip transfer and the classification extension's refusal.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doubleModel, identityModel } from '../../lib/onnx/builders.js';
import { http, infer, startTestServer, type TestServer } from './helpers.js';

const row = (values: number[]) => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, values.length], data: values }] });

describe('model repository, statistics and configuration extensions', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(
      [
        { name: 'double', bytes: doubleModel(), config: { batching: { maxBatchSize: 8, maxQueueDelayMs: 20 }, workers: 1 } },
        { name: 'strings', bytes: identityModel('STRING', [2]) },
      ]);
  });
  afterAll(() => t.close());

  it('lists the repository, unloads and loads models, and rescans the directory on load', async () => {
    // GIVEN a third model added on disk after start
    mkdirSync(join(t.repository, 'late', '2'), { recursive: true });
    writeFileSync(join(t.repository, 'late', '2', 'model.onnx'), doubleModel());
    const index = await http(t.port, 'POST', '/v2/repository/index', '');
    expect([index.status, index.json()]).toEqual([200, [
      { name: 'double', version: '1', state: 'READY', reason: '' },
      { name: 'late', version: '2', state: 'UNAVAILABLE', reason: 'not loaded' },
      { name: 'strings', version: '1', state: 'READY', reason: '' },
    ]]);
    // WHEN it is loaded THEN it serves, and readiness counts it
    expect((await http(t.port, 'POST', '/v2/repository/models/late/load', '')).status).toBe(200);
    expect((await infer(t.port, 'late', row([1, 2]))).json().outputs[0].data).toEqual([2, 4]);
    // WHEN a model is unloaded THEN its requests get 503, the index says why, and the server stays ready
    expect((await http(t.port, 'POST', '/v2/repository/models/double/unload', '')).status).toBe(200);
    expect((await infer(t.port, 'double', row([1]))).status).toBe(503);
    expect((await http(t.port, 'POST', '/v2/repository/index', '')).json()[0]).toEqual({ name: 'double', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' });
    expect((await http(t.port, 'GET', '/v2/health/ready')).status).toBe(200);
    // AND loading it again serves it again
    expect((await http(t.port, 'POST', '/v2/repository/models/double/load', '')).status).toBe(200);
    expect((await infer(t.port, 'double', row([3]))).json().outputs[0].data).toEqual([6]);
  });

  it('fails when loading a model the repository lacks or cannot load, naming it', async () => {
    const missing = await http(t.port, 'POST', '/v2/repository/models/ghost/load', '');
    expect([missing.status, missing.json().error]).toEqual([404, `model repository ${t.repository} has no model "ghost"`]);
    mkdirSync(join(t.repository, 'broken', '1'), { recursive: true });
    writeFileSync(join(t.repository, 'broken', '1', 'model.onnx'), 'not onnx');
    const broken = await http(t.port, 'POST', '/v2/repository/models/broken/load', '');
    expect([broken.status, broken.json().error]).toEqual([400, expect.stringContaining('model "broken" version 1 is not ready: failed to load: ')]);
    expect((await http(t.port, 'POST', '/v2/repository/models/ghost/unload', '')).status).toBe(404);
  });

  it('reports statistics in Triton\'s shape: successes, failures, queue and compute, executions by batch size', async () => {
    await Promise.all([1, 2, 3, 4].map((v) => infer(t.port, 'late', row([v]))));
    await infer(t.port, 'late', { inputs: [] });
    const res = await http(t.port, 'GET', '/v2/models/late/stats');
    expect(res.status).toBe(200);
    const [stats] = res.json().model_stats;
    expect(stats).toMatchObject({ name: 'late', version: '2', inference_count: 5 });
    expect(stats.inference_stats.success.count).toBe(5);
    expect(stats.inference_stats.fail.count).toBe(1);
    expect(stats.inference_stats.success.ns).toBeGreaterThan(0);
    expect(stats.inference_stats.queue.count).toBe(5);
    expect(stats.last_inference).toBeGreaterThan(Date.now() - 60_000);
    const executed = stats.batch_stats.reduce((n: number, b: { batch_size: number; compute_infer: { count: number } }) => n + b.batch_size * b.compute_infer.count, 0);
    expect([stats.execution_count <= 5, executed]).toEqual([true, 5]);
    const all = (await http(t.port, 'GET', '/v2/models/stats')).json().model_stats.map((s: { name: string }) => s.name);
    expect(all).toEqual(expect.arrayContaining(['double', 'late', 'strings']));
  });

  it('describes the served configuration in Triton\'s field names', async () => {
    const res = await http(t.port, 'GET', '/v2/models/double/config');
    expect(res.json()).toMatchObject({
      name: 'double', platform: 'onnxruntime_onnx', backend: 'onnxruntime', max_batch_size: 8,
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [-1] }],
      output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [-1] }],
      dynamic_batching: { max_queue_delay_microseconds: 20_000 },
      instance_group: [{ count: 1, kind: 'KIND_CPU' }],
      slipway: { workers: 1, requested_provider: 'cpu', provider: 'cpu' },
    });
    expect((await http(t.port, 'GET', '/v2/models/strings/config')).json()).toMatchObject({ max_batch_size: 0, input: [{ data_type: 'TYPE_STRING', dims: [2] }] });
  });
});

describe('gzip and the classification extension', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer([{ name: 'double', bytes: doubleModel() }], { maxBodyBytes: 64 * 1024 });
  });
  afterAll(() => t.close());

  it('inflates Content-Encoding: gzip bodies and compresses responses for Accept-Encoding: gzip', async () => {
    const values = Array.from({ length: 400 }, (_, i) => i);
    const res = await infer(t.port, 'double', gzipSync(JSON.stringify(row(values))), { 'content-encoding': 'gzip', 'accept-encoding': 'br;q=1, gzip;q=0.5' });
    expect([res.status, res.headers['content-encoding'], res.headers.vary]).toEqual([200, 'gzip', 'accept-encoding']);
    expect(JSON.parse(gunzipSync(res.body).toString()).outputs[0].data).toEqual(values.map((v) => v * 2));
    // small answers, and clients that refuse gzip, get plain bodies
    expect((await infer(t.port, 'double', row([1]), { 'accept-encoding': 'gzip' })).headers['content-encoding']).toBeUndefined();
    expect((await infer(t.port, 'double', row(values), { 'accept-encoding': 'gzip;q=0' })).headers['content-encoding']).toBeUndefined();
  });

  it('fails when a gzip body is corrupt, inflates past the body limit, or uses another encoding', async () => {
    const corrupt = await infer(t.port, 'double', Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' });
    expect([corrupt.status, corrupt.json().error]).toEqual([400, expect.stringMatching(/^request body is not valid gzip \(Content-Encoding: gzip\): /)]);
    const bomb = gzipSync(Buffer.alloc(1024 * 1024, 0x20));
    const inflated = await infer(t.port, 'double', bomb, { 'content-encoding': 'gzip' });
    expect([bomb.length < 64 * 1024, inflated.status, inflated.json().error]).toEqual([true, 413, 'request body is over the limit of 65536 bytes once inflated']);
    const brotli = await infer(t.port, 'double', 'x', { 'content-encoding': 'br' });
    expect([brotli.status, brotli.json().error]).toEqual([415, 'Content-Encoding "br" is not supported: send the body as is, or gzip-compressed with Content-Encoding: gzip']);
  });

  it('fails with 400 when a request asks for the classification extension', async () => {
    const res = await infer(t.port, 'double', { ...row([1]), outputs: [{ name: 'y', parameters: { classification: 2 } }] });
    expect([res.status, res.json().error]).toEqual([400, 'output "y": parameters.classification asks for the classification extension, which slipway does not implement; request the output tensor itself and take the top classes from it']);
  });
});
