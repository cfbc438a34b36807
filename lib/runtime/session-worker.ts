/**
 * Worker-thread side of a model session: the onnxruntime session lives here, so `session.run`
 * (synchronous in onnxruntime-node) never holds the event loop that answers HTTP, gRPC and health
 * checks. One worker holds sessions of several models (SessionThreads). Messages are plain data; tensor bytes arrive as views into SharedArrayBuffers (no copy)
 * and leave as transferred ArrayBuffers (no copy).
 */
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { HUGE_BATCH_INPUT_BYTES, type CpuMemArena, type ExecutionProviderName } from './model-config.js';
import type { TensorData } from './datatypes.js';
import { sessionOptions } from './session-options.js';
import type { WorkerReply } from './worker-pool.js';

export interface WireTensor {
  name: string;
  /** onnxruntime element type ('float32', 'string', …). */
  type: string;
  dims: readonly number[];
  data: TensorData;
}

export interface WireValueMetadata {
  name: string;
  isTensor: boolean;
  type: string;
  shape: ReadonlyArray<number | string>;
}

export interface LoadRequest {
  kind: 'load';
  modelPath: string;
  logId: string;
  provider: ExecutionProviderName;
  cudaDeviceId: number;
  intraOpThreads?: number;
  interOpThreads?: number;
  /** onnxruntime's CPU memory arena; default auto (on until a huge batch). */
  cpuMemArena?: CpuMemArena;
}

/** A session of this worker, by the number the main thread gave it at load. */
export type WorkerRequest =
  | (LoadRequest & { session: number })
  | { kind: 'run'; session: number; inputs: readonly WireTensor[]; outputNames: readonly string[] }
  | { kind: 'release'; session: number };

export interface LoadedSession {
  provider: ExecutionProviderName;
  inputs: WireValueMetadata[];
  outputs: WireValueMetadata[];
  fallbackReason?: string;
}

/**
 * computeMs: session.run alone, without the hop to and from this thread (the pool's inline policy
 * reads it). arenaOff: the first run on a session reloaded without the arena after a huge batch.
 */
export interface RunResult {
  outputs: WireTensor[];
  computeMs: number;
  arenaOff?: true;
}

// onnxruntime's process-wide logger writes unstructured lines to stderr (e.g. a failed CUDA
// provider load before the fallback); the runtime reports those events itself as JSON.
ort.env.logLevel = 'fatal';

/**
 * One worker holds the sessions of many models: onnxruntime and this thread are paid for once, not
 * per model. `request` is how the session was loaded: the arena's auto mode reloads it.
 */
interface HeldSession {
  session: ort.InferenceSession;
  request: LoadRequest;
  /** Runs started on this session and not finished: a replaced session is released after its last. */
  running: number;
  replaced?: true;
  /** Reloaded without the arena (cpuMemArena auto): its first run's answer says so. */
  announceArenaOff?: true;
}

const sessions = new Map<number, HeldSession>();

async function load(request: LoadRequest & { session: number }): Promise<LoadedSession> {
  let provider = request.provider;
  let fallbackReason: string | undefined;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(request.modelPath, sessionOptions(request, provider));
  } catch (err) {
    if (provider !== 'cuda') throw err;
    // A model that cannot load at all fails on CPU too; the CPU attempt reports that error.
    session = await ort.InferenceSession.create(request.modelPath, sessionOptions(request, 'cpu'));
    provider = 'cpu';
    fallbackReason = `CUDA execution provider unavailable, running on CPU: ${(err as Error).message.split('\n')[0]}`;
  }
  sessions.set(request.session, { session, request: { ...request, provider }, running: 0 });
  const plain = (m: ort.InferenceSession.ValueMetadata): WireValueMetadata =>
    m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false, type: '', shape: [] };
  return {
    provider,
    inputs: session.inputMetadata.map(plain),
    outputs: session.outputMetadata.map(plain),
    ...(fallbackReason ? { fallbackReason } : {}),
  };
}

async function run(session: number, inputs: readonly WireTensor[], outputNames: readonly string[]): Promise<{ value: RunResult; transfer: ArrayBuffer[] }> {
  const loaded = sessions.get(session);
  if (!loaded) throw new Error(`session ${session} is not loaded on this worker`);
  const feeds: Record<string, ort.Tensor> = {};
  let inputBytes = 0;
  for (const input of inputs) {
    feeds[input.name] = new ort.Tensor(input.type as ort.Tensor.Type, input.data as ort.Tensor.DataType, input.dims);
    if (!Array.isArray(input.data)) inputBytes += input.data.byteLength;
  }
  const started = performance.now();
  loaded.running++;
  let results: ort.InferenceSession.OnnxValueMapType;
  try {
    results = await loaded.session.run(feeds, outputNames);
  } finally {
    loaded.running--;
    if (loaded.replaced && loaded.running === 0) void loaded.session.release();
  }
  const computeMs = performance.now() - started;
  // The arena is the CPU provider's: a CUDA session is never reloaded for it.
  if ((loaded.request.cpuMemArena ?? 'auto') === 'auto' && loaded.request.provider === 'cpu' && inputBytes >= HUGE_BATCH_INPUT_BYTES) void withoutArena(session, loaded);
  const arenaOff = loaded.announceArenaOff;
  delete loaded.announceArenaOff;
  const outputs: WireTensor[] = [];
  const transfer: ArrayBuffer[] = [];
  for (const name of outputNames) {
    const value = results[name]!;
    const data = value.data as TensorData;
    if (!Array.isArray(data) && data.buffer instanceof ArrayBuffer && !transfer.includes(data.buffer)) transfer.push(data.buffer);
    outputs.push({ name, type: value.type, dims: value.dims, data });
  }
  return { value: { outputs, computeMs, ...(arenaOff ? { arenaOff: true as const } : {}) }, transfer };
}

/**
 * cpuMemArena auto after a huge batch: the session is loaded again without the arena, and the old
 * one (with the arena holding the batch's memory) released, so RSS comes back down. Runs meanwhile
 * use the old session; if the reload fails, the old session stays.
 */
async function withoutArena(id: number, loaded: HeldSession): Promise<void> {
  const request: LoadRequest = { ...loaded.request, cpuMemArena: false };
  // Marked first: a second huge batch meanwhile must not start another reload.
  loaded.request = request;
  try {
    const session = await ort.InferenceSession.create(request.modelPath, sessionOptions(request, request.provider));
    if (sessions.get(id) !== loaded) {
      await session.release();
      return;
    }
    sessions.set(id, { session, request, running: 0, announceArenaOff: true });
    loaded.replaced = true;
    if (loaded.running === 0) await loaded.session.release();
  } catch {
    // The arena stays on: the model keeps serving.
  }
}

async function release(session: number): Promise<void> {
  const loaded = sessions.get(session);
  sessions.delete(session);
  await loaded?.session.release();
}

async function handle(message: WorkerRequest): Promise<{ value: unknown; transfer: ArrayBuffer[] }> {
  switch (message.kind) {
    case 'load':
      return { value: await load(message), transfer: [] };
    case 'run':
      return run(message.session, message.inputs, message.outputNames);
    case 'release':
      await release(message.session);
      return { value: null, transfer: [] };
  }
}

const port = parentPort!;
port.on('message', (message: WorkerRequest & { id: number }) => {
  handle(message).then(
    ({ value, transfer }) => port.postMessage({ id: message.id, ok: true, value } satisfies WorkerReply, transfer),
    (err: unknown) => port.postMessage({ id: message.id, ok: false, message: (err as Error).message } satisfies WorkerReply),
  );
});
