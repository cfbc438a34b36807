import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runLikeCluster, type RunningContainer } from '../../lib/pipeline/podman.js';
import { localRuntimeImage } from '../../lib/pipeline/runtime-image.js';
import { baseImage, CONTAINERS_CONF, containerToolsMissing, tool } from './support.js';
import { describeWithTools } from '../support/tools.js';
import { PROTO_OPTIONS, PROTO_PATH } from '../../lib/runtime/grpc.js';
import { GRPC_PORT, HTTP_PORT } from '../../lib/vocabulary/ports.js';

// The CPU runtime image for real: a Debian-built Node.js base (mmdebstrap), the Dockerfile built
// by buildah from the host-prepared context, and the image run by podman the way the cluster
// runs it (read-only root, arbitrary non-root UID, no capabilities, the Service's two inference
// ports published: HTTP and gRPC).
const missing = containerToolsMissing();
// runLikeCluster's podman reads the repository's containers.conf, as on CI runners.
process.env.CONTAINERS_CONF = CONTAINERS_CONF;
const MAX_IMAGE_BYTES = 350 * 1000 * 1000;

describeWithTools('the runtime image', missing, () => {
  let tag: string;
  const container = `slipway-runtime-test-${process.pid}`;
  let uid: number;
  let running: RunningContainer;
  const timings: [string, number][] = [];
  let context: string;
  let base: string;
  let port: number;
  let grpcPort: number;

  beforeAll(async () => {
    const built = await baseImage();
    base = built.image;
    timings.push(['base image (mmdebstrap; 0 when cached by recipe hash)', built.ms]);
    // The image the local pipeline runner builds FROM (containers/ scripts + buildah), shared with
    // test/e2e/retrain-loop.test.ts: built once per run, cached by the hash of its inputs.
    const started = performance.now();
    const log = join(mkdtempSync(join(tmpdir(), 'slipway-image-')), 'build.log');
    context = join(log, '..');
    tag = await localRuntimeImage({ root: resolve('.'), log });
    timings.push(['runtime image (context + buildah build; ~0 when cached)', performance.now() - started]);
    const starting = performance.now();
    running = await runLikeCluster(tag, { name: container, mounts: { '/models': resolve('examples/model-repository') }, publish: { [GRPC_PORT]: 0 }, readyTimeoutMs: 30_000 });
    uid = running.uid;
    port = Number(new URL(running.url).port);
    grpcPort = Number(/:(\d+)$/.exec((await tool('podman', ['port', container, `${GRPC_PORT}/tcp`])).stdout.trim())![1]);
    timings.push(['podman run until ready', performance.now() - starting]);
  }, 900_000);

  afterAll(async () => {
    const cleanup = performance.now();
    await running?.remove();
    timings.push(['podman rm', performance.now() - cleanup]);
    if (context) rmSync(context, { recursive: true, force: true });
    console.log(`runtime image timings:\n${timings.map(([step, ms]) => `  ${step.padEnd(56)} ${(ms / 1000).toFixed(1)} s`).join('\n')}`);
  });

  it('builds its base from Debian packages with Node.js 20.19 or later', async () => {
    const { stdout } = await tool('podman', ['run', '--rm', base, 'node', '-p', 'process.versions.node']);
    const [major, minor] = stdout.trim().split('.').map(Number);
    expect(major! > 20 || (major === 20 && minor! >= 19), `node ${stdout.trim()}`).toBe(true);
  });

  it('stays small: production dependencies and one platform of onnxruntime only', async () => {
    const size = Number((await tool('podman', ['image', 'inspect', '--format', '{{.Size}}', tag])).stdout.trim());
    const baseSize = Number((await tool('podman', ['image', 'inspect', '--format', '{{.Size}}', base])).stdout.trim());
    console.log(`runtime image: ${(size / 1e6).toFixed(0)} MB (base ${(baseSize / 1e6).toFixed(0)} MB, slipway layers ${((size - baseSize) / 1e6).toFixed(0)} MB)`);
    expect(size).toBeLessThan(MAX_IMAGE_BYTES);
    const { stdout } = await tool('podman', ['run', '--rm', '--entrypoint', 'sh', tag, '-c', 'cd node_modules && find onnxruntime-node/bin -name "*onnxruntime*" -type f | sed "s|/[^/]*$||" | sort -u && ls typescript vitest 2>&1 | grep -c "No such file"']);
    expect(stdout.trim().split('\n')).toEqual(['onnxruntime-node/bin/napi-v6/linux/x64', '2']);
  });

  it('answers readiness and a real inference request for the example model', async () => {
    const ready = await fetch(`http://127.0.0.1:${port}/v2/health/ready`);
    expect(ready.status).toBe(200);
    const response = await fetch(`http://127.0.0.1:${port}/v2/models/fraud-detector/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 6], data: [25, 14, 0.1, 3, 2000, 1, 900, 3, 0.9, 400, 5, 12] }],
      }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { outputs: { name: string; datatype: string; shape: number[]; data: number[] }[] };
    const [output] = body.outputs;
    expect(output).toMatchObject({ name: 'probability', datatype: 'FP32', shape: [2, 2] });
    const [legit, fraud, riskyLegit, riskyFraud] = output!.data;
    expect(legit! + fraud!).toBeCloseTo(1, 5);
    expect(riskyLegit! + riskyFraud!).toBeCloseTo(1, 5);
    expect(riskyFraud!).toBeGreaterThan(fraud!);
  });

  it('answers a gRPC ModelInfer with raw tensors on its gRPC port, as REST does', async () => {
    // GIVEN a grpc-js client built from the .proto, as a user builds one
    const { inference } = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO_PATH, PROTO_OPTIONS)) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
    const client = new inference.GRPCInferenceService(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, (request: object, callback: (err: grpc.ServiceError | null, response: { raw_output_contents: Buffer[]; outputs: Array<{ name: string; shape: string[] }> }) => void) => void>;
    try {
      // WHEN it scores the same transaction over gRPC (raw_input_contents) and over REST
      const features = [900, 3, 0.9, 400, 5, 12];
      const answer = await new Promise<{ raw_output_contents: Buffer[]; outputs: Array<{ name: string; shape: string[] }> }>((resolveCall, reject) =>
        client.ModelInfer!({ model_name: 'fraud-detector', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 6] }], raw_input_contents: [Buffer.from(Float32Array.from(features).buffer)] }, (err, response) => (err ? reject(err) : resolveCall(response))),
      );
      const rest = (await (await fetch(`http://127.0.0.1:${port}/v2/models/fraud-detector/infer`, {
        method: 'POST',
        body: JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 6], data: features }] }),
      })).json()) as { outputs: Array<{ data: number[] }> };
      // THEN both give the same probabilities, bit for bit
      expect(answer.outputs.map((o) => ({ name: o.name, shape: o.shape }))).toEqual([{ name: 'probability', shape: ['1', '2'] }]);
      const raw = answer.raw_output_contents[0]!;
      expect(Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)))).toEqual(rest.outputs[0]!.data.map(Math.fround));
    } finally {
      client.close();
    }
  });

  it('runs as the arbitrary UID, on a read-only root, without capabilities, publishing only the inference ports, with the configured ulimits', async () => {
    expect((await tool('podman', ['exec', container, 'id', '-u'])).stdout.trim()).toBe(String(uid));
    const write = tool('podman', ['exec', container, 'sh', '-c', 'touch /app/x || touch /tmp/x']);
    await expect(write).rejects.toThrow(/Read-only file system/);
    const status = (await tool('podman', ['exec', container, 'cat', '/proc/1/status'])).stdout;
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(status).toMatch(new RegExp(`^${set}:\\s+0{16}$`, 'm'));
    expect((await tool('podman', ['port', container])).stdout.trim().split('\n').sort()).toEqual([`${HTTP_PORT}/tcp -> 127.0.0.1:${port}`, `${GRPC_PORT}/tcp -> 127.0.0.1:${grpcPort}`]);
    // containers.conf's ulimits, within the sandbox's hard limits.
    const limits = (await tool('podman', ['exec', container, 'cat', '/proc/1/limits'])).stdout;
    expect(limits).toMatch(/^Max open files\s+1024\s+1024\s/m);
    expect(limits).toMatch(/^Max processes\s+1024\s+1024\s/m);
  });

  it('fails when the image does not become ready, quoting its logs, and leaves no container behind', async () => {
    // GIVEN the image with no model repository to serve
    const name = `${container}-empty`;
    const run = runLikeCluster(tag, { name, readyTimeoutMs: 20_000 });
    await expect(run).rejects.toMatchObject({ code: 'CONTAINER_NOT_READY' });
    await expect(run).rejects.toThrow(new RegExp(`${name}, UID \\d+, read-only root, no capabilities\\): the container exited\\n[\\s\\S]*/models`));
    expect((await tool('podman', ['ps', '--all', '--filter', `name=^${name}$`, '--format', '{{.Names}}'])).stdout.trim()).toBe('');
  });

  it('drains on SIGTERM: finishes the request in flight, then exits 0 well before the kill timeout, and is removed', async () => {
    // GIVEN a request in flight: headers sent, half of the body still to come
    const body = JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 6], data: [900, 3, 0.9, 400, 5, 12] }] });
    const socket = connect(port, '127.0.0.1');
    const answer = new Promise<string>((resolveAnswer, reject) => {
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString('utf8')));
      socket.on('end', () => resolveAnswer(text));
      socket.on('error', reject);
    });
    socket.write(`POST /v2/models/fraud-detector/infer HTTP/1.1\r\nHost: slipway\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 20)}`);
    await sleep(500);
    // WHEN the container gets SIGTERM (what the kubelet sends), and the body completes after it took effect
    const started = performance.now();
    const stopping = running.stop(10);
    const events = async () => (await running.logs()).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    while (!(await events()).some((entry) => entry.event === 'shutdown_started')) {
      expect(performance.now() - started, 'SIGTERM did not start a shutdown').toBeLessThan(10_000);
      await sleep(100);
    }
    const logsBeforeExit = await events();
    socket.write(body.slice(20));
    // THEN the request is answered, and the server exits 0 once nothing is in flight, before the KILL
    const response = await answer;
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    expect(response).toMatch(/"name":"probability","datatype":"FP32","shape":\[1,2\]/);
    const { exitCode, logs: output } = await stopping;
    const ms = performance.now() - started;
    timings.push(['SIGTERM to exit (one request drained)', ms]);
    expect(exitCode).toBe(0);
    expect(ms).toBeLessThan(10_000);
    expect(logsBeforeExit.some((entry) => entry.event === 'shutdown_complete')).toBe(false);
    const logs = output.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logs.find((entry) => entry.event === 'shutdown_started')).toMatchObject({ reason: 'SIGTERM', in_flight: 1 });
    expect(logs.find((entry) => entry.event === 'shutdown_complete')).toMatchObject({ drained: true, abandoned_requests: 0 });
    expect((await tool('podman', ['ps', '--all', '--filter', `name=^${container}$`, '--format', '{{.Names}}'])).stdout.trim()).toBe('');
  });
});
