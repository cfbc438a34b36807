import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { driftObserverFactory } from '../../lib/drift/observer.js';

const BASELINE = new URL('../../examples/model-repository/fraud-detector/1/baseline.json', import.meta.url).pathname;

describe('drift observer for the runtime seam', () => {
  it('monitors models that have a baseline, reading the input tensor rows', async () => {
    // GIVEN the factory the runtime's `observers` option takes
    const registry = new Registry();
    const factory = driftObserverFactory({ registry, sampleRate: 1, intervalSeconds: 0, feedback: {} });
    // WHEN a model without a baseline loads THEN it is not observed
    expect(await factory({ name: 'plain' })).toBeUndefined();
    // WHEN the fraud detector loads and serves a 2-row request
    const observer = (await factory({ name: 'fraud-detector', version: '1', baselinePath: BASELINE }))!;
    observer.observe({
      id: 'req-1',
      inputs: [{ name: 'features', shape: [2, 6], data: Float32Array.of(20, 13, 0.1, 5, 300, 1, 900, 2, 0.9, 300, 3, 9) }],
      outputs: [{ name: 'probability', shape: [2, 2], data: Float32Array.of(0.9, 0.1, 0.2, 0.8) }],
    });
    // THEN both rows are in the window and the request's predictions await feedback
    expect((await observer.monitor.evaluate()).rows).toBe(2);
    expect(observer.monitor.recordFeedback('req-1', [0, 1])).toBe(true);
    expect(await registry.metrics()).toContain('slipway_model_accuracy{model="fraud-detector",version="1"} 1');
    await observer.close();
  });

  it('fails when the baseline is invalid, naming the file', async () => {
    const factory = driftObserverFactory({ registry: new Registry(), intervalSeconds: 0 });
    await expect(factory({ name: 'm', baselinePath: '/nonexistent/baseline.json' })).rejects.toThrow('/nonexistent/baseline.json: cannot read baseline profile (JSON)');
  });
});
