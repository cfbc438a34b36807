import * as ort from 'onnxruntime-node';
import { BatchScheduler, type BatchResult } from './batcher.js';
import { DATATYPE_INFO, datatypeOfOrtType } from './datatypes.js';
import { InferenceError } from './errors.js';
import type { Logger } from './logger.js';
import type { RuntimeMetrics } from './metrics.js';
import type { ExecutionProviderName } from './model-config.js';
import type { ModelSignature, Tensor, TensorSpec } from './protocol.js';
import type { ModelSource } from './repository.js';

export type ModelStatus = 'loading' | 'ready' | 'failed' | 'unloaded';

export interface ModelDependencies {
  logger: Logger;
  metrics: RuntimeMetrics;
  /** Provider for models whose config does not name one (SLIPWAY_EXECUTION_PROVIDER). */
  defaultProvider: ExecutionProviderName;
}

function toSpec(meta: ort.InferenceSession.ValueMetadata, kind: string): TensorSpec {
  if (!meta.isTensor) throw new Error(`${kind} "${meta.name}" is not a tensor; only tensor inputs and outputs are served`);
  const datatype = datatypeOfOrtType(meta.type);
  if (!datatype) throw new Error(`${kind} "${meta.name}" has element type ${meta.type}, which the protocol cannot carry`);
  return { name: meta.name, datatype, shape: meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
}

// onnxruntime's process-wide logger writes unstructured lines to stderr (e.g. a failed CUDA
// provider load before the fallback); the runtime reports those events itself as JSON.
ort.env.logLevel = 'fatal';

// onnxruntime reports bad-input problems with these phrases; anything else is the server's fault.
const CLIENT_ERROR = /invalid (dimension|input|argument|rank|shape)|out of (data )?bounds|mismatch|must be within/i;

/** One served model version: its onnxruntime session, signature, batching and load status. */
export class ServedModel {
  status: ModelStatus = 'loading';
  reason: string | undefined;
  signature: ModelSignature | undefined;
  provider: ExecutionProviderName | undefined;
  batching = false;
  private session: ort.InferenceSession | undefined;
  private scheduler: BatchScheduler | undefined;

  constructor(
    readonly source: ModelSource,
    private readonly deps: ModelDependencies,
  ) {
    deps.metrics.modelReady.labels(this.name, this.version).set(0);
  }

  get name(): string {
    return this.source.name;
  }

  get version(): string {
    return this.source.version;
  }

  get requestedProvider(): ExecutionProviderName {
    return this.source.config.executionProvider ?? this.deps.defaultProvider;
  }

  get pendingRequests(): number {
    return this.scheduler?.pending ?? 0;
  }

  private sessionOptions(provider: ExecutionProviderName): ort.InferenceSession.SessionOptions {
    const { config } = this.source;
    return {
      executionProviders: [provider === 'cuda' ? { name: 'cuda', deviceId: config.cudaDeviceId } : 'cpu'],
      graphOptimizationLevel: 'all',
      logId: `${this.name}@${this.version}`,
      // onnxruntime's own logger writes unstructured lines to stderr; the runtime reports what matters itself.
      logSeverityLevel: 4,
      // Spinning thread pools burn the cores that parse and answer HTTP between batches; with it
      // off, tabular throughput under load roughly doubled in bench/serve.ts on a 2-core machine.
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      ...(config.intraOpThreads ? { intraOpNumThreads: config.intraOpThreads } : {}),
      ...(config.interOpThreads ? { interOpNumThreads: config.interOpThreads, executionMode: 'parallel' as const } : {}),
    };
  }

  private async createSession(): Promise<ort.InferenceSession> {
    const requested = this.requestedProvider;
    if (requested === 'cuda') {
      try {
        const session = await ort.InferenceSession.create(this.source.modelPath, this.sessionOptions('cuda'));
        this.provider = 'cuda';
        return session;
      } catch (err) {
        // A model that cannot load at all fails on CPU too; the CPU attempt below reports that error.
        const session = await ort.InferenceSession.create(this.source.modelPath, this.sessionOptions('cpu'));
        this.provider = 'cpu';
        this.deps.logger.log('warn', 'execution_provider_fallback', {
          model: this.name,
          version: this.version,
          requested: 'cuda',
          provider: 'cpu',
          reason: `CUDA execution provider unavailable, running on CPU: ${(err as Error).message.split('\n')[0]}`,
        });
        return session;
      }
    }
    this.provider = 'cpu';
    return ort.InferenceSession.create(this.source.modelPath, this.sessionOptions('cpu'));
  }

  /** Loads the session; never throws: a failure marks this model failed and is logged with its reason. */
  async load(): Promise<void> {
    const started = performance.now();
    const { logger, metrics } = this.deps;
    try {
      if (this.source.problem) throw new Error(this.source.problem);
      this.session = await this.createSession();
      this.signature = {
        inputs: this.session.inputMetadata.map((m) => toSpec(m, 'input')),
        outputs: this.session.outputMetadata.map((m) => toSpec(m, 'output')),
      };
      const batchable = [...this.signature.inputs, ...this.signature.outputs].every((s) => s.shape.length > 0 && s.shape[0] === -1);
      const { batching } = this.source.config;
      this.batching = batching.enabled && batchable;
      const batchSize = metrics.forModel(this.name, this.version).batchSize;
      this.scheduler = new BatchScheduler((inputs, outputs) => this.execute(inputs, outputs), {
        enabled: this.batching,
        maxBatchSize: batching.maxBatchSize,
        maxQueueDelayMs: batching.maxQueueDelayMs,
        onBatch: (rows) => batchSize.observe(rows),
      });
      this.status = 'ready';
      metrics.modelReady.labels(this.name, this.version).set(1);
      metrics.executionProvider.labels(this.name, this.version, this.requestedProvider, this.provider!).set(1);
      logger.log('info', 'model_loaded', {
        model: this.name,
        version: this.version,
        path: this.source.modelPath,
        provider: this.provider,
        batching: this.batching,
        max_batch_size: this.batching ? batching.maxBatchSize : 1,
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

  private async execute(inputs: readonly Tensor[], outputNames: readonly string[]): Promise<Map<string, Tensor>> {
    const session = this.session;
    if (!session) throw new InferenceError(503, `model "${this.name}" is not loaded`);
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of inputs) {
      feeds[input.name] = new ort.Tensor(DATATYPE_INFO[input.datatype].ortType, input.data, input.shape);
    }
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await session.run(feeds, outputNames);
    } catch (err) {
      const message = (err as Error).message;
      throw new InferenceError(CLIENT_ERROR.test(message) ? 400 : 500, `model "${this.name}" failed to run: ${message}`);
    }
    const outputs = new Map<string, Tensor>();
    for (const name of outputNames) {
      const value = results[name]!;
      outputs.set(name, {
        name,
        datatype: datatypeOfOrtType(value.type)!,
        shape: value.dims,
        data: value.data as Tensor['data'],
      });
    }
    return outputs;
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
      default:
        return `model "${this.name}" version ${this.version} is not ready: ${this.status}`;
    }
  }

  async unload(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (this.status === 'ready') this.status = 'unloaded';
    this.deps.metrics.modelReady.labels(this.name, this.version).set(0);
    await session?.release();
  }
}
