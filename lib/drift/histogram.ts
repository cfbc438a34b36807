/**
 * What a person looks at: both samples binned on one real value axis, and the
 * Wasserstein distance on the same reconstruction of the reference CDF that KS uses.
 *
 * The reference side is rebuilt from the profile's quantile points: exact at each kept
 * value, linear inside a gap between two kept values (a gap holds less than 1/256 of the
 * data, see docs/drift.md), so any bin's reference share is known to within that bound —
 * and exactly when every distinct value was kept (few distinct values, integer features).
 */
import type { NumericProfile, NumericQuantiles } from './profile.js';
import type { WeightedDistribution } from './sketch.js';

/** Bins across the axis (integer features with a short range get one bin per value instead). */
export const DISPLAY_BINS = 20;
/** Integer features spanning at most this many values get one bin per integer. */
export const INTEGER_BIN_LIMIT = 40;
/** The axis covers the central 99% of each sample; the rest is drawn as tails. */
const AXIS_TAIL = 0.005;

export interface ValueHistogram {
  /** Bin i holds edges[i] <= x < edges[i+1]; one shared set of bins for both samples. */
  readonly edges: number[];
  /** True when both samples hold integers only: edges sit at k − 0.5, each bin a run of whole values. */
  readonly integer: boolean;
  /** Share of reference / current values per bin. */
  readonly reference: number[];
  readonly current: number[];
  /** Shares below the first edge and at or above the last (long tails kept off the axis). */
  readonly tails: { readonly below: { readonly reference: number; readonly current: number }; readonly above: { readonly reference: number; readonly current: number } };
  /** The training data's [min, max]. */
  readonly referenceRange: readonly [number, number];
  /** Share of current values below the reference min / above the reference max: values training never saw. */
  readonly outOfRange: { readonly below: number; readonly above: number };
}

function firstAbove(values: readonly number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Reference share strictly below x. */
export function referenceBelow(q: NumericQuantiles, x: number): number {
  const v = q.values;
  const n = q.countAtOrBelow[v.length - 1]!;
  const i = firstAbove(v, x);
  if (i > 0 && v[i - 1] === x) return q.countBelow[i - 1]! / n;
  if (i === 0) return 0;
  if (i === v.length) return 1;
  const t = (x - v[i - 1]!) / (v[i]! - v[i - 1]!);
  return (q.countAtOrBelow[i - 1]! + (q.countBelow[i]! - q.countAtOrBelow[i - 1]!) * t) / n;
}

/** Reference share at or below x (the right-continuous CDF). */
function referenceAtOrBelow(q: NumericQuantiles, x: number): number {
  const i = firstAbove(q.values, x);
  if (i > 0 && q.values[i - 1] === x) return q.countAtOrBelow[i - 1]! / q.countAtOrBelow[q.values.length - 1]!;
  return referenceBelow(q, x);
}

/** Current share strictly below x. */
export function currentBelow(d: WeightedDistribution, x: number): number {
  const i = firstAbove(d.values, x);
  if (i > 0 && d.values[i - 1] === x) return d.below[i - 1]! / d.total;
  return i === 0 ? 0 : d.atOrBelow[i - 1]! / d.total;
}

function currentAtOrBelow(d: WeightedDistribution, x: number): number {
  const i = firstAbove(d.values, x);
  return i === 0 ? 0 : d.atOrBelow[i - 1]! / d.total;
}

function referenceQuantile(q: NumericQuantiles, p: number): number {
  const n = q.countAtOrBelow[q.values.length - 1]!;
  for (let i = 0; i < q.values.length; i++) if (q.countAtOrBelow[i]! >= p * n) return q.values[i]!;
  return q.values[q.values.length - 1]!;
}

function currentQuantile(d: WeightedDistribution, p: number): number {
  for (let i = 0; i < d.values.length; i++) if (d.atOrBelow[i]! >= p * d.total) return d.values[i]!;
  return d.values[d.values.length - 1]!;
}

/** 1, 2, 2.5 or 5 times a power of ten, at least `raw`: bin widths people read at a glance. */
function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

const isIntegral = (values: readonly number[]): boolean => values.every((v) => Number.isInteger(v));

/** Shared bins on the value axis, covering the central 99% of both samples. */
export function valueHistogram(profile: NumericProfile, current: WeightedDistribution | undefined): ValueHistogram {
  const q = profile.quantiles;
  const hasCurrent = current !== undefined && current.total > 0;
  // Beyond 2^52 a double has no room for k ± ½: such columns are binned as continuous.
  const safe = Math.max(Math.abs(profile.min), Math.abs(profile.max), ...(hasCurrent ? [Math.abs(current.values[0]!), Math.abs(current.values[current.values.length - 1]!)] : [])) < 2 ** 52;
  const integer = safe && isIntegral(q.values) && Number.isInteger(profile.min) && Number.isInteger(profile.max) && (!hasCurrent || isIntegral(current.values));
  let lo = referenceQuantile(q, AXIS_TAIL);
  let hi = referenceQuantile(q, 1 - AXIS_TAIL);
  if (hasCurrent) {
    lo = Math.min(lo, currentQuantile(current, AXIS_TAIL));
    hi = Math.max(hi, currentQuantile(current, 1 - AXIS_TAIL));
  }
  const edges: number[] = [];
  if (integer) {
    const width = hi - lo + 1 <= INTEGER_BIN_LIMIT ? 1 : Math.ceil((hi - lo + 1) / DISPLAY_BINS);
    for (let e = lo - 0.5; e <= hi + 0.5; e += width) edges.push(e);
    if (edges[edges.length - 1]! <= hi) edges.push(edges[edges.length - 1]! + width);
  } else if (hi === lo) {
    const half = lo === 0 ? 0.5 : Math.abs(lo) / 2;
    edges.push(lo - half, lo + half);
  } else {
    const step = niceStep((hi - lo) / DISPLAY_BINS);
    const start = Math.floor(lo / step) * step;
    // The bound only matters where the step is near the values' precision (huge values, tiny spread).
    for (let k = 0; k <= 4 * DISPLAY_BINS; k++) {
      const e = Number((start + k * step).toPrecision(15));
      if (edges.length > 0 && e <= edges[edges.length - 1]!) continue;
      edges.push(e);
      if (e > hi) break;
    }
    if (edges.length < 2 || edges[edges.length - 1]! <= hi) edges.push(hi + (hi - lo) / DISPLAY_BINS);
  }
  const binShares = (below: (x: number) => number): number[] => edges.slice(1).map((e, i) => below(e) - below(edges[i]!));
  const refBelow = (x: number) => referenceBelow(q, x);
  const curBelow = (x: number) => (hasCurrent ? currentBelow(current, x) : 0);
  const last = edges[edges.length - 1]!;
  return {
    edges,
    integer,
    reference: binShares(refBelow),
    current: binShares(curBelow),
    tails: {
      below: { reference: refBelow(edges[0]!), current: curBelow(edges[0]!) },
      above: { reference: 1 - refBelow(last), current: hasCurrent ? 1 - curBelow(last) : 0 },
    },
    referenceRange: [profile.min, profile.max],
    outOfRange: hasCurrent
      ? { below: currentBelow(current, profile.min), above: 1 - currentAtOrBelow(current, profile.max) }
      : { below: 0, above: 0 },
  };
}

/**
 * ∫ |F_ref(x) − G_cur(x)| dx (scipy.stats.wasserstein_distance on the raw samples when the
 * profile kept every distinct value). Between consecutive points of either side G is
 * constant and F_ref linear, so each piece integrates in closed form.
 */
export function wassersteinDistance(q: NumericQuantiles, current: WeightedDistribution): number {
  const points = [...new Set([...q.values, ...current.values])].sort((a, b) => a - b);
  if (q.values.length === 0 || current.values.length === 0) return NaN;
  let sum = 0;
  for (let k = 0; k + 1 < points.length; k++) {
    const a = points[k]!;
    const b = points[k + 1]!;
    const g = currentAtOrBelow(current, a);
    const fa = referenceAtOrBelow(q, a) - g;
    const fb = referenceBelow(q, b) - g;
    const width = b - a;
    if (fa * fb >= 0) sum += (width * Math.abs(fa + fb)) / 2;
    else sum += (width * (fa * fa + fb * fb)) / (2 * Math.abs(fb - fa));
  }
  return sum;
}
