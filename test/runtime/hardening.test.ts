// Hardening of the runtime against hostile or unusual input and process setups (issue 12).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorReference } from '../../lib/cli/program.js';
import { driftObserverFactory } from '../../lib/drift/observer.js';
import { doubleModel, identityModel, mlpModel } from '../../lib/onnx/builders.js';
import { encodeModel } from '../../lib/onnx/model.js';
import { MAX_FEEDBACK_ID_BYTES, RuntimeApp } from '../../lib/runtime/app.js';
import { MemoryLogger } from '../../lib/runtime/logger.js';
import { scanRepository } from '../../lib/runtime/repository.js';
import { startServer } from '../../lib/runtime/server.js';
import { binaryBody, http, infer, splitBinaryResponse, startTestServer, writeRepository, type TestServer } from './helpers.js';

const EXAMPLE = new URL('../../examples/model-repository/fraud-detector/1/', import.meta.url).pathname;

/** A model whose output `nul` is a constant holding a NUL inside an element, beside an identity on its string input. */
function nulOutputModel(): Uint8Array {
  return encodeModel({
    graph: {
      name: 'nul',
      nodes: [{ opType: 'Identity', inputs: ['c'], outputs: ['nul'] }, { opType: 'Identity', inputs: ['x'], outputs: ['y'] }],
      inputs: [{ name: 'x', elemType: 'STRING', shape: ['batch'] }],
      outputs: [{ name: 'nul', elemType: 'STRING', shape: [2] }, { name: 'y', elemType: 'STRING', shape: ['batch'] }],
      initializers: [{ name: 'c', elemType: 'STRING', dims: [2], values: ['before\u0000after', '\u0000'] }],
    },
  });
}

describe('tensor edge cases', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer([
      { name: 'nul', bytes: nulOutputModel() },
      { name: 'wide', bytes: identityModel('FLOAT', ['a', 'b', 'c']) },
    ]);
  });
  afterAll(() => t.close());

  it('returns BYTES elements that contain NUL whole, in JSON and in binary', async () => {
    // GIVEN a model whose output holds "before\0after" and "\0"
    const request = { inputs: [{ name: 'x', datatype: 'BYTES', shape: [1], data: ['in'] }], outputs: [{ name: 'nul' }] };
    // WHEN asked for JSON THEN the elements arrive whole (JSON escapes NUL as \u0000)
    const json = await infer(t.port, 'nul', request);
    expect(json.status).toBe(200);
    expect(json.json().outputs[0].data).toEqual(['before\u0000after', '\u0000']);
    // WHEN asked for binary THEN each element's length prefix counts the NUL and the bytes follow
    const binary = await infer(t.port, 'nul', { ...request, outputs: [{ name: 'nul', parameters: { binary_data: true } }] });
    const bytes = splitBinaryResponse(binary).segments.get('nul')!;
    const expected = Buffer.concat([Buffer.from([12, 0, 0, 0]), Buffer.from('before\u0000after'), Buffer.from([1, 0, 0, 0, 0])]);
    expect(bytes.equals(expected)).toBe(true);
  });

  it('fails when an input BYTES element contains NUL (onnxruntime would cut it short), in JSON and in binary', async () => {
    const json = await infer(t.port, 'nul', { inputs: [{ name: 'x', datatype: 'BYTES', shape: [2], data: ['ok', 'a\u0000b'] }] });
    expect([json.status, json.json().error]).toEqual([400, 'input "x": BYTES element 1 contains a NUL character; onnxruntime takes input strings up to the first NUL and would cut it short, so it is refused rather than truncated']);
    const element = Buffer.concat([Buffer.from([3, 0, 0, 0]), Buffer.from('a\u0000b')]);
    const { body, headerLength } = binaryBody({ inputs: [{ name: 'x', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: element.length } }] }, [element]);
    const res = await infer(t.port, 'nul', body, { 'inference-header-content-length': headerLength });
    expect([res.status, res.json().error]).toEqual([400, expect.stringContaining('input "x": BYTES element 0 contains a NUL character')]);
  });

  it('fails with 400 when a zero-element tensor has a dimension onnxruntime cannot take', async () => {
    for (const shape of [[0, 2 ** 40, 1], [2 ** 52, 0, 3], [0, 0, 2 ** 32]]) {
      const res = await infer(t.port, 'wide', { inputs: [{ name: 'x', datatype: 'FP32', shape, data: [] }] });
      expect([shape, res.status, res.json().error]).toEqual([shape, 400, expect.stringMatching(/^input "x": "shape" dimension \d+ is larger than 4294967295, the most onnxruntime accepts$/)]);
    }
    // AND the largest dimension onnxruntime accepts still runs when the tensor is empty
    const ok = await infer(t.port, 'wide', { inputs: [{ name: 'x', datatype: 'FP32', shape: [0, 2 ** 32 - 1, 1], data: [] }] });
    expect([ok.status, ok.json().outputs[0].shape]).toEqual([200, [0, 2 ** 32 - 1, 1]]);
  });
});

describe('feedback hardening', () => {
  let repository: string;
  let close: () => Promise<unknown>;
  let port: number;
  beforeAll(async () => {
    repository = writeRepository([{ name: 'fraud', bytes: readFileSync(join(EXAMPLE, 'model.onnx')) }]);
    copyFileSync(join(EXAMPLE, 'baseline.json'), join(repository, 'fraud', '1', 'baseline.json'));
    const app = new RuntimeApp({
      sources: await scanRepository(repository),
      logger: new MemoryLogger(),
      observers: (model) => driftObserverFactory({ registry: model.registry, sampleRate: 1, intervalSeconds: 0, feedback: {} })(model),
    });
    const server = await startServer(app, { host: '127.0.0.1', port: 0, gracePeriodMs: 1000 });
    port = server.port;
    close = () => server.shutdown('test finished');
    await app.loadModels();
  });
  afterAll(async () => {
    await close();
    rmSync(repository, { recursive: true, force: true });
  });

  const row = [60, 14, 0.2, 5, 900, 2];
  const send = (id: string) => infer(port, 'fraud', { id, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 6], data: row }] });

  it('answers 400, not 500, when the label is nested 100,000 levels deep (as an array or an object)', async () => {
    const deepArray = `{"id": "tx", "label": [${'['.repeat(100_000)}${']'.repeat(100_000)}]}`;
    const deepObject = `{"id": "tx", "label": ${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`;
    for (const body of [deepArray, deepObject]) {
      const res = await http(port, 'POST', '/v2/models/fraud/feedback', body);
      expect(res.status).toBe(400);
      expect(res.json().error).toMatch(/^feedback "label": expected /);
    }
  });

  it('keeps request ids for feedback only up to a byte limit, so held ids stay bounded in bytes, not just in count', async () => {
    // GIVEN a request whose id is just over the limit, and one at the limit
    const long = 'x'.repeat(MAX_FEEDBACK_ID_BYTES + 1);
    const atLimit = 'y'.repeat(MAX_FEEDBACK_ID_BYTES);
    expect((await send(long)).json().id).toBe(long); // the response still echoes it
    expect((await send(atLimit)).status).toBe(200);
    // WHEN feedback names them THEN the long id was never retained, and says so
    const refused = await http(port, 'POST', '/v2/models/fraud/feedback', JSON.stringify({ id: long, label: 0 }));
    expect([refused.status, refused.json().error]).toEqual([400, `feedback "id": ids longer than ${MAX_FEEDBACK_ID_BYTES} bytes are not retained for feedback, got ${MAX_FEEDBACK_ID_BYTES + 1} bytes; send a shorter "id" with the inference request`]);
    expect((await http(port, 'POST', '/v2/models/fraud/feedback', JSON.stringify({ id: atLimit, label: 0 }))).status).toBe(200);
  });
});

describe('repository layout problems', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tempRepository = () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-layout-'));
    dirs.push(dir);
    return dir;
  };
  async function readiness(dir: string) {
    const app = new RuntimeApp({ sources: await scanRepository(dir), logger: new MemoryLogger(), repository: dir });
    const server = await startServer(app, { host: '127.0.0.1', port: 0, gracePeriodMs: 100 });
    await app.loadModels();
    const res = await http(server.port, 'GET', '/v2/health/ready');
    await server.shutdown('test');
    return { status: res.status, body: res.json() };
  }

  it('is not ready on an empty repository, and says why', async () => {
    const dir = tempRepository();
    expect(await readiness(dir)).toEqual({
      status: 503,
      body: { ready: false, error: `model repository ${dir} holds no models (it is empty): expected ${join(dir, '<name>', '<version>', 'model.onnx')} or ${join(dir, '<name>', 'model.onnx')}` },
    });
  });

  it('is not ready when model.onnx sits at the top level, and says where it belongs', async () => {
    const dir = tempRepository();
    writeFileSync(join(dir, 'model.onnx'), doubleModel());
    const { status, body } = await readiness(dir);
    expect(status).toBe(503);
    expect(body.error).toContain(`has model.onnx at its top level`);
    expect(body.error).toContain(`(move it to ${join(dir, 'model', '1', 'model.onnx')})`);
  });

  it('fails only the entry whose directory name is invalid: the other model serves', async () => {
    const dir = tempRepository();
    for (const name of ['bad name', 'good']) {
      mkdirSync(join(dir, name, '1'), { recursive: true });
      writeFileSync(join(dir, name, '1', 'model.onnx'), doubleModel());
    }
    const app = new RuntimeApp({ sources: await scanRepository(dir), logger: new MemoryLogger(), repository: dir });
    const server = await startServer(app, { host: '127.0.0.1', port: 0, gracePeriodMs: 100 });
    await app.loadModels();
    try {
      const res = await infer(server.port, 'good', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] });
      expect([res.status, res.json().outputs[0].data]).toEqual([200, [2, 4]]);
      expect(app.model('bad name')).toMatchObject({ status: 'failed', reason: expect.stringContaining('directory "bad name" in model repository') });
    } finally {
      await server.shutdown('test');
    }
  });
});

describe('ports and signals (the slipway process)', () => {
  let child: ChildProcess | undefined;
  let blocker: ReturnType<typeof createServer> | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'slipway-ports-'));
  writeFileSync(join(dir, 'double.onnx'), doubleModel());
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    blocker?.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const runCli = (args: string[]) => spawnSync(process.execPath, ['bin/slipway.mjs', 'serve', '--model', `double=${join(dir, 'double.onnx')}`, ...args], { encoding: 'utf8', timeout: 30_000 });

  it('fails with exit 1 and one clear line when the port is busy', async () => {
    blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker!.listen(0, '127.0.0.1', () => resolve((blocker!.address() as { port: number }).port)));
    const result = runCli(['--port', String(port)]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`slipway: --port ${port}: cannot listen on 127.0.0.1:${port}: the port is already in use (another server, or another of slipway's ports)\n${errorReference('RUNTIME_PORT_IN_USE')}\n`);
  });

  it('fails with exit 1 and one clear line when --metrics-port equals --port', () => {
    const result = runCli(['--port', '18931', '--metrics-port', '18931']);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`slipway: --metrics-port 18931 is the same port as --port: give each its own port\n${errorReference('RUNTIME_PORT_CONFLICT')}\n`);
    const grpc = runCli(['--port', '18932', '--grpc-port', '18932']);
    expect([grpc.status, grpc.stderr]).toEqual([1, `slipway: --grpc-port 18932 is the same port as --port: give each its own port\n${errorReference('RUNTIME_PORT_CONFLICT')}\n`]);
  });

  it('fails with exit 1 and one clear line when the gRPC port is busy', async () => {
    blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker!.listen(0, '127.0.0.1', () => resolve((blocker!.address() as { port: number }).port)));
    const result = runCli(['--port', '0', '--grpc-port', String(port)]);
    expect([result.status, result.stderr]).toEqual([1, `slipway: --grpc-port ${port}: cannot listen on 127.0.0.1:${port}: the port is already in use (another server, or another of slipway's ports)\n${errorReference('RUNTIME_PORT_IN_USE')}\n`]);
  });

  describe('with many models loading while the ports open', () => {
    // Loads start beside opening the ports, so these models are loading when the port check fails.
    const repository = join(dir, 'many');
    const model = mlpModel({ sizes: [64, 512, 512, 8], seed: 21 }).bytes;
    for (let i = 0; i < 40; i++) {
      mkdirSync(join(repository, `m${i}`, '1'), { recursive: true });
      writeFileSync(join(repository, `m${i}`, '1', 'model.onnx'), model);
    }
    const serveMany = (args: string[]) => spawnSync(process.execPath, ['bin/slipway.mjs', 'serve', '--model-repository', repository, ...args], { encoding: 'utf8', timeout: 30_000 });

    it('fails with exit 1 and one clear line when the gRPC port is busy, without aborting on the loads in flight', async () => {
      blocker = createServer();
      const port = await new Promise<number>((resolve) => blocker!.listen(0, '127.0.0.1', () => resolve((blocker!.address() as { port: number }).port)));
      const result = serveMany(['--port', '0', '--grpc-port', String(port)]);
      expect([result.status, result.signal, result.stderr]).toEqual([1, null, `slipway: --grpc-port ${port}: cannot listen on 127.0.0.1:${port}: the port is already in use (another server, or another of slipway's ports)\n${errorReference('RUNTIME_PORT_IN_USE')}\n`]);
      const events = result.stdout.trim().split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { event: string }).event);
      expect(events).not.toContain('server_listening');
      expect(events).not.toContain('models_loaded');
    });

    it('announces its ports before the models have loaded', async () => {
      child = spawn(process.execPath, ['bin/slipway.mjs', 'serve', '--model-repository', repository, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const events: string[] = [];
      await new Promise<void>((resolve) => {
        createInterface({ input: child!.stdout! }).on('line', (line) => {
          events.push((JSON.parse(line) as { event: string }).event);
          if (events.at(-1) === 'models_loaded') resolve();
        });
      });
      expect(events.filter((e) => e === 'model_loaded')).toHaveLength(40);
      expect(events.indexOf('server_listening')).toBeGreaterThanOrEqual(0);
      expect(events.indexOf('server_listening')).toBeLessThan(events.indexOf('models_loaded'));
    });
  });

  /** Starts `command` (npm run / npx), waits for the server to be ready, SIGTERMs npm, and reports whether the server exited. */
  async function serverStopsWithNpm(command: string, args: string[]): Promise<boolean> {
    child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, SLIPWAY_PORT: '0' } });
    const pid = await new Promise<number>((resolve, reject) => {
      createInterface({ input: child!.stdout! }).on('line', (line) => {
        if (!line.startsWith('{')) return;
        const event = JSON.parse(line) as { event: string; pid?: number };
        if (event.event === 'server_listening') resolve(event.pid!);
      });
      child!.once('exit', (code) => reject(new Error(`${command} exited with ${code}`)));
    });
    expect(pid).toEqual(expect.any(Number));
    child.kill('SIGTERM');
    for (let waited = 0; waited < 10_000; waited += 100) {
      try {
        process.kill(pid, 0);
      } catch {
        return true;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    process.kill(pid, 'SIGKILL');
    return false;
  }

  it('stops the server when `npm run serve` gets SIGTERM (no orphan)', async () => {
    expect(await serverStopsWithNpm('npm', ['run', '--silent', 'serve'])).toBe(true);
  }, 30_000);

  it('stops the server when `npx slipway serve` gets SIGTERM (no orphan)', async () => {
    execFileSync('npm', ['--version']);
    expect(await serverStopsWithNpm('npx', ['--no-install', 'slipway', 'serve', '--model', `double=${join(dir, 'double.onnx')}`])).toBe(true);
  }, 30_000);
});
