import { RankSketch, indexOfValue, invertedCdf, type WeightedDistribution } from './sketch.js';

/** Number of evenly spaced quantiles kept per numeric feature: KS error <= 1/QUANTILE_STEPS. */
export const QUANTILE_STEPS = 256;
/** Reference bins are cut at the deciles. */
export const BIN_COUNT = 10;
export const DEFAULT_TOP_K = 20;
export const PROFILE_KIND = 'slipway.dev/baseline-profile';
export const PROFILE_VERSION = 1;

export interface NumericQuantiles {
  /** Distinct reference values, ascending: the 0/256 … 256/256 quantiles (inverted CDF), or every distinct value when there are few. */
  readonly values: number[];
  /** Reference values at or below each entry of `values`. */
  readonly countAtOrBelow: number[];
  /** Reference values strictly below each entry of `values`. */
  readonly countBelow: number[];
  /** Upper bound on how far the counts above may be from exact (0 when exact). */
  readonly rankError: number;
}

export interface NumericProfile {
  readonly type: 'numeric';
  readonly count: number;
  readonly missing: number;
  readonly mean: number;
  readonly std: number;
  readonly min: number;
  readonly max: number;
  readonly quantiles: NumericQuantiles;
  /** Deciles cut the line into 10 bins: bin i holds edges[i-1] <= x < edges[i], outer bins open. */
  readonly bins: { readonly edges: number[]; readonly fractions: number[] };
}

export interface CategoricalProfile {
  readonly type: 'categorical';
  readonly count: number;
  readonly missing: number;
  /** Distinct categories seen in the reference. */
  readonly distinct: number;
  /** The top K categories by count (ties by name), descending. */
  readonly categories: Array<{ readonly value: string; readonly count: number }>;
  /** Values in categories beyond the top K. */
  readonly otherCount: number;
}

export type FeatureProfile = NumericProfile | CategoricalProfile;

/** Names match the DriftMonitor construct's thresholds so one config serves both. */
export interface Thresholds {
  /** PSI at or above this drifts. */
  psi?: number;
  /** A test p-value below this is significant … */
  pValue?: number;
  /** … and counts only when the KS statistic (numeric) reaches this effect size, */
  ksStatistic?: number;
  /** … or the Jensen–Shannon distance (categorical) reaches this one. */
  jsDistance?: number;
  /** Large numeric samples: Wasserstein distance / reference std at or above this drifts. */
  wasserstein?: number;
  /** Growth of the missing-value share (absolute) that is a data-quality finding. */
  missingRate?: number;
  /** Fewer current values than this: `insufficient data`. */
  minSampleSize?: number;
  /** From this many current values on, effect sizes decide (Wasserstein, Jensen–Shannon). */
  largeSampleSize?: number;
}

export interface ThresholdConfig {
  readonly default?: Thresholds;
  readonly features?: Readonly<Record<string, Thresholds>>;
  readonly outputs?: Readonly<Record<string, Thresholds>>;
  /** Share of checked features that must drift for the dataset verdict. */
  readonly driftShare?: number;
}

export interface BaselineProfile {
  readonly kind: typeof PROFILE_KIND;
  readonly version: typeof PROFILE_VERSION;
  readonly source: { readonly file: string; readonly format: 'csv' | 'jsonl'; readonly rows: number };
  /** Name of the model input tensor whose columns `featureOrder` names, when known. */
  readonly inputTensor?: string;
  /** Column i of the model input tensor is the feature featureOrder[i]. */
  readonly featureOrder: string[];
  readonly features: Record<string, FeatureProfile>;
  readonly outputs?: {
    readonly tensor?: string;
    /** Column i of the output tensor is outputs.order[i]. */
    readonly order: string[];
    readonly features: Record<string, FeatureProfile>;
  };
  /** The label column (target drift), when the training data has one. */
  readonly target?: { readonly name: string; readonly profile: FeatureProfile };
  /** Model quality on the training data, when it has both predictions and labels. */
  readonly performance?: { readonly metric: 'accuracy'; readonly prediction: string; readonly value: number; readonly count: number };
  readonly thresholds?: ThresholdConfig;
}

/** Streaming accumulator for one numeric column: exact moments, bounded rank sketch. */
export class NumericAccumulator {
  missing = 0;
  private n = 0;
  private mean = 0;
  private m2 = 0;
  private min = Infinity;
  private max = -Infinity;
  readonly sketch: RankSketch;

  constructor(sketchCapacity?: number) {
    this.sketch = new RankSketch(sketchCapacity);
  }

  add(value: number): void {
    // Welford: stable for long streams where sum of squares would lose precision.
    this.n++;
    const delta = value - this.mean;
    this.mean += delta / this.n;
    this.m2 += delta * (value - this.mean);
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.sketch.add(value);
  }

  get count(): number {
    return this.n;
  }

  profile(): NumericProfile {
    const dist = this.sketch.distribution();
    const edges: number[] = [];
    for (let k = 1; k < BIN_COUNT; k++) edges.push(invertedCdf(dist, k, BIN_COUNT));
    return {
      type: 'numeric',
      count: this.n,
      missing: this.missing,
      mean: this.mean,
      std: this.n > 1 ? Math.sqrt(this.m2 / (this.n - 1)) : 0,
      min: this.min,
      max: this.max,
      quantiles: quantilePoints(dist, this.sketch.rankErrorBound),
      bins: { edges, fractions: binFractions(dist, edges) },
    };
  }
}

/**
 * Keeps the 0/256 … 256/256 inverted-CDF quantiles with their exact (or sketch) counts.
 * Between two kept values a and b, the true CDF lies in [F(a), F(b⁻)], an interval
 * narrower than 1/256 by construction, which bounds the KS error (see docs/drift.md).
 */
function quantilePoints(dist: WeightedDistribution, rankError: number): NumericQuantiles {
  const pick = new Set<number>();
  if (dist.values.length <= QUANTILE_STEPS + 1) {
    for (let i = 0; i < dist.values.length; i++) pick.add(i);
  } else {
    let j = 0;
    for (let i = 0; i <= QUANTILE_STEPS; i++) {
      while (dist.atOrBelow[j]! * QUANTILE_STEPS < i * dist.total) j++;
      pick.add(j);
    }
  }
  const indices = [...pick].sort((a, b) => a - b);
  return {
    values: indices.map((i) => dist.values[i]!),
    countAtOrBelow: indices.map((i) => dist.atOrBelow[i]!),
    countBelow: indices.map((i) => dist.below[i]!),
    rankError,
  };
}

function binFractions(dist: WeightedDistribution, edges: readonly number[]): number[] {
  // Edges are reference values, so the count strictly below each is known.
  const below = edges.map((edge) => dist.below[indexOfValue(dist.values, edge)]!);
  const bounds = [0, ...below, dist.total];
  const fractions: number[] = [];
  for (let i = 0; i < BIN_COUNT; i++) fractions.push((bounds[i + 1]! - bounds[i]!) / dist.total);
  return fractions;
}

/** Exact category counts; the cap keeps memory bounded when an ID column is mistaken for a category. */
export class CategoricalAccumulator {
  missing = 0;
  private n = 0;
  readonly counts = new Map<string, number>();

  constructor(private readonly maxDistinct = 100_000) {}

  /** Returns false when the category would exceed the distinct-value cap. */
  add(value: string): boolean {
    const current = this.counts.get(value);
    if (current === undefined && this.counts.size >= this.maxDistinct) return false;
    this.counts.set(value, (current ?? 0) + 1);
    this.n++;
    return true;
  }

  get count(): number {
    return this.n;
  }

  profile(topK: number): CategoricalProfile {
    const sorted = [...this.counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const top = sorted.slice(0, topK);
    const kept = top.reduce((sum, [, count]) => sum + count, 0);
    return {
      type: 'categorical',
      count: this.n,
      missing: this.missing,
      distinct: this.counts.size,
      categories: top.map(([value, count]) => ({ value, count })),
      otherCount: this.n - kept,
    };
  }
}
