import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DriftMonitor, Model, ModelServing } from '../constructs/index.js';
import { FEEDBACK_DEFAULTS } from '../lib/drift/defaults.js';
import { KPI_METRICS } from '../lib/compiler/kpi-report.js';
import { MIRROR_METRIC } from '../lib/runtime/mirror.js';
import { DRIFT_METRICS, PERFORMANCE_METRICS, RUNTIME_METRICS } from '../lib/vocabulary/metrics.js';
import { RUNTIME_IMAGE, modelProps } from './support/fixtures.js';
import { givenChart } from './support/synth.js';

const doc = readFileSync(resolve(import.meta.dirname, '../docs/monitoring.md'), 'utf8');

describe('docs/monitoring.md', () => {
  it('names every gauge the runtime exports', () => {
    const names = [...Object.values(RUNTIME_METRICS), ...Object.values(DRIFT_METRICS), ...Object.values(PERFORMANCE_METRICS)];
    expect(names.filter((n) => !doc.includes(`\`${n}`))).toEqual([]);
    expect([KPI_METRICS.changeFailureRatio, KPI_METRICS.reworkRatio, MIRROR_METRIC].filter((n) => !doc.includes(n))).toEqual([]);
  });

  it('names every alert DriftMonitor renders, and every prop default of the monitor', () => {
    const chart = givenChart();
    const serving = new ModelServing(chart, 'Serving', { model: new Model(chart, 'Model', modelProps()), image: RUNTIME_IMAGE });
    const monitor = new DriftMonitor(chart, 'Monitor', { serving, gateMetrics: { auc: 0.9 } });
    const alerts = new Set(monitor.ruleGroups.flatMap((g) => g.rules.map((r) => r.alert)));
    expect([...alerts].filter((a) => !doc.includes(`\`${a}\``))).toEqual([]);
    const r = monitor.resolved;
    for (const [prop, value] of [
      ['driftFor', r.driftFor], ['errorRatioThreshold', r.errorRatioThreshold], ['latencyP99Seconds', r.latencyP99Seconds], ['servingAlertFor', r.servingAlertFor],
      ['scrapeInterval', r.scrapeInterval], ['performanceTolerance', r.performanceTolerance], ['minFeedbackSamples', r.minFeedbackSamples], ['performanceFor', r.performanceFor],
    ] as const) {
      expect(doc, prop).toMatch(new RegExp(`\\| \`${prop}\` \\| ${String(value).replace('.', '\\.')}`));
    }
  });

  it('states the feedback bounds the runtime uses', () => {
    for (const [key, value] of Object.entries(FEEDBACK_DEFAULTS)) {
      expect(doc, key).toMatch(new RegExp(`\\| \`${key}\` \\| ${value.toLocaleString('en').replace(/,/g, ' ')} \\|`));
    }
  });
});
