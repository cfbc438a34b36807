// Inference off the event loop: sessions on worker threads, big bodies decoded on codec workers.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mlpModel, seededRandom } from '../../lib/onnx/builders.js';
import { cgroupCpuLimit, cpuBudget, defaultThreadPlan } from '../../lib/runtime/cpu.js';
import { SessionThreads } from '../../lib/runtime/session-pool.js';
import { http, infer, startTestServer, type TestServer } from './helpers.js';

const slow = mlpModel({ sizes: [256, 2048, 2048, 256], seed: 3 });
const fast = mlpModel({ sizes: [8, 16, 2], softmax: true, seed: 4 });

function rows(n: number, width: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: n * width }, () => random() * 2 - 1);
}

/** Sends `request`, and health checks back to back until it answers; counts what finished first. */
async function healthDuring(port: number, request: Promise<unknown>): Promise<number> {
  let done = false;
  void request.finally(() => (done = true));
  let answered = 0;
  while (!done) {
    const res = await http(port, 'GET', '/v2/health/live');
    if (!done && res.status === 200) answered++;
  }
  return answered;
}

describe('sessions on worker threads', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(
      [
        { name: 'slow', bytes: slow.bytes, config: { batching: { enabled: false } } },
        { name: 'fast', bytes: fast.bytes },
        { name: 'pair', bytes: fast.bytes, config: { workers: 2, batching: { maxBatchSize: 4, maxQueueDelayMs: 5 } } },
      ],
      { threads: { intraOpThreads: 1 } },
    );
  });
  afterAll(() => t.close());

  const slowRequest = () => infer(t.port, 'slow', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1000, 256], data: Array.from(rows(1000, 256, 1)) }] });

  it('answers health checks while a model computes', async () => {
    // GIVEN a request that keeps its session busy for a while WHEN health is polled meanwhile
    // THEN health checks complete before the inference does (on the event loop they could not)
    expect(await healthDuring(t.port, slowRequest())).toBeGreaterThan(3);
  });

  it('lets a fast model answer while a slow one computes', async () => {
    let slowDone = false;
    const pending = slowRequest().then((res) => {
      slowDone = true;
      return res;
    });
    await new Promise((r) => setTimeout(r, 50));
    const quick = await infer(t.port, 'fast', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 8], data: Array.from(rows(1, 8, 2)) }] });
    expect([quick.status, slowDone]).toEqual([200, false]);
    expect((await pending).status).toBe(200);
  });

  it('gives bit-identical answers with two sessions and batching as onnxruntime alone', async () => {
    const session = await ort.InferenceSession.create(fast.bytes);
    const inputs = Array.from({ length: 24 }, (_, i) => rows(1 + (i % 3), 8, 100 + i));
    const answers = await Promise.all(inputs.map((x) => infer(t.port, 'pair', { inputs: [{ name: 'x', datatype: 'FP32', shape: [x.length / 8, 8], data: Array.from(x) }] })));
    for (let i = 0; i < inputs.length; i++) {
      const expected = (await session.run({ x: new ort.Tensor('float32', inputs[i]!, [inputs[i]!.length / 8, 8]) })).y!.data as Float32Array;
      expect(answers[i]!.json().outputs[0].data).toEqual(Array.from(expected));
    }
    await session.release();
    expect(t.app.model('pair')).toMatchObject({ workers: 2, intraOpThreads: 1 });
  });

  it('decodes a big JSON body off the event loop, with the same answer as small requests', async () => {
    // GIVEN ~30 MiB of JSON for the fast model (200,000 rows)
    const n = 200_000;
    const x = rows(n, 8, 9);
    const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [n, 8], data: Array.from(x) }], outputs: [{ name: 'y', parameters: { binary_data: true } }] });
    expect(body.length).toBeGreaterThan(20 * 1024 * 1024);
    // WHEN it is sent THEN health checks answer while it is read, decoded and run
    const request = infer(t.port, 'fast', body);
    expect(await healthDuring(t.port, request)).toBeGreaterThan(3);
    const res = await request;
    expect(res.status).toBe(200);
    // AND its rows equal those of a one-row request
    const probabilities = new Float32Array(res.body.buffer.slice(res.body.byteOffset + Number(res.headers['inference-header-content-length']), res.body.byteOffset + res.body.length));
    for (const row of [0, 123_456, n - 1]) {
      const single = await infer(t.port, 'fast', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 8], data: Array.from(x.subarray(row * 8, row * 8 + 8)) }] });
      expect(Array.from(probabilities.subarray(row * 2, row * 2 + 2))).toEqual(single.json().outputs[0].data);
    }
  });

  it('reports a bad big body as a 400 naming the problem, decoded on a worker', async () => {
    const body = `{"inputs": [{"name": "x", "datatype": "FP32", "shape": [100000, 8], "data": [${'1,'.repeat(400_000)}"one"]}]}`;
    const res = await infer(t.port, 'fast', body);
    expect([res.status, res.json().error]).toEqual([400, 'input "x": shape [100000,8] needs 800000 elements, got 400001']);
  });
});

describe('inline runs for models measured to be tiny', () => {
  let t: TestServer;
  // A matmul chain big enough that even one 64-row request computes for milliseconds.
  const heavy = mlpModel({ sizes: [512, 2048, 2048, 512], seed: 5 });
  const tabular = mlpModel({ sizes: [32, 256, 256, 2], softmax: true, seed: 6 });
  beforeAll(async () => {
    t = await startTestServer(
      [
        { name: 'fast', bytes: fast.bytes },
        { name: 'never', bytes: fast.bytes, config: { inlineComputeBelowMs: 0 } },
        { name: 'heavy', bytes: heavy.bytes },
        // The widest threshold: a loaded CI machine must not push its runs back to the worker mid-test.
        { name: 'tabular', bytes: tabular.bytes, config: { inlineComputeBelowMs: 50 } },
      ],
      // Two intra-op threads on the workers, one on the event-loop session: answers must not differ.
      { threads: { intraOpThreads: 2 } },
    );
  });
  afterAll(() => t.close());

  const one = (model: string, seed: number) => infer(t.port, model, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 8], data: Array.from(rows(1, 8, seed)) }] });

  /** One-row requests, one after another, until `done` or `limit` requests. */
  async function sequential(model: string, limit: number, done: () => boolean): Promise<void> {
    for (let i = 0; i < limit && !done(); i++) expect((await one(model, 300 + i)).status).toBe(200);
  }

  it('answers a fast model inline once worker runs have measured it, with the same bits', async () => {
    // GIVEN the default policy (1 ms) WHEN one-row requests arrive one at a time
    await sequential('fast', 200, () => t.app.model('fast')!.runCounts.inline > 0);
    // THEN the first ones ran on the worker and later ones inline
    const counts = t.app.model('fast')!.runCounts;
    expect(counts.worker).toBeGreaterThanOrEqual(3);
    expect(counts.inline).toBeGreaterThan(0);
    // AND inline answers are bit-identical to onnxruntime's own
    const session = await ort.InferenceSession.create(fast.bytes);
    for (let i = 0; i < 5; i++) {
      const x = rows(1, 8, 900 + i);
      const res = await infer(t.port, 'fast', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 8], data: Array.from(x) }] });
      const expected = (await session.run({ x: new ort.Tensor('float32', x, [1, 8]) })).y!.data as Float32Array;
      expect(res.json().outputs[0].data).toEqual(Array.from(expected));
    }
    await session.release();
    expect(t.app.model('fast')!.runCounts.inline).toBeGreaterThan(counts.inline);
  });

  it('gives bit-identical answers inline and on the worker, one row or a batch', async () => {
    const request = (x: Float32Array) => infer(t.port, 'tabular', { inputs: [{ name: 'x', datatype: 'FP32', shape: [x.length / 32, 32], data: Array.from(x) }] });
    // GIVEN a 32-row request answered by the worker (the model has not been measured yet)
    const batch = rows(32, 32, 77);
    const onWorker = (await request(batch)).json().outputs[0].data;
    for (let i = 0; i < 200 && t.app.model('tabular')!.runCounts.inline === 0; i++) await request(rows(1, 32, 500 + i));
    const before = t.app.model('tabular')!.runCounts.inline;
    expect(before).toBeGreaterThan(0);
    // WHEN the same rows come again, together and one by one, once it runs inline
    const inline = (await request(batch)).json().outputs[0].data;
    const single: number[] = [];
    for (let r = 0; r < 32; r++) single.push(...(await request(batch.subarray(r * 32, r * 32 + 32))).json().outputs[0].data);
    // THEN all three agree to the bit
    expect(t.app.model('tabular')!.runCounts.inline).toBe(before + 33);
    expect(inline).toEqual(onWorker);
    expect(single).toEqual(onWorker);
  });

  it('sends a big request to a fast model to its worker', async () => {
    await sequential('fast', 200, () => t.app.model('fast')!.runCounts.inline > 0);
    const before = t.app.model('fast')!.runCounts;
    // GIVEN 100,000 rows: the learnt cost per element times 800,000 elements is far above 1 ms
    const res = await infer(t.port, 'fast', { inputs: [{ name: 'x', datatype: 'FP32', shape: [100_000, 8], data: Array.from(rows(100_000, 8, 7)) }] });
    expect(res.status).toBe(200);
    expect(t.app.model('fast')!.runCounts).toEqual({ inline: before.inline, worker: before.worker + 1 });
  });

  it('never runs inline when the model config says 0', async () => {
    await sequential('never', 30, () => false);
    expect(t.app.model('never')!.runCounts).toEqual({ inline: 0, worker: 30 });
  });

  it('keeps a slow model on its worker, so health checks answer while it computes', async () => {
    // GIVEN a model whose runs take milliseconds WHEN 64-row requests arrive one after another
    const request = (async () => {
      for (let i = 0; i < 8; i++) {
        const res = await infer(t.port, 'heavy', { inputs: [{ name: 'x', datatype: 'FP32', shape: [64, 512], data: Array.from(rows(64, 512, 40 + i)) }] });
        expect(res.status).toBe(200);
      }
    })();
    // THEN health checks answer meanwhile AND not one run went inline
    expect(await healthDuring(t.port, request)).toBeGreaterThan(3);
    await request;
    expect(t.app.model('heavy')!.runCounts).toEqual({ inline: 0, worker: 8 });
  });
});

describe('thread defaults from the CPU limit', () => {
  it('reads the cgroup v2 limit, v1 quota, or none', () => {
    const files = (map: Record<string, string>) => (path: string) => {
      if (map[path] === undefined) throw new Error('ENOENT');
      return map[path];
    };
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '150000 100000\n' }))).toBe(1.5);
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBeUndefined();
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '400000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }))).toBe(4);
    expect(cgroupCpuLimit(files({}))).toBeUndefined();
  });

  it('plans one session per model and leaves a core to the event loop above two cores', () => {
    expect(cpuBudget(1.5, 8)).toBe(2);
    expect(cpuBudget(undefined, 8)).toBe(8);
    expect(cpuBudget(16, 4)).toBe(4);
    expect([1, 2, 4, 8].map((c) => defaultThreadPlan(c))).toEqual([
      { workersPerModel: 1, sessionThreads: 2, intraOpThreads: 1, inlineComputeBelowMs: 1 },
      { workersPerModel: 1, sessionThreads: 2, intraOpThreads: 2, inlineComputeBelowMs: 1 },
      { workersPerModel: 1, sessionThreads: 4, intraOpThreads: 3, inlineComputeBelowMs: 1 },
      { workersPerModel: 1, sessionThreads: 8, intraOpThreads: 7, inlineComputeBelowMs: 1 },
    ]);
  });
});

describe('closing the session threads', () => {
  it('lets a session load in flight finish before its thread stops (a thread terminated inside onnxruntime aborts the process)', async () => {
    // GIVEN a booted session thread, WHEN it is closed while it creates a session of a big model
    const dir = mkdtempSync(join(tmpdir(), 'slipway-close-'));
    writeFileSync(join(dir, 'fast.onnx'), fast.bytes);
    writeFileSync(join(dir, 'slow.onnx'), slow.bytes);
    const threads = new SessionThreads(1);
    const [first] = threads.place(1);
    const [second] = threads.place(1);
    const load = (modelPath: string) => ({ kind: 'load' as const, modelPath, logId: 'close-test', provider: 'cpu' as const, cudaDeviceId: 0 });
    try {
      await first!.thread.call(first!.session, load(join(dir, 'fast.onnx')));
      const inFlight = second!.thread.call<{ provider: string }>(second!.session, load(join(dir, 'slow.onnx')));
      await new Promise((resolve) => setTimeout(resolve, 2));
      await threads.close();
      // THEN the load answered, the thread is gone and nothing more is accepted
      await expect(inFlight).resolves.toMatchObject({ provider: 'cpu' });
      await expect(first!.thread.call(first!.session, { kind: 'release' })).rejects.toThrow(/closing|exited/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
