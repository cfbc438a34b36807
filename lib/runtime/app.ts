/**
 * The runtime's HTTP request handler, separate from any listening socket:
 * tests and the server both drive `handle(req, res)`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createGunzip, gzip } from 'node:zlib';
import { CodecPool } from './codec-pool.js';
import { dedicate } from './transfer.js';
import { cpuBudget, defaultThreadPlan, type ThreadPlan } from './cpu.js';
import { InferenceError, badRequest } from './errors.js';
import { jsonLogger, type Logger } from './logger.js';
import { RuntimeMetrics, type ModelMetrics } from './metrics.js';
import { ServedModel } from './model.js';
import type { ExecutionProviderName } from './model-config.js';
import type { FeedbackLabel, InferenceObserver, ObserverFactory } from './observer.js';
import type { JsonValue } from './json.js';
import { stringifyJson, type InferRequest, type ResponseOutput, type TensorSpec } from './protocol.js';
import { explainEmptyRepository, scanRepository, type ModelSource } from './repository.js';

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

const gzipAsync = promisify(gzip);
/** KServe's gRPC port; ModelServing renders it on the Service as `grpc`. */
export const DEFAULT_GRPC_PORT = 8081;

/** Open Inference Protocol extensions this server implements (GET /v2, gRPC ServerMetadata). */
export const EXTENSIONS = ['binary_tensor_data', 'model_repository', 'statistics', 'model_configuration'] as const;

export interface RuntimeOptions {
  sources: readonly ModelSource[];
  logger?: Logger;
  /** Larger bodies get 413 before they are read. */
  maxBodyBytes?: number;
  defaultProvider?: ExecutionProviderName;
  observers?: ObserverFactory;
  serverVersion?: string;
  /** Sessions per model and intra-op threads; default from the CPU limit (defaultThreadPlan). */
  threads?: Partial<ThreadPlan>;
  /** Worker threads that decode big JSON requests and encode big JSON responses; default from the CPU limit, 0 decodes inline. */
  codecWorkers?: number;
  /** The repository the sources came from: named when it holds nothing to serve. */
  repository?: string;
  /**
   * Checks sources before they load, setting `problem` on those that must not serve (the
   * released build's sha256, lib/runtime/integrity.ts). Runs again for every repository load.
   */
  verify?: (sources: ModelSource[]) => Promise<void>;
}

export interface ModelEntry {
  model: ServedModel;
  metrics: ModelMetrics;
  observer?: InferenceObserver;
  /** Why the observer factory threw, for the drift and feedback endpoints' 404. */
  observerProblem?: string;
  observerFailed?: boolean;
  /** Unloaded through the model repository extension: left out of readiness until loaded again. */
  unloaded?: boolean;
}

type Route =
  | { kind: 'server-metadata' | 'live' | 'ready' | 'metrics' | 'repository-index' | 'all-stats' }
  | { kind: 'repository-load' | 'repository-unload'; name: string }
  | { kind: 'model-metadata' | 'model-ready' | 'infer' | 'drift' | 'feedback' | 'model-stats' | 'model-config'; name: string; version: string | undefined };

const MODEL_ACTIONS: Readonly<Record<string, Extract<Route, { version: string | undefined }>['kind']>> = {
  '': 'model-metadata',
  ready: 'model-ready',
  infer: 'infer',
  drift: 'drift',
  feedback: 'feedback',
  stats: 'model-stats',
  config: 'model-config',
};

const JSON_TYPE = 'application/json';

function parseRoute(url: string): Route | undefined {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  switch (path) {
    case '/v2':
    case '/v2/':
      return { kind: 'server-metadata' };
    case '/v2/health/live':
      return { kind: 'live' };
    case '/v2/health/ready':
      return { kind: 'ready' };
    case '/metrics':
      return { kind: 'metrics' };
    case '/v2/repository/index':
      return { kind: 'repository-index' };
    case '/v2/models/stats':
      return { kind: 'all-stats' };
  }
  const repository = /^\/v2\/repository\/models\/([^/]+)\/(load|unload)$/.exec(path);
  if (repository) {
    try {
      return { kind: repository[2] === 'load' ? 'repository-load' : 'repository-unload', name: decodeURIComponent(repository[1]!) };
    } catch {
      return undefined;
    }
  }
  if (!path.startsWith('/v2/models/')) return undefined;
  const parts = path.slice('/v2/models/'.length).split('/');
  let name: string;
  try {
    name = decodeURIComponent(parts[0]!);
  } catch {
    return undefined;
  }
  let version: string | undefined;
  let rest = parts.slice(1);
  if (rest[0] === 'versions' && rest.length >= 2) {
    try {
      version = decodeURIComponent(rest[1]!);
    } catch {
      return undefined;
    }
    rest = rest.slice(2);
  }
  if (name === '' || rest.length > 1) return undefined;
  const kind = Object.hasOwn(MODEL_ACTIONS, rest[0] ?? '') ? MODEL_ACTIONS[rest[0] ?? ''] : undefined;
  return kind === undefined ? undefined : { kind, name, version };
}

function methodFor(route: Route): 'GET' | 'POST' {
  switch (route.kind) {
    case 'infer':
    case 'feedback':
    case 'repository-index':
    case 'repository-load':
    case 'repository-unload':
      return 'POST';
    default:
      return 'GET';
  }
}

/** Feedback bodies are an id and labels: far below the inference limit. */
const MAX_FEEDBACK_BYTES = 1024 * 1024;

/**
 * Longest request id handed to observers for ground-truth feedback. The observer keeps ids until
 * their feedback arrives (a bounded count); capping each id bounds the total bytes held too:
 * 10,000 pending ids × 1 KiB = 10 MiB, where unbounded 1 MiB ids held ~820 MiB after 800 requests.
 */
export const MAX_FEEDBACK_ID_BYTES = 1024;

function idBytes(id: string): number {
  return id.length * 3 <= MAX_FEEDBACK_ID_BYTES ? id.length : Buffer.byteLength(id, 'utf8');
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  // Depth-limited: a label nested 100,000 deep must not overflow the stack while we describe it.
  const text = stringifyJson(value as JsonValue, 3);
  return `${typeof value} ${text.length > 60 ? `${text.slice(0, 60)}…` : text}`;
}

/** `{"id": "<request id>", "label": 1 | "fraud" | [labels per row]}`, checked field by field. */
function parseFeedback(body: Buffer): { id: string; label: FeedbackLabel } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw badRequest(`feedback body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw badRequest(`feedback body must be a JSON object {"id": "<request id>", "label": <observed label>}, got ${describeJson(parsed)}`);
  }
  const { id, label } = parsed as Record<string, unknown>;
  if (typeof id !== 'string' || id === '') {
    throw badRequest(`feedback "id": expected the inference request's id (a non-empty string), got ${id === undefined ? 'nothing' : describeJson(id)}`);
  }
  if (idBytes(id) > MAX_FEEDBACK_ID_BYTES) {
    throw badRequest(`feedback "id": ids longer than ${MAX_FEEDBACK_ID_BYTES} bytes are not retained for feedback, got ${idBytes(id)} bytes; send a shorter "id" with the inference request`);
  }
  const scalar = (v: unknown): v is number | string => (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'string';
  if (Array.isArray(label)) {
    const bad = label.findIndex((v) => !scalar(v));
    if (label.length === 0 || bad !== -1) {
      throw badRequest(`feedback "label": expected a number or string per row, got ${label.length === 0 ? 'an empty array' : `${describeJson(label[bad])} at label[${bad}]`}`);
    }
    return { id, label };
  }
  if (!scalar(label)) {
    throw badRequest(`feedback "label": expected the observed label (a number, a string, or an array of them, one per row), got ${label === undefined ? 'nothing' : describeJson(label)}`);
  }
  return { id, label };
}

/** The request's Content-Encoding: identity or gzip; anything else is a 415 naming what is accepted. */
function contentEncoding(req: IncomingMessage): 'identity' | 'gzip' {
  const raw = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (raw === '' || raw === 'identity') return 'identity';
  if (raw === 'gzip' || raw === 'x-gzip') return 'gzip';
  throw new InferenceError(415, `Content-Encoding ${JSON.stringify(raw.slice(0, 40))} is not supported: send the body as is, or gzip-compressed with Content-Encoding: gzip`);
}

/** Whether the client takes gzip (Accept-Encoding: gzip, not with q=0). */
function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers['accept-encoding'];
  if (header === undefined) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return (coding === 'gzip' || coding === '*') && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/** Responses smaller than this go uncompressed: gzip's header and CPU cost more than they save. */
const GZIP_MIN_BYTES = 1024;

/**
 * Reads the body into one buffer of its own (never a pooled slab, so it may move to a worker
 * thread), placing any binary tensor section at an 8-byte aligned offset. A gzip body is
 * inflated as it streams in (on libuv's thread pool), and the limit applies to the inflated size.
 */
function readBody(req: IncomingMessage, limit: number, headerLength: number | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const encoding = contentEncoding(req);
    const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    if (declared !== undefined && declared > limit) {
      reject(new InferenceError(413, `request body is ${declared} bytes, over the limit of ${limit} bytes`));
      return;
    }
    // Typed-array views over binary tensors need element alignment; padding the front makes
    // the binary section start on an 8-byte boundary so views need no copy.
    const pad = headerLength === undefined ? 0 : (8 - (headerLength % 8)) % 8;
    // With a Content-Length, chunks land in place as they arrive: no second copy of a big body.
    const whole = declared === undefined || encoding === 'gzip' ? undefined : dedicate(Buffer.allocUnsafeSlow(pad + declared).subarray(pad));
    const source: Readable = encoding === 'gzip' ? req.pipe(createGunzip()) : req;
    const chunks: Buffer[] = [];
    let received = 0;
    source.on('data', (chunk: Buffer) => {
      if (received + chunk.length > limit || (whole && received + chunk.length > whole.length)) {
        source.removeAllListeners('data');
        if (source !== req) source.destroy();
        req.pause();
        reject(new InferenceError(413, `request body is over the limit of ${limit} bytes${encoding === 'gzip' ? ' once inflated' : ''}`));
        return;
      }
      if (whole) whole.set(chunk, received);
      else chunks.push(chunk);
      received += chunk.length;
    });
    source.on('end', () => {
      if (whole) return resolve(received === whole.length ? whole : whole.subarray(0, received));
      const joined = dedicate(Buffer.allocUnsafeSlow(pad + received).subarray(pad));
      let offset = 0;
      for (const chunk of chunks) {
        joined.set(chunk, offset);
        offset += chunk.length;
      }
      resolve(joined);
    });
    if (source !== req) source.on('error', (err: Error) => reject(badRequest(`request body is not valid gzip (Content-Encoding: gzip): ${err.message}`)));
    // The client went away mid-body: not a server error. 499 is nginx's "client closed request".
    req.on('error', () => reject(new InferenceError(499, 'client closed the connection before sending the whole body')));
  });
}

function parseHeaderLength(req: IncomingMessage): number | undefined {
  const raw = req.headers['inference-header-content-length'];
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || !/^[0-9]{1,15}$/.test(value)) {
    throw badRequest(`Inference-Header-Content-Length must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

export class RuntimeApp {
  readonly metrics = new RuntimeMetrics();
  readonly logger: Logger;
  private readonly entries = new Map<string, ModelEntry>();
  private readonly maxBodyBytes: number;
  private readonly serverVersion: string;
  private loaded = false;
  private emptyReason: string | undefined;
  /** Load and unload of one model run one after another. */
  private readonly repositoryOps = new Map<string, Promise<void>>();
  private draining = false;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  readonly threads: ThreadPlan;
  /** Big JSON bodies are decoded, and big JSON responses encoded, off the event loop. */
  private readonly codecs: CodecPool;

  constructor(private readonly options: RuntimeOptions) {
    this.threads = { ...defaultThreadPlan(), ...options.threads };
    this.codecs = new CodecPool(options.codecWorkers ?? Math.max(1, Math.min(2, cpuBudget() - 1)));
    this.logger = options.logger ?? jsonLogger();
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.serverVersion = options.serverVersion ?? '0.1.0';
    for (const source of options.sources) {
      if (this.entries.has(source.name)) {
        throw new InferenceError(500, `model "${source.name}" is defined twice (repository and --model?)`);
      }
      this.entries.set(source.name, this.createEntry(source));
    }
  }

  get models(): ServedModel[] {
    return [...this.entries.values()].map((e) => e.model);
  }

  model(name: string): ServedModel | undefined {
    return this.entries.get(name)?.model;
  }

  /** Ready: there are models, every one finished loading successfully, and no shutdown is under way (Triton's strict readiness). */
  get ready(): boolean {
    return this.notReadyReason() === undefined;
  }

  /** Why the server is not ready, for /v2/health/ready, gRPC ServerReady's log and the logs. */
  notReadyReason(): string | undefined {
    if (this.draining) return 'server is shutting down';
    if (!this.loaded) return 'models are still loading';
    if (this.entries.size === 0) return this.emptyReason ?? 'no models to serve';
    const failed = [...this.entries.values()].filter((e) => !e.unloaded && e.model.status !== 'ready').map((e) => e.model);
    if (failed.length > 0) return failed.map((m) => m.notReadyMessage()).join('; ');
    return undefined;
  }

  /** Name, version and the protocol extensions served (REST GET /v2, gRPC ServerMetadata). */
  serverMetadata(): { name: string; version: string; extensions: string[] } {
    return { name: 'slipway', version: this.serverVersion, extensions: [...EXTENSIONS] };
  }

  /** Name, versions, platform and signature of a loaded model (REST GET /v2/models/{m}, gRPC ModelMetadata); 503 until it is loaded. */
  modelMetadata(model: ServedModel): { name: string; versions: string[]; platform: string; inputs: unknown; outputs: unknown } {
    if (model.status !== 'ready') throw new InferenceError(503, model.notReadyMessage());
    const { inputs, outputs } = model.signature!;
    return { name: model.name, versions: [model.version], platform: 'onnxruntime_onnx', inputs, outputs };
  }

  /** A model accepts inference: loaded and no shutdown under way. */
  modelReady(model: ServedModel): boolean {
    return model.status === 'ready' && !this.draining;
  }

  get inFlightRequests(): number {
    return this.inFlight;
  }

  /** Loads models one after another (bounded memory while loading); failures are isolated per model. */
  async loadModels(): Promise<void> {
    for (const entry of this.entries.values()) await this.loadEntry(entry);
    if (this.entries.size === 0) {
      this.emptyReason = this.options.repository === undefined ? 'no models to serve' : await explainEmptyRepository(this.options.repository);
      this.logger.log('error', 'no_models', { reason: this.emptyReason });
    }
    this.loaded = true;
    this.logger.log('info', 'models_loaded', {
      ready: this.models.filter((m) => m.status === 'ready').map((m) => m.name),
      failed: this.models.filter((m) => m.status === 'failed').map((m) => m.name),
    });
  }

  private async loadEntry(entry: ModelEntry): Promise<void> {
    await entry.model.load();
    const { model } = entry;
    if (model.status === 'ready' && this.options.observers) {
      try {
        entry.model.keepInputs = true;
        entry.observer = await this.options.observers({
          name: model.name,
          version: model.version,
          signature: model.signature!,
          registry: this.metrics.registry,
          ...(model.source.baselinePath ? { baselinePath: model.source.baselinePath } : {}),
        });
      } catch (err) {
        entry.observerProblem = (err as Error).message;
        this.logger.log('error', 'observer_failed', { model: model.name, version: model.version, reason: entry.observerProblem });
      }
    }
  }

  private createEntry(source: ModelSource): ModelEntry {
    const model = new ServedModel(source, {
      logger: this.logger,
      metrics: this.metrics,
      defaultProvider: this.options.defaultProvider ?? 'cpu',
      threads: this.threads,
    });
    return { model, metrics: this.metrics.forModel(source.name, source.version) };
  }

  private async closeEntry(entry: ModelEntry): Promise<void> {
    try {
      await entry.observer?.close?.();
    } catch (err) {
      this.logger.log('error', 'observer_failed', { model: entry.model.name, reason: (err as Error).message });
    }
    entry.observer = undefined;
    await entry.model.unload();
  }

  /** Model repository extension: a repository rescan of `name`, loaded in place of the served one. */
  async loadModel(name: string): Promise<void> {
    const repository = this.options.repository;
    if (repository === undefined) {
      throw new InferenceError(400, `cannot load "${name}": the model repository extension needs slipway serve --model-repository; this server serves --model files only`);
    }
    const previous = this.repositoryOps.get(name) ?? Promise.resolve();
    const done = previous.then(async () => {
      const source = (await scanRepository(repository)).find((s) => s.name === name);
      if (!source) throw new InferenceError(404, `model repository ${repository} has no model "${name}"`);
      await this.options.verify?.([source]);
      const old = this.entries.get(name);
      if (old) await this.closeEntry(old);
      const entry = this.createEntry(source);
      this.entries.set(name, entry);
      await this.loadEntry(entry);
      this.logger.log('info', 'model_repository_load', { model: name, version: source.version, status: entry.model.status });
      if (entry.model.status !== 'ready') throw new InferenceError(400, entry.model.notReadyMessage());
    });
    this.repositoryOps.set(name, done.catch(() => undefined));
    await done;
  }

  /** Model repository extension: stops serving `name` (its requests get 503) until it is loaded again. */
  async unloadModel(name: string): Promise<void> {
    const previous = this.repositoryOps.get(name) ?? Promise.resolve();
    const done = previous.then(async () => {
      const entry = this.lookup(name, undefined);
      entry.unloaded = true;
      await this.closeEntry(entry);
      this.logger.log('info', 'model_repository_unload', { model: name, version: entry.model.version });
    });
    this.repositoryOps.set(name, done.catch(() => undefined));
    await done;
  }

  /** Model repository extension's index: served models and, with a repository, the ones on disk not loaded. */
  async repositoryIndex(): Promise<Array<{ name: string; version: string; state: string; reason: string }>> {
    const index = [...this.entries.values()].map(({ model, unloaded }) => ({
      name: model.name,
      version: model.version,
      state: model.status === 'ready' ? 'READY' : model.status === 'loading' ? 'LOADING' : 'UNAVAILABLE',
      reason: model.status === 'ready' ? '' : unloaded || model.status === 'unloaded' ? 'unloaded' : model.reason ?? model.status,
    }));
    if (this.options.repository !== undefined) {
      for (const source of await scanRepository(this.options.repository).catch(() => [])) {
        if (!this.entries.has(source.name)) index.push({ name: source.name, version: source.version, state: 'UNAVAILABLE', reason: 'not loaded' });
      }
    }
    return index.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Model configuration extension: the served configuration in Triton's field names, plus slipway's own. */
  modelConfig(model: ServedModel): object {
    if (model.status !== 'ready') throw new InferenceError(503, model.notReadyMessage());
    const { batching, source } = model;
    const { config } = source;
    const tensor = (spec: TensorSpec) => ({
      name: spec.name,
      data_type: `TYPE_${spec.datatype === 'BYTES' ? 'STRING' : spec.datatype}`,
      // Triton leaves the batch dimension out of dims when max_batch_size > 0.
      dims: batching ? spec.shape.slice(1) : spec.shape,
    });
    return {
      name: model.name,
      version: model.version,
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      max_batch_size: batching ? config.batching.maxBatchSize : 0,
      input: model.signature!.inputs.map(tensor),
      output: model.signature!.outputs.map(tensor),
      ...(batching ? { dynamic_batching: { max_queue_delay_microseconds: Math.round(config.batching.maxQueueDelayMs * 1000) } } : {}),
      instance_group: [{ count: model.workers, kind: model.provider === 'cuda' ? 'KIND_GPU' : 'KIND_CPU', ...(model.provider === 'cuda' ? { gpus: [config.cudaDeviceId] } : {}) }],
      slipway: {
        config_file: source.configPath ?? null,
        batching: config.batching,
        workers: model.workers,
        intra_op_threads: model.intraOpThreads,
        inter_op_threads: config.interOpThreads ?? 0,
        requested_provider: model.requestedProvider,
        provider: model.provider,
      },
    };
  }

  /** Readiness turns false and new inference requests get 503; in-flight ones carry on. */
  startDraining(): void {
    this.draining = true;
  }

  /** Resolves when no inference request is in flight. */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    for (const entry of this.entries.values()) await this.closeEntry(entry);
    await this.codecs.close();
  }

  /** Main-port handler: the whole protocol plus /metrics. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.route(req, res).catch((err: unknown) => this.fail(res, err));
  };

  /** Metrics-port handler: /metrics only. */
  readonly handleMetrics = (req: IncomingMessage, res: ServerResponse): void => {
    const route = parseRoute(req.url ?? '/');
    if (route?.kind !== 'metrics') return this.send(res, 404, { error: 'only /metrics is served on this port' });
    this.sendMetrics(req, res).catch((err: unknown) => this.fail(res, err));
  };

  private send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    const length = Buffer.byteLength(text);
    if (length >= GZIP_MIN_BYTES && acceptsGzip(res.req)) {
      void this.sendCompressed(res, status, { 'content-type': JSON_TYPE }, [text]);
      return;
    }
    res.writeHead(status, {
      'content-type': JSON_TYPE,
      'content-length': length,
      ...(this.draining ? { connection: 'close' } : {}),
    });
    res.end(text);
  }

  /** gzip on libuv's thread pool, off the event loop. */
  private async sendCompressed(res: ServerResponse, status: number, headers: Record<string, string | number>, chunks: ReadonlyArray<string | Uint8Array>): Promise<void> {
    const plain = chunks.length === 1 && typeof chunks[0] === 'string' ? Buffer.from(chunks[0]) : Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
    const compressed = await gzipAsync(plain);
    res.writeHead(status, {
      ...headers,
      'content-encoding': 'gzip',
      vary: 'accept-encoding',
      'content-length': compressed.length,
      ...(this.draining ? { connection: 'close' } : {}),
    });
    res.end(compressed);
  }

  private fail(res: ServerResponse, err: unknown): void {
    const status = err instanceof InferenceError ? err.status : 500;
    const message = err instanceof InferenceError ? err.message : 'internal error';
    if (status >= 500 && !(err instanceof InferenceError && status === 503)) {
      this.logger.log('error', 'request_failed', { status, reason: (err as Error)?.message ?? String(err) });
    }
    if (res.headersSent || status === 499) {
      res.destroy();
      return;
    }
    if (status === 413) res.setHeader('connection', 'close');
    this.send(res, status, { error: message });
  }

  private async sendMetrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new InferenceError(405, `${req.method} /metrics: use GET`);
    const { contentType, body } = await this.metrics.render();
    res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /** The served model `name` (at `version`, when given), or a 404 naming what is served. */
  lookup(name: string, version: string | undefined): ModelEntry {
    const entry = this.entries.get(name);
    if (!entry) throw new InferenceError(404, `unknown model "${name}"; served models: ${[...this.entries.keys()].join(', ') || 'none'}`);
    if (version !== undefined && version !== entry.model.version) {
      throw new InferenceError(404, `model "${name}" has no version "${version}"; version ${entry.model.version} is served`);
    }
    return entry;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = parseRoute(req.url ?? '/');
    if (!route) throw new InferenceError(404, `no such endpoint: ${req.method} ${(req.url ?? '').split('?')[0]!.slice(0, 200)}`);
    if (req.method !== methodFor(route) && !(req.method === 'HEAD' && methodFor(route) === 'GET')) {
      res.setHeader('allow', methodFor(route));
      throw new InferenceError(405, `${req.method} is not allowed here; use ${methodFor(route)}`);
    }
    switch (route.kind) {
      case 'server-metadata':
        return this.send(res, 200, this.serverMetadata());
      case 'live':
        return this.send(res, 200, { live: true });
      case 'ready': {
        const reason = this.notReadyReason();
        return this.send(res, reason === undefined ? 200 : 503, reason === undefined ? { ready: true } : { ready: false, error: reason });
      }
      case 'metrics':
        return this.sendMetrics(req, res);
      case 'model-metadata': {
        return this.send(res, 200, this.modelMetadata(this.lookup(route.name, route.version).model));
      }
      case 'model-ready': {
        const { model } = this.lookup(route.name, route.version);
        const ready = this.modelReady(model);
        const body = ready ? { name: model.name, ready } : { name: model.name, ready, error: this.draining ? 'server is shutting down' : model.notReadyMessage() };
        return this.send(res, ready ? 200 : 503, body);
      }
      case 'infer':
        return this.infer(req, res, route.name, route.version);
      case 'drift': {
        const entry = this.lookup(route.name, route.version);
        const observer = this.monitored(entry, 'drift');
        if (!observer.snapshot) throw this.notMonitored(entry, 'drift');
        // ?history=1: the observer's bounded trend of window snapshots instead of the latest one.
        if (observer.history && new URLSearchParams(req.url?.split('?')[1] ?? '').get('history') === '1') return this.send(res, 200, observer.history());
        return this.send(res, 200, observer.snapshot());
      }
      case 'feedback':
        return this.feedback(req, res, this.lookup(route.name, route.version));
      case 'all-stats':
        return this.send(res, 200, { model_stats: this.models.map((m) => m.statistics.snapshot()) });
      case 'model-stats':
        return this.send(res, 200, { model_stats: [this.lookup(route.name, route.version).model.statistics.snapshot()] });
      case 'model-config':
        return this.send(res, 200, this.modelConfig(this.lookup(route.name, route.version).model));
      case 'repository-index':
        return this.send(res, 200, await this.repositoryIndex());
      case 'repository-load':
        await this.loadModel(route.name);
        return this.send(res, 200, {});
      case 'repository-unload':
        await this.unloadModel(route.name);
        return this.send(res, 200, {});
    }
  }

  /** The entry's observer, or the reason the model has none (not ready, no baseline, baseline rejected). */
  private monitored(entry: ModelEntry, what: 'drift' | 'feedback'): InferenceObserver {
    if (entry.model.status !== 'ready') throw new InferenceError(503, entry.model.notReadyMessage());
    if (!entry.observer) throw this.notMonitored(entry, what);
    return entry.observer;
  }

  private notMonitored(entry: ModelEntry, what: 'drift' | 'feedback'): InferenceError {
    const { name, version } = entry.model;
    const subject = what === 'drift' ? 'has no drift monitoring' : 'takes no ground-truth feedback';
    let why: string;
    if (entry.observerProblem !== undefined) why = `its baseline.json was rejected: ${entry.observerProblem}`;
    else if (!entry.model.source.baselinePath) why = 'it is served without a baseline.json (put one beside model.onnx to monitor it)';
    else why = `its monitor does not support ${what}`;
    return new InferenceError(404, `model "${name}" version ${version} ${subject}: ${why}`);
  }

  private async feedback(req: IncomingMessage, res: ServerResponse, entry: ModelEntry): Promise<void> {
    const observer = this.monitored(entry, 'feedback');
    if (!observer.recordFeedback) throw this.notMonitored(entry, 'feedback');
    const { id, label } = parseFeedback(await readBody(req, Math.min(this.maxBodyBytes, MAX_FEEDBACK_BYTES), undefined));
    if (!observer.recordFeedback(id, label)) {
      throw new InferenceError(
        404,
        `model "${entry.model.name}" holds no prediction for request id ${JSON.stringify(id)}: the id is unknown (requests must send an "id" to be scored), already scored, or expired`,
      );
    }
    return this.send(res, 200, { model: entry.model.name, version: entry.model.version, id, recorded: true });
  }

  /**
   * The data plane both transports share, for one inference: admission (draining, readiness),
   * in-flight accounting, request metrics and the observer. `serve` decodes with the model's
   * signature, calls `run` (batching, sessions) and sends the answer; errors it throws are counted
   * by their status and rethrown for the transport to answer.
   */
  async inference(
    name: string,
    version: string | undefined,
    serve: (model: ServedModel, run: (request: InferRequest) => Promise<ResponseOutput[]>) => Promise<void>,
  ): Promise<void> {
    const entry = this.lookup(name, version);
    const { model, metrics } = entry;
    const started = performance.now();
    let status = 200;
    let observed: { request: InferRequest; outputs: ResponseOutput[] } | undefined;
    let timing: { rows: number; queueSeconds: number; computeSeconds: number } | undefined;
    this.inFlight++;
    metrics.inFlight.inc();
    try {
      if (this.draining) throw new InferenceError(503, 'server is shutting down');
      if (model.status !== 'ready') throw new InferenceError(503, model.notReadyMessage());
      await serve(model, async (request) => {
        const result = await model.infer(request.inputs, request.outputs.map((o) => o.name));
        metrics.queueDuration.observe(result.queueSeconds);
        metrics.computeDuration.observe(result.computeSeconds);
        timing = { rows: request.inputs[0]?.shape[0] ?? 1, queueSeconds: result.queueSeconds, computeSeconds: result.computeSeconds };
        const outputs = request.outputs.map((o) => ({ tensor: result.outputs.get(o.name)!, binary: o.binary }));
        observed = { request, outputs };
        return outputs;
      });
      if (entry.observer && observed) this.observe(entry, observed.request, observed.outputs);
    } catch (err) {
      status = err instanceof InferenceError ? err.status : 500;
      throw err;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      if (status === 200 && timing) model.statistics.succeeded(timing.rows, seconds, timing.queueSeconds, timing.computeSeconds);
      else model.statistics.failed(seconds);
      metrics.requests(status).inc();
      metrics.requestDuration.observe(seconds);
      metrics.inFlight.dec();
      if (--this.inFlight === 0) this.releaseIdleWaiters();
    }
  }

  private async infer(req: IncomingMessage, res: ServerResponse, name: string, version: string | undefined): Promise<void> {
    try {
      await this.inference(name, version, async (model, run) => {
        const headerLength = parseHeaderLength(req);
        const body = await readBody(req, this.maxBodyBytes, headerLength);
        const request = await this.codecs.decode(body, headerLength, model.name, model.signature!);
        const outputs = await run(request);
        const encoded = await this.codecs.encode(model.name, model.version, request, outputs);
        if (encoded.length >= GZIP_MIN_BYTES && acceptsGzip(req)) {
          return this.sendCompressed(res, 200, {
            'content-type': encoded.contentType,
            ...(encoded.headerLength !== undefined ? { 'inference-header-content-length': encoded.headerLength } : {}),
          }, encoded.chunks);
        }
        res.writeHead(200, {
          'content-type': encoded.contentType,
          'content-length': encoded.length,
          ...(encoded.headerLength !== undefined ? { 'inference-header-content-length': encoded.headerLength } : {}),
          ...(this.draining ? { connection: 'close' } : {}),
        });
        if (encoded.chunks.length === 1) {
          res.end(encoded.chunks[0]);
        } else {
          res.cork();
          for (const chunk of encoded.chunks) res.write(chunk);
          res.end();
          res.uncork();
        }
      });
    } catch (err) {
      this.fail(res, err);
    }
  }

  private observe(entry: ModelEntry, request: InferRequest, outputs: readonly ResponseOutput[]): void {
    try {
      entry.observer!.observe({
        model: entry.model.name,
        version: entry.model.version,
        // Over-long ids are not handed on: observers retain ids, and their bytes must stay bounded.
        ...(request.id !== undefined && idBytes(request.id) <= MAX_FEEDBACK_ID_BYTES ? { id: request.id } : {}),
        inputs: request.inputs,
        outputs: outputs.map((o) => o.tensor),
      });
    } catch (err) {
      if (!entry.observerFailed) {
        entry.observerFailed = true;
        this.logger.log('error', 'observer_failed', { model: entry.model.name, version: entry.model.version, reason: (err as Error).message });
      }
    }
  }

  private releaseIdleWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
