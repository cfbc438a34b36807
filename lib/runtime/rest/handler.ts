/**
 * The REST transport: routes, bodies, gzip and JSON or binary tensors over the data plane. Apart
 * from any listening socket: tests and the server both drive `handle(req, res)`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { CodecPool } from '../codec-pool.js';
import type { DataPlane, ModelEntry } from '../data-plane.js';
import { InferenceError } from '../errors.js';
import type { ModelRepository } from '../model-repository.js';
import type { InferenceObserver } from '../observer.js';
import { GZIP_MIN_BYTES, acceptsGzip, parseHeaderLength, readBody } from './body.js';
import { MAX_FEEDBACK_BYTES, parseFeedback } from './feedback.js';
import { methodFor, parseRoute } from './routes.js';

const gzipAsync = promisify(gzip);
const JSON_TYPE = 'application/json';

export class RestHandler {
  constructor(
    private readonly plane: DataPlane,
    private readonly repository: ModelRepository,
    /** Big JSON bodies are decoded, and big JSON responses encoded, off the event loop. */
    private readonly codecs: CodecPool,
    private readonly maxBodyBytes: number,
  ) {}

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
      ...(this.plane.isDraining ? { connection: 'close' } : {}),
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
      ...(this.plane.isDraining ? { connection: 'close' } : {}),
    });
    res.end(compressed);
  }

  private fail(res: ServerResponse, err: unknown): void {
    const status = err instanceof InferenceError ? err.status : 500;
    const message = err instanceof InferenceError ? err.message : 'internal error';
    if (status >= 500 && !(err instanceof InferenceError && status === 503)) {
      this.plane.logger.log('error', 'request_failed', { status, reason: (err as Error)?.message ?? String(err) });
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
    const { contentType, body } = await this.plane.metrics.render();
    res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = parseRoute(req.url ?? '/');
    if (!route) throw new InferenceError(404, `no such endpoint: ${req.method} ${(req.url ?? '').split('?')[0]!.slice(0, 200)}`);
    if (req.method !== methodFor(route) && !(req.method === 'HEAD' && methodFor(route) === 'GET')) {
      res.setHeader('allow', methodFor(route));
      throw new InferenceError(405, `${req.method} is not allowed here; use ${methodFor(route)}`);
    }
    const plane = this.plane;
    switch (route.kind) {
      case 'server-metadata':
        return this.send(res, 200, plane.serverMetadata());
      case 'live':
        return this.send(res, 200, { live: true });
      case 'ready': {
        const reason = plane.notReadyReason();
        return this.send(res, reason === undefined ? 200 : 503, reason === undefined ? { ready: true, ...this.loadedModels() } : { ready: false, error: reason, ...this.loadedModels() });
      }
      case 'metrics':
        return this.sendMetrics(req, res);
      case 'model-metadata':
        return this.send(res, 200, plane.modelMetadata(plane.lookup(route.name, route.version).model));
      case 'model-ready': {
        const { model } = plane.lookup(route.name, route.version);
        const ready = plane.modelReady(model);
        const body = ready ? { name: model.name, ready } : { name: model.name, ready, error: plane.isDraining ? 'server is shutting down' : model.notReadyMessage() };
        return this.send(res, ready ? 200 : 503, body);
      }
      case 'infer':
        return this.infer(req, res, route.name, route.version);
      case 'drift': {
        const entry = plane.lookup(route.name, route.version);
        const observer = this.monitored(entry, 'drift');
        if (!observer.snapshot) throw this.notMonitored(entry, 'drift');
        // ?history=1: the observer's bounded trend of window snapshots instead of the latest one.
        if (observer.history && new URLSearchParams(req.url?.split('?')[1] ?? '').get('history') === '1') return this.send(res, 200, observer.history());
        return this.send(res, 200, observer.snapshot());
      }
      case 'feedback':
        return this.feedback(req, res, plane.lookup(route.name, route.version));
      case 'all-stats':
        return this.send(res, 200, plane.statistics());
      case 'model-stats':
        return this.send(res, 200, plane.statistics(plane.lookup(route.name, route.version)));
      case 'model-config':
        return this.send(res, 200, plane.modelConfig(plane.lookup(route.name, route.version).model));
      case 'repository-index':
        return this.send(res, 200, await this.repository.index());
      case 'repository-load':
        await this.repository.load(route.name);
        return this.send(res, 200, {});
      case 'repository-unload':
        await this.repository.unload(route.name);
        return this.send(res, 200, {});
    }
  }

  /**
   * Which models are loaded, beside the ready flag: only when some are not (explicit model
   * control, the memory budget), so a server serving all it has answers as it always did.
   */
  private loadedModels(): { models?: { loaded: string[]; unloaded: string[] } } {
    const models = this.plane.loadedModels();
    return models.unloaded.length === 0 ? {} : { models };
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

  /** decode → infer → encode, each step in sight; the call is finished (counted, observed) once the answer is out. */
  private async infer(req: IncomingMessage, res: ServerResponse, name: string, version: string | undefined): Promise<void> {
    let call;
    try {
      call = await this.plane.admit(name, version);
    } catch (err) {
      return this.fail(res, err);
    }
    try {
      const { model } = call;
      const headerLength = parseHeaderLength(req);
      const body = await readBody(req, this.maxBodyBytes, headerLength);
      const request = await this.codecs.decode(body, headerLength, model.name, model.signature!);
      const outputs = await call.infer(request);
      const encoded = await this.codecs.encode(model.name, model.version, request, outputs);
      const binaryHeader: Record<string, number> = encoded.headerLength !== undefined ? { 'inference-header-content-length': encoded.headerLength } : {};
      if (encoded.length >= GZIP_MIN_BYTES && acceptsGzip(req)) {
        await this.sendCompressed(res, 200, { 'content-type': encoded.contentType, ...binaryHeader }, encoded.chunks);
      } else {
        res.writeHead(200, {
          'content-type': encoded.contentType,
          'content-length': encoded.length,
          ...binaryHeader,
          ...(this.plane.isDraining ? { connection: 'close' } : {}),
        });
        if (encoded.chunks.length === 1) {
          res.end(encoded.chunks[0]);
        } else {
          res.cork();
          for (const chunk of encoded.chunks) res.write(chunk);
          res.end();
          res.uncork();
        }
      }
      call.finish();
    } catch (err) {
      call.finish(err);
      this.fail(res, err);
    }
  }
}
