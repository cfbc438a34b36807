import { readFile } from 'node:fs/promises';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import schema from '../../schemas/model-config.schema.json' with { type: 'json' };
import { SlipwayError } from '../errors.js';
import { JsonSyntaxError, parseJsonExact } from './json.js';

export type ExecutionProviderName = 'cpu' | 'cuda';

/**
 * onnxruntime's CPU memory arena: on keeps a run's memory for the next run; off returns it after
 * every run; auto keeps it on until a huge batch, then turns it off for that model (the arena would
 * otherwise hold the batch's peak for good).
 */
export type CpuMemArena = boolean | 'auto';

/**
 * Inputs of at least this many bytes make a huge batch: under cpuMemArena auto, the arena would
 * keep the memory of its intermediate tensors (hundreds of MiB for a wide MLP) for good.
 */
export const HUGE_BATCH_INPUT_BYTES = 16 * 1024 * 1024;

export interface BatchingConfig {
  enabled: boolean;
  maxBatchSize: number;
  maxQueueDelayMs: number;
  /** With maxQueueDelayMs 0: after a batch, wait a moment for its clients to come back (BatchScheduler). */
  refill: boolean;
}

export interface ModelConfig {
  batching: BatchingConfig;
  /** Sessions (worker threads) for this model; absent: the server's --workers-per-model. */
  workers?: number;
  /** 0 or absent: the server's --intra-op-threads. */
  intraOpThreads?: number;
  interOpThreads?: number;
  /** Runs estimated below this many ms of compute answer inline on the event loop; 0 never; absent: the server's --inline-compute-below-ms. */
  inlineComputeBelowMs?: number;
  /** onnxruntime's CPU memory arena; absent: the server's --cpu-mem-arena (auto). */
  cpuMemArena?: CpuMemArena;
  /** Absent: the server-wide default (SLIPWAY_EXECUTION_PROVIDER, else cpu). */
  executionProvider?: ExecutionProviderName;
  cudaDeviceId: number;
}

export const DEFAULT_BATCHING: Readonly<BatchingConfig> = { enabled: true, maxBatchSize: 32, maxQueueDelayMs: 0, refill: true };

export function defaultModelConfig(): ModelConfig {
  return { batching: { ...DEFAULT_BATCHING }, cudaDeviceId: 0 };
}

type RawConfig = Partial<Omit<ModelConfig, 'batching'>> & { batching?: Partial<BatchingConfig> };

// Imported and compiled on first use: most repositories (the thousand-model ones above all) have
// no config.json, and loading Ajv and compiling cost server start-up tens of milliseconds.
let compiled: Promise<ValidateFunction<RawConfig>> | undefined;
const validator = (): Promise<ValidateFunction<RawConfig>> =>
  (compiled ??= import('ajv/dist/2020.js').then(({ Ajv2020 }) => new Ajv2020({ allErrors: true, strict: true }).compile<RawConfig>(schema)));

function describeError(error: ErrorObject): string {
  const at = error.instancePath === '' ? '(top level)' : error.instancePath.slice(1).replaceAll('/', '.');
  switch (error.keyword) {
    case 'additionalProperties':
      return `${at}: unknown field "${String(error.params.additionalProperty)}"`;
    case 'enum':
      return `${at}: expected one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${at}: ${error.message ?? 'is invalid'}`;
  }
}

function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return `line ${line}, column ${position - before.lastIndexOf('\n')}`;
}

/** Parses and validates a model config; errors name the file, the position or field, and what was expected. */
export async function parseModelConfig(text: string, file: string): Promise<ModelConfig> {
  let raw: unknown;
  try {
    raw = parseJsonExact(text);
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    const where = err.position === undefined ? '' : ` at ${lineAndColumn(text, err.position)}`;
    throw new SlipwayError('RUNTIME_MODEL_CONFIG_INVALID', `${file}${where}: invalid JSON: ${err.reason}`);
  }
  const check = await validator();
  if (!check(raw)) {
    const got = (path: string) => {
      let value: unknown = raw;
      for (const key of path.split('/').slice(1)) value = (value as Record<string, unknown> | undefined)?.[key];
      return JSON.stringify(value);
    };
    const problems = (check.errors ?? []).map((e) => `${describeError(e)}, got ${got(e.instancePath)}`);
    throw new SlipwayError('RUNTIME_MODEL_CONFIG_INVALID', `${file}: ${problems.join('; ')}`);
  }
  const defaults = defaultModelConfig();
  return { ...defaults, ...raw, batching: { ...defaults.batching, ...raw.batching } };
}

export async function readModelConfig(file: string): Promise<ModelConfig> {
  return parseModelConfig(await readFile(file, 'utf8'), file);
}
