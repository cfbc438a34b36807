import { spawn, spawnSync } from 'node:child_process';
import * as http2 from 'node:http2';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';

// The real CLI in a child process: flags, env fallbacks, exit codes and messages as a user sees them.
function slipway(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['bin/slipway.mjs', 'serve', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout };
}

describe('slipway serve flags', () => {
  it('fails when there is nothing to serve', () => {
    const run = slipway([], { SLIPWAY_MODEL_REPOSITORY: '' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('slipway: nothing to serve: pass --model-repository DIR (or SLIPWAY_MODEL_REPOSITORY) or --model NAME=PATH.onnx');
  });

  it('fails when the repository from the environment is missing', () => {
    const run = slipway([], { SLIPWAY_MODEL_REPOSITORY: '/nonexistent/models' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('slipway: model repository /nonexistent/models: not a directory');
  });

  it('fails when a port is not an integer in range, from a flag or the environment', () => {
    const flag = slipway(['--model-repository', 'examples/model-repository', '--port', 'eighty']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain('slipway: --port: expected an integer from 0 to 65535, got "eighty"');
    const env = slipway(['--model-repository', 'examples/model-repository'], { SLIPWAY_METRICS_PORT: '70000' });
    expect(env.status).toBe(2);
    expect(env.stderr).toContain('slipway: --metrics-port: expected an integer from 0 to 65535, got "70000"');
  });

  it('fails when a drift setting is out of range, from a flag or the environment', () => {
    const flag = slipway(['--model-repository', 'examples/model-repository', '--drift-sample-rate', '1.5']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain('slipway: --drift-sample-rate: expected a share in (0, 1], got "1.5"');
    const env = slipway(['--model-repository', 'examples/model-repository'], { SLIPWAY_DRIFT_INTERVAL_SECONDS: '0' });
    expect(env.status).toBe(2);
    expect(env.stderr).toContain('slipway: --drift-interval-seconds: expected an integer from 1 to 86400, got "0"');
  });

  it('fails when the inline threshold is not milliseconds in range, from a flag or the environment', () => {
    const flag = slipway(['--model-repository', 'examples/model-repository', '--inline-compute-below-ms', '-1']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain('slipway: --inline-compute-below-ms: expected milliseconds from 0 to 50, got "-1"');
    const env = slipway(['--model-repository', 'examples/model-repository'], { SLIPWAY_INLINE_COMPUTE_BELOW_MS: 'soon' });
    expect(env.status).toBe(2);
    expect(env.stderr).toContain('slipway: --inline-compute-below-ms: expected milliseconds from 0 to 50, got "soon"');
  });

  it('fails when the memory budget is not a quantity or the arena not on, off or auto, from a flag or the environment', () => {
    const flag = slipway(['--model-repository', 'examples/model-repository', '--model-memory-budget', '4GB']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain('slipway: --model-memory-budget: expected a Kubernetes quantity such as "500m", "2" or "4Gi", got "4GB"');
    const env = slipway(['--model-repository', 'examples/model-repository'], { SLIPWAY_CPU_MEM_ARENA: 'maybe' });
    expect(env.status).toBe(2);
    expect(env.stderr).toContain('slipway: --cpu-mem-arena: expected on, off or auto, got "maybe"');
  });

  it('fails when --load-model names a model the repository lacks, or comes without explicit model control', () => {
    const unknown = slipway(['--model-repository', 'examples/model-repository', '--model-control-mode', 'explicit', '--load-model', 'ghost']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('slipway: --load-model "ghost": not in the model repository; it has fraud-detector');
    expect(unknown.stderr).toContain('SLIPWAY_E0650');
    const mode = slipway(['--model-repository', 'examples/model-repository', '--load-model', 'fraud-detector']);
    expect(mode.status).toBe(2);
    expect(mode.stderr).toContain('slipway: --load-model fraud-detector: only used with --model-control-mode explicit (mode none loads every model)');
  });

  it('fails when a gRPC connection limit is not an integer in range, from a flag or the environment', () => {
    const flag = slipway(['--model-repository', 'examples/model-repository', '--grpc-max-concurrent-streams', '0']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain('slipway: --grpc-max-concurrent-streams: expected an integer from 1 to 2147483647, got "0"');
    const env = slipway(['--model-repository', 'examples/model-repository'], { SLIPWAY_GRPC_CONNECTION_IDLE_MS: '5m' });
    expect(env.status).toBe(2);
    expect(env.stderr).toContain('slipway: --grpc-connection-idle-ms: expected an integer from 0 to 2147483647, got "5m"');
  });

  it('fails when the execution provider is unknown', () => {
    const run = slipway(['--model-repository', 'examples/model-repository'], { SLIPWAY_EXECUTION_PROVIDER: 'tpu' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("option '--execution-provider <provider>' value 'tpu' from env 'SLIPWAY_EXECUTION_PROVIDER' is invalid. Allowed choices are cpu, cuda.");
  });
});

describe('slipway serve with the example repository', () => {
  it('serves the fraud detector with live drift from its baseline.json on /metrics, and stops on SIGTERM', async () => {
    // GIVEN the example repository (model.onnx + baseline.json), and gRPC connection limits from a flag and the environment
    const child = spawn(process.execPath, ['bin/slipway.mjs', 'serve', '--model-repository', 'examples/model-repository', '--port', '0', '--grpc-connection-idle-ms', '400'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, SLIPWAY_GRPC_MAX_CONCURRENT_STREAMS: '7' },
    });
    const events: Array<Record<string, unknown>> = [];
    try {
      const port = await new Promise<number>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const event = JSON.parse(line) as Record<string, unknown>;
          events.push(event);
          if (event.event === 'models_loaded') resolve(events.find((e) => e.event === 'server_listening')!.port as number);
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      });
      // WHEN a transaction is scored
      const res = await fetch(`http://127.0.0.1:${port}/v2/models/fraud-detector/infer`, {
        method: 'POST',
        body: JSON.stringify({ id: 'tx-1', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 6], data: [60, 14, 0.2, 5, 900, 2] }] }),
      });
      expect(res.status).toBe(200);
      // THEN the drift monitor's gauges are on the runtime's /metrics, which still passes promtool
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('# TYPE slipway_feature_drift_psi gauge');
      expect(metrics).toContain('slipway_inference_requests_total{model="fraud-detector",version="1",status="200"} 1');
      const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
      // prom-client's process metrics keep three upstream nodejs_active_*_total gauge names promtool lints
      const findings = (check.stdout + check.stderr).split('\n').filter((l) => l !== '' && !/^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/.test(l));
      expect(findings).toEqual([]);
      // AND the gRPC port announces its stream limit and closes a connection left idle
      const grpc = http2.connect(`http://127.0.0.1:${events.find((e) => e.event === 'server_listening')!.grpc_port as number}`);
      const opened = performance.now();
      const settings = await new Promise<http2.Settings>((resolve) => grpc.once('remoteSettings', resolve));
      expect(settings.maxConcurrentStreams).toBe(7);
      await new Promise((resolve) => grpc.once('goaway', resolve));
      expect(performance.now() - opened).toBeGreaterThanOrEqual(350);
      grpc.destroy();
      expect(events.filter((e) => e.level === 'error')).toEqual([]);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
