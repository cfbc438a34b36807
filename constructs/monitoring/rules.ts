import { DRIFT_STATISTICS, type DriftStatistic } from '../../lib/drift/statistics/index.js';
import { CHALLENGER_ROLE, DRIFT_METRICS, LIVE_GATE_METRICS, PERFORMANCE_METRICS, RETRAIN_ALERTS, ROLE_LABEL, RUNTIME_METRICS } from '../../lib/vocabulary/metrics.js';
import type { ResolvedMonitorProps } from './props.js';

/** One alerting rule, in the Prometheus rule file format. */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

/** A rule group, as `promtool check rules` and Prometheus read it. */
export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
}

// A challenger served beside the champion exports the same series; its ServiceMonitor labels them
// slipway_role="challenger", and the model's alerts watch the champion only.
const selectorOf = (r: ResolvedMonitorProps) => `model="${r.model}",namespace="${r.namespace}"${r.challenger ? `,${ROLE_LABEL}!="${CHALLENGER_ROLE}"` : ''}`;
const alertLabels = (r: ResolvedMonitorProps, severity: string) => ({ severity, model: r.model, namespace: r.namespace });

/** Per-feature drift alerts (one rule per statistic of the registry, plus one per overridden feature) and the model's retrain alert. */
export function driftRules(r: ResolvedMonitorProps): AlertRule[] {
  const selector = selectorOf(r);
  const overridden = Object.keys(r.featureThresholds).sort();
  const rules: AlertRule[] = [];
  for (const stat of DRIFT_STATISTICS) {
    const exclude = overridden.length ? `,feature!~"${overridden.map(escapeRegex).join('|')}"` : '';
    rules.push(driftRule(stat, `${selector}${exclude}`, r.thresholds[stat.name], r.driftFor, alertLabels(r, 'warning')));
    for (const feature of overridden) {
      const threshold = r.featureThresholds[feature]![stat.name] ?? r.thresholds[stat.name];
      // The feature label keeps the override rule distinct from the default one.
      rules.push(driftRule(stat, `${selector},feature="${feature}"`, threshold, r.driftFor, { ...alertLabels(r, 'warning'), feature }));
    }
  }
  rules.push({
    alert: RETRAIN_ALERTS.drift,
    expr: `max by (namespace, model) (${DRIFT_METRICS.detected}{${selector}}) == 1`,
    for: r.driftFor,
    labels: { ...alertLabels(r, 'warning'), retrain: 'true', trigger: 'drift' },
    annotations: {
      summary: `Model ${r.model} sees drifted inputs`,
      description: `The runtime of ${r.model} in ${r.namespace} has measured sustained drift against its baseline for ${r.driftFor}; retraining is due.`,
    },
  });
  return rules;
}

function driftRule(stat: DriftStatistic, selector: string, threshold: number, forDuration: string, labels: Record<string, string>): AlertRule {
  return {
    alert: stat.alert,
    expr: `max by (namespace, model, feature) (${stat.featureMetric}{${selector}}) >= ${threshold}`,
    for: forDuration,
    labels,
    annotations: {
      summary: `Feature {{ $labels.feature }} of model {{ $labels.model }} drifted (${stat.title})`,
      description: `${stat.title} of {{ $labels.feature }} is {{ $value | printf "%.3f" }}, at or above ${threshold}, for ${forDuration}.`,
    },
  };
}

/** Error ratio, p99 latency and readiness. */
export function servingRules(r: ResolvedMonitorProps): AlertRule[] {
  const selector = selectorOf(r);
  const { model, namespace } = r;
  const requests = `${RUNTIME_METRICS.requests}{${selector}}`;
  return [
    {
      alert: 'SlipwayHighErrorRatio',
      expr:
        `sum by (namespace, model) (rate(${RUNTIME_METRICS.requests}{${selector},status=~"5.."}[5m]))` +
        ` / sum by (namespace, model) (rate(${requests}[5m])) > ${r.errorRatioThreshold}`,
      for: r.servingAlertFor,
      labels: alertLabels(r, 'critical'),
      annotations: {
        summary: `Model ${model} fails more than ${r.errorRatioThreshold * 100}% of requests`,
        description: `{{ $value | humanizePercentage }} of inference requests to ${model} in ${namespace} end in a server error.`,
      },
    },
    {
      alert: 'SlipwayHighLatencyP99',
      expr:
        `histogram_quantile(0.99, sum by (namespace, model, le) (rate(${RUNTIME_METRICS.requestDuration}_bucket{${selector}}[5m])))` +
        ` > ${r.latencyP99Seconds}`,
      for: r.servingAlertFor,
      labels: alertLabels(r, 'warning'),
      annotations: {
        summary: `Model ${model} p99 latency above ${r.latencyP99Seconds}s`,
        description: `p99 latency of ${model} in ${namespace} is {{ $value | humanizeDuration }}.`,
      },
    },
    {
      alert: 'SlipwayModelNotReady',
      expr: `min by (namespace, model) (${RUNTIME_METRICS.modelReady}{${selector}}) == 0`,
      for: r.servingAlertFor,
      labels: alertLabels(r, 'critical'),
      annotations: {
        summary: `Model ${model} is not ready`,
        description: `The runtime in ${namespace} could not load ${model}; see the runtime's log for the reason.`,
      },
    },
  ];
}

/** Round to 6 decimals so 0.93 - 0.05 renders as 0.88, not 0.8800000000000001. */
const tidy = (n: number) => Math.round(n * 1e6) / 1e6;

/**
 * One alert per gate metric the runtime measures live: the live value, over at least
 * `minFeedbackSamples` labelled rows, against the build's own value minus the tolerance.
 */
export function performanceRules(r: ResolvedMonitorProps): AlertRule[] {
  const selector = selectorOf(r);
  const by = 'namespace, model, version';
  const rules: AlertRule[] = [];
  for (const [key, built] of Object.entries(r.gateMetrics).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const live = LIVE_GATE_METRICS.find((m) => m.keys.includes(key));
    if (!live) continue;
    const bound = live.higherIsBetter ? tidy(built - r.performanceTolerance) : tidy(built * (1 + r.performanceTolerance));
    const op = live.higherIsBetter ? '<' : '>';
    rules.push({
      alert: RETRAIN_ALERTS.performance,
      expr:
        `max by (${by}) (${live.gauge}{${selector}}) ${op} ${bound}` +
        ` and on (${by}) max by (${by}) (${PERFORMANCE_METRICS.feedbackSamples}{${selector}}) >= ${r.minFeedbackSamples}`,
      for: r.performanceFor,
      labels: { ...alertLabels(r, 'warning'), metric: key, retrain: 'true', trigger: 'performance' },
      annotations: {
        summary: `Model ${r.model} performs below its build's ${key}`,
        description:
          `Live ${key} of ${r.model} {{ $labels.version }} in ${r.namespace} is {{ $value | printf "%.4f" }} from ground-truth feedback; ` +
          `the build was gated at ${built} (alert ${op} ${bound}, tolerance ${r.performanceTolerance}) for ${r.performanceFor}; retraining is due.`,
        gate_value: String(built),
      },
    });
  }
  return rules;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&');
}
