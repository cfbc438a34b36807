import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Environment, ModelDeployment, Platform } from '../../constructs/index.js';
import { readBaseline } from '../../lib/drift/baseline-file.js';
import { LiveDriftMonitor } from '../../lib/drift/live.js';
import { RuntimeMetrics } from '../../lib/runtime/metrics.js';
import { DRIFT_METRICS, PERFORMANCE_METRICS, RUNTIME_METRICS } from '../../lib/vocabulary/metrics.js';
import { deploymentProps } from '../support/fixtures.js';
import { synth } from '../support/synth.js';
import { Testing } from 'cdk8s';

/** Every metric name a PromQL expression in the rendered objects reads (histogram suffixes stripped). */
function queriedMetrics(text: string): Set<string> {
  return new Set([...text.matchAll(/slipway_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')));
}

describe('metric names', () => {
  it('are the names the runtime registers', async () => {
    const metrics = new RuntimeMetrics();
    // (besides prom-client's process and Node.js metrics)
    const registered = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('slipway_')).sort();
    expect(registered).toEqual(Object.values(RUNTIME_METRICS).sort());
  });

  it('cover every metric that alerts, dashboards, KEDA and the canary analysis query, so none queries nothing', () => {
    // GIVEN a GPU canary deployment with monitoring: every kind of query slipway renders
    const app = Testing.app();
    const environment = new Environment(new Platform(app, 'acme-ml', { repoURL: 'https://github.com/acme/ml-config.git' }), 'staging');
    const manifests = synth(new ModelDeployment(environment, 'fraud-detector', deploymentProps({ gpu: { count: 1 }, minReplicas: 0, canary: {} })));
    const kinds = new Set(manifests.map((m) => m.kind));
    expect([...kinds]).toEqual(expect.arrayContaining(['PrometheusRule', 'ConfigMap', 'ScaledObject', 'AnalysisTemplate']));
    // THEN each name it queries is one the runtime or the drift monitor registers
    const known = new Set<string>([...Object.values(RUNTIME_METRICS), ...Object.values(DRIFT_METRICS), ...Object.values(PERFORMANCE_METRICS)]);
    const queried = queriedMetrics(JSON.stringify(manifests));
    expect(queried.size).toBeGreaterThan(6);
    expect([...queried].filter((name) => !known.has(name))).toEqual([]);
  });

  it('include the drift and performance gauges under the names the drift module registers', async () => {
    // GIVEN the live drift monitor of the example model, with feedback (live performance and CBPE)
    const registry = new Registry();
    const baseline = await readBaseline('examples/model-repository/fraud-detector/1/baseline.json');
    const monitor = new LiveDriftMonitor({ model: 'fraud-detector', baseline, registry, intervalSeconds: 0, feedback: {} });
    try {
      // THEN what it registers is exactly the drift and performance vocabulary
      expect((await registry.getMetricsAsJSON()).map((m) => m.name).sort()).toEqual([...new Set([...Object.values(DRIFT_METRICS), ...Object.values(PERFORMANCE_METRICS)])].sort());
    } finally {
      await monitor.close();
    }
  });
});
