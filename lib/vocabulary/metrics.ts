/**
 * Names of the runtime's Prometheus metrics. The runtime registers them under these names and
 * every PromQL query slipway renders (alerts, dashboards, KEDA, canary analysis) takes them from
 * here, so renaming one cannot leave an alert silently querying nothing.
 */
export const RUNTIME_METRICS = {
  requests: 'slipway_inference_requests_total',
  requestDuration: 'slipway_inference_request_duration_seconds',
  queueDuration: 'slipway_inference_queue_duration_seconds',
  computeDuration: 'slipway_inference_compute_duration_seconds',
  batchSize: 'slipway_inference_batch_size',
  inFlight: 'slipway_inference_in_flight_requests',
  modelReady: 'slipway_model_ready',
  executionProvider: 'slipway_execution_provider_info',
} as const;

/** Live drift, data-quality and feedback gauges the drift module registers in the runtime's registry. */
export const DRIFT_METRICS = {
  featurePsi: 'slipway_feature_drift_psi',
  featureKs: 'slipway_feature_drift_ks_statistic',
  featureJs: 'slipway_feature_drift_js_distance',
  featureMissingRate: 'slipway_feature_missing_rate',
  outputPsi: 'slipway_output_drift_psi',
  outputKs: 'slipway_output_drift_ks_statistic',
  outputJs: 'slipway_output_drift_js_distance',
  detected: 'slipway_model_drift_detected',
  driftShare: 'slipway_model_drift_share',
  qualityFindings: 'slipway_model_data_quality_findings',
  accuracy: 'slipway_model_accuracy',
} as const;

/**
 * Live model quality the runtime measures per model and version: from ground-truth feedback
 * joined with the predictions it answers, and estimated without labels (CBPE) from calibrated
 * probabilities. docs/monitoring.md describes each.
 */
export const PERFORMANCE_METRICS = {
  accuracy: DRIFT_METRICS.accuracy,
  precision: 'slipway_model_precision',
  recall: 'slipway_model_recall',
  rocAuc: 'slipway_model_roc_auc',
  mae: 'slipway_model_mae',
  rmse: 'slipway_model_rmse',
  /** Labelled rows the windowed metrics cover. */
  feedbackSamples: 'slipway_model_feedback_samples',
  /** Requests whose predictions still wait for their labels. */
  feedbackPending: 'slipway_model_feedback_pending_requests',
  estimatedAccuracy: 'slipway_model_estimated_accuracy',
  estimatedAccuracyStddev: 'slipway_model_estimated_accuracy_stddev',
  estimatedPrecision: 'slipway_model_estimated_precision',
  estimatedRecall: 'slipway_model_estimated_recall',
  /** Predictions the label-free estimate covers. */
  estimatedSamples: 'slipway_model_estimated_samples',
} as const;

/**
 * Gate metrics (keys of the build's `metrics.json`) that the runtime measures live, with the
 * gauge that measures each and which way is better. The DriftMonitor's performance alert
 * compares each gauge with the build's own value.
 */
export const LIVE_GATE_METRICS: ReadonlyArray<{ readonly keys: readonly string[]; readonly gauge: string; readonly higherIsBetter: boolean }> = [
  { keys: ['accuracy'], gauge: PERFORMANCE_METRICS.accuracy, higherIsBetter: true },
  { keys: ['precision'], gauge: PERFORMANCE_METRICS.precision, higherIsBetter: true },
  { keys: ['recall'], gauge: PERFORMANCE_METRICS.recall, higherIsBetter: true },
  { keys: ['auc', 'roc_auc'], gauge: PERFORMANCE_METRICS.rocAuc, higherIsBetter: true },
  { keys: ['mae'], gauge: PERFORMANCE_METRICS.mae, higherIsBetter: false },
  { keys: ['rmse'], gauge: PERFORMANCE_METRICS.rmse, higherIsBetter: false },
];

/** Alerts that start a retrain, by name, with the `trigger` the retrain records. */
export const RETRAIN_ALERTS = {
  drift: 'SlipwayModelDrift',
  performance: 'SlipwayModelPerformance',
} as const;

/**
 * Target label the challenger's ServiceMonitor adds to everything scraped from it: the
 * model's alert rules watch the champion only (`slipway_role!="challenger"`).
 */
export const ROLE_LABEL = 'slipway_role';
export const CHALLENGER_ROLE = 'challenger';
