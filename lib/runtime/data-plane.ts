/**
 * The data plane REST and gRPC share: lookup, readiness, metadata, admission and inference. A
 * transport decodes its own wire format, then drives one InferenceCall: `admit` (lookup, draining,
 * readiness, in-flight accounting), `infer` (batching, sessions), `finish` (statistics, metrics and
 * the observers that watch served traffic). Nothing here knows HTTP or gRPC.
 */
import { InferenceError } from './errors.js';
import type { Logger } from './logger.js';
import type { ModelMetrics, RuntimeMetrics } from './metrics.js';
import type { ServedModel } from './model.js';
import type { InferenceObserver } from './observer.js';
import type { InferRequest, ResponseOutput, TensorSpec } from './protocol.js';

/** Open Inference Protocol extensions this server implements (GET /v2, gRPC ServerMetadata). */
export const EXTENSIONS = ['binary_tensor_data', 'model_repository', 'statistics', 'model_configuration'] as const;

/**
 * Longest request id handed to observers for ground-truth feedback. The observer keeps ids until
 * their feedback arrives (a bounded count); capping each id bounds the total bytes held too:
 * 10,000 pending ids × 1 KiB = 10 MiB, where unbounded 1 MiB ids held ~820 MiB after 800 requests.
 */
export const MAX_FEEDBACK_ID_BYTES = 1024;

export function idBytes(id: string): number {
  return id.length * 3 <= MAX_FEEDBACK_ID_BYTES ? id.length : Buffer.byteLength(id, 'utf8');
}

export interface ModelEntry {
  model: ServedModel;
  metrics: ModelMetrics;
  observer?: InferenceObserver;
  /** Why the observer factory threw, for the drift and feedback endpoints' 404. */
  observerProblem?: string;
  observerFailed?: boolean;
  /** Unloaded on request (model repository extension, or never loaded under explicit model control): left out of readiness. */
  unloaded?: boolean;
  /** Unloaded to keep the memory budget: loads again on its next inference request. */
  evicted?: boolean;
  /** The load an inference request started for an evicted model: later requests wait for it too. */
  reloading?: Promise<void>;
  /** Refused at load: it needs more than the whole memory budget. */
  overBudget?: boolean;
  /** Inference requests admitted and not finished (an entry with some is never evicted). */
  inFlight: number;
  /** performance.now() of the last admitted request or load: least recently used goes first. */
  lastUsed: number;
}

export interface DataPlaneOptions {
  logger: Logger;
  metrics: RuntimeMetrics;
  serverVersion: string;
}

/** One inference from admission to its answer; `finish` exactly once, with the error if it failed. */
export class InferenceCall {
  private readonly started = performance.now();
  private timing: { rows: number; queueSeconds: number; computeSeconds: number } | undefined;
  private observed: { request: InferRequest; outputs: ResponseOutput[] } | undefined;
  private finished = false;

  constructor(
    private readonly plane: DataPlane,
    readonly entry: ModelEntry,
  ) {}

  get model(): ServedModel {
    return this.entry.model;
  }

  /** Batching and sessions; outputs in the order the request asked for them. */
  async infer(request: InferRequest): Promise<ResponseOutput[]> {
    const { model, metrics } = this.entry;
    const result = await model.infer(request.inputs, request.outputs.map((o) => o.name));
    metrics.queueDuration.observe(result.queueSeconds);
    metrics.computeDuration.observe(result.computeSeconds);
    this.timing = { rows: request.inputs[0]?.shape[0] ?? 1, queueSeconds: result.queueSeconds, computeSeconds: result.computeSeconds };
    const outputs = request.outputs.map((o) => ({ tensor: result.outputs.get(o.name)!, binary: o.binary }));
    this.observed = { request, outputs };
    return outputs;
  }

  /** Counts the request by its status; a successful one is handed to the model's observer (after its answer went out). */
  finish(err?: unknown): void {
    if (this.finished) return;
    this.finished = true;
    const status = err === undefined ? 200 : err instanceof InferenceError ? err.status : 500;
    const { model, metrics } = this.entry;
    const seconds = (performance.now() - this.started) / 1000;
    if (status === 200 && this.timing) model.statistics.succeeded(this.timing.rows, seconds, this.timing.queueSeconds, this.timing.computeSeconds);
    else model.statistics.failed(seconds);
    metrics.requests(status).inc();
    metrics.requestDuration.observe(seconds);
    metrics.inFlight.dec();
    // Hook: observers (drift, feedback join) see every answered request, never a failed one.
    if (status === 200 && this.observed && this.entry.observer) this.plane.observe(this.entry, this.observed.request, this.observed.outputs);
    this.plane.finished(this.entry);
  }
}

export class DataPlane {
  readonly logger: Logger;
  readonly metrics: RuntimeMetrics;
  private readonly entries = new Map<string, ModelEntry>();
  private readonly serverVersion: string;
  private loaded = false;
  private emptyReason: string | undefined;
  private draining = false;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  /**
   * Loads an evicted model again before its request runs (set by the model repository when a
   * memory budget is in force).
   */
  demandLoad: ((entry: ModelEntry) => Promise<void>) | undefined;

  constructor(options: DataPlaneOptions) {
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.serverVersion = options.serverVersion;
  }

  get models(): ServedModel[] {
    return [...this.entries.values()].map((e) => e.model);
  }

  /** Every entry, loaded or not. */
  get all(): IterableIterator<ModelEntry> {
    return this.entries.values();
  }

  get size(): number {
    return this.entries.size;
  }

  entry(name: string): ModelEntry | undefined {
    return this.entries.get(name);
  }

  /** Serves `entry` under its model's name, in place of any entry before it. */
  put(entry: ModelEntry): void {
    this.entries.set(entry.model.name, entry);
  }

  /** The startup load is over; `emptyReason` says why there is nothing to serve when there is nothing. */
  markLoaded(emptyReason?: string): void {
    this.loaded = true;
    this.emptyReason = emptyReason;
  }

  /** The served model `name` (at `version`, when given), or a 404 naming what is served. */
  lookup(name: string, version: string | undefined): ModelEntry {
    const entry = this.entries.get(name);
    if (!entry) {
      const names = [...this.entries.keys()];
      const listed = names.length > 20 ? `${names.slice(0, 20).join(', ')} and ${names.length - 20} more` : names.join(', ') || 'none';
      throw new InferenceError(404, `unknown model "${name}"; served models: ${listed}`);
    }
    if (version !== undefined && version !== entry.model.version) {
      throw new InferenceError(404, `model "${name}" has no version "${version}"; version ${entry.model.version} is served`);
    }
    return entry;
  }

  /** Ready: there are models, every one meant to serve finished loading successfully, and no shutdown is under way (Triton's strict readiness). */
  get ready(): boolean {
    return this.notReadyReason() === undefined;
  }

  /** Why the server is not ready, for /v2/health/ready, gRPC ServerReady's log and the logs. */
  notReadyReason(): string | undefined {
    if (this.draining) return 'server is shutting down';
    if (!this.loaded) return 'models are still loading';
    if (this.entries.size === 0) return this.emptyReason ?? 'no models to serve';
    const failed = [...this.entries.values()].filter((e) => !e.unloaded && !e.evicted && e.model.status !== 'ready').map((e) => e.model);
    if (failed.length > 0) return failed.map((m) => m.notReadyMessage()).join('; ');
    return undefined;
  }

  /** Which models are loaded, and which are not (unloaded on request or to keep the memory budget), for the readiness body. */
  loadedModels(): { loaded: string[]; unloaded: string[] } {
    const loaded: string[] = [];
    const unloaded: string[] = [];
    for (const { model, unloaded: off, evicted } of this.entries.values()) {
      if (model.status === 'ready') loaded.push(model.name);
      else if (off || evicted) unloaded.push(model.name);
    }
    return { loaded, unloaded };
  }

  /** Name, version and the protocol extensions served (REST GET /v2, gRPC ServerMetadata). */
  serverMetadata(): { name: string; version: string; extensions: string[] } {
    return { name: 'slipway', version: this.serverVersion, extensions: [...EXTENSIONS] };
  }

  /** Name, versions, platform and signature of a loaded model (REST GET /v2/models/{m}, gRPC ModelMetadata); 503 until it is loaded. */
  modelMetadata(model: ServedModel): { name: string; versions: string[]; platform: string; inputs: unknown; outputs: unknown } {
    if (model.status !== 'ready') throw new InferenceError(503, model.notReadyMessage());
    const { inputs, outputs } = model.signature!;
    return { name: model.name, versions: [model.version], platform: model.platform, inputs, outputs };
  }

  /** A model accepts inference: loaded and no shutdown under way. */
  modelReady(model: ServedModel): boolean {
    return model.status === 'ready' && !this.draining;
  }

  get isDraining(): boolean {
    return this.draining;
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
      platform: model.platform,
      backend: model.backendName,
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

  /** Statistics extension: every model's, or one model's. */
  statistics(entry?: ModelEntry): { model_stats: object[] } {
    return { model_stats: entry ? [entry.model.statistics.snapshot()] : this.models.map((m) => m.statistics.snapshot()) };
  }

  /**
   * Admission for one inference: lookup (404), an evicted model loaded again, then draining and
   * readiness (503, counted). The call is in flight until its `finish`.
   */
  async admit(name: string, version: string | undefined): Promise<InferenceCall> {
    const entry = this.lookup(name, version);
    entry.lastUsed = performance.now();
    const call = new InferenceCall(this, entry);
    this.inFlight++;
    entry.inFlight++;
    entry.metrics.inFlight.inc();
    try {
      if (this.draining) throw new InferenceError(503, 'server is shutting down');
      const demandLoad = this.demandLoad;
      if ((entry.evicted || entry.reloading) && demandLoad) {
        await (entry.reloading ??= demandLoad(entry).finally(() => (entry.reloading = undefined)));
      }
      if (entry.unloaded) throw new InferenceError(503, entry.model.notReadyMessage(), undefined, 'RUNTIME_MODEL_NOT_LOADED');
      if (entry.model.status !== 'ready') throw new InferenceError(503, entry.model.notReadyMessage());
    } catch (err) {
      call.finish(err);
      throw err;
    }
    return call;
  }

  /** @internal InferenceCall.finish's bookkeeping. */
  finished(entry: ModelEntry): void {
    entry.inFlight--;
    if (--this.inFlight === 0) this.releaseIdleWaiters();
  }

  /** Hook for observers: drift monitoring and the feedback join see each answered request here. */
  observe(entry: ModelEntry, request: InferRequest, outputs: readonly ResponseOutput[]): void {
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

  get inFlightRequests(): number {
    return this.inFlight;
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

  private releaseIdleWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
