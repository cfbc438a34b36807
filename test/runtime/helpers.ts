import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuntimeApp, type RuntimeOptions } from '../../lib/runtime/app.js';
import { MemoryLogger } from '../../lib/runtime/logger.js';
import { scanRepository } from '../../lib/runtime/repository.js';
import { startServer, type RunningServer } from '../../lib/runtime/server.js';

export interface RepoModel {
  name: string;
  version?: string;
  bytes: Uint8Array;
  config?: unknown;
  flat?: boolean;
}

/** Writes a Triton-layout repository into a fresh temp dir. */
export function writeRepository(models: readonly RepoModel[]): string {
  const root = mkdtempSync(join(tmpdir(), 'slipway-repo-'));
  for (const m of models) {
    const dir = m.flat ? join(root, m.name) : join(root, m.name, m.version ?? '1');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.onnx'), m.bytes);
    if (m.config !== undefined) writeFileSync(join(dir, 'config.json'), typeof m.config === 'string' ? m.config : JSON.stringify(m.config));
  }
  return root;
}

export interface TestServer {
  app: RuntimeApp;
  server: RunningServer;
  logger: MemoryLogger;
  port: number;
  repository: string;
  close(): Promise<void>;
}

/** A real runtime on 127.0.0.1 with an ephemeral port. */
export async function startTestServer(models: readonly RepoModel[], options: Partial<RuntimeOptions> & { metricsPort?: number; grpcPort?: number } = {}): Promise<TestServer> {
  const repository = writeRepository(models);
  const logger = new MemoryLogger();
  const app = new RuntimeApp({ sources: await scanRepository(repository), logger, repository, ...options });
  const server = await startServer(app, {
    host: '127.0.0.1',
    port: 0,
    gracePeriodMs: 2_000,
    ...(options.metricsPort !== undefined ? { metricsPort: options.metricsPort } : {}),
    ...(options.grpcPort !== undefined ? { grpcPort: options.grpcPort } : {}),
  });
  await app.loadModels();
  return {
    app,
    server,
    logger,
    port: server.port,
    repository,
    async close() {
      await server.shutdown('test finished');
      rmSync(repository, { recursive: true, force: true });
    },
  };
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test convenience over arbitrary response JSON
}

export const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });

export function http(
  port: number,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string | number> = {},
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: keepAlive, headers: { ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const data = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body: data, json: () => JSON.parse(data.toString('utf8')) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const infer = (port: number, model: string, body: unknown, headers: Record<string, string | number> = {}) =>
  http(port, 'POST', `/v2/models/${model}/infer`, typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body), headers);

/** Builds a Triton binary-extension body: JSON header followed by raw tensor bytes. */
export function binaryBody(header: unknown, segments: readonly Uint8Array[]): { body: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([json, ...segments.map((s) => Buffer.from(s.buffer, s.byteOffset, s.byteLength))]), headerLength: json.length };
}

/** Splits a binary-extension response into its JSON header and the bytes of each binary output. */
export function splitBinaryResponse(res: HttpResponse): { header: any; segments: Map<string, Buffer> } { // eslint-disable-line @typescript-eslint/no-explicit-any -- arbitrary JSON
  const headerLength = Number(res.headers['inference-header-content-length']);
  const header = JSON.parse(res.body.subarray(0, headerLength).toString('utf8'));
  const segments = new Map<string, Buffer>();
  let offset = headerLength;
  for (const output of header.outputs) {
    const size = output.parameters?.binary_data_size;
    if (size === undefined) continue;
    segments.set(output.name, res.body.subarray(offset, offset + size));
    offset += size;
  }
  if (offset !== res.body.length) throw new Error(`response has ${res.body.length - offset} unclaimed bytes`);
  return { header, segments };
}
