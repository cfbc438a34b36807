import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { ALERT_DEFAULTS } from '../../lib/drift/defaults.js';
import { DRIFT_STATISTICS } from '../../lib/drift/statistics/index.js';
import { SIMPLE_DURATION } from '../../lib/vocabulary/durations.js';
import { GATE_METRIC } from '../../lib/vocabulary/gates.js';
import type { ModelServing } from '../model-serving.js';
import { PropValidator } from '../private/validation.js';

/** Thresholds above which a feature counts as drifted. Unset fields keep their defaults. */
export interface DriftThresholds {
  /**
   * Population stability index over the reference decile bins.
   * @default 0.2
   */
  readonly psi?: number;
  /**
   * Two-sample Kolmogorov–Smirnov statistic (numeric features).
   * @default 0.1
   */
  readonly ksStatistic?: number;
  /**
   * Jensen–Shannon distance, base 2.
   * @default 0.1
   */
  readonly jsDistance?: number;
}

export interface DriftMonitorProps {
  /** The serving whose runtime metrics are watched. */
  readonly serving: ModelServing;
  /**
   * Thresholds for every feature without its own entry in `featureThresholds`.
   * @default - psi 0.2, ksStatistic 0.1, jsDistance 0.1
   */
  readonly thresholds?: DriftThresholds;
  /**
   * Thresholds for single features, by feature name, merged over `thresholds`.
   * @default - none
   */
  readonly featureThresholds?: Readonly<Record<string, DriftThresholds>>;
  /**
   * How long drift must last before its alert fires: one noisy window starts no retraining.
   * @default '15m'
   */
  readonly driftFor?: string;
  /**
   * Highest ratio of 5xx responses before the error alert fires.
   * @default 0.05
   */
  readonly errorRatioThreshold?: number;
  /**
   * Highest p99 request latency in seconds before the latency alert fires.
   * @default 0.5
   */
  readonly latencyP99Seconds?: number;
  /**
   * How long serving alerts' conditions must last before they fire.
   * @default '5m'
   */
  readonly servingAlertFor?: string;
  /**
   * How often Prometheus scrapes the runtime.
   * @default '30s'
   */
  readonly scrapeInterval?: string;
  /**
   * Labels on the ServiceMonitor, PrometheusRule and AlertmanagerConfig, for the selectors of
   * Prometheus and Alertmanager (e.g. `release: kube-prometheus-stack`).
   * @default - none
   */
  readonly selectorLabels?: Readonly<Record<string, string>>;
  /**
   * Emit a Grafana dashboard as a ConfigMap for the Grafana sidecar.
   * @default true
   */
  readonly dashboard?: boolean;
  /**
   * Where Alertmanager sends the alerts that retrain this model (SlipwayModelDrift,
   * SlipwayModelPerformance): the EventListener of `PipelineTriggers`. Rendered as a
   * prometheus-operator AlertmanagerConfig.
   * @default - the serving's `driftWebhookUrl`; no AlertmanagerConfig without one
   */
  readonly alertWebhookUrl?: string;
  /**
   * The metrics the build was gated on (`metrics.json` of the training run), e.g.
   * `{ auc: 0.93 }`. Live metrics the runtime measures from feedback (accuracy, precision,
   * recall, auc/roc_auc, mae, rmse) alert when they fall below these minus `performanceTolerance`.
   * @default - the release record's `metrics` (ModelDeployment); no performance alert without them
   */
  readonly gateMetrics?: Readonly<Record<string, number>>;
  /**
   * How far a live metric may fall below the build's value (absolute for scores in [0, 1];
   * for MAE/RMSE a share of the build's value) before the performance alert fires.
   * @default 0.05
   */
  readonly performanceTolerance?: number;
  /**
   * Fewest labelled rows in the live window before the performance alert may fire.
   * @default 200
   */
  readonly minFeedbackSamples?: number;
  /**
   * How long live performance must stay below the gate before its alert fires.
   * @default '15m'
   */
  readonly performanceFor?: string;
}

/** {@link DriftMonitorProps} with every default applied and every rule checked; frozen. */
export interface ResolvedMonitorProps {
  readonly serving: ModelServing;
  readonly model: string;
  readonly namespace: string;
  readonly thresholds: Required<DriftThresholds>;
  readonly featureThresholds: Readonly<Record<string, DriftThresholds>>;
  readonly driftFor: string;
  readonly errorRatioThreshold: number;
  readonly latencyP99Seconds: number;
  readonly servingAlertFor: string;
  readonly scrapeInterval: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly dashboard: boolean;
  readonly alertWebhookUrl?: string;
  readonly gateMetrics: Readonly<Record<string, number>>;
  readonly performanceTolerance: number;
  readonly minFeedbackSamples: number;
  readonly performanceFor: string;
  /** The serving mirrors to a challenger: the rules must leave the challenger's series out. */
  readonly challenger: boolean;
}

const FEATURE_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;

/** Applies defaults and checks every prop, reporting all problems at once. */
export function resolveMonitorProps(scope: Construct, props: DriftMonitorProps): ResolvedMonitorProps {
  const serving = props.serving;
  // Every statistic of the registry, at the given threshold or its default.
  const thresholds = Object.fromEntries(DRIFT_STATISTICS.map((s) => [s.name, props.thresholds?.[s.name] ?? s.defaultThreshold])) as Required<DriftThresholds>;
  const alertWebhookUrl = props.alertWebhookUrl ?? serving.resolved.driftWebhookUrl;
  const resolved: ResolvedMonitorProps = {
    serving,
    model: serving.model.name,
    namespace: Chart.of(scope).namespace ?? 'default',
    thresholds,
    featureThresholds: props.featureThresholds ?? {},
    // The runtime's webhook waits as long (ALERT_DEFAULTS.sustainSeconds), so both alert paths agree.
    driftFor: props.driftFor ?? `${ALERT_DEFAULTS.sustainSeconds / 60}m`,
    errorRatioThreshold: props.errorRatioThreshold ?? 0.05,
    latencyP99Seconds: props.latencyP99Seconds ?? 0.5,
    servingAlertFor: props.servingAlertFor ?? '5m',
    scrapeInterval: props.scrapeInterval ?? '30s',
    labels: { ...serving.labels, 'app.kubernetes.io/component': 'monitoring', ...props.selectorLabels },
    dashboard: props.dashboard ?? true,
    ...(alertWebhookUrl !== undefined ? { alertWebhookUrl } : {}),
    gateMetrics: props.gateMetrics ?? {},
    performanceTolerance: props.performanceTolerance ?? 0.05,
    minFeedbackSamples: props.minFeedbackSamples ?? 200,
    performanceFor: props.performanceFor ?? '15m',
    challenger: serving.resolved.mirrorUrl !== undefined,
  };

  const v = new PropValidator(scope, 'DriftMonitor');
  checkThresholds(v, 'thresholds', resolved.thresholds);
  for (const [feature, t] of Object.entries(resolved.featureThresholds)) {
    v.check(FEATURE_NAME.test(feature), `featureThresholds.${feature}`, `expected a feature name (letters, digits, '_', '.', ':', '-'), got ${JSON.stringify(feature)}`);
    checkThresholds(v, `featureThresholds.${feature}`, t);
  }
  for (const field of ['driftFor', 'servingAlertFor', 'scrapeInterval', 'performanceFor'] as const) {
    const value = resolved[field];
    v.check(SIMPLE_DURATION.test(value), field, `expected a duration such as "30s", "15m" or "1h", got ${JSON.stringify(value)}`);
  }
  v.check(resolved.errorRatioThreshold > 0 && resolved.errorRatioThreshold <= 1, 'errorRatioThreshold', `expected a ratio in (0, 1], got ${resolved.errorRatioThreshold}`);
  v.check(resolved.latencyP99Seconds > 0, 'latencyP99Seconds', `expected seconds > 0, got ${resolved.latencyP99Seconds}`);
  if (resolved.alertWebhookUrl !== undefined) {
    v.check(/^https?:\/\/\S+$/.test(resolved.alertWebhookUrl), 'alertWebhookUrl', `expected an http(s) URL, got ${JSON.stringify(resolved.alertWebhookUrl)}`);
  }
  for (const [metric, value] of Object.entries(resolved.gateMetrics)) {
    v.check(GATE_METRIC.test(metric), `gateMetrics.${metric}`, `expected a metrics.json key (letters, digits, '_', '.', '-'), got ${JSON.stringify(metric)}`);
    v.check(Number.isFinite(value), `gateMetrics.${metric}`, `expected a finite number, got ${JSON.stringify(value)}`);
  }
  v.check(resolved.performanceTolerance >= 0 && resolved.performanceTolerance < 1, 'performanceTolerance', `expected a number in [0, 1), got ${resolved.performanceTolerance}`);
  v.check(Number.isInteger(resolved.minFeedbackSamples) && resolved.minFeedbackSamples >= 1, 'minFeedbackSamples', `expected a whole number >= 1, got ${resolved.minFeedbackSamples}`);
  v.throwIfInvalid();
  return Object.freeze(resolved);
}

function checkThresholds(v: PropValidator, field: string, t: DriftThresholds): void {
  if (t.psi !== undefined) v.check(t.psi > 0, `${field}.psi`, `expected a number > 0, got ${t.psi}`);
  if (t.ksStatistic !== undefined) {
    v.check(t.ksStatistic > 0 && t.ksStatistic <= 1, `${field}.ksStatistic`, `expected a number in (0, 1], got ${t.ksStatistic}`);
  }
  if (t.jsDistance !== undefined) {
    v.check(t.jsDistance > 0 && t.jsDistance <= 1, `${field}.jsDistance`, `expected a number in (0, 1], got ${t.jsDistance}`);
  }
}
