import type { Registry } from 'prom-client';
import { resolveDriftShare, resolveThresholds, summarize, needsAttention, type DriftReport, type FeatureReport } from './compare.js';
import { DEFAULT_THRESHOLDS, LIVE_DEFAULTS } from './defaults.js';
import { AlertState, alertPayload, sendWebhook, type DriftAlertOptions } from './live/alert.js';
import { evaluateColumn, yieldToEventLoop } from './live/evaluate.js';
import { FeedbackJoin, type FeedbackOptions, type LivePerformance } from './live/feedback.js';
import { DriftGauges } from './live/gauges.js';
import { PerformanceGauges } from './live/performance-gauges.js';
import { History, historyPoint, type HistoryPoint } from './live/history.js';
import { RowSampler, SampleWindow } from './live/window.js';
import type { BaselineProfile, FeatureProfile, ThresholdConfig } from './profile.js';

export { alertFingerprint, alertPayload, DRIFT_ALERT_NAME, type DriftAlertOptions } from './live/alert.js';
export type { LivePerformance } from './live/feedback.js';
export { DRIFT_METRICS } from '../vocabulary/metrics.js';
export type { HistoryPoint } from './live/history.js';

export interface LiveDriftOptions {
  readonly model: string;
  /** The served model version: every gauge series carries it as the `version` label. @default '' */
  readonly version?: string;
  readonly baseline: BaselineProfile;
  /** Registry the drift gauges are registered on (the runtime's). */
  readonly registry: Registry;
  /** Share of rows recorded, 0 < rate <= 1. @default 0.2 */
  readonly sampleRate?: number;
  /** Most rows kept in the window. @default 5000 */
  readonly windowRows?: number;
  /** Oldest row kept, in seconds. @default 3600 */
  readonly windowSeconds?: number;
  /** Seconds between recomputations; 0 disables the timer (call evaluate()). @default 30 */
  readonly intervalSeconds?: number;
  /** Fewer rows than this in the window give no verdict. @default 100 (the minSampleSize threshold) */
  readonly minRows?: number;
  /** Window snapshots kept for the trend (GET …/drift?history=1). @default 120 */
  readonly historySize?: number;
  readonly thresholds?: ThresholdConfig;
  readonly alert?: DriftAlertOptions;
  /** Live performance from ground-truth feedback, and the label-free estimate (CBPE). */
  readonly feedback?: FeedbackOptions;
  /** Milliseconds since the epoch; injectable for tests. @default Date.now */
  readonly clock?: () => number;
  readonly seed?: number;
  /** Reports failures off the request path (webhook, evaluation). @default writes to stderr */
  readonly onError?: (error: Error) => void;
}

export interface LiveSnapshot extends DriftReport {
  readonly model: string;
  readonly version: string;
  readonly evaluatedAt: string | null;
  /** True while the window has fewer than minRows rows: statistics shown, no verdict. */
  readonly insufficientData: boolean;
  readonly window: { readonly rows: number; readonly maxRows: number; readonly maxSeconds: number; readonly sampleRate: number; readonly outputRows: number };
  readonly driftingSince: string | null;
  /** Rolling accuracy from feedback, beside the training accuracy when the baseline has it. */
  readonly accuracy: { readonly value: number | null; readonly labeled: number; readonly reference?: number } | null;
  /** Windowed metrics from feedback joined with predictions, and the CBPE estimate; null without feedback. */
  readonly livePerformance: LivePerformance | null;
}

export interface LiveHistory {
  readonly model: string;
  readonly version: string;
  readonly capacity: number;
  readonly intervalSeconds: number;
  readonly points: readonly HistoryPoint[];
}

/**
 * Watches one served model. The request path only samples (a PRNG draw and a row copy into
 * a bounded window); a timer evaluates the window off the request path, publishes the
 * gauges, appends to the history, drives the alert state machine and its webhook.
 */
export class LiveDriftMonitor {
  readonly model: string;
  readonly version: string;
  private readonly baseline: BaselineProfile;
  private readonly sampler: RowSampler;
  private readonly minRows: number;
  private readonly windowSeconds: number;
  private readonly intervalSeconds: number;
  private readonly clock: () => number;
  private readonly inputs: SampleWindow;
  private readonly outputs: SampleWindow | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onError: (error: Error) => void;
  private readonly gauges: DriftGauges;
  private readonly alertState: AlertState;
  private readonly feedback: FeedbackJoin | undefined;
  private readonly performanceGauges: PerformanceGauges | undefined;
  private readonly history: History<HistoryPoint>;
  private last: LiveSnapshot;
  private evaluating: Promise<LiveSnapshot> | undefined;
  private shapeWarned = false;
  private closed = false;

  constructor(private readonly options: LiveDriftOptions) {
    this.sampler = new RowSampler(options.sampleRate ?? LIVE_DEFAULTS.sampleRate, options.seed ?? 0x5eed);
    this.model = options.model;
    this.version = options.version ?? '';
    this.baseline = options.baseline;
    this.minRows = options.minRows ?? DEFAULT_THRESHOLDS.minSampleSize;
    this.windowSeconds = options.windowSeconds ?? LIVE_DEFAULTS.windowSeconds;
    this.clock = options.clock ?? Date.now;
    this.onError = options.onError ?? ((err) => process.stderr.write(`slipway drift[${this.model}]: ${err.message}\n`));
    const windowRows = options.windowRows ?? LIVE_DEFAULTS.windowRows;
    this.inputs = new SampleWindow(windowRows, this.baseline.featureOrder.length);
    this.outputs = this.baseline.outputs ? new SampleWindow(windowRows, this.baseline.outputs.order.length) : undefined;
    this.feedback = options.feedback ? new FeedbackJoin(options.feedback, this.clock) : undefined;
    this.gauges = new DriftGauges(options.registry, this.model, this.version);
    this.performanceGauges = options.feedback ? new PerformanceGauges(options.registry, this.model, this.version) : undefined;
    this.alertState = new AlertState(options.alert ?? {});
    this.history = new History(options.historySize ?? LIVE_DEFAULTS.historySize);
    this.last = this.emptySnapshot();
    this.intervalSeconds = options.intervalSeconds ?? LIVE_DEFAULTS.intervalSeconds;
    if (this.intervalSeconds > 0) {
      this.timer = setInterval(() => void this.evaluate().catch((err: Error) => this.onError(err)), this.intervalSeconds * 1000);
      this.timer.unref();
    }
  }

  /** Request path: `data` holds `rows` rows of `cols` values in the baseline's featureOrder. */
  recordRows(data: ArrayLike<number>, rows: number, cols: number): void {
    this.record(this.inputs, data, rows, cols, 'input');
  }

  /**
   * Request path: output rows in the baseline's outputs.order. With feedback enabled, class
   * probabilities feed the label-free estimate, and with a request id each row's prediction
   * (argmax, or the value of a one-column output) waits for its label.
   */
  recordOutputs(data: ArrayLike<number>, rows: number, cols: number, requestId?: string): void {
    if (this.outputs) this.record(this.outputs, data, rows, cols, 'output');
    if (this.feedback && !this.closed) this.feedback.recordPredictions(requestId, data, rows, cols);
  }

  private record(window: SampleWindow, data: ArrayLike<number>, rows: number, cols: number, what: string): void {
    if (this.closed) return;
    if (cols !== window.columns) {
      if (!this.shapeWarned) {
        this.shapeWarned = true;
        this.onError(new Error(`${what} rows have ${cols} columns but the baseline names ${window.columns}; not recording them`));
      }
      return;
    }
    const now = this.clock();
    for (let r = 0; r < rows; r++) if (this.sampler.take()) window.push(data, r * cols, now);
  }

  /** Scores a request's predictions against observed labels; false when the id is unknown or expired. */
  recordFeedback(requestId: string, observed: ArrayLike<number | string> | number | string): boolean {
    if (!this.feedback?.recordFeedback(requestId, observed)) return false;
    this.performanceGauges?.publish(this.feedback.metrics());
    return true;
  }

  /** Requests whose predictions still wait for feedback. */
  get pendingFeedback(): number {
    return this.feedback?.pendingRequests ?? 0;
  }

  /** The latest evaluated window, in the JSON shape of `slipway drift` plus window details. */
  snapshot(): LiveSnapshot {
    return this.last;
  }

  /** The last `historySize` evaluations, oldest first: the trend. */
  trend(): LiveHistory {
    return { model: this.model, version: this.version, capacity: this.history.capacity, intervalSeconds: this.intervalSeconds, points: this.history.list() };
  }

  /** Recomputes now (the timer calls this); concurrent calls share one computation. */
  evaluate(): Promise<LiveSnapshot> {
    this.evaluating ??= this.compute().finally(() => {
      this.evaluating = undefined;
    });
    return this.evaluating;
  }

  private async section(window: SampleWindow, order: readonly string[], profiles: Record<string, FeatureProfile>, section: 'features' | 'outputs'): Promise<Record<string, FeatureReport>> {
    const out: Record<string, FeatureReport> = {};
    for (const [c, name] of order.entries()) {
      const thresholds = resolveThresholds(name, section, this.baseline.thresholds, this.options.thresholds);
      out[name] = evaluateColumn(window, c, name, profiles[name]!, thresholds);
      // Yield between columns so a large window never holds the event loop for long.
      await yieldToEventLoop();
    }
    return out;
  }

  private async compute(): Promise<LiveSnapshot> {
    const now = this.clock();
    const cutoff = now - this.windowSeconds * 1000;
    this.inputs.dropOlderThan(cutoff);
    this.outputs?.dropOlderThan(cutoff);
    this.feedback?.expire(now);
    const features = await this.section(this.inputs, this.baseline.featureOrder, this.baseline.features, 'features');
    const outputs = this.outputs && this.baseline.outputs ? await this.section(this.outputs, this.baseline.outputs.order, this.baseline.outputs.features, 'outputs') : undefined;
    if (this.closed) return this.last;
    const insufficientData = this.inputs.size < this.minRows;
    const summary = summarize({
      features,
      ...(outputs ? { outputs } : {}),
      rows: this.inputs.size,
      driftShare: resolveDriftShare(this.baseline.thresholds, this.options.thresholds),
      reference: { file: this.baseline.source.file, rows: this.baseline.source.rows },
    });
    // Below minRows the window itself is too small: statistics shown, nothing flagged.
    const report: DriftReport = insufficientData ? { ...summary, drifted: false, verdict: 'insufficient data' } : summary;
    this.gauges.publish(report);
    if (this.feedback) this.performanceGauges?.publish(this.feedback.metrics());
    const attention = needsAttention(report);
    const since = this.alertState.observe(now, attention);
    const evaluatedAt = new Date(now).toISOString();
    this.last = {
      ...report,
      generatedAt: evaluatedAt,
      model: this.model,
      version: this.version,
      evaluatedAt,
      insufficientData,
      window: this.windowInfo(),
      driftingSince: since === undefined ? null : new Date(since).toISOString(),
      accuracy: this.accuracy(),
      livePerformance: this.feedback?.metrics() ?? null,
    };
    this.history.push(historyPoint(report, evaluatedAt, this.feedback?.value ?? null));
    if (attention) await this.maybeAlert(now, this.last);
    return this.last;
  }

  private async maybeAlert(now: number, snapshot: LiveSnapshot): Promise<void> {
    const alert = this.options.alert;
    const since = this.alertState.drifting;
    if (!alert || since === undefined || !this.alertState.shouldAlert(now)) return;
    try {
      await sendWebhook(alert, alertPayload(this.model, snapshot, since, alert, this.version || undefined));
      this.alertState.delivered(now);
    } catch (err) {
      this.onError(new Error(`drift webhook ${alert.url} failed: ${(err as Error).message}`, { cause: err }));
    }
  }

  private windowInfo(): LiveSnapshot['window'] {
    return {
      rows: this.inputs.size,
      maxRows: this.inputs.capacity,
      maxSeconds: this.windowSeconds,
      sampleRate: this.sampler.rate,
      outputRows: this.outputs?.size ?? 0,
    };
  }

  private accuracy(): LiveSnapshot['accuracy'] {
    if (!this.feedback) return null;
    return {
      value: this.feedback.value,
      labeled: this.feedback.labeled,
      ...(this.baseline.performance ? { reference: this.baseline.performance.value } : {}),
    };
  }

  private emptySnapshot(): LiveSnapshot {
    return {
      ...summarize({ features: {}, rows: 0, driftShare: resolveDriftShare(this.baseline.thresholds, this.options.thresholds) }),
      drifted: false,
      verdict: 'insufficient data',
      model: this.model,
      version: this.version,
      evaluatedAt: null,
      insufficientData: true,
      window: this.windowInfo(),
      driftingSince: null,
      accuracy: this.accuracy(),
      livePerformance: this.feedback?.metrics() ?? null,
    };
  }

  /** Stops the timer and removes this model version's series from the shared gauges. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.evaluating?.catch(() => undefined);
    this.gauges.remove(this.baseline.featureOrder, this.baseline.outputs?.order ?? []);
    this.performanceGauges?.remove();
  }
}
