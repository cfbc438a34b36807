/**
 * Between a served model and what computes it: a backend loads a model file into something that
 * runs tensors and says its signature. onnxruntime is the one backend today (onnx-backend.ts); a
 * second format gets a place here, not inside ServedModel.
 */
import type { CpuMemArena, ExecutionProviderName } from './model-config.js';
import type { ModelSignature, Tensor } from './protocol.js';

export interface BackendLoadOptions {
  /** The served model's name and version, for errors and the backend's own logs. */
  name: string;
  version: string;
  provider: ExecutionProviderName;
  cudaDeviceId: number;
  /** Copies of the model that may run at once (sessions on distinct threads). */
  instances: number;
  intraOpThreads: number;
  interOpThreads?: number;
  /** Runs estimated below this many ms may run on the event loop; 0 never. */
  inlineComputeBelowMs: number;
  /** onnxruntime's CPU memory arena; default auto: on until a huge batch, then off. */
  cpuMemArena?: CpuMemArena;
  /** Called once when what runs the model dies (a worker's native crash, out of memory). */
  onFailure(reason: string): void;
  /** Called once the model runs without the arena a huge batch turned off (cpuMemArena auto). */
  onArenaOff?(): void;
}

/** A model a backend loaded: its signature, and how to run it. */
export interface LoadedModel {
  readonly signature: ModelSignature;
  /** The provider it runs on (a CUDA request may fall back to CPU, with the reason). */
  readonly provider: ExecutionProviderName;
  readonly fallbackReason?: string;
  /** Runs answered inline on the event loop and on workers since load. */
  readonly runCounts: { inline: number; worker: number };
  /**
   * Runs the model; buffers in `transfer` may move to another thread and are unusable afterwards.
   * Fails with an InferenceError: 400 when the input is at fault, 500 otherwise.
   */
  run(inputs: readonly Tensor[], outputNames: readonly string[], transfer: ArrayBuffer[]): Promise<Map<string, Tensor>>;
  release(): Promise<void>;
}

export interface Backend {
  /** Triton's platform and backend names (model metadata and configuration). */
  readonly platform: string;
  readonly name: string;
  load(modelPath: string, options: BackendLoadOptions): Promise<LoadedModel>;
  close(): Promise<void>;
}
