import { CategoricalAccumulator, type CategoricalProfile, type FeatureProfile, type NumericProfile, type ThresholdConfig, type Thresholds } from './profile.js';
import { RankSketch, type WeightedDistribution } from './sketch.js';
import { chiSquare, jensenShannon, ksPValue, ksStatistic, psi } from './stats.js';

export const DEFAULT_THRESHOLDS: Required<Thresholds> = { psi: 0.2, pValue: 0.01, ksStatistic: 0.1, jsDistance: 0.1 };
/** Label of the categorical bin that collects categories outside the profile's top K. */
export const OTHER_LABEL = '(other)';
const UNSEEN_LISTED = 10;

export interface TestResult {
  readonly statistic: number | null;
  readonly pValue: number | null;
}

interface FeatureReportBase {
  readonly drifted: boolean;
  readonly psi: number | null;
  readonly jensenShannon: number | null;
  /** Non-missing current values the statistics were computed on. */
  readonly count: number;
  readonly missing: number;
  /** Which rules fired, e.g. "psi 0.31 >= 0.2". */
  readonly reasons: string[];
  /** Reference and current fractions per bin, for charts. */
  readonly histogram: { readonly labels: string[]; readonly reference: number[]; readonly current: number[] };
}

export interface NumericFeatureReport extends FeatureReportBase {
  readonly type: 'numeric';
  readonly ks: TestResult;
}

export interface CategoricalFeatureReport extends FeatureReportBase {
  readonly type: 'categorical';
  readonly chi2: TestResult;
  /** Current values in categories the profile does not list (top K). */
  readonly unseen: { readonly count: number; readonly categories: string[] };
}

export type FeatureReport = NumericFeatureReport | CategoricalFeatureReport;

export interface DriftReport {
  readonly drifted: boolean;
  readonly features: Record<string, FeatureReport>;
  readonly outputs?: Record<string, FeatureReport>;
  /** Rows the current sample had. */
  readonly rows: number;
}

/** Current-side accumulator for a numeric feature: exact decile-bin counts, bounded ECDF sketch. */
export class CurrentNumeric {
  missing = 0;
  readonly binCounts: number[];
  private readonly sketch: RankSketch;

  constructor(private readonly edges: readonly number[], sketchCapacity?: number) {
    this.binCounts = new Array<number>(edges.length + 1).fill(0);
    this.sketch = new RankSketch(sketchCapacity);
  }

  add(value: number): void {
    this.binCounts[binIndex(this.edges, value)]!++;
    this.sketch.add(value);
  }

  get count(): number {
    return this.sketch.count;
  }

  distribution(): WeightedDistribution {
    return this.sketch.distribution();
  }
}

/** Bin i holds edges[i-1] <= x < edges[i] (numpy.digitize / searchsorted side='right'). */
export function binIndex(edges: readonly number[], value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function resolveThresholds(
  name: string,
  section: 'features' | 'outputs',
  ...configs: Array<ThresholdConfig | undefined>
): Required<Thresholds> {
  let merged: Required<Thresholds> = { ...DEFAULT_THRESHOLDS };
  for (const config of configs) merged = { ...merged, ...config?.default };
  for (const config of configs) merged = { ...merged, ...config?.[section]?.[name] };
  return merged;
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
const fmt = (x: number): string => (Math.abs(x) >= 0.001 || x === 0 ? x.toFixed(3) : x.toExponential(2));

export function compareNumeric(profile: NumericProfile, current: CurrentNumeric, thresholds: Required<Thresholds>): NumericFeatureReport {
  return numericReport(profile, current.binCounts, current.count, current.missing, current.count > 0 ? current.distribution() : undefined, thresholds);
}

/** Shared by the batch accumulator and the live window, which sorts its values instead of sketching them. */
export function numericReport(
  profile: NumericProfile,
  binCounts: readonly number[],
  count: number,
  missing: number,
  distribution: WeightedDistribution | undefined,
  thresholds: Required<Thresholds>,
): NumericFeatureReport {
  const reference = profile.bins.fractions;
  const current = binCounts.map((c) => (count > 0 ? c / count : 0));
  const psiValue = count > 0 ? psi(reference, current) : NaN;
  const js = count > 0 ? jensenShannon(reference, current) : NaN;
  const d = distribution ? ksStatistic(profile.quantiles, distribution) : NaN;
  const p = distribution ? ksPValue(d, profile.count, count) : NaN;
  const reasons = verdict(psiValue, p, d, thresholds.ksStatistic, 'KS', thresholds);
  return {
    type: 'numeric',
    drifted: reasons.length > 0,
    psi: finite(psiValue),
    jensenShannon: finite(js),
    ks: { statistic: finite(d), pValue: finite(p) },
    count,
    missing,
    reasons,
    histogram: { labels: binLabels(profile.bins.edges), reference: [...reference], current },
  };
}

function binLabels(edges: readonly number[]): string[] {
  const short = (x: number) => Number(x.toPrecision(4)).toString();
  const labels = [`< ${short(edges[0]!)}`];
  for (let i = 1; i < edges.length; i++) labels.push(`[${short(edges[i - 1]!)}, ${short(edges[i]!)})`);
  labels.push(`>= ${short(edges[edges.length - 1]!)}`);
  return labels;
}

function verdict(psiValue: number, pValue: number, effect: number, effectThreshold: number, test: string, t: Required<Thresholds>): string[] {
  const reasons: string[] = [];
  if (psiValue >= t.psi) reasons.push(`psi ${fmt(psiValue)} >= ${t.psi}`);
  if (pValue < t.pValue && effect >= effectThreshold) {
    const effectName = test === 'KS' ? 'KS statistic' : 'Jensen-Shannon distance';
    reasons.push(`${test} p-value ${fmt(pValue)} < ${t.pValue} and ${effectName} ${fmt(effect)} >= ${effectThreshold}`);
  }
  return reasons;
}

/**
 * Bins are the profile's categories plus one "(other)" bin for everything else. PSI and
 * JS use all bins; chi-square uses the bins the reference gives a non-zero share (an
 * expected count of zero has no chi-square term), so categories unseen in the reference
 * show up in PSI/JS and in `unseen`, not as an infinite statistic.
 */
export function compareCategorical(profile: CategoricalProfile, current: CategoricalAccumulator, thresholds: Required<Thresholds>): CategoricalFeatureReport {
  const listed = new Map(profile.categories.map((c, i) => [c.value, i]));
  const observed = new Array<number>(profile.categories.length + 1).fill(0);
  const unseen: Array<[string, number]> = [];
  let unseenCount = 0;
  for (const [value, count] of current.counts) {
    const index = listed.get(value);
    if (index === undefined) {
      observed[observed.length - 1]! += count;
      unseen.push([value, count]);
      unseenCount += count;
    } else {
      observed[index]! += count;
    }
  }
  const refCounts = [...profile.categories.map((c) => c.count), profile.otherCount];
  const reference = refCounts.map((c) => c / profile.count);
  const n = current.count;
  const currentFractions = observed.map((c) => (n > 0 ? c / n : 0));
  const psiValue = n > 0 ? psi(reference, currentFractions) : NaN;
  const js = n > 0 ? jensenShannon(reference, currentFractions) : NaN;
  const tested = refCounts.map((c, i) => [c, observed[i]!] as const).filter(([c]) => c > 0);
  const chi = n > 0 ? chiSquare(tested.map(([, o]) => o), tested.map(([c]) => c / profile.count)) : { statistic: NaN, pValue: NaN };
  const reasons = verdict(psiValue, chi.pValue, js, thresholds.jsDistance, 'chi-square', thresholds);
  unseen.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return {
    type: 'categorical',
    drifted: reasons.length > 0,
    psi: finite(psiValue),
    jensenShannon: finite(js),
    chi2: { statistic: finite(chi.statistic), pValue: finite(chi.pValue) },
    count: n,
    missing: current.missing,
    unseen: { count: unseenCount, categories: unseen.slice(0, UNSEEN_LISTED).map(([v]) => v) },
    reasons,
    histogram: { labels: [...profile.categories.map((c) => c.value), OTHER_LABEL], reference, current: currentFractions },
  };
}

export type CurrentAccumulator = CurrentNumeric | CategoricalAccumulator;

export function accumulatorFor(profile: FeatureProfile, sketchCapacity?: number): CurrentAccumulator {
  return profile.type === 'numeric' ? new CurrentNumeric(profile.bins.edges, sketchCapacity) : new CategoricalAccumulator();
}

export function compareFeature(profile: FeatureProfile, current: CurrentAccumulator, thresholds: Required<Thresholds>): FeatureReport {
  if (profile.type === 'numeric') return compareNumeric(profile, current as CurrentNumeric, thresholds);
  return compareCategorical(profile, current as CategoricalAccumulator, thresholds);
}
