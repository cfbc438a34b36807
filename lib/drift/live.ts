import { Gauge, type Registry } from 'prom-client';
import { compareCategorical, numericReport, resolveThresholds, binIndex, type DriftReport, type FeatureReport } from './compare.js';
import { CategoricalAccumulator, type BaselineProfile, type FeatureProfile, type ThresholdConfig } from './profile.js';
import { mulberry32 } from './random.js';
import { distributionOfSorted } from './stats.js';
import { DRIFT_METRICS } from '../vocabulary/metrics.js';

export interface DriftAlertOptions {
  /** Where to POST the Alertmanager-format webhook (e.g. the Tekton EventListener). */
  readonly url: string;
  /** How long drift must last before the alert fires. @default 900 (15 minutes, as the DriftMonitor construct) */
  readonly sustainSeconds?: number;
  /** Least time between two alerts for this model, whatever the episodes. @default 21600 (6 hours) */
  readonly cooldownSeconds?: number;
  /** `receiver` of the payload. @default 'slipway-runtime' */
  readonly receiver?: string;
  /** `labels.severity` of the alert. @default 'warning' */
  readonly severity?: string;
  /** `externalURL` of the payload (where a person can look). @default '' */
  readonly externalUrl?: string;
  /** @default 5000 */
  readonly timeoutMs?: number;
}

export interface LiveDriftOptions {
  readonly model: string;
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
  /** Fewer rows than this in the window give no verdict. @default 100 */
  readonly minRows?: number;
  readonly thresholds?: ThresholdConfig;
  readonly alert?: DriftAlertOptions;
  /** Rolling accuracy over ground-truth feedback. */
  readonly feedback?: { readonly windowRows?: number; readonly maxPendingRequests?: number; readonly pendingSeconds?: number };
  /** Milliseconds since the epoch; injectable for tests. @default Date.now */
  readonly clock?: () => number;
  readonly seed?: number;
  /** Reports failures off the request path (webhook, evaluation). @default writes to stderr */
  readonly onError?: (error: Error) => void;
}

export interface LiveSnapshot extends DriftReport {
  readonly model: string;
  readonly evaluatedAt: string | null;
  /** True while the window has fewer than minRows rows: statistics shown, no verdict. */
  readonly insufficientData: boolean;
  readonly window: { readonly rows: number; readonly maxRows: number; readonly maxSeconds: number; readonly sampleRate: number; readonly outputRows: number };
  readonly driftingSince: string | null;
  readonly accuracy: { readonly value: number | null; readonly labeled: number } | null;
}

/** A ring of sampled rows: Float64 values × columns, plus the time each row arrived. */
class Window {
  readonly values: Float64Array;
  readonly times: Float64Array;
  private head = 0;
  size = 0;

  constructor(readonly capacity: number, readonly columns: number) {
    this.values = new Float64Array(capacity * columns);
    this.times = new Float64Array(capacity);
  }

  push(source: ArrayLike<number>, offset: number, now: number): void {
    const slot = (this.head + this.size) % this.capacity;
    const base = slot * this.columns;
    for (let c = 0; c < this.columns; c++) this.values[base + c] = source[offset + c]!;
    this.times[slot] = now;
    if (this.size < this.capacity) this.size++;
    else this.head = (this.head + 1) % this.capacity;
  }

  dropOlderThan(cutoff: number): void {
    while (this.size > 0 && this.times[this.head]! < cutoff) {
      this.head = (this.head + 1) % this.capacity;
      this.size--;
    }
  }

  column(c: number): { values: Float64Array; missing: number } {
    const out = new Float64Array(this.size);
    let n = 0;
    for (let i = 0; i < this.size; i++) {
      const v = this.values[((this.head + i) % this.capacity) * this.columns + c]!;
      if (Number.isNaN(v)) continue;
      out[n++] = v;
    }
    return { values: out.subarray(0, n), missing: this.size - n };
  }
}

function gauge(registry: Registry, name: string, help: string, labelNames: string[]): Gauge {
  // Several models share one registry: the first monitor creates the gauge, others reuse it.
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

/** Alertmanager's fingerprint: FNV-1a 64 over sorted label names and values, 0xff separated. */
export function alertFingerprint(labels: Readonly<Record<string, string>>): string {
  const prime = 1099511628211n;
  const mask = (1n << 64n) - 1n;
  let hash = 14695981039346656037n;
  const add = (bytes: Uint8Array) => {
    for (const b of bytes) hash = ((hash ^ BigInt(b)) * prime) & mask;
  };
  const encoder = new TextEncoder();
  for (const name of Object.keys(labels).sort()) {
    add(encoder.encode(name));
    add(Uint8Array.of(0xff));
    add(encoder.encode(labels[name]!));
    add(Uint8Array.of(0xff));
  }
  return hash.toString(16).padStart(16, '0');
}

export const DRIFT_ALERT_NAME = 'SlipwayModelDrift';

/**
 * Watches one served model: samples input (and output) rows into a bounded window on the
 * request path — a PRNG draw and a copy of the sampled row, nothing else — and recomputes
 * the drift statistics on a timer, off the request path.
 */
export class LiveDriftMonitor {
  readonly model: string;
  private readonly baseline: BaselineProfile;
  private readonly rate: number;
  private readonly minRows: number;
  private readonly windowSeconds: number;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly inputs: Window;
  private readonly outputs: Window | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onError: (error: Error) => void;
  private readonly gauges;
  private last: LiveSnapshot;
  private evaluating: Promise<LiveSnapshot> | undefined;
  private driftingSince: number | undefined;
  private episodeAlerted = false;
  private lastAlertAt: number | undefined;
  private shapeWarned = false;
  private closed = false;
  // Ground truth: request id → predicted labels, insertion ordered for eviction.
  private readonly pending = new Map<string, { at: number; labels: string[] }>();
  private readonly outcomes: Uint8Array | undefined;
  private outcomeHead = 0;
  private outcomeCount = 0;
  private correct = 0;

  constructor(private readonly options: LiveDriftOptions) {
    const rate = options.sampleRate ?? 0.2;
    if (!(rate > 0 && rate <= 1)) throw new RangeError(`sampleRate must be in (0, 1], got ${rate}`);
    this.model = options.model;
    this.baseline = options.baseline;
    this.rate = rate;
    this.minRows = options.minRows ?? 100;
    this.windowSeconds = options.windowSeconds ?? 3600;
    this.clock = options.clock ?? Date.now;
    this.random = mulberry32(options.seed ?? 0x5eed);
    this.onError = options.onError ?? ((err) => process.stderr.write(`slipway drift[${this.model}]: ${err.message}\n`));
    const windowRows = options.windowRows ?? 5000;
    this.inputs = new Window(windowRows, this.baseline.featureOrder.length);
    this.outputs = this.baseline.outputs ? new Window(windowRows, this.baseline.outputs.order.length) : undefined;
    if (options.feedback) this.outcomes = new Uint8Array(options.feedback.windowRows ?? 1000);
    const r = options.registry;
    this.gauges = {
      featurePsi: gauge(r, DRIFT_METRICS.featurePsi, 'Population stability index of a model input feature over the live window vs the baseline.', ['model', 'feature']),
      featureKs: gauge(r, DRIFT_METRICS.featureKs, 'Two-sample Kolmogorov-Smirnov statistic of a numeric model input over the live window vs the baseline.', ['model', 'feature']),
      featureJs: gauge(r, DRIFT_METRICS.featureJs, 'Jensen-Shannon distance (base 2) of a model input over the live window vs the baseline.', ['model', 'feature']),
      outputPsi: gauge(r, DRIFT_METRICS.outputPsi, 'Population stability index of a model output over the live window vs the baseline.', ['model', 'output']),
      outputKs: gauge(r, DRIFT_METRICS.outputKs, 'Two-sample Kolmogorov-Smirnov statistic of a numeric model output over the live window vs the baseline.', ['model', 'output']),
      outputJs: gauge(r, DRIFT_METRICS.outputJs, 'Jensen-Shannon distance (base 2) of a model output over the live window vs the baseline.', ['model', 'output']),
      detected: gauge(r, DRIFT_METRICS.detected, '1 when any monitored input or output of the model drifts in the live window.', ['model']),
      accuracy: gauge(r, DRIFT_METRICS.accuracy, 'Share of correct predictions among recent requests with ground-truth feedback.', ['model']),
    };
    this.gauges.detected.set({ model: this.model }, 0);
    this.last = this.emptySnapshot();
    const interval = options.intervalSeconds ?? 30;
    if (interval > 0) {
      this.timer = setInterval(() => void this.evaluate().catch((err: Error) => this.onError(err)), interval * 1000);
      this.timer.unref();
    }
  }

  /** Request path: `data` holds `rows` rows of `cols` values in the baseline's featureOrder. */
  recordRows(data: ArrayLike<number>, rows: number, cols: number): void {
    this.record(this.inputs, data, rows, cols, 'input');
  }

  /**
   * Request path: output rows in the baseline's outputs.order. With a request id and
   * feedback enabled, each row's argmax is kept as the prediction to score later.
   */
  recordOutputs(data: ArrayLike<number>, rows: number, cols: number, requestId?: string): void {
    if (this.outputs) this.record(this.outputs, data, rows, cols, 'output');
    if (requestId !== undefined && this.outcomes) this.recordPredictions(requestId, argmaxLabels(data, rows, cols));
  }

  private record(window: Window, data: ArrayLike<number>, rows: number, cols: number, what: string): void {
    if (this.closed) return;
    if (cols !== window.columns) {
      if (!this.shapeWarned) {
        this.shapeWarned = true;
        this.onError(new Error(`${what} rows have ${cols} columns but the baseline names ${window.columns}; not recording them`));
      }
      return;
    }
    const now = this.clock();
    for (let r = 0; r < rows; r++) if (this.rate >= 1 || this.random() < this.rate) window.push(data, r * cols, now);
  }

  /** Remembers the predicted labels of a request until its feedback arrives (bounded, oldest evicted). */
  recordPredictions(requestId: string, labels: ArrayLike<number | string>): void {
    if (!this.outcomes) return;
    const now = this.clock();
    const maxPending = this.options.feedback?.maxPendingRequests ?? 10_000;
    const ttl = (this.options.feedback?.pendingSeconds ?? 86_400) * 1000;
    this.pending.delete(requestId);
    this.pending.set(requestId, { at: now, labels: Array.from(labels, String) });
    for (const [id, entry] of this.pending) {
      if (this.pending.size <= maxPending && entry.at >= now - ttl) break;
      this.pending.delete(id);
    }
  }

  /** Scores a request's predictions against observed labels; false when the id is unknown or expired. */
  recordFeedback(requestId: string, observed: ArrayLike<number | string> | number | string): boolean {
    if (!this.outcomes) return false;
    const entry = this.pending.get(requestId);
    if (!entry) return false;
    this.pending.delete(requestId);
    const labels = typeof observed === 'number' || typeof observed === 'string' ? [String(observed)] : Array.from(observed, String);
    const n = Math.min(labels.length, entry.labels.length);
    for (let i = 0; i < n; i++) {
      const hit = labels[i] === entry.labels[i] ? 1 : 0;
      if (this.outcomeCount === this.outcomes.length) this.correct -= this.outcomes[this.outcomeHead]!;
      else this.outcomeCount++;
      this.outcomes[this.outcomeHead] = hit;
      this.correct += hit;
      this.outcomeHead = (this.outcomeHead + 1) % this.outcomes.length;
    }
    if (this.outcomeCount > 0) this.gauges.accuracy.set({ model: this.model }, this.correct / this.outcomeCount);
    return true;
  }

  /** The latest evaluated window, in the JSON shape of `slipway drift` plus window details. */
  snapshot(): LiveSnapshot {
    return this.last;
  }

  /** Recomputes now (the timer calls this); concurrent calls share one computation. */
  evaluate(): Promise<LiveSnapshot> {
    this.evaluating ??= this.compute().finally(() => {
      this.evaluating = undefined;
    });
    return this.evaluating;
  }

  private async compute(): Promise<LiveSnapshot> {
    const now = this.clock();
    const cutoff = now - this.windowSeconds * 1000;
    this.inputs.dropOlderThan(cutoff);
    this.outputs?.dropOlderThan(cutoff);
    const features: Record<string, FeatureReport> = {};
    for (const [c, name] of this.baseline.featureOrder.entries()) {
      features[name] = this.compare(this.inputs, c, name, this.baseline.features[name]!, 'features');
      // Yield between features so a large window never holds the event loop for long.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    let outputs: Record<string, FeatureReport> | undefined;
    if (this.outputs && this.baseline.outputs) {
      outputs = {};
      for (const [c, name] of this.baseline.outputs.order.entries()) {
        outputs[name] = this.compare(this.outputs, c, name, this.baseline.outputs.features[name]!, 'outputs');
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    if (this.closed) return this.last;
    const insufficientData = this.inputs.size < this.minRows;
    const all = [...Object.values(features), ...Object.values(outputs ?? {})];
    const drifted = !insufficientData && all.some((f) => f.drifted);
    this.publish(features, outputs);
    this.gauges.detected.set({ model: this.model }, drifted ? 1 : 0);
    if (drifted) this.driftingSince ??= now;
    else {
      this.driftingSince = undefined;
      this.episodeAlerted = false;
    }
    this.last = {
      drifted,
      features,
      ...(outputs ? { outputs } : {}),
      rows: this.inputs.size,
      model: this.model,
      evaluatedAt: new Date(now).toISOString(),
      insufficientData,
      window: this.windowInfo(),
      driftingSince: this.driftingSince === undefined ? null : new Date(this.driftingSince).toISOString(),
      accuracy: this.accuracy(),
    };
    if (drifted) await this.maybeAlert(now, this.last);
    return this.last;
  }

  private compare(window: Window, c: number, name: string, profile: FeatureProfile, section: 'features' | 'outputs'): FeatureReport {
    const thresholds = resolveThresholds(name, section, this.baseline.thresholds, this.options.thresholds);
    const { values, missing } = window.column(c);
    if (profile.type === 'categorical') {
      const current = new CategoricalAccumulator();
      current.missing = missing;
      for (const v of values) current.add(String(v));
      return compareCategorical(profile, current, thresholds);
    }
    values.sort();
    const bins = new Array<number>(profile.bins.edges.length + 1).fill(0);
    for (const v of values) bins[binIndex(profile.bins.edges, v)]!++;
    return numericReport(profile, bins, values.length, missing, values.length > 0 ? distributionOfSorted(values) : undefined, thresholds);
  }

  private publish(features: Record<string, FeatureReport>, outputs: Record<string, FeatureReport> | undefined): void {
    const set = (g: Gauge, labels: Record<string, string>, value: number | null) => {
      if (value === null) g.remove(labels);
      else g.set(labels, value);
    };
    for (const [feature, r] of Object.entries(features)) {
      const labels = { model: this.model, feature };
      set(this.gauges.featurePsi, labels, r.psi);
      set(this.gauges.featureJs, labels, r.jensenShannon);
      if (r.type === 'numeric') set(this.gauges.featureKs, labels, r.ks.statistic);
    }
    for (const [output, r] of Object.entries(outputs ?? {})) {
      const labels = { model: this.model, output };
      set(this.gauges.outputPsi, labels, r.psi);
      set(this.gauges.outputJs, labels, r.jensenShannon);
      if (r.type === 'numeric') set(this.gauges.outputKs, labels, r.ks.statistic);
    }
  }

  private async maybeAlert(now: number, snapshot: LiveSnapshot): Promise<void> {
    const alert = this.options.alert;
    if (!alert || this.episodeAlerted || this.driftingSince === undefined) return;
    if (now - this.driftingSince < (alert.sustainSeconds ?? 900) * 1000) return;
    if (this.lastAlertAt !== undefined && now - this.lastAlertAt < (alert.cooldownSeconds ?? 21_600) * 1000) return;
    const payload = alertPayload(this.model, snapshot, this.driftingSince, alert);
    try {
      const response = await fetch(alert.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(alert.timeoutMs ?? 5000),
      });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      // Only a delivered alert ends the episode's duty; a failed one is retried next interval.
      this.episodeAlerted = true;
      this.lastAlertAt = now;
    } catch (err) {
      this.onError(new Error(`drift webhook ${alert.url} failed: ${(err as Error).message}`, { cause: err }));
    }
  }

  private windowInfo(): LiveSnapshot['window'] {
    return {
      rows: this.inputs.size,
      maxRows: this.inputs.capacity,
      maxSeconds: this.windowSeconds,
      sampleRate: this.rate,
      outputRows: this.outputs?.size ?? 0,
    };
  }

  private accuracy(): LiveSnapshot['accuracy'] {
    if (!this.outcomes) return null;
    return { value: this.outcomeCount > 0 ? this.correct / this.outcomeCount : null, labeled: this.outcomeCount };
  }

  private emptySnapshot(): LiveSnapshot {
    return {
      drifted: false,
      features: {},
      rows: 0,
      model: this.model,
      evaluatedAt: null,
      insufficientData: true,
      window: this.windowInfo(),
      driftingSince: null,
      accuracy: this.accuracy(),
    };
  }

  /** Stops the timer and removes this model's series from the shared gauges. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.evaluating?.catch(() => undefined);
    const g = this.gauges;
    for (const feature of this.baseline.featureOrder) for (const m of [g.featurePsi, g.featureKs, g.featureJs]) m.remove({ model: this.model, feature });
    for (const output of this.baseline.outputs?.order ?? []) for (const m of [g.outputPsi, g.outputKs, g.outputJs]) m.remove({ model: this.model, output });
    g.detected.remove({ model: this.model });
    g.accuracy.remove({ model: this.model });
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

/** Alertmanager webhook payload (version 4), as Alertmanager itself would POST it. */
export function alertPayload(model: string, snapshot: DriftReport, since: number, alert: DriftAlertOptions): Record<string, unknown> {
  const drifted = [
    ...Object.entries(snapshot.features).filter(([, r]) => r.drifted).map(([n]) => n),
    ...Object.entries(snapshot.outputs ?? {}).filter(([, r]) => r.drifted).map(([n]) => `${n} (output)`),
  ];
  const labels = { alertname: DRIFT_ALERT_NAME, model, severity: alert.severity ?? 'warning' };
  const annotations = {
    summary: `Model ${model} has drifted`,
    description: `Drift in ${drifted.join(', ')} has lasted since ${new Date(since).toISOString()} over ${snapshot.rows} sampled rows.`,
    drifted_features: drifted.join(','),
  };
  return {
    version: '4',
    groupKey: `{}:{alertname="${DRIFT_ALERT_NAME}", model="${model}"}`,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: alert.receiver ?? 'slipway-runtime',
    groupLabels: { alertname: DRIFT_ALERT_NAME, model },
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: alert.externalUrl ?? '',
    alerts: [{
      status: 'firing',
      labels,
      annotations,
      startsAt: new Date(since).toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: alert.externalUrl ?? '',
      fingerprint: alertFingerprint(labels),
    }],
  };
}
