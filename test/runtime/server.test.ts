import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { doubleModel } from '../../lib/onnx/builders.js';
import { http, startTestServer } from './helpers.js';

const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] });

/** Starts a request and sends only the first half of its body: it stays in flight until `finish`. */
function slowRequest(port: number): { finish(): void; response: Promise<{ status: number; text: string } | { error: string }> } {
  let req!: ClientRequest;
  const response = new Promise<{ status: number; text: string } | { error: string }>((resolve) => {
    req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v2/models/double/infer', headers: { 'content-length': body.length } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', (err) => resolve({ error: err.message }));
    req.write(body.slice(0, 20));
  });
  return { finish: () => req.end(body.slice(20)), response };
}

const connectRefused = (port: number) => http(port, 'GET', '/v2/health/live').then(() => 'accepted', (err: NodeJS.ErrnoException) => err.code);

describe('graceful shutdown (in process)', () => {
  it('turns readiness off, refuses new connections and finishes the in-flight request', async () => {
    // GIVEN a request in flight
    const t = await startTestServer([{ name: 'double', bytes: doubleModel() }]);
    const slow = slowRequest(t.port);
    await new Promise((r) => setTimeout(r, 100));
    expect(t.app.inFlightRequests).toBe(1);
    // WHEN shutdown starts
    const done = t.server.shutdown('test');
    // THEN readiness is false, new connections are refused, and the request still completes
    expect(t.app.ready).toBe(false);
    expect(await connectRefused(t.port)).toBe('ECONNREFUSED');
    slow.finish();
    expect(await slow.response).toEqual({ status: 200, text: expect.stringContaining('"data":[2,4]') });
    expect(await done).toEqual({ drained: true });
    expect(t.logger.records.find((r) => r.event === 'shutdown_complete')).toMatchObject({ drained: true, abandoned_requests: 0 });
    await t.close();
  });
});

describe('slipway serve process', () => {
  let child: ChildProcess | undefined;
  let dir: string | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function startCli(extra: string[]): Promise<{ port: number; events: Array<Record<string, unknown>>; exited: Promise<{ code: number | null; ms: number }>; signalledAt: () => number }> {
    dir = mkdtempSync(join(tmpdir(), 'slipway-cli-'));
    writeFileSync(join(dir, 'double.onnx'), doubleModel());
    child = spawn(process.execPath, ['bin/slipway.mjs', 'serve', '--model', `double=${join(dir, 'double.onnx')}`, '--port', '0', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    const events: Array<Record<string, unknown>> = [];
    let signalled = 0;
    const exited = new Promise<{ code: number | null; ms: number }>((resolve) => child!.once('exit', (code) => resolve({ code, ms: performance.now() - signalled })));
    const port = await new Promise<number>((resolve, reject) => {
      createInterface({ input: child!.stdout! }).on('line', (line) => {
        const event = JSON.parse(line) as Record<string, unknown>;
        events.push(event);
        if (event.event === 'models_loaded') resolve(events.find((e) => e.event === 'server_listening')!.port as number);
      });
      child!.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
    });
    const original = child.kill.bind(child);
    child.kill = (signal?: NodeJS.Signals | number) => {
      signalled = performance.now();
      return original(signal);
    };
    return { port, events, exited, signalledAt: () => signalled };
  }

  it('on SIGTERM finishes the in-flight request, then exits 0 well within the grace period', async () => {
    const { port, events, exited } = await startCli(['--grace-period-ms', '10000']);
    const slow = slowRequest(port);
    await new Promise((r) => setTimeout(r, 200));
    child!.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    expect(events.some((e) => e.event === 'shutdown_started' && e.in_flight === 1)).toBe(true);
    expect(await connectRefused(port)).toBe('ECONNREFUSED');
    slow.finish();
    expect(await slow.response).toMatchObject({ status: 200 });
    const { code, ms } = await exited;
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5_000);
    expect(events.find((e) => e.event === 'shutdown_complete')).toMatchObject({ drained: true, abandoned_requests: 0 });
  });

  it('takes the thread knobs from a flag and the environment, and logs its gRPC port and pid', async () => {
    process.env.SLIPWAY_INTRA_OP_THREADS = '1';
    try {
      const { events, exited } = await startCli(['--workers-per-model', '2']);
      expect(events.find((e) => e.event === 'model_loaded')).toMatchObject({ model: 'double', workers: 2, intra_op_threads: 1 });
      expect(events.find((e) => e.event === 'server_listening')).toMatchObject({ grpc_port: expect.any(Number), pid: child!.pid });
      child!.kill('SIGTERM');
      expect((await exited).code).toBe(0);
    } finally {
      delete process.env.SLIPWAY_INTRA_OP_THREADS;
    }
  });

  it('exits 0 when the grace period runs out with a request still in flight', async () => {
    const { port, events, exited } = await startCli(['--grace-period-ms', '500']);
    const stuck = slowRequest(port);
    await new Promise((r) => setTimeout(r, 200));
    child!.kill('SIGTERM');
    const { code, ms } = await exited;
    expect(code).toBe(0);
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(3_000);
    expect(events.find((e) => e.event === 'shutdown_complete')).toMatchObject({ drained: false, abandoned_requests: 1 });
    expect(await stuck.response).toEqual({ error: expect.any(String) });
  });

  it('monitors models that have a baseline.json: /drift answers and feedback moves slipway_model_accuracy', async () => {
    // GIVEN the example repository (fraud-detector has a baseline.json) next to a model without one
    const { port, exited } = await startCli(['--model-repository', 'examples/model-repository']);
    // WHEN a request with an id is scored by feedback
    const res = await http(port, 'POST', '/v2/models/fraud-detector/infer', JSON.stringify({ id: 'tx-1', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 6], data: [60, 14, 0.2, 5, 900, 2] }] }));
    const [legit, fraud] = res.json().outputs[0].data as number[];
    const feedback = await http(port, 'POST', '/v2/models/fraud-detector/feedback', JSON.stringify({ id: 'tx-1', label: fraud! > legit! ? 1 : 0 }));
    // THEN the CLI's monitor took it, /drift answers for the monitored model only
    expect([feedback.status, feedback.json()]).toEqual([200, { model: 'fraud-detector', version: '1', id: 'tx-1', recorded: true }]);
    expect((await http(port, 'GET', '/metrics')).body.toString()).toContain('slipway_model_accuracy{model="fraud-detector",version="1"} 1');
    expect((await http(port, 'GET', '/v2/models/fraud-detector/drift')).json()).toMatchObject({ model: 'fraud-detector', drifted: false, window: { sampleRate: 0.2 } });
    expect((await http(port, 'GET', '/v2/models/double/drift')).status).toBe(404);
    child!.kill('SIGTERM');
    expect((await exited).code).toBe(0);
  });
});
