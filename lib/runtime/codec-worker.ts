/**
 * Worker-thread side of request decoding and response encoding for big bodies: JSON.parse of a
 * 40 MiB request takes hundreds of milliseconds, which on the event loop would stall health
 * checks and every other request. Buffers move by transfer, not copy.
 */
import { parentPort } from 'node:worker_threads';
import { InferenceError } from './errors.js';
import { buffersOf } from './transfer.js';
import type { WorkerReply } from './worker-pool.js';
import { decodeInferRequest, encodeInferResponse, type InferRequest, type ModelSignature, type ResponseOutput } from './protocol.js';

export type CodecRequest =
  | { id: number; op: 'decode'; body: Uint8Array; headerLength: number | undefined; modelName: string; signature: ModelSignature }
  | { id: number; op: 'encode'; modelName: string; modelVersion: string; request: Pick<InferRequest, 'id' | 'parameters'>; outputs: ResponseOutput[] };

function handle(message: CodecRequest): { reply: WorkerReply; transfer: ArrayBuffer[] } {
  try {
    if (message.op === 'decode') {
      const request = decodeInferRequest(message.body, message.headerLength, message.modelName, message.signature);
      return { reply: { id: message.id, ok: true, value: request }, transfer: buffersOf(request.inputs.map((t) => t.data)) };
    }
    const encoded = encodeInferResponse(message.modelName, message.modelVersion, message.request, message.outputs);
    return { reply: { id: message.id, ok: true, value: encoded }, transfer: buffersOf(encoded.chunks.slice(1)) };
  } catch (err) {
    const status = err instanceof InferenceError ? err.status : 500;
    return { reply: { id: message.id, ok: false, status, message: (err as Error).message }, transfer: [] };
  }
}

parentPort?.on('message', (message: CodecRequest) => {
  const { reply, transfer } = handle(message);
  parentPort!.postMessage(reply, transfer);
});
