/**
 * Decodes big requests and encodes big responses on worker threads, so the event loop stays
 * free for health checks and small requests. Small ones stay inline: a round trip to a worker
 * costs more than decoding a few kilobytes.
 */
import type { CodecRequest } from './codec-worker.js';
import { dedicate, ownsBuffer } from './transfer.js';
import { InferenceError } from './errors.js';
import { decodeInferRequest, encodeInferResponse, type EncodedResponse, type InferRequest, type ModelSignature, type ResponseOutput } from './protocol.js';
import { WorkerCallError, WorkerChannel, leastBusy, siblingModule } from './worker-pool.js';

/** JSON text above this many bytes is parsed on a codec worker. */
export const OFFLOAD_JSON_BYTES = 256 * 1024;
/** Responses with more output elements than this are encoded on a codec worker when they go out as JSON. */
export const OFFLOAD_JSON_ELEMENTS = 32 * 1024;

const workerUrl = siblingModule(import.meta.url, 'codec-worker');

type Distribute<T> = T extends unknown ? Omit<T, 'id'> : never;

export class CodecPool {
  private readonly workers: WorkerChannel[] = [];

  constructor(private readonly size: number) {}

  private async call(message: Distribute<CodecRequest>, transfer: ArrayBuffer[]): Promise<unknown> {
    if (this.workers.length < this.size) {
      // A dead codec worker fails what it held (WorkerChannel); the next big request starts a fresh one.
      const channel: WorkerChannel = new WorkerChannel(workerUrl, () => {
        const index = this.workers.indexOf(channel);
        if (index !== -1) this.workers.splice(index, 1);
      });
      channel.worker.unref();
      this.workers.push(channel);
    }
    try {
      return await leastBusy(this.workers).call(message, transfer);
    } catch (err) {
      throw new InferenceError(err instanceof WorkerCallError ? err.status ?? 500 : 500, (err as Error).message);
    }
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
    await Promise.all(this.workers.splice(0).map((w) => w.close()));
  }
}

