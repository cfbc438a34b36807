import type { Backend, LoadedModel } from './backend.js';
import { BatchScheduler, type BatchResult } from './batcher.js';
import type { NumericArray } from './datatypes.js';
import { buffersOf, ownsBuffer } from './transfer.js';
import { InferenceError } from './errors.js';
import type { Logger } from './logger.js';
import type { RuntimeMetrics } from './metrics.js';
import { HUGE_BATCH_INPUT_BYTES, type CpuMemArena, type ExecutionProviderName } from './model-config.js';
import type { ModelSignature, Tensor } from './protocol.js';
import type { ModelSource } from './repository.js';
import type { ThreadPlan } from './cpu.js';
import { StatisticsRecorder } from './statistics.js';

export type ModelStatus = 'loading' | 'ready' | 'failed' | 'unloaded';

export interface ModelDependencies {
  logger: Logger;
  metrics: RuntimeMetrics;
  /** Provider for models whose config does not name one (SLIPWAY_EXECUTION_PROVIDER). */
  defaultProvider: ExecutionProviderName;
  /** Sessions per model, and onnxruntime intra-op threads for models whose config sets none. */
  threads: ThreadPlan;
  /** What loads and runs the model file. */
  backend: Backend;
  /** onnxruntime's CPU memory arena for models whose config does not set it; default auto. */
  cpuMemArena?: CpuMemArena;
}

/**
 * One served model version: what its backend loaded (onnxruntime sessions on the shared session
 * threads), signature, batching and load status.
 */
export class ServedModel {
  status: ModelStatus = 'loading';
  reason: string | undefined;
  signature: ModelSignature | undefined;
  provider: ExecutionProviderName | undefined;
  batching = false;
  /** Sessions serving this model, each on its own worker thread. */
  workers = 0;
  /**
   * Set when something reads a request's input tensors after inference (a drift observer): then
   * they are copied to the session worker rather than moved there.
   */
  keepInputs = false;
  intraOpThreads = 0;
  /** Runs estimated below this many ms go inline on the event loop (InlinePolicy); 0 never. */
  inlineComputeBelowMs = 0;
  readonly statistics: StatisticsRecorder;
  private loaded: LoadedModel | undefined;
  /** Bytes this model is charged against the memory budget while loaded: its model file's size. */
  memoryBytes = 0;

  /** Runs answered inline on the event loop and on session workers since load. */
  get runCounts(): { inline: number; worker: number } {
    return this.loaded?.runCounts ?? { inline: 0, worker: 0 };
  }
  private scheduler: BatchScheduler | undefined;

  constructor(
    readonly source: ModelSource,
    private readonly deps: ModelDependencies,
  ) {
    deps.metrics.modelReady.labels(this.name, this.version).set(0);
    this.statistics = new StatisticsRecorder(source.name, source.version);
  }

  get name(): string {
    return this.source.name;
  }

  get version(): string {
    return this.source.version;
  }

  /** Triton's platform and backend names of what runs this model. */
  get platform(): string {
    return this.deps.backend.platform;
  }

  get backendName(): string {
    return this.deps.backend.name;
  }

  get requestedProvider(): ExecutionProviderName {
    return this.source.config.executionProvider ?? this.deps.defaultProvider;
  }

  get pendingRequests(): number {
    return this.scheduler?.pending ?? 0;
  }

  /** Loads the sessions; never throws: a failure marks this model failed and is logged with its reason. */
  async load(): Promise<void> {
    const started = performance.now();
    const { logger, metrics, threads } = this.deps;
    const { config } = this.source;
    try {
      if (this.source.problem) throw new Error(this.source.problem);
      this.workers = config.workers ?? threads.workersPerModel;
      this.intraOpThreads = config.intraOpThreads || threads.intraOpThreads;
      this.inlineComputeBelowMs = config.inlineComputeBelowMs ?? threads.inlineComputeBelowMs;
      const cpuMemArena = config.cpuMemArena ?? this.deps.cpuMemArena;
      const loaded = await this.deps.backend.load(this.source.modelPath, {
        name: this.name,
        version: this.version,
        provider: this.requestedProvider,
        cudaDeviceId: config.cudaDeviceId,
        instances: this.workers,
        intraOpThreads: this.intraOpThreads,
        ...(config.interOpThreads ? { interOpThreads: config.interOpThreads } : {}),
        inlineComputeBelowMs: this.inlineComputeBelowMs,
        ...(cpuMemArena !== undefined ? { cpuMemArena } : {}),
        onFailure: (reason) => this.workerDied(reason),
        onArenaOff: () => logger.log('info', 'cpu_mem_arena_off', { model: this.name, version: this.version, reason: `reloaded without it after a batch of at least ${HUGE_BATCH_INPUT_BYTES} input bytes, whose memory it would keep (cpuMemArena auto)` }),
      });
      this.loaded = loaded;
      this.provider = loaded.provider;
      if (loaded.fallbackReason) {
        logger.log('warn', 'execution_provider_fallback', { model: this.name, version: this.version, requested: 'cuda', provider: 'cpu', reason: loaded.fallbackReason });
      }
      this.signature = loaded.signature;
      const batchable = [...this.signature.inputs, ...this.signature.outputs].every((s) => s.shape.length > 0 && s.shape[0] === -1);
      const { batching } = config;
      this.batching = batching.enabled && batchable;
      const batchSize = metrics.batchSize.labels(this.name, this.version);
      this.scheduler = new BatchScheduler((inputs, outputs, batched) => this.execute(inputs, outputs, batched), {
        enabled: this.batching,
        maxBatchSize: batching.maxBatchSize,
        maxQueueDelayMs: batching.maxQueueDelayMs,
        refill: batching.refill,
        concurrency: this.workers,
        onBatch: (rows, seconds) => {
          batchSize.observe(rows);
          this.statistics.executed(rows, seconds);
        },
      });
      this.status = 'ready';
      metrics.modelReady.labels(this.name, this.version).set(1);
      metrics.executionProvider.labels(this.name, this.version, this.requestedProvider, this.provider).set(1);
      logger.log('info', 'model_loaded', {
        model: this.name,
        version: this.version,
        path: this.source.modelPath,
        provider: this.provider,
        batching: this.batching,
        max_batch_size: this.batching ? batching.maxBatchSize : 1,
        workers: this.workers,
        intra_op_threads: this.intraOpThreads,
        inline_compute_below_ms: this.inlineComputeBelowMs,
        inputs: this.signature.inputs.map((s) => `${s.name}:${s.datatype}[${s.shape.join(',')}]`),
        outputs: this.signature.outputs.map((s) => `${s.name}:${s.datatype}[${s.shape.join(',')}]`),
        load_ms: Math.round(performance.now() - started),
      });
    } catch (err) {
      this.status = 'failed';
      this.reason = (err as Error).message;
      this.provider = undefined;
      logger.log('error', 'model_load_failed', { model: this.name, version: this.version, path: this.source.modelPath, reason: this.reason });
    }
  }

  /** A session worker died (native crash, out of memory): the model stops being ready, with the reason. */
  private workerDied(reason: string): void {
    if (this.status !== 'ready') return;
    this.status = 'failed';
    this.reason = reason;
    this.deps.metrics.modelReady.labels(this.name, this.version).set(0);
    this.deps.logger.log('error', 'model_failed', { model: this.name, version: this.version, reason });
  }

  private execute(inputs: readonly Tensor[], outputNames: readonly string[], batched: boolean): Promise<Map<string, Tensor>> {
    const loaded = this.loaded;
    if (!loaded) return Promise.reject(new InferenceError(503, `model "${this.name}" is not loaded`));
    // A batch's concatenated tensors belong to nobody else; a lone request's tensors (or the body
    // they are views into) only when no observer reads them afterwards.
    const transfer = batched || !this.keepInputs
      ? buffersOf(inputs.map((t) => t.data).filter((d): d is NumericArray => !Array.isArray(d) && ownsBuffer(d)))
      : [];
    return loaded.run(inputs, outputNames, transfer);
  }

  infer(inputs: readonly Tensor[], outputNames: readonly string[]): Promise<BatchResult> {
    if (this.status !== 'ready' || !this.scheduler) return Promise.reject(new InferenceError(503, this.notReadyMessage()));
    return this.scheduler.submit(inputs, outputNames);
  }

  notReadyMessage(): string {
    switch (this.status) {
      case 'failed':
        return `model "${this.name}" version ${this.version} is not ready: failed to load: ${this.reason}`;
      case 'loading':
        return `model "${this.name}" version ${this.version} is not ready: still loading`;
      case 'unloaded':
        return `model "${this.name}" version ${this.version} is not loaded: load it with POST /v2/repository/models/${this.name}/load`;
      default:
        return `model "${this.name}" version ${this.version} is not ready: ${this.status}`;
    }
  }

  async unload(): Promise<void> {
    const loaded = this.loaded;
    this.loaded = undefined;
    this.scheduler = undefined;
    if (this.status === 'ready') this.status = 'unloaded';
    this.deps.metrics.modelReady.labels(this.name, this.version).set(0);
    await loaded?.release();
  }
}
