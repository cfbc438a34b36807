import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corruptModelBytes, doubleModel } from '../../lib/onnx/builders.js';
import { http, infer, startTestServer, type TestServer } from './helpers.js';

function promtool(text: string): { status: number | null; output: string } {
  const result = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('/metrics', () => {
  let t: TestServer;
  let metricsPort: number;
  beforeAll(async () => {
    t = await startTestServer(
      [
        { name: 'double', bytes: doubleModel() },
        { name: 'gpu-wanted', bytes: doubleModel(), config: { executionProvider: 'cuda' } },
        { name: 'broken', bytes: corruptModelBytes() },
      ],
      { metricsPort: 0 },
    );
    metricsPort = t.server.metricsPort!;
    const ok = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] };
    await Promise.all([infer(t.port, 'double', ok), infer(t.port, 'double', ok), infer(t.port, 'gpu-wanted', ok)]);
    await infer(t.port, 'double', { inputs: [] });
    await infer(t.port, 'broken', ok);
  });
  afterAll(() => t.close());

  it('passes promtool check metrics on the main and the metrics port', async () => {
    for (const port of [t.port, metricsPort]) {
      const res = await http(port, 'GET', '/metrics');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      const check = promtool(res.body.toString());
      // prom-client's standard process metrics name three gauges *_total (its upstream names,
      // which Node.js dashboards use); every other series, slipway's included, lints clean.
      expect(check.output.split('\n').filter((l) => l !== '' && !/^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/.test(l))).toEqual([]);
    }
  });

  it('exposes process metrics (CPU, memory, event-loop lag) and a version on every per-model series', async () => {
    const text = (await http(t.port, 'GET', '/metrics')).body.toString();
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(text).toMatch(new RegExp(`^${name}(\\{[^}]*\\})? `, 'm'));
    }
    const perModel = text.split('\n').filter((l) => /^slipway_[a-z_]+\{[^}]*model="/.test(l));
    expect(perModel.length).toBeGreaterThan(10);
    for (const line of perModel) expect([line, /version="[^"]+"/.test(line)]).toEqual([line, true]);
  });

  it('fails promtool on a broken exposition (the check can fail)', () => {
    expect(promtool('slipway_requests 1\nslipway_requests 2\n').status).not.toBe(0);
  });

  it('counts requests by model, version and status, and exposes every contract metric', async () => {
    const text = (await http(t.port, 'GET', '/metrics')).body.toString();
    expect(text).toContain('slipway_inference_requests_total{model="double",version="1",status="200"} 2');
    expect(text).toContain('slipway_inference_requests_total{model="double",version="1",status="400"} 1');
    expect(text).toContain('slipway_inference_requests_total{model="broken",version="1",status="503"} 1');
    expect(text).toContain('slipway_inference_request_duration_seconds_count{model="double",version="1"} 3');
    expect(text).toContain('slipway_inference_queue_duration_seconds_count{model="double",version="1"} 2');
    expect(text).toContain('slipway_inference_compute_duration_seconds_count{model="double",version="1"} 2');
    expect(text).toMatch(/slipway_inference_batch_size_count\{model="double",version="1"\} [12]\n/);
    expect(text).toContain('slipway_inference_in_flight_requests{model="double",version="1"} 0');
    expect(text).toContain('slipway_model_ready{model="double",version="1"} 1');
    expect(text).toContain('slipway_model_ready{model="broken",version="1"} 0');
    expect(text).toContain('slipway_execution_provider_info{model="double",version="1",requested="cpu",provider="cpu"} 1');
    expect(text).toContain('# TYPE slipway_inference_request_duration_seconds histogram');
    expect(text).toContain('# TYPE slipway_inference_in_flight_requests gauge');
  });

  it('serves only /metrics on the metrics port', async () => {
    expect((await http(metricsPort, 'GET', '/v2/health/live')).status).toBe(404);
  });
});

describe('execution providers', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(
      [
        { name: 'gpu-wanted', bytes: doubleModel(), config: { executionProvider: 'cuda' } },
        { name: 'cpu-pinned', bytes: doubleModel(), config: { executionProvider: 'cpu' } },
        { name: 'default', bytes: doubleModel() },
      ],
      { defaultProvider: 'cuda' },
    );
  });
  afterAll(() => t.close());

  // This machine has no CUDA execution provider binaries, so CUDA requests fall back.
  it('falls back from cuda to cpu with one log line per model and the provider in a metric', async () => {
    const fallbacks = t.logger.records.filter((r) => r.event === 'execution_provider_fallback');
    expect(fallbacks.map((r) => r.model).sort()).toEqual(['default', 'gpu-wanted']);
    expect(fallbacks[0]).toMatchObject({ level: 'warn', requested: 'cuda', provider: 'cpu' });
    expect(String(fallbacks[0]!.reason)).toMatch(/^CUDA execution provider unavailable, running on CPU: /);
    const text = (await http(t.port, 'GET', '/metrics')).body.toString();
    expect(text).toContain('slipway_execution_provider_info{model="gpu-wanted",version="1",requested="cuda",provider="cpu"} 1');
    expect(text).toContain('slipway_execution_provider_info{model="default",version="1",requested="cuda",provider="cpu"} 1');
    expect(text).toContain('slipway_execution_provider_info{model="cpu-pinned",version="1",requested="cpu",provider="cpu"} 1');
    const res = await infer(t.port, 'gpu-wanted', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [21] }] });
    expect(res.json().outputs[0].data).toEqual([42]);
  });
});
