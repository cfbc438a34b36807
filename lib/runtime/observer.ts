/**
 * The seam for live monitoring (drift): a per-model observer the runtime calls
 * once per successful inference, after the response is on its way.
 *
 * Contract for implementers:
 * - `observe` runs on the event-loop thread: keep it O(rows) at most; sample,
 *   and do statistics and I/O elsewhere (a timer, a worker).
 * - Tensors are views into request and output buffers: copy the rows you keep.
 * - Throwing is contained (logged once per model) and never affects the response.
 */
import type { Registry } from 'prom-client';
import type { ModelSignature, Tensor } from './protocol.js';

export interface InferenceRecord {
  model: string;
  version: string;
  /** The request's `id`, when it sent one (ground-truth feedback joins on it). */
  id?: string;
  /** Every model input, in the model's input order. */
  inputs: readonly Tensor[];
  /** The outputs this request asked for (all outputs unless it selected some). */
  outputs: readonly Tensor[];
}

export interface InferenceObserver {
  observe(record: InferenceRecord): void;
  /** Called on shutdown, after the last request, to flush. */
  close?(): Promise<void> | void;
}

export interface ObservedModel {
  name: string;
  version: string;
  signature: ModelSignature;
  /** baseline.json next to the model, when the repository has one. */
  baselinePath?: string;
  /**
   * The runtime's metrics registry: gauges registered here (slipway_feature_drift_psi, …)
   * appear on the runtime's /metrics. Register each metric name once across models.
   */
  registry: Registry;
}

/** Chooses an observer for each model once it is loaded; undefined means not observed. */
export type ObserverFactory = (model: ObservedModel) => InferenceObserver | undefined | Promise<InferenceObserver | undefined>;
