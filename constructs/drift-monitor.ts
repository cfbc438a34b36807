import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { PrometheusRule, ServiceMonitor, type AlertmanagerConfig } from './imports/prometheus-operator.js';
import { renderAlertmanagerConfig } from './monitoring/alertmanager-config.js';
import { modelDashboard } from './monitoring/dashboard.js';
import { type DriftMonitorProps, type ResolvedMonitorProps, resolveMonitorProps } from './monitoring/props.js';
import { driftRules, performanceRules, servingRules, type RuleGroup } from './monitoring/rules.js';

export type { DriftMonitorProps, DriftThresholds } from './monitoring/props.js';
export type { AlertRule, RuleGroup } from './monitoring/rules.js';

/**
 * Watches a served model: a ServiceMonitor for the runtime's `/metrics`; a PrometheusRule with
 * drift alerts (per-feature thresholds), serving alerts (error ratio, p99 latency, readiness)
 * and performance alerts (live metrics from ground truth against the build's gate metrics); an
 * AlertmanagerConfig that routes the retraining alerts to the training EventListener; and a
 * Grafana dashboard.
 */
export class DriftMonitor extends Construct {
  readonly serviceMonitor: ServiceMonitor;
  readonly rule: PrometheusRule;
  /** Routes SlipwayModelDrift and SlipwayModelPerformance to the retrain webhook, when one is known. */
  readonly alertRoute?: AlertmanagerConfig;
  /** The rule groups, as `promtool check rules` and Prometheus read them. */
  readonly ruleGroups: readonly RuleGroup[];
  /** The props with defaults applied and checked. */
  readonly resolved: ResolvedMonitorProps;

  constructor(scope: Construct, id: string, props: DriftMonitorProps) {
    super(scope, id);
    const r = resolveMonitorProps(this, props);
    this.resolved = r;
    const name = r.serving.name;
    const metadata = { name, labels: r.labels };

    this.serviceMonitor = new ServiceMonitor(this, 'ServiceMonitor', {
      metadata,
      spec: {
        selector: { matchLabels: r.serving.selector },
        endpoints: [{ port: 'metrics', path: '/metrics', interval: r.scrapeInterval, scrapeTimeout: '10s' }],
      },
    });

    const performance = performanceRules(r);
    this.ruleGroups = [
      { name: `${name}.drift`, rules: driftRules(r) },
      { name: `${name}.serving`, rules: servingRules(r) },
      ...(performance.length > 0 ? [{ name: `${name}.performance`, rules: performance }] : []),
    ];
    this.rule = new PrometheusRule(this, 'Resource', {
      metadata,
      spec: { groups: this.ruleGroups.map((g) => ({ name: g.name, rules: g.rules.map((rule) => ({ ...rule })) })) },
    });

    const route = renderAlertmanagerConfig(this, r, name);
    if (route) this.alertRoute = route;

    if (r.dashboard) {
      new k8s.KubeConfigMap(this, 'Dashboard', {
        metadata: {
          name: `${name}-dashboard`,
          labels: { ...r.labels, grafana_dashboard: '1' },
          annotations: { grafana_folder: 'slipway' },
        },
        data: { [`${name}.json`]: JSON.stringify(modelDashboard(r.model, r.namespace), null, 2) },
      });
    }
  }
}
