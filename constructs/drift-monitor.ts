import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { SIMPLE_DURATION } from '../lib/vocabulary/durations.js';
import { DRIFT_METRICS, RUNTIME_METRICS } from '../lib/vocabulary/metrics.js';
import { PrometheusRule, ServiceMonitor } from './imports/prometheus-operator.js';
import type { ModelServing } from './model-serving.js';
import { ALERT_DEFAULTS, DEFAULT_THRESHOLDS } from '../lib/drift/defaults.js';
import { PropValidator } from './private/validation.js';

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
   * Labels on the ServiceMonitor and PrometheusRule, for Prometheus' selectors (e.g.
   * `release: kube-prometheus-stack`).
   * @default - none
   */
  readonly selectorLabels?: Readonly<Record<string, string>>;
  /**
   * Emit a Grafana dashboard as a ConfigMap for the Grafana sidecar.
   * @default true
   */
  readonly dashboard?: boolean;
}

const FEATURE_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;

interface ResolvedThresholds {
  readonly psi: number;
  readonly ksStatistic: number;
  readonly jsDistance: number;
}

const DRIFT_STATISTICS = [
  { key: 'psi', metric: DRIFT_METRICS.featurePsi, alert: 'SlipwayFeatureDriftPsi', title: 'PSI' },
  { key: 'ksStatistic', metric: DRIFT_METRICS.featureKs, alert: 'SlipwayFeatureDriftKs', title: 'KS statistic' },
  { key: 'jsDistance', metric: DRIFT_METRICS.featureJs, alert: 'SlipwayFeatureDriftJs', title: 'Jensen–Shannon distance' },
] as const;

/** One alerting rule, in the Prometheus rule file format. */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

/**
 * Watches a served model: a ServiceMonitor for the runtime's `/metrics`, a PrometheusRule
 * with drift alerts (per-feature thresholds) and serving alerts (error ratio, p99 latency,
 * readiness), and a Grafana dashboard.
 */
export class DriftMonitor extends Construct {
  readonly serviceMonitor: ServiceMonitor;
  readonly rule: PrometheusRule;
  /** The rule groups, as `promtool check rules` and Prometheus read them. */
  readonly ruleGroups: ReadonlyArray<{ readonly name: string; readonly rules: readonly AlertRule[] }>;

  constructor(scope: Construct, id: string, props: DriftMonitorProps) {
    super(scope, id);
    const serving = props.serving;
    const model = serving.model.name;
    const namespace = Chart.of(this).namespace ?? 'default';
    const defaults: ResolvedThresholds = {
      psi: props.thresholds?.psi ?? DEFAULT_THRESHOLDS.psi,
      ksStatistic: props.thresholds?.ksStatistic ?? DEFAULT_THRESHOLDS.ksStatistic,
      jsDistance: props.thresholds?.jsDistance ?? DEFAULT_THRESHOLDS.jsDistance,
    };
    const featureThresholds = props.featureThresholds ?? {};
    // The runtime's webhook waits as long (ALERT_DEFAULTS.sustainSeconds), so both alert paths agree.
    const driftFor = props.driftFor ?? `${ALERT_DEFAULTS.sustainSeconds / 60}m`;
    const servingFor = props.servingAlertFor ?? '5m';
    const errorRatio = props.errorRatioThreshold ?? 0.05;
    const latency = props.latencyP99Seconds ?? 0.5;
    const scrapeInterval = props.scrapeInterval ?? '30s';

    const v = new PropValidator(this, 'DriftMonitor');
    checkThresholds(v, 'thresholds', defaults);
    for (const [feature, t] of Object.entries(featureThresholds)) {
      v.check(FEATURE_NAME.test(feature), `featureThresholds.${feature}`, `expected a feature name (letters, digits, '_', '.', ':', '-'), got ${JSON.stringify(feature)}`);
      checkThresholds(v, `featureThresholds.${feature}`, t);
    }
    for (const [field, value] of [['driftFor', driftFor], ['servingAlertFor', servingFor], ['scrapeInterval', scrapeInterval]] as const) {
      v.check(SIMPLE_DURATION.test(value), field, `expected a duration such as "30s", "15m" or "1h", got ${JSON.stringify(value)}`);
    }
    v.check(errorRatio > 0 && errorRatio <= 1, 'errorRatioThreshold', `expected a ratio in (0, 1], got ${errorRatio}`);
    v.check(latency > 0, 'latencyP99Seconds', `expected seconds > 0, got ${latency}`);
    v.throwIfInvalid();

    const labels = { ...serving.labels, 'app.kubernetes.io/component': 'monitoring', ...props.selectorLabels };
    const selector = `model="${model}",namespace="${namespace}"`;
    const alertLabels = (severity: string) => ({ severity, model, namespace });

    this.serviceMonitor = new ServiceMonitor(this, 'ServiceMonitor', {
      metadata: { name: serving.name, labels },
      spec: {
        selector: { matchLabels: serving.selector },
        endpoints: [{ port: 'metrics', path: '/metrics', interval: scrapeInterval, scrapeTimeout: '10s' }],
      },
    });

    const overridden = Object.keys(featureThresholds).sort();
    const driftRules: AlertRule[] = [];
    for (const stat of DRIFT_STATISTICS) {
      const exclude = overridden.length ? `,feature!~"${overridden.map(escapeRegex).join('|')}"` : '';
      driftRules.push(driftRule(stat, `${selector}${exclude}`, defaults[stat.key], driftFor, alertLabels('warning')));
      for (const feature of overridden) {
        const threshold = featureThresholds[feature]![stat.key] ?? defaults[stat.key];
        // The feature label keeps the override rule distinct from the default one.
        driftRules.push(driftRule(stat, `${selector},feature="${feature}"`, threshold, driftFor, { ...alertLabels('warning'), feature }));
      }
    }
    driftRules.push({
      alert: 'SlipwayModelDrift',
      expr: `max by (namespace, model) (${DRIFT_METRICS.detected}{${selector}}) == 1`,
      for: driftFor,
      labels: { ...alertLabels('warning'), retrain: 'true' },
      annotations: {
        summary: `Model ${model} sees drifted inputs`,
        description: `The runtime of ${model} in ${namespace} has measured sustained drift against its baseline for ${driftFor}; retraining is due.`,
      },
    });

    const requests = `${RUNTIME_METRICS.requests}{${selector}}`;
    const servingRules: AlertRule[] = [
      {
        alert: 'SlipwayHighErrorRatio',
        expr:
          `sum by (namespace, model) (rate(${RUNTIME_METRICS.requests}{${selector},status=~"5.."}[5m]))` +
          ` / sum by (namespace, model) (rate(${requests}[5m])) > ${errorRatio}`,
        for: servingFor,
        labels: alertLabels('critical'),
        annotations: {
          summary: `Model ${model} fails more than ${errorRatio * 100}% of requests`,
          description: `{{ $value | humanizePercentage }} of inference requests to ${model} in ${namespace} end in a server error.`,
        },
      },
      {
        alert: 'SlipwayHighLatencyP99',
        expr:
          `histogram_quantile(0.99, sum by (namespace, model, le) (rate(${RUNTIME_METRICS.requestDuration}_bucket{${selector}}[5m])))` +
          ` > ${latency}`,
        for: servingFor,
        labels: alertLabels('warning'),
        annotations: {
          summary: `Model ${model} p99 latency above ${latency}s`,
          description: `p99 latency of ${model} in ${namespace} is {{ $value | humanizeDuration }}.`,
        },
      },
      {
        alert: 'SlipwayModelNotReady',
        expr: `min by (namespace, model) (${RUNTIME_METRICS.modelReady}{${selector}}) == 0`,
        for: servingFor,
        labels: alertLabels('critical'),
        annotations: {
          summary: `Model ${model} is not ready`,
          description: `The runtime in ${namespace} could not load ${model}; see the runtime's log for the reason.`,
        },
      },
    ];

    this.ruleGroups = [
      { name: `${serving.name}.drift`, rules: driftRules },
      { name: `${serving.name}.serving`, rules: servingRules },
    ];
    this.rule = new PrometheusRule(this, 'Resource', {
      metadata: { name: serving.name, labels },
      spec: { groups: this.ruleGroups.map((g) => ({ name: g.name, rules: g.rules.map((r) => ({ ...r })) })) },
    });

    if (props.dashboard ?? true) {
      new k8s.KubeConfigMap(this, 'Dashboard', {
        metadata: {
          name: `${serving.name}-dashboard`,
          labels: { ...labels, grafana_dashboard: '1' },
          annotations: { grafana_folder: 'slipway' },
        },
        data: { [`${serving.name}.json`]: JSON.stringify(dashboard(model, namespace), null, 2) },
      });
    }
  }
}

function driftRule(
  stat: (typeof DRIFT_STATISTICS)[number],
  selector: string,
  threshold: number,
  forDuration: string,
  labels: Record<string, string>,
): AlertRule {
  return {
    alert: stat.alert,
    expr: `max by (namespace, model, feature) (${stat.metric}{${selector}}) >= ${threshold}`,
    for: forDuration,
    labels,
    annotations: {
      summary: `Feature {{ $labels.feature }} of model {{ $labels.model }} drifted (${stat.title})`,
      description: `${stat.title} of {{ $labels.feature }} is {{ $value | printf "%.3f" }}, at or above ${threshold}, for ${forDuration}.`,
    },
  };
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

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&');
}

function dashboard(model: string, namespace: string): Record<string, unknown> {
  const selector = `model="${model}",namespace="${namespace}"`;
  const panel = (id: number, title: string, expr: string, legend: string, unit: string, x: number, y: number) => ({
    id,
    type: 'timeseries',
    title,
    datasource: { type: 'prometheus', uid: '${datasource}' },
    gridPos: { h: 8, w: 12, x, y },
    fieldConfig: { defaults: { unit }, overrides: [] },
    targets: [{ refId: 'A', expr, legendFormat: legend }],
  });
  return {
    uid: `slipway-${namespace}-${model}`.slice(0, 40),
    title: `slipway / ${namespace} / ${model}`,
    tags: ['slipway', 'ml'],
    schemaVersion: 39,
    editable: false,
    time: { from: 'now-6h', to: 'now' },
    templating: {
      list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Data source' }],
    },
    panels: [
      panel(1, 'Requests per second by status', `sum by (status) (rate(${RUNTIME_METRICS.requests}{${selector}}[5m]))`, '{{status}}', 'reqps', 0, 0),
      panel(2, 'Latency p50 / p99', `histogram_quantile(0.99, sum by (le) (rate(${RUNTIME_METRICS.requestDuration}_bucket{${selector}}[5m])))`, 'p99', 's', 12, 0),
      panel(3, 'In-flight requests', `sum(${RUNTIME_METRICS.inFlight}{${selector}})`, 'in flight', 'short', 0, 8),
      panel(4, 'Mean batch size', `sum(rate(${RUNTIME_METRICS.batchSize}_sum{${selector}}[5m])) / sum(rate(${RUNTIME_METRICS.batchSize}_count{${selector}}[5m]))`, 'batch', 'short', 12, 8),
      panel(5, 'Feature drift: PSI', `max by (feature) (${DRIFT_METRICS.featurePsi}{${selector}})`, '{{feature}}', 'short', 0, 16),
      panel(6, 'Feature drift: KS statistic', `max by (feature) (${DRIFT_METRICS.featureKs}{${selector}})`, '{{feature}}', 'short', 12, 16),
      panel(7, 'Feature drift: Jensen–Shannon distance', `max by (feature) (${DRIFT_METRICS.featureJs}{${selector}})`, '{{feature}}', 'short', 0, 24),
      panel(8, 'Drift detected', `max(${DRIFT_METRICS.detected}{${selector}})`, 'drift', 'bool', 12, 24),
    ],
  };
}
