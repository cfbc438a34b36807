import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DriftMonitor, Model, ModelServing } from '../../constructs/index.js';
import { DEFAULT_THRESHOLDS } from '../../lib/drift/defaults.js';
import { DriftGauges } from '../../lib/drift/live/gauges.js';
import { DRIFT_STATISTICS, jensenShannon, psi } from '../../lib/drift/statistics/index.js';
import { RUNTIME_IMAGE, modelProps } from '../support/fixtures.js';
import { givenChart } from '../support/synth.js';

describe('the drift statistics registry', () => {
  it('names each statistic by its threshold key, with its default, gauges and alert', () => {
    expect(DRIFT_STATISTICS.map((s) => [s.name, s.defaultThreshold, s.featureMetric, s.alert])).toEqual([
      ['psi', DEFAULT_THRESHOLDS.psi, 'slipway_feature_drift_psi', 'SlipwayFeatureDriftPsi'],
      ['ksStatistic', DEFAULT_THRESHOLDS.ksStatistic, 'slipway_feature_drift_ks_statistic', 'SlipwayFeatureDriftKs'],
      ['jsDistance', DEFAULT_THRESHOLDS.jsDistance, 'slipway_feature_drift_js_distance', 'SlipwayFeatureDriftJs'],
    ]);
    expect(DRIFT_STATISTICS.find((s) => s.name === 'psi')!.compute).toBe(psi);
    expect(DRIFT_STATISTICS.find((s) => s.name === 'jsDistance')!.compute).toBe(jensenShannon);
  });

  it('is what the live gauges and the DriftMonitor derive from: a gauge pair and an alert per statistic', async () => {
    const registry = new Registry();
    new DriftGauges(registry, 'm', 'v1');
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
    for (const s of DRIFT_STATISTICS) expect(names).toEqual(expect.arrayContaining([s.featureMetric, s.outputMetric]));
    const chart = givenChart();
    const serving = new ModelServing(chart, 'Serving', { model: new Model(chart, 'Model', modelProps()), image: RUNTIME_IMAGE });
    const monitor = new DriftMonitor(chart, 'Monitor', { serving, thresholds: { ksStatistic: 0.3 } });
    const alerts = monitor.ruleGroups[0]!.rules.filter((r) => r.alert !== 'SlipwayModelDrift');
    expect(alerts.map((r) => [r.alert, r.expr.split(' >= ')[1]])).toEqual(DRIFT_STATISTICS.map((s) => [s.alert, String(s.name === 'ksStatistic' ? 0.3 : s.defaultThreshold)]));
  });
});
