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

  it('routes the retraining alerts of its model to the webhook with an AlertmanagerConfig', () => {
    // GIVEN the EventListener's URL
    const { manifests, monitor: m } = monitor({ alertWebhookUrl: 'http://el-slipway-training.ml-ci.svc.cluster.local:8080', selectorLabels: { release: 'kps' } });
    // THEN one AlertmanagerConfig routes SlipwayModelDrift and SlipwayModelPerformance of this model in this namespace to it
    const route = find(manifests, 'AlertmanagerConfig');
    expect(upstreamProblem(route)).toBeUndefined();
    expect(route.apiVersion).toBe('monitoring.coreos.com/v1alpha1');
    expect(route.metadata).toMatchObject({ name: 'fraud-detector', namespace: 'ml-staging', labels: { release: 'kps' } });
    expect(route.spec.route.matchers).toEqual([
      { name: 'alertname', matchType: '=~', value: 'SlipwayModelDrift|SlipwayModelPerformance' },
      { name: 'model', matchType: '=', value: 'fraud-detector' },
      { name: 'namespace', matchType: '=', value: 'ml-staging' },
    ]);
    expect(route.spec.receivers).toEqual([{ name: 'retrain', webhookConfigs: [{ url: 'http://el-slipway-training.ml-ci.svc.cluster.local:8080', sendResolved: false }] }]);
    expect(m.alertRoute).toBeDefined();
  });

  it('takes the route from the serving\'s drift webhook, and emits none without a webhook', () => {
    const chart = givenChart();
    const serving = new ModelServing(chart, 'Serving', { model: new Model(chart, 'Model', modelProps()), image: RUNTIME_IMAGE, driftWebhookUrl: 'http://el.ci.svc:8080' });
    const m = new DriftMonitor(chart, 'Monitor', { serving });
    expect(find(synth(chart), 'AlertmanagerConfig').spec.receivers[0].webhookConfigs[0].url).toBe('http://el.ci.svc:8080');
    expect(m.alertRoute).toBeDefined();
    expect(monitor().manifests.some((o) => o.kind === 'AlertmanagerConfig')).toBe(false);
  });

  it('alerts when a live metric falls below the build\'s gate value minus the tolerance, over enough labels', () => {
    // GIVEN the metrics the build was gated on, one the runtime cannot measure live
    const { manifests, monitor: m } = monitor({ gateMetrics: { auc: 0.93, recall_at_1pct_fpr: 0.6, rmse: 2 }, minFeedbackSamples: 300, performanceFor: '30m' });
    // THEN one performance rule per live metric: AUC below 0.88, RMSE above 2.1 (5% worse)
    const group = m.ruleGroups.find((g) => g.name === 'fraud-detector.performance')!;
    expect(group.rules.map((r) => [r.labels.metric, r.expr])).toEqual([
      ['auc', 'max by (namespace, model, version) (slipway_model_roc_auc{model="fraud-detector",namespace="ml-staging"}) < 0.88 and on (namespace, model, version) max by (namespace, model, version) (slipway_model_feedback_samples{model="fraud-detector",namespace="ml-staging"}) >= 300'],
      ['rmse', 'max by (namespace, model, version) (slipway_model_rmse{model="fraud-detector",namespace="ml-staging"}) > 2.1 and on (namespace, model, version) max by (namespace, model, version) (slipway_model_feedback_samples{model="fraud-detector",namespace="ml-staging"}) >= 300'],
    ]);
    expect(group.rules.every((r) => r.alert === 'SlipwayModelPerformance' && r.for === '30m' && r.labels.trigger === 'performance')).toBe(true);
    // AND promtool accepts them
    const result = promtoolCheckRules(find(manifests, 'PrometheusRule'));
    expect(result.status, result.output).toBe(0);
    // AND without gate metrics there is no performance group
    expect(monitor().monitor.ruleGroups.map((g) => g.name)).toEqual(['fraud-detector.drift', 'fraud-detector.serving']);
  });

  it('fires the performance alert in promtool\'s rule tests only below the gate and over enough labels', () => {
    const { manifests } = monitor({ gateMetrics: { accuracy: 0.9 }, minFeedbackSamples: 200, performanceFor: '5m' });
    const rules = join(work, `perf-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(rules, stringify({ groups: find(manifests, 'PrometheusRule').spec.groups }));
    const series = (metric: string, version: string, values: string) => ({ series: `${metric}{model="fraud-detector",namespace="ml-staging",version="${version}"}`, values });
    const tests = join(work, `perf-test-${Math.random().toString(36).slice(2)}.yaml`);
    const labels = { alertname: 'SlipwayModelPerformance', severity: 'warning', model: 'fraud-detector', namespace: 'ml-staging', version: '', metric: 'accuracy', retrain: 'true', trigger: 'performance' };
    writeFileSync(tests, stringify({
      rule_files: [rules],
      evaluation_interval: '1m',
      tests: [{
        interval: '1m',
        input_series: [
          // v1: 0.8 accuracy over 500 labels (below 0.85); v2: 0.8 over 100 labels; v3: 0.87 over 500 labels
          series('slipway_model_accuracy', 'v1', '0.8x10'),
          series('slipway_model_feedback_samples', 'v1', '500x10'),
          series('slipway_model_accuracy', 'v2', '0.8x10'),
          series('slipway_model_feedback_samples', 'v2', '100x10'),
          series('slipway_model_accuracy', 'v3', '0.87x10'),
          series('slipway_model_feedback_samples', 'v3', '500x10'),
        ],
        alert_rule_test: [
          { eval_time: '3m', alertname: 'SlipwayModelPerformance', exp_alerts: [] },
          {
            eval_time: '6m',
            alertname: 'SlipwayModelPerformance',
            exp_alerts: [{
              exp_labels: { ...labels, version: 'v1' },
              exp_annotations: {
                summary: "Model fraud-detector performs below its build's accuracy",
                description: 'Live accuracy of fraud-detector v1 in ml-staging is 0.8000 from ground-truth feedback; the build was gated at 0.9 (alert < 0.85, tolerance 0.05) for 5m; retraining is due.',
                gate_value: '0.9',
              },
            }],
          },
        ],
      }],
    }));
    const result = spawnSync('promtool', ['test', 'rules', tests], { encoding: 'utf8' });
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
  });

  it('fails when thresholds or durations are invalid, naming each field', () => {
    const attempt = () => monitor({ thresholds: { ksStatistic: 1.5 }, featureThresholds: { amount: { psi: -1 } }, driftFor: '10 minutes' });
    expect(attempt).toThrow(/DriftMonitor at 'acme-ml\/staging\/app\/Monitor' has invalid props:/);
    expect(attempt).toThrow(/- thresholds\.ksStatistic: expected a number in \(0, 1\], got 1\.5/);
    expect(attempt).toThrow(/- featureThresholds\.amount\.psi: expected a number > 0, got -1/);
    expect(attempt).toThrow(/- driftFor: expected a duration such as "30s", "15m" or "1h", got "10 minutes"/);
  });

  it('fails when the alert route or performance props are invalid, naming each field', () => {
    const attempt = () => monitor({ alertWebhookUrl: 'el-slipway:8080', gateMetrics: { 'a b': 1, auc: Number.NaN }, performanceTolerance: 1.5, minFeedbackSamples: 0, performanceFor: 'soon' });
    expect(attempt).toThrow(/- alertWebhookUrl: expected an http\(s\) URL, got "el-slipway:8080"/);
    expect(attempt).toThrow(/- gateMetrics\.a b: expected a metrics\.json key/);
    expect(attempt).toThrow(/- gateMetrics\.auc: expected a finite number, got null/);
    expect(attempt).toThrow(/- performanceTolerance: expected a number in \[0, 1\), got 1\.5/);
    expect(attempt).toThrow(/- minFeedbackSamples: expected a whole number >= 1, got 0/);
    expect(attempt).toThrow(/- performanceFor: expected a duration/);
  });
});
