import { Gauge, type Registry } from 'prom-client';
import { DRIFT_METRICS } from '../../vocabulary/metrics.js';
import { needsAttention, type DriftReport } from '../compare.js';
import { DRIFT_STATISTICS, type DriftStatistic } from '../statistics/index.js';

export function sharedGauge(registry: Registry, name: string, help: string, labelNames: string[]): Gauge {
  // Several models share one registry: the first monitor creates the gauge, others reuse it.
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

/** The drift gauges of one model version: every series carries `model` and `version`. */
export class DriftGauges {
  private readonly g;
  /** Per statistic of the registry: its feature gauge and its output gauge. */
  private readonly statistics: ReadonlyArray<{ readonly stat: DriftStatistic; readonly feature: Gauge; readonly output: Gauge }>;
  private readonly base: { model: string; version: string };

  constructor(registry: Registry, model: string, version: string) {
    this.base = { model, version };
    const m = DRIFT_METRICS;
    const feature = ['model', 'version', 'feature'];
    const output = ['model', 'version', 'output'];
    const modelOnly = ['model', 'version'];
    this.statistics = DRIFT_STATISTICS.map((stat) => ({
      stat,
      feature: sharedGauge(registry, stat.featureMetric, stat.help.feature, feature),
      output: sharedGauge(registry, stat.outputMetric, stat.help.output, output),
    }));
    this.g = {
      featureMissingRate: sharedGauge(registry, m.featureMissingRate, 'Share of sampled rows whose value of a model input is missing (NaN) in the live window.', feature),
      detected: sharedGauge(registry, m.detected, '1 when any monitored input or output of the model drifts, or a data-quality finding (missing rate, non-finite values) holds, in the live window.', modelOnly),
      driftShare: sharedGauge(registry, m.driftShare, 'Share of checked model inputs that drift in the live window (the dataset verdict compares it to the drift share).', modelOnly),
      qualityFindings: sharedGauge(registry, m.qualityFindings, 'Data-quality findings (warnings) in the live window: missing-rate growth, non-finite values, constant columns.', modelOnly),
    };
    this.g.detected.set(this.base, 0);
  }

  publish(report: DriftReport): void {
    const set = (g: Gauge, labels: Record<string, string>, value: number | null) => {
      if (value === null) g.remove(labels);
      else g.set(labels, value);
    };
    const g = this.g;
    for (const [feature, r] of Object.entries(report.features)) {
      const labels = { ...this.base, feature };
      for (const s of this.statistics) {
        const value = s.stat.value(r);
        // A statistic the column type does not have (KS of a categorical) leaves its series alone.
        if (value !== null || s.stat.appliesTo === 'all') set(s.feature, labels, value);
      }
      // Published whatever the other statistics: a feature that went 100% missing has no PSI, but this reads 1.
      g.featureMissingRate.set(labels, r.missingRate.current);
    }
    for (const [output, r] of Object.entries(report.outputs ?? {})) {
      const labels = { ...this.base, output };
      for (const s of this.statistics) {
        const value = s.stat.value(r);
        if (value !== null || s.stat.appliesTo === 'all') set(s.output, labels, value);
      }
    }
    g.detected.set(this.base, needsAttention(report) ? 1 : 0);
    g.driftShare.set(this.base, report.dataset.share);
    g.qualityFindings.set(this.base, report.quality.findings.filter((f) => f.severity === 'warning').length);
  }

  /** Removes this model version's series from the shared gauges. */
  remove(features: readonly string[], outputs: readonly string[]): void {
    for (const feature of features) for (const m of [...this.statistics.map((s) => s.feature), this.g.featureMissingRate]) m.remove({ ...this.base, feature });
    for (const output of outputs) for (const s of this.statistics) s.output.remove({ ...this.base, output });
    for (const m of [this.g.detected, this.g.driftShare, this.g.qualityFindings]) m.remove(this.base);
  }
}
