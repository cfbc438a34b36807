import { FEEDBACK_DEFAULTS } from '../defaults.js';

export interface FeedbackOptions {
  /** Scored rows the rolling accuracy covers. @default 1000 */
  readonly windowRows?: number;
  /** Most requests whose predictions wait for feedback (oldest dropped). @default 10000 */
  readonly maxPendingRequests?: number;
  /** Seconds a prediction waits for its feedback. @default 86400 */
  readonly pendingSeconds?: number;
}

/**
 * Rolling accuracy from ground truth: predictions wait by request id, bounded by count and
 * age; feedback scores them into a ring of hits. Expiry is checked on every lookup and by
 * `expire()` (the monitor's timer), so ids age out even when no new prediction arrives.
 */
export class FeedbackAccuracy {
  private readonly pending = new Map<string, { at: number; labels: string[] }>();
  private readonly outcomes: Uint8Array;
  private readonly maxPending: number;
  private readonly ttlMs: number;
  private head = 0;
  private count = 0;
  private correct = 0;

  constructor(options: FeedbackOptions, private readonly clock: () => number) {
    this.outcomes = new Uint8Array(options.windowRows ?? FEEDBACK_DEFAULTS.windowRows);
    this.maxPending = options.maxPendingRequests ?? FEEDBACK_DEFAULTS.maxPendingRequests;
    this.ttlMs = (options.pendingSeconds ?? FEEDBACK_DEFAULTS.pendingSeconds) * 1000;
  }

  /** Requests whose predictions still wait for feedback. */
  get pendingRequests(): number {
    return this.pending.size;
  }

  recordPredictions(requestId: string, labels: ArrayLike<number | string>): void {
    const now = this.clock();
    this.pending.delete(requestId);
    this.pending.set(requestId, { at: now, labels: Array.from(labels, String) });
    this.expire(now);
  }

  /** Drops predictions past their age and the oldest beyond the count bound (insertion order is age order). */
  expire(now = this.clock()): void {
    for (const [id, entry] of this.pending) {
      if (this.pending.size <= this.maxPending && entry.at >= now - this.ttlMs) break;
      this.pending.delete(id);
    }
  }

  /** Scores a request's predictions; false when the id is unknown, already scored or expired. */
  recordFeedback(requestId: string, observed: ArrayLike<number | string> | number | string): boolean {
    const entry = this.pending.get(requestId);
    if (!entry) return false;
    this.pending.delete(requestId);
    if (entry.at < this.clock() - this.ttlMs) return false;
    const labels = typeof observed === 'number' || typeof observed === 'string' ? [String(observed)] : Array.from(observed, String);
    const n = Math.min(labels.length, entry.labels.length);
    for (let i = 0; i < n; i++) {
      const hit = labels[i] === entry.labels[i] ? 1 : 0;
      if (this.count === this.outcomes.length) this.correct -= this.outcomes[this.head]!;
      else this.count++;
      this.outcomes[this.head] = hit;
      this.correct += hit;
      this.head = (this.head + 1) % this.outcomes.length;
    }
    return true;
  }

  get value(): number | null {
    return this.count > 0 ? this.correct / this.count : null;
  }

  get labeled(): number {
    return this.count;
  }
}

/** Index of the largest value per row, as strings (class labels for feedback). */
export function argmaxLabels(data: ArrayLike<number>, rows: number, cols: number): string[] {
  const labels: string[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (data[r * cols + c]! > data[r * cols + best]!) best = c;
    labels.push(String(best));
  }
  return labels;
}
