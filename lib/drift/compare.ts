import { DEFAULT_DRIFT_SHARE, DEFAULT_THRESHOLDS } from './defaults.js';
import { valueHistogram, wassersteinDistance, type ValueHistogram } from './histogram.js';
import { CategoricalAccumulator, type CategoricalProfile, type FeatureProfile, type NumericProfile, type ThresholdConfig, type Thresholds } from './profile.js';
import { RankSketch, type WeightedDistribution } from './sketch.js';
import { chiSquare, jensenShannon, ksPValue, ksStatistic, psi } from './statistics/index.js';

export { DEFAULT_THRESHOLDS } from './defaults.js';
/** Label of the categorical bin that collects categories outside the profile's top K. */
export const OTHER_LABEL = '(other)';
const UNSEEN_LISTED = 10;

export interface TestResult {
  readonly statistic: number | null;
  readonly pValue: number | null;
}

/** `insufficient data`: too few current values for any verdict (statistics still shown). */
export type Verdict = 'drift' | 'no drift' | 'insufficient data';
/** The test that decided the verdict besides PSI: chosen by sample size. */
export type TestName = 'KS' | 'chi-square' | 'Wasserstein' | 'Jensen-Shannon';

export type FindingKind = 'missing-rate' | 'non-finite' | 'constant' | 'missing-column' | 'new-column';

/** A data-quality problem. `warning` findings make `slipway drift` exit 3 and raise the live drift gauge; `info` ones are listed only. */
export interface QualityFinding {
  readonly column: string;
  readonly kind: FindingKind;
  readonly severity: 'warning' | 'info';
  readonly message: string;
}

interface FeatureReportBase {
  readonly drifted: boolean;
  readonly verdict: Verdict;
  /** The test the verdict used besides PSI (KS / chi-square below largeSampleSize values, Wasserstein / Jensen–Shannon from there on). */
  readonly test: TestName;
  readonly psi: number | null;
  readonly jensenShannon: number | null;
  /** Non-missing current values the statistics were computed on. */
  readonly count: number;
  readonly missing: number;
  /** Values in the reference the comparison is against. */
  readonly referenceCount: number;
  /** Share of rows missing the value, in the reference and now. */
  readonly missingRate: { readonly reference: number; readonly current: number };
  /** Data-quality findings for this column. */
  readonly quality: QualityFinding[];
  /** Which rules fired, e.g. "psi 0.31 >= 0.2" (or why there is no verdict). */
  readonly reasons: string[];
  /** Reference and current fractions per PSI bin (reference deciles, or categories). */
  readonly histogram: { readonly labels: string[]; readonly reference: number[]; readonly current: number[] };
}

export interface NumericFeatureReport extends FeatureReportBase {
  readonly type: 'numeric';
  readonly ks: TestResult;
  /** Wasserstein distance divided by the reference standard deviation (raw distance when that is 0). */
  readonly wasserstein: number | null;
  /** Infinite or NaN numbers seen (not used in the statistics). */
  readonly nonFinite: number;
  /** Both samples on shared bins along the real value axis, for charts. */
  readonly distribution: ValueHistogram;
}

export interface CategoricalFeatureReport extends FeatureReportBase {
  readonly type: 'categorical';
  readonly chi2: TestResult;
  /** Current values in categories the profile does not list (top K). */
  readonly unseen: { readonly count: number; readonly categories: string[] };
}

export type FeatureReport = NumericFeatureReport | CategoricalFeatureReport;

export interface DatasetVerdict {
  /** Input features with a verdict (not `insufficient data`). */
  readonly checked: number;
  readonly drifted: number;
  readonly insufficient: number;
  /** drifted / checked (0 when none was checked). */
  readonly share: number;
  readonly threshold: number;
  readonly verdict: Verdict;
}

export interface DriftReport {
  /** Any input, output or target drifted. */
  readonly drifted: boolean;
  /** drift > data quality (a warning finding) > insufficient data (no feature had enough values) > no drift. */
  readonly verdict: Verdict | 'data quality';
  readonly features: Record<string, FeatureReport>;
  readonly outputs?: Record<string, FeatureReport>;
  /** Label drift, when the baseline profiles a label and the data has it. */
  readonly target?: { readonly name: string; readonly report: FeatureReport };
  /** Accuracy of the prediction column against the label, now and in training. */
  readonly performance?: { readonly metric: 'accuracy'; readonly prediction: string; readonly reference: number; readonly current: number | null; readonly change: number | null; readonly count: number };
  /** Share of drifted input features against the drift-share threshold. */
  readonly dataset: DatasetVerdict;
  readonly quality: { readonly findings: QualityFinding[] };
  /** Rows the current sample had. */
  readonly rows: number;
  /** The baseline's training data. */
  readonly reference?: { readonly file: string; readonly rows: number };
  /** When the comparison ran (RFC 3339). */
  readonly generatedAt?: string;
}

/** Current-side accumulator for a numeric feature: exact decile-bin counts, bounded ECDF sketch, non-finite values counted apart. */
export class CurrentNumeric {
  missing = 0;
  nonFinite = 0;
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

export function resolveDriftShare(...configs: Array<ThresholdConfig | undefined>): number {
  let share = DEFAULT_DRIFT_SHARE;
  for (const config of configs) share = config?.driftShare ?? share;
  return share;
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
const fmt = (x: number): string => (Math.abs(x) >= 0.001 || x === 0 ? x.toFixed(3) : x.toExponential(2));
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

export function compareNumeric(profile: NumericProfile, current: CurrentNumeric, thresholds: Required<Thresholds>, column = ''): NumericFeatureReport {
  return numericReport(profile, current.binCounts, current.count, current.missing, current.count > 0 ? current.distribution() : undefined, thresholds, current.nonFinite, column);
}

/** Missing-rate and non-finite findings, common to both column types. */
function qualityFindings(column: string, rows: number, missingRate: { reference: number; current: number }, nonFinite: number, t: Required<Thresholds>): QualityFinding[] {
  const findings: QualityFinding[] = [];
  if (rows >= t.minSampleSize && missingRate.current - missingRate.reference >= t.missingRate) {
    findings.push({ column, kind: 'missing-rate', severity: 'warning', message: `missing in ${pct(missingRate.current)} of rows (reference ${pct(missingRate.reference)}; finding at +${pct(t.missingRate)})` });
  }
  if (nonFinite > 0) findings.push({ column, kind: 'non-finite', severity: 'warning', message: `${nonFinite} non-finite value${nonFinite === 1 ? '' : 's'} (Infinity or NaN), left out of the statistics` });
  return findings;
}

function constantFinding(column: string, count: number, value: string, t: Required<Thresholds>): QualityFinding[] {
  return count >= t.minSampleSize
    ? [{ column, kind: 'constant', severity: 'warning', message: `constant: all ${count} values are ${value}, the reference varies` }]
    : [];
}

function insufficient(count: number, t: Required<Thresholds>): string[] {
  return [`${count} values: fewer than the ${t.minSampleSize} a verdict needs`];
}

/** Shared by the batch accumulator and the live window, which sorts its values instead of sketching them. */
export function numericReport(
  profile: NumericProfile,
  binCounts: readonly number[],
  count: number,
  missing: number,
  distribution: WeightedDistribution | undefined,
  thresholds: Required<Thresholds>,
  nonFinite = 0,
  column = '',
): NumericFeatureReport {
  const reference = profile.bins.fractions;
  const current = binCounts.map((c) => (count > 0 ? c / count : 0));
  const psiValue = count > 0 ? psi(reference, current) : NaN;
  const js = count > 0 ? jensenShannon(reference, current) : NaN;
  const d = distribution ? ksStatistic(profile.quantiles, distribution) : NaN;
  const p = distribution ? ksPValue(d, profile.count, count) : NaN;
  const w = distribution ? wassersteinDistance(profile.quantiles, distribution) / (profile.std > 0 ? profile.std : 1) : NaN;
  const large = count >= thresholds.largeSampleSize;
  const test: TestName = large ? 'Wasserstein' : 'KS';
  const enough = count >= thresholds.minSampleSize;
  const reasons = !enough ? insufficient(count, thresholds) : large ? effectVerdict(psiValue, w, thresholds.wasserstein, 'Wasserstein distance / reference std', thresholds) : verdict(psiValue, p, d, thresholds.ksStatistic, 'KS', thresholds);
  const drifted = enough && reasons.length > 0;
  const rows = count + missing + nonFinite;
  const missingRate = { reference: profile.missing / (profile.count + profile.missing), current: rows > 0 ? missing / rows : 0 };
  const quality = qualityFindings(column, rows, missingRate, nonFinite, thresholds);
  if (distribution && distribution.values.length === 1 && profile.std > 0) quality.push(...constantFinding(column, count, String(distribution.values[0]), thresholds));
  return {
    type: 'numeric',
    drifted,
    verdict: !enough ? 'insufficient data' : drifted ? 'drift' : 'no drift',
    test,
    psi: finite(psiValue),
    jensenShannon: finite(js),
    ks: { statistic: finite(d), pValue: finite(p) },
    wasserstein: finite(w),
    count,
    missing,
    nonFinite,
    referenceCount: profile.count,
    missingRate,
    quality,
    reasons,
    histogram: { labels: binLabels(profile.bins.edges), reference: [...reference], current },
    distribution: valueHistogram(profile, distribution),
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

/** Large samples: every shift is significant, so only the effect size counts. */
function effectVerdict(psiValue: number, effect: number, threshold: number, name: string, t: Required<Thresholds>): string[] {
  const reasons: string[] = [];
  if (psiValue >= t.psi) reasons.push(`psi ${fmt(psiValue)} >= ${t.psi}`);
  if (effect >= threshold) reasons.push(`${name} ${fmt(effect)} >= ${threshold}`);
  return reasons;
}

/**
 * Bins are the profile's categories plus one "(other)" bin for everything else. PSI and
 * JS use all bins; chi-square uses the bins the reference gives a non-zero share (an
 * expected count of zero has no chi-square term), so categories unseen in the reference
 * show up in PSI/JS and in `unseen`, not as an infinite statistic.
 */
export function compareCategorical(profile: CategoricalProfile, current: CategoricalAccumulator, thresholds: Required<Thresholds>, column = ''): CategoricalFeatureReport {
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
  const large = n >= thresholds.largeSampleSize;
  const enough = n >= thresholds.minSampleSize;
  const reasons = !enough ? insufficient(n, thresholds) : large ? effectVerdict(psiValue, js, thresholds.jsDistance, 'Jensen-Shannon distance', thresholds) : verdict(psiValue, chi.pValue, js, thresholds.jsDistance, 'chi-square', thresholds);
  const drifted = enough && reasons.length > 0;
  unseen.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const rows = n + current.missing;
  const missingRate = { reference: profile.missing / (profile.count + profile.missing), current: rows > 0 ? current.missing / rows : 0 };
  const quality = qualityFindings(column, rows, missingRate, 0, thresholds);
  if (current.counts.size === 1 && profile.distinct > 1) quality.push(...constantFinding(column, n, JSON.stringify([...current.counts.keys()][0]), thresholds));
  return {
    type: 'categorical',
    drifted,
    verdict: !enough ? 'insufficient data' : drifted ? 'drift' : 'no drift',
    test: large ? 'Jensen-Shannon' : 'chi-square',
    psi: finite(psiValue),
    jensenShannon: finite(js),
    chi2: { statistic: finite(chi.statistic), pValue: finite(chi.pValue) },
    count: n,
    missing: current.missing,
    referenceCount: profile.count,
    missingRate,
    quality,
    unseen: { count: unseenCount, categories: unseen.slice(0, UNSEEN_LISTED).map(([v]) => v) },
    reasons,
    histogram: { labels: [...profile.categories.map((c) => c.value), OTHER_LABEL], reference, current: currentFractions },
  };
}

export type CurrentAccumulator = CurrentNumeric | CategoricalAccumulator;

export function accumulatorFor(profile: FeatureProfile, sketchCapacity?: number): CurrentAccumulator {
  return profile.type === 'numeric' ? new CurrentNumeric(profile.bins.edges, sketchCapacity) : new CategoricalAccumulator();
}

export function compareFeature(profile: FeatureProfile, current: CurrentAccumulator, thresholds: Required<Thresholds>, column = ''): FeatureReport {
  if (profile.type === 'numeric') return compareNumeric(profile, current as CurrentNumeric, thresholds, column);
  return compareCategorical(profile, current as CategoricalAccumulator, thresholds, column);
}

/** The report-level verdicts, shared by `slipway drift` and the live monitor. */
export function summarize(parts: {
  readonly features: Record<string, FeatureReport>;
  readonly outputs?: Record<string, FeatureReport>;
  readonly target?: DriftReport['target'];
  readonly performance?: DriftReport['performance'];
  readonly extraFindings?: readonly QualityFinding[];
  readonly rows: number;
  readonly driftShare: number;
  readonly reference?: DriftReport['reference'];
  readonly generatedAt?: string;
}): DriftReport {
  const inputs = Object.values(parts.features);
  const all = [...inputs, ...Object.values(parts.outputs ?? {}), ...(parts.target ? [parts.target.report] : [])];
  const insufficientCount = inputs.filter((f) => f.verdict === 'insufficient data').length;
  const checked = inputs.length - insufficientCount;
  const driftedCount = inputs.filter((f) => f.drifted).length;
  const share = checked > 0 ? driftedCount / checked : 0;
  const dataset: DatasetVerdict = {
    checked,
    drifted: driftedCount,
    insufficient: insufficientCount,
    share,
    threshold: parts.driftShare,
    verdict: checked === 0 ? 'insufficient data' : share >= parts.driftShare ? 'drift' : 'no drift',
  };
  const findings = [...(parts.extraFindings ?? []), ...all.flatMap((f) => f.quality)];
  const drifted = all.some((f) => f.drifted);
  const warned = findings.some((f) => f.severity === 'warning');
  return {
    drifted,
    verdict: drifted ? 'drift' : warned ? 'data quality' : all.length > 0 && all.every((f) => f.verdict === 'insufficient data') ? 'insufficient data' : 'no drift',
    features: parts.features,
    ...(parts.outputs ? { outputs: parts.outputs } : {}),
    ...(parts.target ? { target: parts.target } : {}),
    ...(parts.performance ? { performance: parts.performance } : {}),
    dataset,
    quality: { findings },
    rows: parts.rows,
    ...(parts.reference ? { reference: parts.reference } : {}),
    ...(parts.generatedAt ? { generatedAt: parts.generatedAt } : {}),
  };
}

/** True when `slipway drift` should exit 3 and the live drift gauge read 1: drift, or a data-quality warning. */
export function needsAttention(report: DriftReport): boolean {
  return report.verdict === 'drift' || report.verdict === 'data quality';
}
