/** `slipway serve` end to end: read the repository, listen, load models, stop on a signal. */
import { SlipwayError } from '../errors.js';
import { RuntimeApp } from './app.js';
import { defaultThreadPlan, type ThreadPlan } from './cpu.js';
import { OnnxRuntimeBackend } from './onnx-backend.js';
import { jsonLogger, type Logger, type LogLevel } from './logger.js';
import { checkExpectedModels, verifySources } from './integrity.js';
import type { CpuMemArena, ExecutionProviderName } from './model-config.js';
import type { ModelControlMode } from './model-repository.js';
import type { ObserverFactory } from './observer.js';
import { parseModelFlag, scanRepository, type ModelSource } from './repository.js';
import { startServer, type ListenOptions, type RunningServer } from './server.js';
import { withSignatureCheck } from './signature.js';
import type { KeyObject } from 'node:crypto';
import type { ExpectedSha256 } from '../vocabulary/integrity.js';

export interface ServeOptions {
  modelRepository?: string;
  models: readonly string[];
  host: string;
  port: number;
  metricsPort?: number;
  /** gRPC port; absent: no gRPC. */
  grpcPort?: number;
  grpcConnections?: ListenOptions['grpcConnections'];
  maxBodyBytes: number;
  gracePeriodMs: number;
  executionProvider: ExecutionProviderName;
  logLevel: LogLevel;
  logger?: Logger;
  observers?: ObserverFactory;
  serverVersion?: string;
  /** sha256 each model's files must have (SLIPWAY_EXPECTED_SHA256); a mismatch keeps the model unready. */
  expectedSha256?: ExpectedSha256;
  /** Keys a model's model.sig must verify with (SLIPWAY_TRUSTED_KEYS); absent: no signature check. */
  trustedKeys?: ReadonlyMap<string, KeyObject>;
  /** Sessions per model, session threads and intra-op threads; absent ones come from the CPU limit. */
  threads?: Partial<ThreadPlan>;
  /** Triton's --model-control-mode; default none. */
  modelControlMode?: ModelControlMode;
  /** Under explicit control, the models loaded at startup. */
  loadModels?: readonly string[];
  modelMemoryBudgetBytes?: number;
  cpuMemArena?: CpuMemArena;
}

export async function collectSources(repository: string | undefined, modelFlags: readonly string[]): Promise<ModelSource[]> {
  if (repository === undefined && modelFlags.length === 0) {
    throw new SlipwayError('RUNTIME_NO_MODELS', 'nothing to serve: pass --model-repository DIR (or SLIPWAY_MODEL_REPOSITORY) or --model NAME=PATH.onnx', 2);
  }
  const sources = repository === undefined ? [] : await scanRepository(repository);
  for (const flag of modelFlags) {
    const source = parseModelFlag(flag);
    if (sources.some((s) => s.name === source.name)) {
      throw new SlipwayError('RUNTIME_MODEL_DUPLICATE', `--model ${flag}: a model named "${source.name}" is already in the repository`, 2);
    }
    sources.push(source);
  }
  return sources;
}

/** --load-model names served models, and only under explicit model control; all problems at once. */
export function checkStartupModels(sources: readonly ModelSource[], mode: ModelControlMode, names: readonly string[]): void {
  if (names.length === 0) return;
  if (mode !== 'explicit') {
    throw new SlipwayError('RUNTIME_LOAD_MODEL_WITHOUT_EXPLICIT', `--load-model ${names.join(', ')}: only used with --model-control-mode explicit (mode ${mode} loads every model); add --model-control-mode explicit or drop --load-model`, 2);
  }
  const unknown = names.filter((name) => !sources.some((s) => s.name === name));
  if (unknown.length > 0) {
    const served = sources.map((s) => s.name);
    throw new SlipwayError(
      'RUNTIME_LOAD_MODEL_UNKNOWN',
      `--load-model ${unknown.map((n) => JSON.stringify(n)).join(', ')}: not in the model repository; it has ${served.length > 10 ? `${served.slice(0, 10).join(', ')} and ${served.length - 10} more` : served.join(', ') || 'no models'}`,
      2,
    );
  }
}

/**
 * Starts serving and resolves once the ports are open; models go on loading after that
 * (`loaded`), so liveness answers and signals are handled while they load.
 */
export async function serve(options: ServeOptions): Promise<{ server: RunningServer; app: RuntimeApp; loaded: Promise<void> }> {
  const logger = options.logger ?? jsonLogger(process.stdout, options.logLevel);
  const backend = new OnnxRuntimeBackend({ ...defaultThreadPlan(), ...options.threads }.sessionThreads);
  // A server that loads models at startup needs a session thread: it boots Node and onnxruntime
  // while the repository is read.
  if (options.modelControlMode !== 'explicit' || (options.loadModels ?? []).length > 0) backend.threads.prestart(1);
  let sources: ModelSource[];
  try {
    sources = await collectSources(options.modelRepository, options.models);
    checkStartupModels(sources, options.modelControlMode ?? 'none', options.loadModels ?? []);
    if (options.expectedSha256) checkExpectedModels(sources, options.expectedSha256);
  } catch (err) {
    await backend.close();
    throw err;
  }
  const expected = options.expectedSha256;
  // The model signature check runs after the sha256 check.
  const verify = withSignatureCheck(expected ? (checked, hashes) => verifySources(checked, expected, logger, hashes) : undefined, options.trustedKeys, logger);
  const app = new RuntimeApp({
    sources,
    logger,
    maxBodyBytes: options.maxBodyBytes,
    defaultProvider: options.executionProvider,
    ...(options.observers ? { observers: options.observers } : {}),
    ...(options.serverVersion ? { serverVersion: options.serverVersion } : {}),
    ...(options.modelRepository !== undefined ? { repository: options.modelRepository } : {}),
    ...(options.threads ? { threads: options.threads } : {}),
    ...(verify ? { verify } : {}),
    ...(options.modelControlMode ? { modelControlMode: options.modelControlMode } : {}),
    ...(options.loadModels ? { loadModels: options.loadModels } : {}),
    ...(options.modelMemoryBudgetBytes !== undefined ? { modelMemoryBudgetBytes: options.modelMemoryBudgetBytes } : {}),
    ...(options.cpuMemArena !== undefined ? { cpuMemArena: options.cpuMemArena } : {}),
    backend,
  });
  // Hashing and loading start beside opening the ports, not after them: liveness answers as soon
  // as the port is open either way, and a thousand models need not wait for gRPC to be set up.
  // The load's end (readiness, models_loaded) still comes after server_listening.
  let portsOpened!: (open: boolean) => void;
  const announce = new Promise<void>((resolve, reject) => {
    portsOpened = (open) => (open ? resolve() : reject(new Error('the server could not listen')));
  });
  const loaded = (verify ? verify(sources) : Promise.resolve()).then(() => app.loadModels(announce));
  // Handled here too: both may settle before anything awaits them (the caller gets `loaded` once the ports are open).
  announce.catch(() => undefined);
  loaded.catch(() => undefined);
  let server: RunningServer;
  try {
    server = await startServer(app, {
      host: options.host,
      port: options.port,
      gracePeriodMs: options.gracePeriodMs,
      ...(options.metricsPort !== undefined ? { metricsPort: options.metricsPort } : {}),
      ...(options.grpcPort !== undefined ? { grpcPort: options.grpcPort, maxMessageBytes: options.maxBodyBytes } : {}),
      ...(options.grpcConnections ? { grpcConnections: options.grpcConnections } : {}),
    });
  } catch (err) {
    portsOpened(false);
    // The session threads already started must not keep a server that could not listen alive.
    await app.close();
    throw err;
  }
  portsOpened(true);
  return { server, app, loaded };
}

/** Resolves once SIGTERM or SIGINT has shut the server down; a second signal exits at once. */
export function shutdownOnSignals(server: RunningServer, logger: Logger): Promise<{ drained: boolean }> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.once(signal, () => {
        logger.log('warn', 'shutdown_forced', { signal });
        process.exit(1);
      });
      void server.shutdown(signal).then(resolve);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}
