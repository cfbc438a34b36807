/**
 * Every default of drift detection, in one place: `slipway drift`, the runtime's live
 * monitor and the DriftMonitor construct's alert rules read them from here, and
 * docs/drift.md explains each. Pure constants: constructs may import this file.
 */

/** Per-feature thresholds (the names match schemas/drift-thresholds.schema.json). */
export const DEFAULT_THRESHOLDS = Object.freeze({
  /** PSI over the reference decile bins at or above this drifts. */
  psi: 0.2,
  /** A KS or chi-square p-value below this is significant … */
  pValue: 0.01,
  /** … and counts when the KS statistic reaches this effect size (numeric), */
  ksStatistic: 0.1,
  /** … or the Jensen–Shannon distance (base 2) reaches this one (categorical; also the large-sample test). */
  jsDistance: 0.1,
  /** Large numeric samples: Wasserstein distance divided by the reference standard deviation at or above this drifts. */
  wasserstein: 0.1,
  /** A missing-value share that grows by at least this much (absolute, 0.1 = 10 points) is a data-quality finding. */
  missingRate: 0.1,
  /**
   * Fewer current values than this give `insufficient data`, not a verdict: under no drift,
   * PSI over 10 bins averages about 9/n, which crosses 0.2 below about 50 values.
   */
  minSampleSize: 100,
  /**
   * From this many current values on, p-values are tiny for any shift, so the verdict uses
   * effect sizes only: Wasserstein (numeric) and Jensen–Shannon (categorical).
   */
  largeSampleSize: 10_000,
});

export type ThresholdName = keyof typeof DEFAULT_THRESHOLDS;

/** Share of checked features that must drift for the dataset verdict to be drift (Evidently's drift share). */
export const DEFAULT_DRIFT_SHARE = 0.5;

/** The runtime's live monitor. */
export const LIVE_DEFAULTS = Object.freeze({
  /** Share of request rows copied into the window. */
  sampleRate: 0.2,
  /** Most rows kept in the window. */
  windowRows: 5000,
  /** Oldest row kept, in seconds. */
  windowSeconds: 3600,
  /** Seconds between evaluations. */
  intervalSeconds: 30,
  /** Window snapshots kept for GET …/drift?history=1 (at 30 s, one hour). */
  historySize: 120,
});

/** The live monitor's webhook and the DriftMonitor construct's `driftFor`. */
export const ALERT_DEFAULTS = Object.freeze({
  /** How long drift must last before the alert fires (the construct renders it as `for: 15m`). */
  sustainSeconds: 900,
  /** Least time between two webhook alerts for one model. */
  cooldownSeconds: 21_600,
  receiver: 'slipway-runtime',
  severity: 'warning',
  timeoutMs: 5000,
});

/** Ground-truth feedback (live performance) and the label-free estimate. */
export const FEEDBACK_DEFAULTS = Object.freeze({
  /** Labelled rows the live metrics are computed over. */
  windowRows: 1000,
  /** Most requests whose predictions wait for feedback. */
  maxPendingRequests: 10_000,
  /** Most prediction rows waiting for feedback, all requests together. */
  maxPendingRows: 100_000,
  /** Recent predictions the label-free estimate (CBPE) covers. */
  estimateRows: 5000,
  /** How long a prediction waits for its feedback, in seconds. */
  pendingSeconds: 86_400,
});
