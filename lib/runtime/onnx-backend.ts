/** The onnxruntime backend: sessions on the shared session threads (SessionThreads), one SessionPool per model. */
import type { Backend, BackendLoadOptions, LoadedModel } from './backend.js';
import { DATATYPE_INFO, datatypeOfOrtType } from './datatypes.js';
import { InferenceError } from './errors.js';
import type { ModelSignature, Tensor, TensorSpec } from './protocol.js';
import { SessionPool, SessionThreads } from './session-pool.js';
import type { WireValueMetadata } from './session-worker.js';

function toSpec(meta: WireValueMetadata, kind: string): TensorSpec {
  if (!meta.isTensor) throw new Error(`${kind} "${meta.name}" is not a tensor; only tensor inputs and outputs are served`);
  const datatype = datatypeOfOrtType(meta.type);
  if (!datatype) throw new Error(`${kind} "${meta.name}" has element type ${meta.type}, which the protocol cannot carry`);
  return { name: meta.name, datatype, shape: meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
}

// onnxruntime reports bad-input problems with these phrases; anything else is the server's fault.
const CLIENT_ERROR = /invalid (dimension|input|argument|rank|shape)|out of (data )?bounds|mismatch|must be within/i;

export class OnnxRuntimeBackend implements Backend {
  readonly platform = 'onnxruntime_onnx';
  readonly name = 'onnxruntime';
  readonly threads: SessionThreads;

  /** `sessionThreads`: worker threads shared by every model's sessions. */
  constructor(sessionThreads: number) {
    this.threads = new SessionThreads(sessionThreads);
  }

  async load(modelPath: string, options: BackendLoadOptions): Promise<LoadedModel> {
    const pool = new SessionPool(this.threads, options.instances, options.onFailure, { belowMs: options.inlineComputeBelowMs }, options.onArenaOff);
    const loaded = await pool.load({
      kind: 'load',
      modelPath,
      logId: `${options.name}@${options.version}`,
      provider: options.provider,
      cudaDeviceId: options.cudaDeviceId,
      intraOpThreads: options.intraOpThreads,
      ...(options.interOpThreads ? { interOpThreads: options.interOpThreads } : {}),
      ...(options.cpuMemArena !== undefined ? { cpuMemArena: options.cpuMemArena } : {}),
    });
    let signature: ModelSignature;
    try {
      signature = { inputs: loaded.inputs.map((m) => toSpec(m, 'input')), outputs: loaded.outputs.map((m) => toSpec(m, 'output')) };
    } catch (err) {
      await pool.release();
      throw err;
    }
    const name = options.name;
    return {
      signature,
      provider: loaded.provider,
      ...(loaded.fallbackReason ? { fallbackReason: loaded.fallbackReason } : {}),
      get runCounts() {
        return { ...pool.counts };
      },
      async run(inputs: readonly Tensor[], outputNames: readonly string[], transfer: ArrayBuffer[]): Promise<Map<string, Tensor>> {
        let results;
        try {
          results = await pool.run(
            inputs.map((input) => ({ name: input.name, type: DATATYPE_INFO[input.datatype].ortType, dims: input.shape, data: input.data })),
            outputNames,
            transfer,
          );
        } catch (err) {
          const message = (err as Error).message;
          throw new InferenceError(CLIENT_ERROR.test(message) ? 400 : 500, `model "${name}" failed to run: ${message}`);
        }
        const outputs = new Map<string, Tensor>();
        for (const value of results) outputs.set(value.name, { name: value.name, datatype: datatypeOfOrtType(value.type)!, shape: value.dims, data: value.data });
        return outputs;
      },
      release: () => pool.release(),
    };
  }

  close(): Promise<void> {
    return this.threads.close();
  }
}
