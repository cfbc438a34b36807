// Many models on one server: session threads shared across models, explicit model control,
// and a memory budget kept by unloading the least recently used model.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { doubleModel, mlpModel, seededRandom } from '../../lib/onnx/builders.js';
import { checkStartupModels } from '../../lib/runtime/serve.js';
import { sessionOptions } from '../../lib/runtime/session-options.js';
import type { ModelSource } from '../../lib/runtime/repository.js';
import { defaultModelConfig } from '../../lib/runtime/model-config.js';
import { binaryBody, http, infer, startTestServer, type TestServer } from './helpers.js';

const row = (values: number[]) => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, values.length], data: values }] });
const mlp = mlpModel({ sizes: [4, 32, 2], seed: 7 });
const mlpRow = () => {
  const random = seededRandom(1);
  return row(Array.from({ length: 4 }, () => random()));
};

describe('session threads shared across models', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(Array.from({ length: 8 }, (_, i) => ({ name: `m${i}`, bytes: doubleModel() })), { threads: { sessionThreads: 2, intraOpThreads: 1 } });
  });
  afterAll(() => t.close());

  it('loads eight models on two worker threads, and each answers with its own session', async () => {
    // GIVEN eight models and two session threads WHEN all have loaded THEN two threads hold all eight sessions
    expect(t.app.backend.threads.started).toBe(2);
    expect(t.app.models.map((m) => m.status)).toEqual(Array(8).fill('ready'));
    const answers = await Promise.all(t.app.models.map((m, i) => infer(t.port, m.name, row([i]))));
    expect(answers.map((a) => a.json().outputs[0].data)).toEqual(Array.from({ length: 8 }, (_, i) => [2 * i]));
  });

  it('keeps the other models on a thread serving when one model unloads', async () => {
    await t.app.unloadModel('m0');
    expect((await infer(t.port, 'm2', row([5]))).json().outputs[0].data).toEqual([10]);
    await t.app.loadModel('m0');
    expect((await infer(t.port, 'm0', row([4]))).json().outputs[0].data).toEqual([8]);
    expect(t.app.backend.threads.started).toBe(2);
  });
});

describe('explicit model control (Triton --model-control-mode=explicit)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(
      [{ name: 'a', bytes: doubleModel() }, { name: 'b', bytes: doubleModel() }, { name: 'c', bytes: doubleModel() }],
      { modelControlMode: 'explicit', loadModels: ['a'] },
    );
  });
  afterAll(() => t.close());

  it('loads only the startup models; readiness says which models are loaded', async () => {
    expect(t.app.models.map((m) => [m.name, m.status])).toEqual([['a', 'ready'], ['b', 'unloaded'], ['c', 'unloaded']]);
    const ready = await http(t.port, 'GET', '/v2/health/ready');
    expect([ready.status, ready.json()]).toEqual([200, { ready: true, models: { loaded: ['a'], unloaded: ['b', 'c'] } }]);
  });

  it('fails with 503 naming how to load a model that is not loaded, then serves it once loaded on request', async () => {
    const refused = await infer(t.port, 'b', row([1]));
    expect([refused.status, refused.json().error]).toEqual([503, 'model "b" version 1 is not loaded: load it with POST /v2/repository/models/b/load']);
    expect((await http(t.port, 'POST', '/v2/repository/models/b/load', '')).status).toBe(200);
    expect((await infer(t.port, 'b', row([3]))).json().outputs[0].data).toEqual([6]);
    const index = (await http(t.port, 'POST', '/v2/repository/index', '')).json();
    expect(index.map((m: { name: string; state: string }) => [m.name, m.state])).toEqual([['a', 'READY'], ['b', 'READY'], ['c', 'UNAVAILABLE']]);
  });

  it('fails when --load-model names a model the repository lacks, or is given without explicit mode', () => {
    const sources: ModelSource[] = ['a', 'b'].map((name) => ({ name, version: '1', modelPath: `/m/${name}/1/model.onnx`, config: defaultModelConfig() }));
    expect(() => checkStartupModels(sources, 'explicit', ['a', 'ghost'])).toThrow(expect.objectContaining({ code: 'RUNTIME_LOAD_MODEL_UNKNOWN', message: '--load-model "ghost": not in the model repository; it has a, b' }));
    expect(() => checkStartupModels(sources, 'none', ['a'])).toThrow(expect.objectContaining({ code: 'RUNTIME_LOAD_MODEL_WITHOUT_EXPLICIT' }));
    expect(() => checkStartupModels(sources, 'explicit', ['a', 'b'])).not.toThrow();
  });
});

describe('memory budget with least-recently-used unload', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('unloads the least recently used idle model to load another, and loads it again on its next request', async () => {
    // GIVEN a budget that holds two of three equal models, loaded one after another
    const size = mlp.bytes.length;
    const s = await startTestServer(['x', 'y', 'z'].map((name) => ({ name, bytes: mlp.bytes })), { modelMemoryBudgetBytes: Math.floor(size * 2.5), loadConcurrency: 1 });
    t = s;
    // THEN loading the third unloaded the first (least recently loaded), and the server is still ready
    expect(s.app.models.map((m) => [m.name, m.status])).toEqual([['x', 'unloaded'], ['y', 'ready'], ['z', 'ready']]);
    const ready = await http(s.port, 'GET', '/v2/health/ready');
    expect([ready.status, ready.json().models]).toEqual([200, { loaded: ['y', 'z'], unloaded: ['x'] }]);
    const index = (await http(s.port, 'POST', '/v2/repository/index', '')).json();
    expect(index[0]).toEqual({ name: 'x', version: '1', state: 'UNAVAILABLE', reason: 'unloaded to keep the memory budget; loads on its next request' });
    // WHEN z is used, then x is asked for by three requests at once THEN x loads again (once) in
    // place of y, the least recently used, and all three are answered
    expect((await infer(s.port, 'z', mlpRow())).status).toBe(200);
    const again = await Promise.all([1, 2, 3].map(() => infer(s.port, 'x', mlpRow())));
    expect(again.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(again[0]!.json().outputs[0].data).toEqual((await infer(s.port, 'z', mlpRow())).json().outputs[0].data);
    expect(s.logger.records.filter((e) => e.event === 'model_reloaded').map((e) => e.model)).toEqual(['x']);
    expect(s.app.models.map((m) => [m.name, m.status])).toEqual([['x', 'ready'], ['y', 'unloaded'], ['z', 'ready']]);
    expect(s.logger.records.filter((e) => e.event === 'model_evicted').map((e) => [e.model, e.for_model])).toEqual([['x', 'z'], ['y', 'x']]);
  });

  it('fails a model that needs more than the whole budget, naming the budget', async () => {
    const s = await startTestServer([{ name: 'big', bytes: mlp.bytes }, { name: 'small', bytes: doubleModel() }], { modelMemoryBudgetBytes: Math.floor(mlp.bytes.length / 2) });
    t = s;
    expect(s.app.model('small')!.status).toBe('ready');
    expect(s.app.model('big')).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^needs \d+ bytes \(its model file once per session\), more than the whole memory budget of \d+ bytes \(--model-memory-budget\)$/) });
    const load = await http(s.port, 'POST', '/v2/repository/models/big/load', '');
    expect([load.status, load.json().error]).toEqual([400, expect.stringContaining('more than the whole memory budget')]);
  });
});

describe('onnxruntime CPU memory arena', () => {
  it('is on unless turned off, and then onnxruntime is told so', () => {
    const load = { kind: 'load', modelPath: 'm.onnx', logId: 'm@1', provider: 'cpu', cudaDeviceId: 0 } as const;
    expect(sessionOptions(load, 'cpu')).not.toHaveProperty('enableCpuMemArena');
    expect(sessionOptions({ ...load, cpuMemArena: 'auto' }, 'cpu')).not.toHaveProperty('enableCpuMemArena');
    expect(sessionOptions({ ...load, cpuMemArena: false }, 'cpu')).toMatchObject({ enableCpuMemArena: false });
  });

  describe('auto (the default)', () => {
    // 8,192 rows of 512 floats: exactly the 16 MiB of inputs that make a huge batch.
    const wide = mlpModel({ sizes: [512, 64, 8], seed: 9 });
    const huge = binaryBody({ inputs: [{ name: 'x', datatype: 'FP32', shape: [8192, 512], parameters: { binary_data_size: 8192 * 512 * 4 } }] }, [new Uint8Array(new Float32Array(8192 * 512).fill(0.25).buffer)]);
    const small = () => {
      const random = seededRandom(3);
      return row(Array.from({ length: 512 }, () => random()));
    };
    const sendHuge = (port: number, model: string) => http(port, 'POST', `/v2/models/${model}/infer`, huge.body, { 'inference-header-content-length': huge.headerLength });
    const arenaOff = (t: TestServer) => t.logger.records.filter((r) => r.event === 'cpu_mem_arena_off');

    it('turns the arena off for a model after its first huge batch, answering the same before and after', async () => {
      // GIVEN a model served with the default arena, its runs kept on the session thread
      const t = await startTestServer([{ name: 'wide', bytes: wide.bytes, config: { inlineComputeBelowMs: 0 } }]);
      try {
        const before = (await infer(t.port, 'wide', small())).json().outputs[0].data;
        // WHEN a batch of 16 MiB of inputs arrives, and another after it
        expect((await sendHuge(t.port, 'wide')).status).toBe(200);
        expect((await sendHuge(t.port, 'wide')).status).toBe(200);
        // THEN the session is reloaded without the arena once (logged by its first run) and answers as before
        await expect.poll(async () => {
          expect((await infer(t.port, 'wide', small())).json().outputs[0].data).toEqual(before);
          return arenaOff(t).length;
        }).toBe(1);
        expect(arenaOff(t)[0]).toMatchObject({ level: 'info', model: 'wide', version: '1', reason: expect.stringContaining('16777216 input bytes') });
        for (let i = 0; i < 3; i++) expect((await infer(t.port, 'wide', small())).json().outputs[0].data).toEqual(before);
        expect(arenaOff(t)).toHaveLength(1);
      } finally {
        await t.close();
      }
    });

    it('keeps the arena when it is turned on explicitly', async () => {
      const t = await startTestServer([{ name: 'wide', bytes: wide.bytes, config: { cpuMemArena: true, inlineComputeBelowMs: 0 } }]);
      try {
        expect((await sendHuge(t.port, 'wide')).status).toBe(200);
        for (let i = 0; i < 3; i++) expect((await infer(t.port, 'wide', small())).status).toBe(200);
        expect(arenaOff(t)).toEqual([]);
      } finally {
        await t.close();
      }
    });
  });

  it('serves a model whose config.json turns the arena off', async () => {
    const t = await startTestServer([{ name: 'lean', bytes: doubleModel(), config: { cpuMemArena: false } }]);
    try {
      expect((await infer(t.port, 'lean', row([2]))).json().outputs[0].data).toEqual([4]);
    } finally {
      await t.close();
    }
  });
});
