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

/** An observed label for POST …/feedback: one per row of the request, or one for a one-row request. */
export type FeedbackLabel = number | string | ReadonlyArray<number | string>;

export interface InferenceObserver {
  observe(record: InferenceRecord): void;
  /** Called on shutdown, after the last request, to flush. */
  close?(): Promise<void> | void;
  /**
   * The latest live drift report, served as JSON by GET /v2/models/{name}/drift.
   * Absent: the observer does not monitor drift (404 there).
   */
  snapshot?(): object;
  /**
   * The bounded history of drift snapshots, served by GET /v2/models/{name}/drift?history=1.
   * Absent: the latest snapshot is served there too.
   */
  history?(): object;
  /**
   * Ground truth for an earlier request, from POST /v2/models/{name}/feedback. Returns false
   * when no prediction of that request id is held (never seen, already scored, or expired).
   * Absent: the observer takes no feedback (404 there).
   */
  recordFeedback?(requestId: string, label: FeedbackLabel): boolean;
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
