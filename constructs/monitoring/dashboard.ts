import { DRIFT_STATISTICS } from '../../lib/drift/statistics/index.js';
import { DRIFT_METRICS, PERFORMANCE_METRICS, RUNTIME_METRICS } from '../../lib/vocabulary/metrics.js';

/** The per-model Grafana dashboard: serving, drift and quality (live and estimated). */
export function modelDashboard(model: string, namespace: string): Record<string, unknown> {
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
  const p = PERFORMANCE_METRICS;
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
      // One panel per statistic of the registry: 5 (PSI), 6 (KS statistic), 7 (Jensen–Shannon distance).
      ...DRIFT_STATISTICS.map((stat, i) => panel(5 + i, `Feature drift: ${stat.title}`, `max by (feature) (${stat.featureMetric}{${selector}})`, '{{feature}}', 'short', i % 2 === 0 ? 0 : 12, 16 + Math.floor(i / 2) * 8)),
      panel(8, 'Drift detected', `max(${DRIFT_METRICS.detected}{${selector}})`, 'drift', 'bool', 12, 24),
      panel(9, 'Live accuracy and ROC AUC (ground truth)', `max by (version) (${p.accuracy}{${selector}}) or max by (version) (${p.rocAuc}{${selector}})`, '{{version}}', 'percentunit', 0, 32),
      panel(10, 'Estimated accuracy (CBPE, no labels)', `max by (version) (${p.estimatedAccuracy}{${selector}})`, '{{version}}', 'percentunit', 12, 32),
    ],
  };
}
