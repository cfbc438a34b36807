import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { Environment } from './environment.js';
import { k8s } from 'cdk8s-plus-28';
import { PropValidator, dnsLabelProblem, isDns1123Label } from './private/validation.js';
import { DRIFT_METRICS, PERFORMANCE_METRICS, RUNTIME_METRICS } from '../lib/vocabulary/metrics.js';

export interface PlatformDashboardProps {
  /**
   * Name of the ConfigMap and the dashboard's uid.
   * @default - `<platform>-platform-dashboard`
   */
  readonly name?: string;
  /**
   * Namespace of the ConfigMap: where Grafana's dashboard sidecar looks.
   * @default - the environment's monitoring namespace
   */
  readonly namespace?: string;
  /**
   * Environments whose models the dashboard shows.
   * @default - every environment of the platform
   */
  readonly environments?: readonly string[];
  /**
   * Grafana folder (`grafana_folder` annotation).
   * @default 'slipway'
   */
  readonly folder?: string;
}

interface Resolved {
  readonly name: string;
  readonly namespace: string;
  readonly namespaces: readonly string[];
  readonly folder: string;
  readonly platform: string;
}

/**
 * One Grafana dashboard for the whole platform, beside the per-model ones of DriftMonitor:
 * which version of each model serves where, error ratio, p99 latency, drift state and
 * accuracy per model, and the delivery KPIs `slipway kpis --format openmetrics` exports (rework rate included).
 * An application of its own (a Chart) in the environment that runs Grafana.
 */
export class PlatformDashboard extends Chart {
  readonly dashboardName: string;
  readonly configMap: k8s.KubeConfigMap;

  constructor(scope: Construct, id: string, props: PlatformDashboardProps = {}) {
    const environment = Environment.of(scope);
    const resolved = resolve(environment, props);
    super(scope, id, { namespace: resolved.namespace, disableResourceNameHashes: true });
    const v = new PropValidator(this, 'PlatformDashboard');
    v.check(isDns1123Label(resolved.name), 'name', dnsLabelProblem(resolved.name));
    v.check(isDns1123Label(resolved.namespace), 'namespace', dnsLabelProblem(resolved.namespace));
    const known = environment.platform.node.findAll().filter((c): c is Environment => c instanceof Environment).map((e) => e.name);
    for (const name of props.environments ?? []) {
      v.check(known.includes(name), 'environments', `unknown environment ${JSON.stringify(name)}; the platform has ${known.map((e) => JSON.stringify(e)).join(', ')}`);
    }
    v.throwIfInvalid();
    this.dashboardName = resolved.name;
    this.configMap = new k8s.KubeConfigMap(this, 'Resource', {
      metadata: {
        name: resolved.name,
        labels: {
          'app.kubernetes.io/name': resolved.name,
          'app.kubernetes.io/instance': `${resolved.name}-${environment.name}`,
          'app.kubernetes.io/version': 'dashboard-1',
          'app.kubernetes.io/component': 'monitoring',
          'app.kubernetes.io/part-of': resolved.platform,
          'app.kubernetes.io/managed-by': 'slipway',
          grafana_dashboard: '1',
        },
        annotations: { grafana_folder: resolved.folder },
      },
      data: { [`${resolved.name}.json`]: JSON.stringify(platformDashboard(resolved), null, 2) },
    });
  }
}

function resolve(environment: Environment, props: PlatformDashboardProps): Resolved {
  const platform = environment.platform;
  const environments = platform.node.findAll().filter((c): c is Environment => c instanceof Environment);
  const shown = props.environments ? environments.filter((e) => props.environments!.includes(e.name)) : environments;
  return Object.freeze({
    name: props.name ?? `${platform.name}-platform-dashboard`,
    namespace: props.namespace ?? environment.monitoringNamespace,
    namespaces: [...new Set(shown.map((e) => e.namespace))].sort(),
    folder: props.folder ?? 'slipway',
    platform: platform.name,
  });
}

function platformDashboard(r: Resolved): Record<string, unknown> {
  const ns = `namespace=~"${r.namespaces.join('|')}"`;
  const ds = { type: 'prometheus', uid: '${datasource}' };
  const panel = (id: number, type: string, title: string, targets: Array<{ expr: string; legend: string }>, unit: string, gridPos: { x: number; y: number; w: number; h: number }, extra: Record<string, unknown> = {}) => ({
    id,
    type,
    title,
    datasource: ds,
    gridPos,
    fieldConfig: { defaults: { unit }, overrides: [] },
    targets: targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), expr: t.expr, legendFormat: t.legend })),
    ...extra,
  });
  return {
    uid: r.name.slice(0, 40),
    title: `slipway / ${r.platform} / platform`,
    tags: ['slipway', 'ml', 'platform'],
    schemaVersion: 39,
    editable: false,
    time: { from: 'now-24h', to: 'now' },
    templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Data source' }] },
    panels: [
      panel(1, 'table', 'Serving versions (ready replicas by model and version)', [{ expr: `sum by (namespace, model, version) (${RUNTIME_METRICS.modelReady}{${ns}})`, legend: '{{namespace}} {{model}} {{version}}' }], 'short', { x: 0, y: 0, w: 12, h: 8 }, {
        options: { showHeader: true },
        transformations: [{ id: 'reduce', options: { reducers: ['lastNotNull'] } }],
      }),
      panel(2, 'timeseries', 'Error ratio by model (5xx / all)', [{
        expr: `sum by (namespace, model) (rate(${RUNTIME_METRICS.requests}{${ns},status=~"5.."}[5m])) / sum by (namespace, model) (rate(${RUNTIME_METRICS.requests}{${ns}}[5m]))`,
        legend: '{{namespace}} {{model}}',
      }], 'percentunit', { x: 12, y: 0, w: 12, h: 8 }),
      panel(3, 'timeseries', 'Latency p99 by model', [{
        expr: `histogram_quantile(0.99, sum by (namespace, model, le) (rate(${RUNTIME_METRICS.requestDuration}_bucket{${ns}}[5m])))`,
        legend: '{{namespace}} {{model}}',
      }], 's', { x: 0, y: 8, w: 12, h: 8 }),
      panel(4, 'state-timeline', 'Drift state by model', [{ expr: `max by (namespace, model) (${DRIFT_METRICS.detected}{${ns}})`, legend: '{{namespace}} {{model}}' }], 'bool', { x: 12, y: 8, w: 12, h: 8 }),
      panel(5, 'timeseries', 'Accuracy by model (from feedback)', [{ expr: `max by (namespace, model, version) (${DRIFT_METRICS.accuracy}{${ns}})`, legend: '{{namespace}} {{model}} {{version}}' }], 'percentunit', { x: 0, y: 16, w: 12, h: 8 }),
      panel(6, 'table', 'Delivery KPIs (slipway kpis --format openmetrics)', [
        { expr: 'max by (environment, model) (slipway_kpi_deployments_per_week)', legend: 'deployments/week' },
        { expr: 'max by (environment, model) (slipway_kpi_lead_time_median_seconds)', legend: 'lead time' },
        { expr: 'max by (environment, model) (slipway_kpi_change_failure_ratio)', legend: 'change failure rate' },
        { expr: 'max by (environment, model) (slipway_kpi_time_to_restore_median_seconds)', legend: 'time to restore' },
        { expr: 'max by (environment, model) (slipway_kpi_rework_ratio)', legend: 'rework rate' },
      ], 'short', { x: 12, y: 16, w: 12, h: 8 }),
      panel(7, 'timeseries', 'Estimated accuracy by model (CBPE, before labels)', [{ expr: `max by (namespace, model, version) (${PERFORMANCE_METRICS.estimatedAccuracy}{${ns}})`, legend: '{{namespace}} {{model}} {{version}}' }], 'percentunit', { x: 0, y: 24, w: 12, h: 8 }),
    ],
  };
}
