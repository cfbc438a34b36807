/**
 * Worker-thread side of a model session: the onnxruntime session lives here, so `session.run`
 * (synchronous in onnxruntime-node) never holds the event loop that answers HTTP, gRPC and health
 * checks. Messages are plain data; tensor bytes arrive as views into SharedArrayBuffers (no copy)
 * and leave as transferred ArrayBuffers (no copy).
 */
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { ExecutionProviderName } from './model-config.js';
import type { TensorData } from './datatypes.js';
import { sessionOptions } from './session-options.js';

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
}

export type WorkerRequest =
  | LoadRequest
  | { kind: 'run'; id: number; inputs: readonly WireTensor[]; outputNames: readonly string[] }
  | { kind: 'release' };

export type WorkerReply =
  | { kind: 'loaded'; provider: ExecutionProviderName; inputs: WireValueMetadata[]; outputs: WireValueMetadata[]; fallbackReason?: string }
  | { kind: 'load-failed'; message: string }
  /** computeMs: session.run alone, without the hop to and from this thread (the pool's inline policy reads it). */
  | { kind: 'result'; id: number; outputs: WireTensor[]; computeMs: number }
  | { kind: 'error'; id: number; message: string }
  | { kind: 'released' };

// onnxruntime's process-wide logger writes unstructured lines to stderr (e.g. a failed CUDA
// provider load before the fallback); the runtime reports those events itself as JSON.
ort.env.logLevel = 'fatal';

let session: ort.InferenceSession | undefined;

async function load(request: LoadRequest): Promise<WorkerReply> {
  let provider = request.provider;
  let fallbackReason: string | undefined;
  try {
    try {
      session = await ort.InferenceSession.create(request.modelPath, sessionOptions(request, provider));
    } catch (err) {
      if (provider !== 'cuda') throw err;
      // A model that cannot load at all fails on CPU too; the CPU attempt reports that error.
      session = await ort.InferenceSession.create(request.modelPath, sessionOptions(request, 'cpu'));
      provider = 'cpu';
      fallbackReason = `CUDA execution provider unavailable, running on CPU: ${(err as Error).message.split('\n')[0]}`;
    }
  } catch (err) {
    return { kind: 'load-failed', message: (err as Error).message };
  }
  const plain = (m: ort.InferenceSession.ValueMetadata): WireValueMetadata =>
    m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false, type: '', shape: [] };
  return {
    kind: 'loaded',
    provider,
    inputs: session.inputMetadata.map(plain),
    outputs: session.outputMetadata.map(plain),
    ...(fallbackReason ? { fallbackReason } : {}),
  };
}

async function run(id: number, inputs: readonly WireTensor[], outputNames: readonly string[]): Promise<{ reply: WorkerReply; transfer: ArrayBuffer[] }> {
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of inputs) feeds[input.name] = new ort.Tensor(input.type as ort.Tensor.Type, input.data as ort.Tensor.DataType, input.dims);
    const started = performance.now();
    const results = await session!.run(feeds, outputNames);
    const computeMs = performance.now() - started;
    const outputs: WireTensor[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const name of outputNames) {
      const value = results[name]!;
      const data = value.data as TensorData;
      if (!Array.isArray(data) && data.buffer instanceof ArrayBuffer && !transfer.includes(data.buffer)) transfer.push(data.buffer);
      outputs.push({ name, type: value.type, dims: value.dims, data });
    }
    return { reply: { kind: 'result', id, outputs, computeMs }, transfer };
  } catch (err) {
    return { reply: { kind: 'error', id, message: (err as Error).message }, transfer: [] };
  }
}

const port = parentPort!;
port.on('message', (message: WorkerRequest) => {
  switch (message.kind) {
    case 'load':
      void load(message).then((reply) => port.postMessage(reply));
      return;
    case 'run':
      void run(message.id, message.inputs, message.outputNames).then(({ reply, transfer }) => port.postMessage(reply, transfer));
      return;
    case 'release':
      void (session?.release() ?? Promise.resolve()).then(() => {
        session = undefined;
        port.postMessage({ kind: 'released' } satisfies WorkerReply);
      });
  }
});
