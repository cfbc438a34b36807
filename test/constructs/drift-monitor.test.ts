import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DriftMonitor, Model, ModelServing, type DriftMonitorProps } from '../../constructs/index.js';
import { RUNTIME_IMAGE, modelProps } from '../support/fixtures.js';
import { find, givenChart, synth, type Manifest } from '../support/synth.js';
import { upstreamProblem } from '../support/upstream-schemas.js';

function monitor(props: Partial<DriftMonitorProps> = {}): { manifests: Manifest[]; monitor: DriftMonitor } {
  const chart = givenChart();
  const serving = new ModelServing(chart, 'Serving', { model: new Model(chart, 'Model', modelProps()), image: RUNTIME_IMAGE });
  const m = new DriftMonitor(chart, 'Monitor', { serving, ...props });
  return { manifests: synth(chart).filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'monitoring'), monitor: m };
}

const work = mkdtempSync(join(tmpdir(), 'slipway-rules-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the real `promtool check rules` over the PrometheusRule's groups. */
function promtoolCheckRules(rule: Manifest): { status: number | null; output: string } {
  const file = join(work, `${rule.metadata.name}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify({ groups: rule.spec.groups }));
  const result = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('DriftMonitor', () => {
  it('synthesizes a ServiceMonitor, a PrometheusRule and a Grafana dashboard', () => {
    const { manifests } = monitor();
    expect(manifests).toMatchSnapshot();
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual([
      'ServiceMonitor/fraud-detector',
      'PrometheusRule/fraud-detector',
      'ConfigMap/fraud-detector-dashboard',
    ]);
    expect(manifests.map(upstreamProblem).filter(Boolean)).toEqual([]);
  });

  it('scrapes the metrics port of the serving pods', () => {
    const sm = find(monitor().manifests, 'ServiceMonitor');
    expect(sm.spec.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'fraud-detector', 'app.kubernetes.io/instance': 'fraud-detector-staging' } });
    expect(sm.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }]);
  });

  it('emits rules that promtool accepts', () => {
    // GIVEN per-feature thresholds, including a feature name with a regex metacharacter
    const { manifests } = monitor({ featureThresholds: { amount: { psi: 0.1 }, 'geo.lat': { ksStatistic: 0.3 } }, driftFor: '10m' });
    // WHEN promtool checks the rule groups
    const result = promtoolCheckRules(find(manifests, 'PrometheusRule'));
    // THEN they parse and are valid
    expect(result.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(result.status).toBe(0);
  });

  it('alerts per feature with its own threshold and excludes it from the default rule', () => {
    const { monitor: m } = monitor({ thresholds: { psi: 0.25 }, featureThresholds: { amount: { psi: 0.1 } }, driftFor: '10m' });
    const psiRules = m.ruleGroups[0]!.rules.filter((r) => r.alert === 'SlipwayFeatureDriftPsi');
    expect(psiRules.map((r) => r.expr)).toEqual([
      'max by (namespace, model, feature) (slipway_feature_drift_psi{model="fraud-detector",namespace="ml-staging",feature!~"amount"}) >= 0.25',
      'max by (namespace, model, feature) (slipway_feature_drift_psi{model="fraud-detector",namespace="ml-staging",feature="amount"}) >= 0.1',
    ]);
    expect(psiRules.every((r) => r.for === '10m' && r.labels.model === 'fraud-detector')).toBe(true);
  });

  it('alerts on the error ratio, p99 latency and readiness with the given thresholds', () => {
    const { monitor: m } = monitor({ errorRatioThreshold: 0.02, latencyP99Seconds: 0.1, servingAlertFor: '2m' });
    const serving = m.ruleGroups[1]!.rules;
    expect(serving.map((r) => r.alert)).toEqual(['SlipwayHighErrorRatio', 'SlipwayHighLatencyP99', 'SlipwayModelNotReady']);
    expect(serving[0]!.expr).toMatch(/status=~"5\.\."\}\[5m\]\)\) \/ sum by \(namespace, model\) \(rate\(slipway_inference_requests_total\{model="fraud-detector",namespace="ml-staging"\}\[5m\]\)\) > 0\.02$/);
    expect(serving[1]!.expr).toMatch(/^histogram_quantile\(0\.99, .*slipway_inference_request_duration_seconds_bucket.* > 0\.1$/);
    expect(serving.every((r) => r.for === '2m')).toBe(true);
  });

  it('labels the dashboard for the Grafana sidecar and leaves it out on request', () => {
    const dashboard = find(monitor().manifests, 'ConfigMap');
    expect(dashboard.metadata.labels?.grafana_dashboard).toBe('1');
    const json = JSON.parse(dashboard.data!['fraud-detector.json']!);
    expect(json.panels.map((p: { title: string }) => p.title)).toContain('Feature drift: PSI');
    expect(monitor({ dashboard: false }).manifests.some((m) => m.kind === 'ConfigMap')).toBe(false);
  });

  it('carries Prometheus selector labels on the ServiceMonitor and PrometheusRule', () => {
    const { manifests } = monitor({ selectorLabels: { release: 'kube-prometheus-stack' } });
    expect(find(manifests, 'ServiceMonitor').metadata.labels?.release).toBe('kube-prometheus-stack');
    expect(find(manifests, 'PrometheusRule').metadata.labels?.release).toBe('kube-prometheus-stack');
  });

  it('fails when thresholds or durations are invalid, naming each field', () => {
    const attempt = () => monitor({ thresholds: { ksStatistic: 1.5 }, featureThresholds: { amount: { psi: -1 } }, driftFor: '10 minutes' });
    expect(attempt).toThrow(/DriftMonitor at 'acme-ml\/staging\/app\/Monitor' has invalid props:/);
    expect(attempt).toThrow(/- thresholds\.ksStatistic: expected a number in \(0, 1\], got 1\.5/);
    expect(attempt).toThrow(/- featureThresholds\.amount\.psi: expected a number > 0, got -1/);
    expect(attempt).toThrow(/- driftFor: expected a duration such as "30s", "15m" or "1h", got "10 minutes"/);
  });
});
