import { FEEDBACK_DEFAULTS } from '../defaults.js';
import { classificationMetrics, estimatePerformance, regressionMetrics, type ClassificationMetrics, type PerformanceEstimate, type RegressionMetrics } from './quality.js';

export interface FeedbackOptions {
  /** Labelled rows the windowed metrics cover. @default 1000 */
  readonly windowRows?: number;
  /** Most requests whose predictions wait for feedback (oldest dropped). @default 10000 */
  readonly maxPendingRequests?: number;
  /** Most prediction rows waiting for feedback, all requests together (oldest requests dropped). @default 100000 */
  readonly maxPendingRows?: number;
  /** Seconds a prediction waits for its feedback. @default 86400 */
  readonly pendingSeconds?: number;
  /** Recent predictions the label-free estimate (CBPE) covers. @default 5000 */
  readonly estimateRows?: number;
}

/** What the model's output rows are: one value per row (regression) or class scores. */
export type Task = 'classification' | 'regression';

interface Pending {
  readonly at: number;
  /** Predicted class index (classification) or value (regression), per row. */
  readonly predicted: Float64Array;
  /** Binary classifiers: the positive class's probability per row, for ROC AUC. */
  readonly scores?: Float64Array;
}

export interface LivePerformance {
  readonly task: Task | null;
  /** Labelled rows in the window. */
  readonly labeled: number;
  readonly pendingRequests: number;
  readonly pendingRows: number;
  readonly classification?: ClassificationMetrics;
  readonly regression?: RegressionMetrics;
  /** Label-free estimate from the recent predictions' probabilities (calibrated classifiers). */
  readonly estimated?: PerformanceEstimate;
}

/** Probabilities: every value in [0, 1] and the row sums to 1 (softmax, predict_proba). */
function isProbabilityRow(data: ArrayLike<number>, base: number, cols: number): boolean {
  let sum = 0;
  for (let c = 0; c < cols; c++) {
    const v = data[base + c]!;
    if (!(v >= 0 && v <= 1)) return false;
    sum += v;
  }
  return Math.abs(sum - 1) < 1e-3;
}

/**
 * Live performance: predictions wait by request id (bounded by count, rows and age); labels
 * arriving for an id are joined with them into a ring of the last `windowRows` labelled rows,
 * from which accuracy, precision, recall and ROC AUC (classifiers) or MAE and RMSE (regression)
 * are computed. Every prediction with probabilities also feeds the label-free estimate (CBPE).
 * Expiry runs on each new prediction and from `expire()` (the monitor's timer).
 */
export class FeedbackJoin {
  private readonly pending = new Map<string, Pending>();
  private readonly maxPending: number;
  private readonly maxRows: number;
  private readonly ttlMs: number;
  private rowsPending = 0;
  private taskKind: Task | null = null;
  private binary = false;
  // The labelled window: predicted, observed and (binary) score per row.
  private readonly predicted: Float64Array;
  private readonly observed: Float64Array;
  private readonly scores: Float64Array;
  private head = 0;
  private count = 0;
  // The estimate's window: predicted class's probability, positive class's probability, predicted positive.
  private readonly confidence: Float64Array;
  private readonly positive: Float64Array;
  private readonly predictedPositive: Uint8Array;
  private estHead = 0;
  private estCount = 0;
  private cached: LivePerformance | undefined;

  constructor(options: FeedbackOptions, private readonly clock: () => number) {
    const windowRows = options.windowRows ?? FEEDBACK_DEFAULTS.windowRows;
    this.predicted = new Float64Array(windowRows);
    this.observed = new Float64Array(windowRows);
    this.scores = new Float64Array(windowRows);
    const estimateRows = options.estimateRows ?? FEEDBACK_DEFAULTS.estimateRows;
    this.confidence = new Float64Array(estimateRows);
    this.positive = new Float64Array(estimateRows);
    this.predictedPositive = new Uint8Array(estimateRows);
    this.maxPending = options.maxPendingRequests ?? FEEDBACK_DEFAULTS.maxPendingRequests;
    this.maxRows = options.maxPendingRows ?? FEEDBACK_DEFAULTS.maxPendingRows;
    this.ttlMs = (options.pendingSeconds ?? FEEDBACK_DEFAULTS.pendingSeconds) * 1000;
  }

  /** Requests whose predictions still wait for feedback. */
  get pendingRequests(): number {
    return this.pending.size;
  }

  get pendingRows(): number {
    return this.rowsPending;
  }

  get labeled(): number {
    return this.count;
  }

  /** Accuracy over the labelled window (classifiers), null before any label. */
  get value(): number | null {
    return this.metrics().classification?.accuracy ?? null;
  }

  /**
   * Request path: `rows` output rows of `cols` values. One column is a regression; more are
   * class scores (argmax is the prediction). With a request id, the predictions wait for labels.
   */
  recordPredictions(requestId: string | undefined, data: ArrayLike<number>, rows: number, cols: number): void {
    if (rows <= 0 || cols <= 0) return;
    this.taskKind ??= cols === 1 ? 'regression' : 'classification';
    this.binary = cols === 2;
    const predicted = new Float64Array(rows);
    const scores = cols === 2 ? new Float64Array(rows) : undefined;
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      if (cols === 1) {
        predicted[r] = data[base]!;
        continue;
      }
      let best = 0;
      for (let c = 1; c < cols; c++) if (data[base + c]! > data[base + best]!) best = c;
      predicted[r] = best;
      if (scores) scores[r] = data[base + 1]!;
      if (isProbabilityRow(data, base, cols)) this.recordConfidence(data[base + best]!, cols === 2 ? data[base + 1]! : Number.NaN, best === 1);
    }
    this.cached = undefined;
    if (requestId === undefined || rows > this.maxRows) return;
    this.drop(requestId);
    this.pending.set(requestId, { at: this.clock(), predicted, ...(scores ? { scores } : {}) });
    this.rowsPending += rows;
    this.expire();
  }

  private recordConfidence(confidence: number, positive: number, predictedPositive: boolean): void {
    const cap = this.confidence.length;
    const slot = (this.estHead + this.estCount) % cap;
    this.confidence[slot] = confidence;
    this.positive[slot] = positive;
    this.predictedPositive[slot] = predictedPositive ? 1 : 0;
    if (this.estCount < cap) this.estCount++;
    else this.estHead = (this.estHead + 1) % cap;
  }

  private drop(requestId: string): void {
    const entry = this.pending.get(requestId);
    if (!entry) return;
    this.pending.delete(requestId);
    this.rowsPending -= entry.predicted.length;
  }

  /** Drops predictions past their age and the oldest beyond the bounds (insertion order is age order). */
  expire(now = this.clock()): void {
    for (const [id, entry] of this.pending) {
      if (this.pending.size <= this.maxPending && this.rowsPending <= this.maxRows && entry.at >= now - this.ttlMs) break;
      this.drop(id);
    }
  }

  /**
   * Joins labels with a request's predictions, row by row; false when the id is unknown,
   * already scored or expired. Class labels are class indices (numbers or numeric strings).
   */
  recordFeedback(requestId: string, observed: ArrayLike<number | string> | number | string): boolean {
    const entry = this.pending.get(requestId);
    if (!entry) return false;
    this.drop(requestId);
    if (entry.at < this.clock() - this.ttlMs) return false;
    const labels = typeof observed === 'number' || typeof observed === 'string' ? [observed] : Array.from(observed);
    const n = Math.min(labels.length, entry.predicted.length);
    const cap = this.predicted.length;
    for (let i = 0; i < n; i++) {
      const label = Number(labels[i]);
      // A label that is no number can match no class index: it scores as a miss.
      const slot = (this.head + this.count) % cap;
      this.predicted[slot] = entry.predicted[i]!;
      this.observed[slot] = Number.isFinite(label) ? label : Number.NaN;
      this.scores[slot] = entry.scores?.[i] ?? Number.NaN;
      if (this.count < cap) this.count++;
      else this.head = (this.head + 1) % cap;
    }
    this.cached = undefined;
    return true;
  }

  /** The window's metrics and the estimate; recomputed only after something changed. */
  metrics(): LivePerformance {
    if (this.cached) return this.cached;
    const ordered = (ring: Float64Array) => {
      const out = new Float64Array(this.count);
      for (let i = 0; i < this.count; i++) out[i] = ring[(this.head + i) % ring.length]!;
      return out;
    };
    const predicted = ordered(this.predicted);
    const observed = ordered(this.observed);
    const base = { task: this.taskKind, labeled: this.count, pendingRequests: this.pending.size, pendingRows: this.rowsPending };
    let result: LivePerformance = base;
    if (this.count > 0 && this.taskKind === 'regression') {
      const regression = regressionMetrics(predicted, observed, this.count);
      if (regression) result = { ...base, regression };
    } else if (this.count > 0 && this.taskKind === 'classification') {
      const classification = classificationMetrics(predicted, observed, this.count, this.binary, this.binary ? ordered(this.scores) : undefined);
      if (classification) result = { ...base, classification };
    }
    if (this.estCount > 0) {
      const estOrdered = <T extends Float64Array | Uint8Array>(ring: T, make: (n: number) => T) => {
        const out = make(this.estCount);
        for (let i = 0; i < this.estCount; i++) out[i] = ring[(this.estHead + i) % ring.length]!;
        return out;
      };
      const confidence = estOrdered(this.confidence, (n) => new Float64Array(n));
      const estimated = estimatePerformance(
        confidence,
        this.estCount,
        this.binary ? { positive: estOrdered(this.positive, (n) => new Float64Array(n)), predictedPositive: estOrdered(this.predictedPositive, (n) => new Uint8Array(n)) } : undefined,
      );
      if (estimated) result = { ...result, estimated };
    }
    this.cached = result;
    return result;
  }
}
