/**
 * Decodes big requests and encodes big responses on worker threads, so the event loop stays
 * free for health checks and small requests. Small ones stay inline: a round trip to a worker
 * costs more than decoding a few kilobytes.
 */
import type { Worker } from 'node:worker_threads';
import type { CodecReply, CodecRequest } from './codec-worker.js';
import { dedicate, ownsBuffer } from './transfer.js';
import { InferenceError } from './errors.js';
import { decodeInferRequest, encodeInferResponse, type EncodedResponse, type InferRequest, type ModelSignature, type ResponseOutput } from './protocol.js';
import { startWorker } from './session-pool.js';

/** JSON text above this many bytes is parsed on a codec worker. */
export const OFFLOAD_JSON_BYTES = 256 * 1024;
/** Responses with more output elements than this are encoded on a codec worker when they go out as JSON. */
export const OFFLOAD_JSON_ELEMENTS = 32 * 1024;

const workerUrl = new URL(import.meta.url.endsWith('.ts') ? './codec-worker.ts' : './codec-worker.js', import.meta.url);

type Distribute<T> = T extends unknown ? Omit<T, 'id'> : never;

export class CodecPool {
  private readonly workers: Array<{ worker: Worker; load: number; ids: Set<number> }> = [];
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  private nextId = 0;

  constructor(private readonly size: number) {}

  private call(message: Distribute<CodecRequest>, transfer: ArrayBuffer[]): Promise<unknown> {
    if (this.workers.length < this.size) {
      const worker = startWorker(workerUrl);
      const slot = { worker, load: 0, ids: new Set<number>() };
      worker.on('message', (reply: CodecReply) => {
        slot.load--;
        slot.ids.delete(reply.id);
        const pending = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        if (reply.ok) pending?.resolve(reply.value);
        else pending?.reject(new InferenceError(reply.status, reply.message));
      });
      // A dead codec worker fails what it held; the next big request starts a fresh one.
      const fail = (reason: string) => {
        for (const id of slot.ids) {
          this.pending.get(id)?.reject(new InferenceError(500, reason));
          this.pending.delete(id);
        }
        slot.ids.clear();
        const index = this.workers.indexOf(slot);
        if (index !== -1) this.workers.splice(index, 1);
      };
      worker.on('error', (err) => fail(`codec worker failed: ${err.message}`));
      worker.on('exit', (code) => fail(`codec worker exited with code ${code}`));
      worker.unref();
      this.workers.push(slot);
    }
    const slot = this.workers.reduce((a, b) => (b.load < a.load ? b : a));
    const id = this.nextId++;
    slot.load++;
    slot.ids.add(id);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ ...message, id }, transfer);
    });
  }

  /**
   * Decodes a request; a big JSON part goes to a worker. `body` must be owned by the caller
   * (it is transferred and unusable afterwards when offloaded).
   */
  decode(body: Uint8Array, headerLength: number | undefined, modelName: string, signature: ModelSignature): InferRequest | Promise<InferRequest> {
    if ((headerLength ?? body.length) <= OFFLOAD_JSON_BYTES || this.size === 0) return decodeInferRequest(body, headerLength, modelName, signature);
    return (this.call({ op: 'decode', body, headerLength, modelName, signature }, ownsBuffer(body) ? [body.buffer as ArrayBuffer] : []) as Promise<InferRequest>).then((request) => {
      // The tensors came back by transfer: their buffers belong to this request alone.
      for (const input of request.inputs) if (!Array.isArray(input.data)) dedicate(input.data);
      return request;
    });
  }

  encode(modelName: string, modelVersion: string, request: Pick<InferRequest, 'id' | 'parameters'>, outputs: readonly ResponseOutput[]): EncodedResponse | Promise<EncodedResponse> {
    const jsonElements = outputs.reduce((n, o) => n + (o.binary ? 0 : o.tensor.data.length), 0);
    if (jsonElements <= OFFLOAD_JSON_ELEMENTS || this.size === 0) return encodeInferResponse(modelName, modelVersion, request, outputs);
    // Outputs are copied, not transferred: observers still read them after the response.
    // Only what the response echoes: the request's input tensors may have moved to a session worker.
    const echoed = { ...(request.id !== undefined ? { id: request.id } : {}), ...(request.parameters !== undefined ? { parameters: request.parameters } : {}) };
    return this.call({ op: 'encode', modelName, modelVersion, request: echoed, outputs: [...outputs] }, []) as Promise<EncodedResponse>;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.worker.terminate()));
  }
}

