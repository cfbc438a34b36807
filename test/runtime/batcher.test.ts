import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { doubleModel, fixedShapeModel, mlpModel, seededRandom } from '../../lib/onnx/builders.js';
import { encodeModel } from '../../lib/onnx/model.js';
import { BatchScheduler } from '../../lib/runtime/batcher.js';
import type { Tensor } from '../../lib/runtime/protocol.js';
import { http, infer, startTestServer, type TestServer } from './helpers.js';

const mlp = mlpModel({ sizes: [16, 32, 8], softmax: true, seed: 21 });

// Gather from a 5-element table: indices outside [-5, 4] fail inside onnxruntime, after validation.
const gatherModel = encodeModel({
  graph: {
    name: 'gather',
    nodes: [{ opType: 'Gather', inputs: ['table', 'idx'], outputs: ['y'], attributes: { axis: { kind: 'int', value: 0 } } }],
    initializers: [{ name: 'table', elemType: 'FLOAT', dims: [5], values: Float32Array.from([10, 11, 12, 13, 14]) }],
    inputs: [{ name: 'idx', elemType: 'INT64', shape: ['batch', 1] }],
    outputs: [{ name: 'y', elemType: 'FLOAT', shape: ['batch', 1] }],
  },
});

function metricValue(text: string, line: string): number {
  const match = text.split('\n').find((l) => l.startsWith(line));
  return match ? Number(match.slice(line.length).trim()) : NaN;
}

describe('dynamic batching', () => {
  let t: TestServer;
  beforeAll(async () => {
    const batching = { batching: { maxBatchSize: 16, maxQueueDelayMs: 20 } };
    t = await startTestServer([
      { name: 'mlp', bytes: mlp.bytes, config: batching },
      { name: 'double', bytes: doubleModel(), config: batching },
      { name: 'fixed', bytes: fixedShapeModel() },
      { name: 'gather', bytes: gatherModel, config: batching },
      { name: 'unbatched', bytes: mlp.bytes, config: { batching: { enabled: false } } },
    ]);
  });
  afterAll(() => t.close());

  it('is on only for models whose first dimension is dynamic, and when enabled', () => {
    expect(Object.fromEntries(t.app.models.map((m) => [m.name, m.batching]))).toEqual({ mlp: true, double: true, fixed: false, gather: true, unbatched: false });
  });

  it('answers concurrent requests exactly as unbatched session.run does', async () => {
    // GIVEN 150 concurrent requests of 1-3 rows each
    const random = seededRandom(99);
    const requests = Array.from({ length: 150 }, () => {
      const rows = 1 + Math.floor(random() * 3);
      return { rows, data: Float32Array.from({ length: rows * 16 }, () => random() * 6 - 3) };
    });
    const before = (await http(t.port, 'GET', '/metrics')).body.toString();
    // WHEN sent at once through the batching server
    const responses = await Promise.all(requests.map((r) => infer(t.port, 'mlp', { inputs: [{ name: 'x', datatype: 'FP32', shape: [r.rows, 16], data: Array.from(r.data) }] })));
    // THEN every answer is bit-identical to running that request alone in onnxruntime
    const session = await ort.InferenceSession.create(mlp.bytes);
    for (const [i, r] of requests.entries()) {
      const alone = (await session.run({ x: new ort.Tensor('float32', r.data, [r.rows, 16]) })).y!;
      expect(responses[i]!.status).toBe(200);
      const out = responses[i]!.json().outputs[0];
      expect(out.shape).toEqual([r.rows, 8]);
      expect(Float32Array.from(out.data)).toEqual(alone.data);
    }
    // AND requests really were batched: fewer executions than requests, none over the maximum
    const after = (await http(t.port, 'GET', '/metrics')).body.toString();
    const executions = metricValue(after, 'slipway_inference_batch_size_count{model="mlp",version="1"}') - (metricValue(before, 'slipway_inference_batch_size_count{model="mlp",version="1"}') || 0);
    expect(executions).toBeLessThan(requests.length / 2);
    expect(metricValue(after, 'slipway_inference_batch_size_bucket{le="16",model="mlp",version="1"}')).toBe(metricValue(after, 'slipway_inference_batch_size_count{model="mlp",version="1"}'));
  });

  it('batches only requests whose other dimensions agree, and answers each correctly', async () => {
    const widths = [1, 2, 3, 2, 1, 3, 3, 2, 1, 2];
    const responses = await Promise.all(widths.map((w, i) => infer(t.port, 'double', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, w], data: Array.from({ length: w }, (_, k) => i + k) }] })));
    responses.forEach((res, i) => expect(res.json().outputs[0].data).toEqual(Array.from({ length: widths[i]! }, (_, k) => 2 * (i + k))));
  });

  it('fails only the request that breaks at run time when its batch fails', async () => {
    // GIVEN good and bad (out-of-range index) requests that share a batch
    const indices = [0, 4, 7, 2, -1];
    const responses = await Promise.all(indices.map((i) => infer(t.port, 'gather', { inputs: [{ name: 'idx', datatype: 'INT64', shape: [1, 1], data: [i] }] })));
    // THEN the good ones answer and the bad one gets a 400 that says why
    expect(responses.map((r) => r.status)).toEqual([200, 200, 400, 200, 200]);
    expect(responses.filter((r) => r.status === 200).map((r) => r.json().outputs[0].data[0])).toEqual([10, 14, 12, 14]);
    expect(responses[2]!.json().error).toMatch(/model "gather" failed to run: .*out of (data )?bounds/);
  });

  it('runs fixed-shape and batching-disabled models one request at a time, correctly', async () => {
    const fixed = await Promise.all([1, 2, 3].map((k) => infer(t.port, 'fixed', { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: new Array(6).fill(k) }] })));
    fixed.forEach((res, i) => expect(res.json().outputs[0].data).toEqual(new Array(6).fill(2 * (i + 1))));
    const before = (await http(t.port, 'GET', '/metrics')).body.toString();
    const key = 'slipway_inference_batch_size_sum{model="unbatched",version="1"}';
    await Promise.all(Array.from({ length: 10 }, () => infer(t.port, 'unbatched', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 16], data: new Array(16).fill(0.5) }] })));
    const after = (await http(t.port, 'GET', '/metrics')).body.toString();
    expect(metricValue(after, key) - (metricValue(before, key) || 0)).toBe(10);
    expect(metricValue(after, 'slipway_inference_batch_size_bucket{le="1",model="unbatched",version="1"}')).toBe(10);
  });
});

describe('refill: a model waits briefly for the clients of its last batch', () => {
  /** 8 closed-loop clients coming back 1–3 ms after their answer, one after another, to a model that computes for 40 ms. */
  async function averageBatch(refill: boolean): Promise<number> {
    const batches: number[] = [];
    const scheduler = new BatchScheduler(
      (inputs) => new Promise((resolve) => setTimeout(() => resolve(new Map([['y', inputs[0]!]])), 40)),
      { enabled: true, maxBatchSize: 32, maxQueueDelayMs: 0, refill, onBatch: (rows) => batches.push(rows) },
    );
    const x: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 1], data: Float32Array.of(1) };
    await Promise.all(Array.from({ length: 8 }, async (_, client) => {
      for (let round = 0; round < 12; round++) {
        await scheduler.submit([x], ['y']);
        await new Promise((r) => setTimeout(r, 1 + client * 0.3));
      }
    }));
    return batches.reduce((a, b) => a + b, 0) / batches.length;
  }

  it('keeps the clients in one batch under steady load, where without it they split into groups taking turns', async () => {
    const [on, off] = [await averageBatch(true), await averageBatch(false)];
    expect(on).toBeGreaterThan(6.5);
    expect(off).toBeLessThan(on - 1);
  });
});

describe('the next batch and the answers of the last', () => {
  it('hands what queued to the model before answering the batch that finished, so the model computes while the answers are written', async () => {
    // GIVEN a model computing one request, and two more queued behind it
    const events: string[] = [];
    const finish: Array<() => void> = [];
    const scheduler = new BatchScheduler(
      (inputs) => {
        events.push(`run ${inputs[0]!.shape[0]} rows`);
        return new Promise((resolve) => finish.push(() => resolve(new Map([['y', inputs[0]!]]))));
      },
      { enabled: true, maxBatchSize: 32, maxQueueDelayMs: 0 },
    );
    const x: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 1], data: Float32Array.of(1) };
    const first = scheduler.submit([x], ['y']).then(() => events.push('answer first'));
    await new Promise((resolve) => setImmediate(resolve));
    const queued = [scheduler.submit([x], ['y']), scheduler.submit([x], ['y'])];
    // WHEN the first run finishes
    finish[0]!();
    await first;
    // THEN the queued two went to the model before the first was answered
    expect(events).toEqual(['run 1 rows', 'run 2 rows', 'answer first']);
    finish[1]!();
    await Promise.all(queued);
  });
});
