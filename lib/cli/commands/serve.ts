import { Command, Option } from 'commander';
import { driftObserverFactory } from '../../drift/observer.js';
import { SlipwayError } from '../../errors.js';
import { checkServingPeers } from '../serving-peers.js';
import { DEFAULT_GRPC_PORT, DEFAULT_MAX_BODY_BYTES } from '../../runtime/app.js';
import { DEFAULT_GRPC_CONNECTION_IDLE_MS, DEFAULT_GRPC_MAX_CONCURRENT_STREAMS } from '../../runtime/grpc-transport.js';
import { parseExpectedSha256 } from '../../runtime/integrity.js';
import { EXPECTED_SHA256_ENV } from '../../vocabulary/integrity.js';
import { TRUSTED_KEYS_ENV } from '../../vocabulary/supply-chain.js';
import { parseTrustedKeys } from '../../supply-chain/keys.js';
import { HTTP_PORT } from '../../vocabulary/ports.js';
import { quantityBytes, quantityProblem } from '../../vocabulary/quantities.js';
import type { CpuMemArena } from '../../runtime/model-config.js';
import { MODEL_CONTROL_MODES, type ModelControlMode } from '../../runtime/model-repository.js';
import { isLogLevel, jsonLogger } from '../../runtime/logger.js';
import type { ObserverFactory } from '../../runtime/observer.js';
import { mirroringFactory } from '../../runtime/mirror.js';
import { serve, shutdownOnSignals } from '../../runtime/serve.js';

function integer(flag: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^[0-9]+$/.test(value.trim()) || n < min || n > max) {
      throw new SlipwayError('CLI_INVALID_FLAG', `${flag}: expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`, 2);
    }
    return n;
  };
}

function milliseconds(flag: string, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !(n >= 0 && n <= max)) {
      throw new SlipwayError('CLI_INVALID_FLAG', `${flag}: expected milliseconds from 0 to ${max}, got ${JSON.stringify(value)}`, 2);
    }
    return n;
  };
}

function rate(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !(n > 0 && n <= 1)) {
      throw new SlipwayError('CLI_INVALID_FLAG', `${flag}: expected a share in (0, 1], got ${JSON.stringify(value)}`, 2);
    }
    return n;
  };
}

function bytes(flag: string) {
  return (value: string): number => {
    const n = quantityBytes(value);
    if (n === undefined || n < 1) throw new SlipwayError('CLI_INVALID_FLAG', `${flag}: ${quantityProblem(value) ?? `expected at least 1 byte, got ${JSON.stringify(value)}`}`, 2);
    return n;
  };
}

function onOffAuto(flag: string) {
  return (value: string): CpuMemArena => {
    if (value === 'on' || value === 'true') return true;
    if (value === 'off' || value === 'false') return false;
    if (value === 'auto') return 'auto';
    throw new SlipwayError('CLI_INVALID_FLAG', `${flag}: expected on, off or auto, got ${JSON.stringify(value)}`, 2);
  };
}

/**
 * `npx slipway serve` runs the bin through `sh -c`, and that shell dies on SIGTERM without passing
 * it on, which would leave the server running with no parent. Under npm, a parent that went away
 * counts as SIGTERM. (`npm run serve` execs node, so npm signals the server directly.)
 */
function shutdownWhenOrphaned(parent: number): void {
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }, 250);
  timer.unref();
}

interface ServeFlags {
  modelRepository?: string;
  model: string[];
  mirrorUrl?: string;
  host: string;
  port: number;
  metricsPort?: number;
  grpcPort?: number;
  grpcMaxConcurrentStreams: number;
  grpcConnectionIdleMs: number;
  maxBodyBytes: number;
  gracePeriodMs: number;
  executionProvider: 'cpu' | 'cuda';
  workersPerModel?: number;
  intraOpThreads?: number;
  inlineComputeBelowMs?: number;
  sessionThreads?: number;
  modelControlMode: ModelControlMode;
  loadModel: string[];
  modelMemoryBudget?: number;
  cpuMemArena?: CpuMemArena;
  logLevel: string;
  driftWebhookUrl?: string;
  driftSampleRate: number;
  driftWindowRows: number;
  driftWindowSeconds: number;
  driftIntervalSeconds: number;
  driftSustainSeconds: number;
  driftCooldownSeconds: number;
  expectedSha256?: string;
  trustedKeys?: string;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('Serve ONNX models over the Open Inference Protocol (KServe v2 / Triton REST) with batching and Prometheus metrics.')
    .addOption(new Option('--model-repository <dir>', 'model repository: DIR/<name>/<version>/model.onnx or DIR/<name>/model.onnx').env('SLIPWAY_MODEL_REPOSITORY'))
    .option('--model <name=path>', 'serve one ONNX file as NAME (repeatable)', (value: string, all: string[]) => [...all, value], [] as string[])
    .addOption(new Option('--host <host>', 'address to listen on').env('SLIPWAY_HOST').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'HTTP port (0 picks a free one)').env('SLIPWAY_PORT').default(HTTP_PORT).argParser(integer('--port', 0, 65535)))
    .addOption(
      new Option('--grpc-port <port>', 'gRPC port (inference.GRPCInferenceService); default 8081, or a free one when --port is 0')
        .env('SLIPWAY_GRPC_PORT')
        .argParser(integer('--grpc-port', 0, 65535)),
    )
    .addOption(
      new Option('--grpc-max-concurrent-streams <n>', 'gRPC calls one connection may have open at once (HTTP/2 SETTINGS); clients queue the rest')
        .env('SLIPWAY_GRPC_MAX_CONCURRENT_STREAMS')
        .default(DEFAULT_GRPC_MAX_CONCURRENT_STREAMS)
        .argParser(integer('--grpc-max-concurrent-streams', 1, 2 ** 31 - 1)),
    )
    .addOption(
      new Option('--grpc-connection-idle-ms <ms>', 'close a gRPC connection that carries no frames for this long (GOAWAY: its open calls finish); 0 never')
        .env('SLIPWAY_GRPC_CONNECTION_IDLE_MS')
        .default(DEFAULT_GRPC_CONNECTION_IDLE_MS)
        .argParser(integer('--grpc-connection-idle-ms', 0, 2 ** 31 - 1)),
    )
    .addOption(new Option('--metrics-port <port>', 'also serve /metrics on this port').env('SLIPWAY_METRICS_PORT').argParser(integer('--metrics-port', 0, 65535)))
    .addOption(
      new Option('--max-body-bytes <bytes>', 'largest accepted request body; larger get 413')
        .env('SLIPWAY_MAX_BODY_BYTES')
        .default(DEFAULT_MAX_BODY_BYTES)
        .argParser(integer('--max-body-bytes', 1, 2 ** 31)),
    )
    .addOption(
      new Option('--grace-period-ms <ms>', 'on SIGTERM, how long in-flight requests may take to finish')
        .env('SLIPWAY_GRACE_PERIOD_MS')
        .default(25_000)
        .argParser(integer('--grace-period-ms', 0, 3_600_000)),
    )
    .addOption(
      new Option('--execution-provider <provider>', 'default execution provider for models whose config.json names none')
        .env('SLIPWAY_EXECUTION_PROVIDER')
        .choices(['cpu', 'cuda'])
        .default('cpu'),
    )
    .addOption(
      new Option('--workers-per-model <n>', 'onnxruntime sessions per model, each on its own worker thread (config.json "workers" wins)')
        .env('SLIPWAY_WORKERS_PER_MODEL')
        .argParser(integer('--workers-per-model', 1, 64)),
    )
    .addOption(
      new Option('--intra-op-threads <n>', 'onnxruntime threads per session (config.json "intraOpThreads" wins); default from the CPU limit')
        .env('SLIPWAY_INTRA_OP_THREADS')
        .argParser(integer('--intra-op-threads', 1, 1024)),
    )
    .addOption(
      new Option('--inline-compute-below-ms <ms>', 'answer runs measured to compute in less than this on the event loop, without the worker hop; 0 never (config.json "inlineComputeBelowMs" wins); default 1')
        .env('SLIPWAY_INLINE_COMPUTE_BELOW_MS')
        .argParser(milliseconds('--inline-compute-below-ms', 50)),
    )
    .addOption(
      new Option('--session-threads <n>', 'worker threads shared by every model\'s onnxruntime sessions; default from the CPU limit (2 to 8)')
        .env('SLIPWAY_SESSION_THREADS')
        .argParser(integer('--session-threads', 1, 256)),
    )
    .addOption(
      new Option('--model-control-mode <mode>', 'none: load every model at startup; explicit: load only --load-model ones, the rest through POST /v2/repository/models/<name>/load')
        .env('SLIPWAY_MODEL_CONTROL_MODE')
        .choices([...MODEL_CONTROL_MODES])
        .default('none'),
    )
    .option('--load-model <name>', 'with --model-control-mode explicit: load this model at startup (repeatable)', (value: string, all: string[]) => [...all, value], [] as string[])
    .addOption(
      new Option('--model-memory-budget <bytes>', 'most model bytes kept loaded (a quantity: 512Mi, 4Gi); past it the least recently used idle models unload and load again on their next request')
        .env('SLIPWAY_MODEL_MEMORY_BUDGET')
        .argParser(bytes('--model-memory-budget')),
    )
    .addOption(
      new Option('--cpu-mem-arena <on|off|auto>', 'onnxruntime\'s CPU memory arena (config.json "cpuMemArena" wins): on keeps a run\'s memory for the next, off returns it after every run, auto turns it off for a model after its first huge batch (16 MiB of inputs); default auto')
        .env('SLIPWAY_CPU_MEM_ARENA')
        .argParser(onOffAuto('--cpu-mem-arena')),
    )
    // Live drift, for models served with a baseline.json (defaults match the DriftMonitor construct).
    .addOption(new Option('--drift-webhook-url <url>', 'POST an Alertmanager-format alert here when drift is sustained (the retraining EventListener)').env('SLIPWAY_DRIFT_WEBHOOK_URL'))
    .addOption(new Option('--drift-sample-rate <share>', 'share of input rows recorded for drift').env('SLIPWAY_DRIFT_SAMPLE_RATE').default(0.2).argParser(rate('--drift-sample-rate')))
    .addOption(new Option('--drift-window-rows <n>', 'most rows in the drift window').env('SLIPWAY_DRIFT_WINDOW_ROWS').default(5000).argParser(integer('--drift-window-rows', 10, 1_000_000)))
    .addOption(new Option('--drift-window-seconds <s>', 'oldest row kept in the drift window').env('SLIPWAY_DRIFT_WINDOW_SECONDS').default(3600).argParser(integer('--drift-window-seconds', 1, 30 * 86_400)))
    .addOption(new Option('--drift-interval-seconds <s>', 'seconds between drift evaluations, off the request path').env('SLIPWAY_DRIFT_INTERVAL_SECONDS').default(30).argParser(integer('--drift-interval-seconds', 1, 86_400)))
    .addOption(new Option('--drift-sustain-seconds <s>', 'how long drift must last before the webhook fires').env('SLIPWAY_DRIFT_SUSTAIN_SECONDS').default(900).argParser(integer('--drift-sustain-seconds', 0, 30 * 86_400)))
    .addOption(new Option('--drift-cooldown-seconds <s>', 'least time between two webhooks for one model').env('SLIPWAY_DRIFT_COOLDOWN_SECONDS').default(21_600).argParser(integer('--drift-cooldown-seconds', 0, 30 * 86_400)))
    .addOption(new Option('--mirror-url <url>', "champion/challenger: mirror every inference and its feedback to the challenger's runtime at this base URL, discarding its answers").env('SLIPWAY_MIRROR_URL'))
    .addOption(
      new Option('--expected-sha256 <json>', 'sha256 the files must have, {"<model>":{"model.onnx":"<hex>","baseline.json":"<hex>"}}; a mismatch keeps the model unready')
        .env(EXPECTED_SHA256_ENV),
    )
    // Verify each model's model.sig with these keys before serving it.
    .addOption(new Option('--trusted-keys <pem>', 'PEM public key(s) every model signature (model.sig) must verify with; a model without a valid one stays unready').env(TRUSTED_KEYS_ENV))
    .addOption(new Option('--log-level <level>', 'least severe log level written').env('SLIPWAY_LOG_LEVEL').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .action(async (flags: ServeFlags) => {
      checkServingPeers('serve');
      // The parent as it was at start: it may go away while the port opens.
      const parent = process.ppid;
      if (!isLogLevel(flags.logLevel)) throw new SlipwayError('CLI_INVALID_FLAG', `--log-level: unknown level ${flags.logLevel}`, 2);
      const logger = jsonLogger(process.stdout, flags.logLevel);
      const expectedSha256 = flags.expectedSha256 ? parseExpectedSha256(flags.expectedSha256, `--expected-sha256 (${EXPECTED_SHA256_ENV})`) : undefined;
      const trustedKeys = flags.trustedKeys ? parseTrustedKeys(flags.trustedKeys, `--trusted-keys (${TRUSTED_KEYS_ENV})`) : undefined;
      // Models with a baseline.json get live drift (GET …/drift, gauges on /metrics) and take
      // ground truth (POST …/feedback → slipway_model_accuracy).
      const webhookUrl = flags.driftWebhookUrl || undefined;
      const driftObservers: ObserverFactory = (model) =>
        driftObserverFactory({
          registry: model.registry,
          feedback: {},
          sampleRate: flags.driftSampleRate,
          windowRows: flags.driftWindowRows,
          windowSeconds: flags.driftWindowSeconds,
          intervalSeconds: flags.driftIntervalSeconds,
          alert: { sustainSeconds: flags.driftSustainSeconds, cooldownSeconds: flags.driftCooldownSeconds },
          ...(webhookUrl ? { webhookUrl } : {}),
          onError: (err) => logger.log('error', 'drift_failed', { model: model.name, reason: err.message }),
        })(model);
      const mirrorUrl = flags.mirrorUrl || undefined;
      const observers: ObserverFactory = mirrorUrl
        ? mirroringFactory(driftObservers, { url: mirrorUrl, onError: (err) => logger.log('error', 'mirror_failed', { reason: err.message }) })
        : driftObservers;
      const { server, loaded } = await serve({
        ...(trustedKeys ? { trustedKeys } : {}),
        // An empty SLIPWAY_MODEL_REPOSITORY means unset, not the current directory.
        ...(flags.modelRepository ? { modelRepository: flags.modelRepository } : {}),
        models: flags.model,
        host: flags.host,
        port: flags.port,
        ...(flags.metricsPort !== undefined ? { metricsPort: flags.metricsPort } : {}),
        // --port 0 (tests, benchmarks) must not collide on a fixed gRPC port.
        grpcPort: flags.grpcPort ?? (flags.port === 0 ? 0 : DEFAULT_GRPC_PORT),
        grpcConnections: { maxConcurrentStreams: flags.grpcMaxConcurrentStreams, connectionIdleMs: flags.grpcConnectionIdleMs },
        maxBodyBytes: flags.maxBodyBytes,
        gracePeriodMs: flags.gracePeriodMs,
        executionProvider: flags.executionProvider,
        threads: {
          ...(flags.workersPerModel !== undefined ? { workersPerModel: flags.workersPerModel } : {}),
          ...(flags.intraOpThreads !== undefined ? { intraOpThreads: flags.intraOpThreads } : {}),
          ...(flags.inlineComputeBelowMs !== undefined ? { inlineComputeBelowMs: flags.inlineComputeBelowMs } : {}),
          ...(flags.sessionThreads !== undefined ? { sessionThreads: flags.sessionThreads } : {}),
        },
        modelControlMode: flags.modelControlMode,
        loadModels: flags.loadModel,
        ...(flags.modelMemoryBudget !== undefined ? { modelMemoryBudgetBytes: flags.modelMemoryBudget } : {}),
        ...(flags.cpuMemArena !== undefined ? { cpuMemArena: flags.cpuMemArena } : {}),
        logLevel: flags.logLevel,
        logger,
        observers,
        ...(expectedSha256 ? { expectedSha256 } : {}),
        ...(process.env.npm_package_version ? { serverVersion: process.env.npm_package_version } : {}),
      });
      // Signals are handled from the moment the port is open, model loading included.
      const stopped = shutdownOnSignals(server, logger);
      if (process.env.npm_command !== undefined) shutdownWhenOrphaned(parent);
      await loaded;
      await stopped;
      // Native thread pools or a stray handle must not hold the process past its grace period.
      setTimeout(() => process.exit(0), 1_000).unref();
    });
}
