/**
 * The drift statistics, one per file, and their registry (as Evidently's stattests): each
 * statistic's name (its threshold key in DriftThresholds and baseline.json), the gauges that
 * export it, its alert, its default threshold and how it is read from a column's report. The
 * live gauges, the DriftMonitor's rules and its dashboard derive from this list, so a statistic
 * added here is exported, alerted on and charted alike. Pure data and functions: constructs may
 * import it.
 */
import type { FeatureReport } from '../compare.js';
import { DEFAULT_THRESHOLDS } from '../defaults.js';
import { DRIFT_METRICS } from '../../vocabulary/metrics.js';
import { jensenShannon } from './jensen-shannon.js';
import { ksStatistic } from './kolmogorov-smirnov.js';
import { psi } from './psi.js';

export { chiSquare, logGamma, regularizedGammaQ } from './chi-square.js';
export { jensenShannon } from './jensen-shannon.js';
export { distributionOfSorted, ksPValue, ksStatistic, kstwoSf, smirnovSf } from './kolmogorov-smirnov.js';
export { PSI_FLOOR, psi } from './psi.js';

export interface DriftStatistic {
  /** Threshold key: DriftThresholds, baseline.json thresholds, DEFAULT_THRESHOLDS. */
  readonly name: 'psi' | 'ksStatistic' | 'jsDistance';
  readonly title: string;
  /** Gauge of an input feature (label `feature`) and of an output (label `output`). */
  readonly featureMetric: string;
  readonly outputMetric: string;
  /** HELP of the two gauges. */
  readonly help: { readonly feature: string; readonly output: string };
  /** The DriftMonitor alert on the feature gauge. */
  readonly alert: string;
  /** At or above this, a feature drifts. */
  readonly defaultThreshold: number;
  /** Which columns have it: KS needs an order (numeric features only). */
  readonly appliesTo: 'numeric' | 'all';
  /** The computation, with scipy's definition. */
  readonly compute: (...args: never[]) => number;
  /** The statistic in a column's report, null where the column has none. */
  readonly value: (report: FeatureReport) => number | null;
}

export const DRIFT_STATISTICS: readonly DriftStatistic[] = [
  {
    name: 'psi',
    title: 'PSI',
    featureMetric: DRIFT_METRICS.featurePsi,
    outputMetric: DRIFT_METRICS.outputPsi,
    help: {
      feature: 'Population stability index of a model input feature over the live window vs the baseline.',
      output: 'Population stability index of a model output over the live window vs the baseline.',
    },
    alert: 'SlipwayFeatureDriftPsi',
    defaultThreshold: DEFAULT_THRESHOLDS.psi,
    appliesTo: 'all',
    compute: psi,
    value: (r) => r.psi,
  },
  {
    name: 'ksStatistic',
    title: 'KS statistic',
    featureMetric: DRIFT_METRICS.featureKs,
    outputMetric: DRIFT_METRICS.outputKs,
    help: {
      feature: 'Two-sample Kolmogorov-Smirnov statistic of a numeric model input over the live window vs the baseline.',
      output: 'Two-sample Kolmogorov-Smirnov statistic of a numeric model output over the live window vs the baseline.',
    },
    alert: 'SlipwayFeatureDriftKs',
    defaultThreshold: DEFAULT_THRESHOLDS.ksStatistic,
    appliesTo: 'numeric',
    compute: ksStatistic,
    value: (r) => (r.type === 'numeric' ? r.ks.statistic : null),
  },
  {
    name: 'jsDistance',
    title: 'Jensen–Shannon distance',
    featureMetric: DRIFT_METRICS.featureJs,
    outputMetric: DRIFT_METRICS.outputJs,
    help: {
      feature: 'Jensen-Shannon distance (base 2) of a model input over the live window vs the baseline.',
      output: 'Jensen-Shannon distance (base 2) of a model output over the live window vs the baseline.',
    },
    alert: 'SlipwayFeatureDriftJs',
    defaultThreshold: DEFAULT_THRESHOLDS.jsDistance,
    appliesTo: 'all',
    compute: jensenShannon,
    value: (r) => r.jensenShannon,
  },
];
