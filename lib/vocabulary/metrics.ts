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
