/**
 * The runtime, built apart from any listening socket: the data plane both transports share
 * (data-plane.ts), the model repository that decides what is loaded (model-repository.ts), the
 * backend that runs models (onnx-backend.ts) and the REST transport (rest/). Tests and the server
 * both drive `handle(req, res)`; gRPC (grpc.ts) sits on `plane` and `repository`.
 */
import { CodecPool } from './codec-pool.js';
import { cpuBudget, defaultThreadPlan, type ThreadPlan } from './cpu.js';
import { DataPlane, type ModelEntry } from './data-plane.js';
import { jsonLogger, type Logger } from './logger.js';
import { RuntimeMetrics } from './metrics.js';
import type { ServedModel } from './model.js';
import type { CpuMemArena, ExecutionProviderName } from './model-config.js';
import { ModelRepository, type ModelControlMode } from './model-repository.js';
import type { ObserverFactory } from './observer.js';
import { OnnxRuntimeBackend } from './onnx-backend.js';
import type { ModelSource } from './repository.js';
import { RestHandler } from './rest/handler.js';
import { GRPC_PORT } from '../vocabulary/ports.js';

export { EXTENSIONS, MAX_FEEDBACK_ID_BYTES, type ModelEntry } from './data-plane.js';

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

/** KServe's gRPC port; ModelServing renders it on the Service as `grpc`. */
export const DEFAULT_GRPC_PORT = GRPC_PORT;

export interface RuntimeOptions {
  sources: readonly ModelSource[];
  logger?: Logger;
  /** Larger bodies get 413 before they are read. */
  maxBodyBytes?: number;
  defaultProvider?: ExecutionProviderName;
  observers?: ObserverFactory;
  serverVersion?: string;
  /** Sessions per model, session threads and intra-op threads; default from the CPU limit (defaultThreadPlan). */
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
  /** Triton's --model-control-mode (default none: everything loads at startup). */
  modelControlMode?: ModelControlMode;
  /** Under explicit model control: the models loaded at startup. */
  loadModels?: readonly string[];
  /** Most bytes of model kept loaded; least recently used idle models are unloaded past it. */
  modelMemoryBudgetBytes?: number;
  /** onnxruntime's CPU memory arena for models whose config.json does not set it (default auto). */
  cpuMemArena?: CpuMemArena;
  /** Models loading at once at startup; default four per session thread. */
  loadConcurrency?: number;
  /** The onnxruntime backend, when its session threads were started before the sources were read; the app closes it. */
  backend?: OnnxRuntimeBackend;
}

export class RuntimeApp {
  readonly metrics = new RuntimeMetrics();
  readonly logger: Logger;
  readonly threads: ThreadPlan;
  readonly plane: DataPlane;
  readonly repository: ModelRepository;
  readonly backend: OnnxRuntimeBackend;
  private readonly rest: RestHandler;
  private readonly codecs: CodecPool;

  constructor(options: RuntimeOptions) {
    this.threads = { ...defaultThreadPlan(), ...options.threads };
    this.logger = options.logger ?? jsonLogger();
    this.codecs = new CodecPool(options.codecWorkers ?? Math.max(1, Math.min(2, cpuBudget() - 1)));
    this.backend = options.backend ?? new OnnxRuntimeBackend(this.threads.sessionThreads);
    // Session threads start first, while the ports open and a thousand entries are built, not when
    // the first model loads: each boots Node and onnxruntime.
    const startupLoads = options.modelControlMode === 'explicit' ? (options.loadModels ?? []).length : options.sources.length;
    this.backend.threads.prestart(startupLoads);
    this.plane = new DataPlane({ logger: this.logger, metrics: this.metrics, serverVersion: options.serverVersion ?? '0.1.0' });
    this.repository = new ModelRepository(this.plane, {
      sources: options.sources,
      logger: this.logger,
      metrics: this.metrics,
      backend: this.backend,
      defaultProvider: options.defaultProvider ?? 'cpu',
      threads: this.threads,
      ...(options.repository !== undefined ? { repository: options.repository } : {}),
      ...(options.observers ? { observers: options.observers } : {}),
      ...(options.verify ? { verify: options.verify } : {}),
      ...(options.modelControlMode ? { controlMode: options.modelControlMode } : {}),
      ...(options.loadModels ? { startupModels: options.loadModels } : {}),
      ...(options.modelMemoryBudgetBytes !== undefined ? { memoryBudgetBytes: options.modelMemoryBudgetBytes } : {}),
      ...(options.cpuMemArena !== undefined ? { cpuMemArena: options.cpuMemArena } : {}),
      ...(options.loadConcurrency !== undefined ? { loadConcurrency: options.loadConcurrency } : {}),
    });
    this.rest = new RestHandler(this.plane, this.repository, this.codecs, options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
  }

  /** Main-port handler: the whole protocol plus /metrics. */
  get handle(): RestHandler['handle'] {
    return this.rest.handle;
  }

  /** Metrics-port handler: /metrics only. */
  get handleMetrics(): RestHandler['handleMetrics'] {
    return this.rest.handleMetrics;
  }

  get models(): ServedModel[] {
    return this.plane.models;
  }

  model(name: string): ServedModel | undefined {
    return this.plane.entry(name)?.model;
  }

  lookup(name: string, version: string | undefined): ModelEntry {
    return this.plane.lookup(name, version);
  }

  get ready(): boolean {
    return this.plane.ready;
  }

  notReadyReason(): string | undefined {
    return this.plane.notReadyReason();
  }

  get inFlightRequests(): number {
    return this.plane.inFlightRequests;
  }

  /** The startup load (every model, or under explicit control the startup models); its end waits for `announce`. */
  loadModels(announce?: Promise<void>): Promise<void> {
    return this.repository.loadAll(announce);
  }

  loadModel(name: string): Promise<void> {
    return this.repository.load(name);
  }

  unloadModel(name: string): Promise<void> {
    return this.repository.unload(name);
  }

  startDraining(): void {
    this.plane.startDraining();
  }

  whenIdle(): Promise<void> {
    return this.plane.whenIdle();
  }

  async close(): Promise<void> {
    await this.repository.close();
    await this.backend.close();
    await this.codecs.close();
  }
}
