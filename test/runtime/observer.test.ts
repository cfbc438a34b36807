import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Gauge } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RuntimeApp } from '../../lib/runtime/app.js';
import { MemoryLogger } from '../../lib/runtime/logger.js';
import type { InferenceRecord, ObservedModel } from '../../lib/runtime/observer.js';
import { scanRepository } from '../../lib/runtime/repository.js';
import { startServer } from '../../lib/runtime/server.js';
import { doubleModel } from '../../lib/onnx/builders.js';
import { http, infer, writeRepository } from './helpers.js';

describe('inference observers (the live-drift seam)', () => {
  it('see each successful request\'s inputs and outputs, get the baseline path, and close at shutdown', async () => {
    // GIVEN a model with a baseline.json and an observer factory
    const repository = writeRepository([{ name: 'watched', bytes: doubleModel() }, { name: 'plain', bytes: doubleModel() }]);
    writeFileSync(join(repository, 'watched', '1', 'baseline.json'), '{}');
    const seen: ObservedModel[] = [];
    const records: Array<{ model: string; id: string | null; input: number[]; output: number[] }> = [];
    let closed = 0;
    const logger = new MemoryLogger();
    const app = new RuntimeApp({
      sources: await scanRepository(repository),
      logger,
      observers: (model) => {
        seen.push(model);
        if (!model.baselinePath) return undefined;
        const observed = new Gauge({ name: 'test_observed_rows', help: 'rows seen by the test observer', labelNames: ['model'], registers: [model.registry] });
        return {
          // Copies what it keeps: the tensors are views into request buffers.
          observe(r: InferenceRecord) {
            records.push({ model: r.model, id: r.id ?? null, input: Array.from(r.inputs[0]!.data as Float32Array), output: Array.from(r.outputs[0]!.data as Float32Array) });
            observed.labels(model.name).inc(r.inputs[0]!.shape[0]!);
          },
          close: () => void closed++,
        };
      },
    });
    const server = await startServer(app, { host: '127.0.0.1', port: 0, gracePeriodMs: 1000 });
    await app.loadModels();
    // WHEN requests succeed and fail
    const body = (data: number[]) => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, data.length], data }] });
    await Promise.all([infer(server.port, 'watched', { id: 'tx-9', ...body([1, 2]) }), infer(server.port, 'watched', body([3])), infer(server.port, 'plain', body([5]))]);
    await infer(server.port, 'watched', { inputs: [] });
    // AND what the observer registers shows on the runtime's /metrics
    expect((await http(server.port, 'GET', '/metrics')).body.toString()).toContain('test_observed_rows{model="watched"} 2');
    await server.shutdown('test');
    // THEN only the model with a baseline is observed, once per successful request, and closed
    // (models load a few at a time, so the factory sees them in the order their loads finish)
    expect(seen.map((m) => [m.name, m.baselinePath ?? null, m.signature.inputs[0]!.name]).sort()).toEqual([
      ['plain', null, 'x'],
      ['watched', join(repository, 'watched', '1', 'baseline.json'), 'x'],
    ]);
    expect(records.sort((a, b) => a.input.length - b.input.length)).toEqual([
      { model: 'watched', id: null, input: [3], output: [6] },
      { model: 'watched', id: 'tx-9', input: [1, 2], output: [2, 4] },
    ]);
    expect(closed).toBe(1);
  });

  it('contain a throwing observer: logged once, responses unaffected', async () => {
    const repository = writeRepository([{ name: 'm', bytes: doubleModel() }]);
    const logger = new MemoryLogger();
    const app = new RuntimeApp({ sources: await scanRepository(repository), logger, observers: () => ({ observe: () => { throw new Error('window full'); } }) });
    const server = await startServer(app, { host: '127.0.0.1', port: 0, gracePeriodMs: 1000 });
    await app.loadModels();
    const responses = await Promise.all([1, 2, 3].map((v) => infer(server.port, 'm', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [v] }] })));
    expect(responses.map((r) => r.json().outputs[0].data[0])).toEqual([2, 4, 6]);
    expect(logger.records.filter((r) => r.event === 'observer_failed')).toEqual([{ level: 'error', event: 'observer_failed', model: 'm', version: '1', reason: 'window full' }]);
    await server.shutdown('test');
  });
});
