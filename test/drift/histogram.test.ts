import { describe, expect, it } from 'vitest';
import { numericReport, resolveThresholds } from '../../lib/drift/compare.js';
import { valueHistogram, wassersteinDistance } from '../../lib/drift/histogram.js';
import { NumericAccumulator, type NumericProfile } from '../../lib/drift/profile.js';
import { mulberry32 } from '../../lib/drift/random.js';
import { distributionOfSorted } from '../../lib/drift/statistics/index.js';

const profileOf = (values: readonly number[]): NumericProfile => {
  const acc = new NumericAccumulator();
  for (const v of values) acc.add(v);
  return acc.profile();
};
const sorted = (values: readonly number[]) => distributionOfSorted(Float64Array.from(values).sort());

describe('value-axis histogram', () => {
  it('gives integer features one bin per whole number, no empty duplicates, and the reference shape exactly', () => {
    // GIVEN a count feature: 0 × 50, 1 × 30, 2 × 15, 3 × 5 (deciles would cut [0, 0) and [1, 1) bins)
    const ref = [...Array(50).fill(0), ...Array(30).fill(1), ...Array(15).fill(2), ...Array(5).fill(3)];
    const h = valueHistogram(profileOf(ref), sorted([0, 1, 1, 2, 2, 2, 3, 3, 3, 3]));
    // THEN bins are [k - 0.5, k + 0.5), each edge distinct, the reference's shares its real counts
    expect(h.integer).toBe(true);
    expect(h.edges).toEqual([-0.5, 0.5, 1.5, 2.5, 3.5]);
    [0.5, 0.3, 0.15, 0.05].forEach((want, i) => expect(h.reference[i]).toBeCloseTo(want, 12));
    [0.1, 0.2, 0.3, 0.4].forEach((want, i) => expect(h.current[i]).toBeCloseTo(want, 12));
    expect(h.outOfRange).toEqual({ below: 0, above: 0 });
  });

  it('puts both samples on shared bins covering both ranges, and shows mass beyond the training range as such', () => {
    // GIVEN a reference on 0..9 and a current sample of which 3 of 10 lie at 12 and 15
    const ref = Array.from({ length: 100 }, (_, i) => i % 10);
    const h = valueHistogram(profileOf(ref), sorted([1, 2, 3, 4, 5, 6, 7, 12, 12, 15]));
    // THEN the shared bins reach 15, the reference has no mass there, and 30% is out of range above
    expect(h.edges[0]).toBe(-0.5);
    expect(h.edges[h.edges.length - 1]).toBe(15.5);
    expect(h.reference.slice(10).every((r) => r === 0)).toBe(true);
    expect(h.current[12]).toBeCloseTo(0.2, 12);
    expect(h.outOfRange).toEqual({ below: 0, above: 0.30000000000000004 });
    expect(h.referenceRange).toEqual([0, 9]);
    // AND shares sum to 1 on each side, tails included
    const total = (xs: number[], k: 'reference' | 'current') => xs.reduce((a, b) => a + b, 0) + h.tails.below[k] + h.tails.above[k];
    expect(total(h.reference, 'reference')).toBeCloseTo(1, 12);
    expect(total(h.current, 'current')).toBeCloseTo(1, 12);
  });

  it('uses one round bin width (1, 2, 2.5 or 5 × 10^k) on a continuous axis', () => {
    const u = mulberry32(7);
    const ref = Array.from({ length: 2000 }, () => u() * 10);
    const h = valueHistogram(profileOf(ref), sorted(Array.from({ length: 500 }, () => 2 + u() * 10)));
    expect(h.integer).toBe(false);
    const widths = new Set(h.edges.slice(1).map((e, i) => Number((e - h.edges[i]!).toPrecision(6))));
    // 0..12 over 20 bins: 0.6 rounds up to 1
    expect(widths).toEqual(new Set([1]));
    expect(h.outOfRange.above).toBeGreaterThan(0.1);
  });
});

describe('value-axis histogram on awkward data', () => {
  it('terminates with increasing edges for huge values with a tiny spread, and for huge integers', () => {
    for (const base of [1e17, 2 ** 53, 123456789.123]) {
      const ref = Array.from({ length: 50 }, (_, i) => base + (i % 5) * (base > 1e16 ? 32 : 1e-6));
      const h = valueHistogram(profileOf(ref), sorted(ref));
      expect(h.edges.length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < h.edges.length; i++) expect(h.edges[i]!).toBeGreaterThan(h.edges[i - 1]!);
    }
  });
});

describe('Wasserstein distance', () => {
  it('is 1 between {0,1,2,3} and {1,2,3,4} (scipy.stats.wasserstein_distance)', () => {
    expect(wassersteinDistance(profileOf([0, 1, 2, 3]).quantiles, sorted([1, 2, 3, 4]))).toBeCloseTo(1, 12);
  });

  it('equals the mean absolute difference of sorted equal-size samples when the profile is exact', () => {
    // GIVEN two samples of 200 with at most 257 distinct values each (the profile keeps every value)
    const u = mulberry32(42);
    const a = Array.from({ length: 200 }, () => Math.round(u() * 100) / 4);
    const b = Array.from({ length: 200 }, () => Math.round(u() * 120) / 4);
    const sa = [...a].sort((x, y) => x - y);
    const sb = [...b].sort((x, y) => x - y);
    // THEN W1 = mean |a_(i) − b_(i)|, an identity independent of our CDF code
    const want = sa.reduce((s, x, i) => s + Math.abs(x - sb[i]!), 0) / 200;
    expect(wassersteinDistance(profileOf(a).quantiles, sorted(b))).toBeCloseTo(want, 10);
  });

  it('decides large samples instead of the KS p-value, and says so', () => {
    // GIVEN a shift of 0.05 std on 20 000 values: KS p-value tiny, effect negligible
    const u = mulberry32(3);
    const ref = Array.from({ length: 20_000 }, () => u());
    const cur = Array.from({ length: 20_000 }, () => u() + 0.015);
    const profile = profileOf(ref);
    const dist = sorted(cur);
    const thresholds = resolveThresholds('x', 'features');
    const bins = new Array<number>(profile.bins.edges.length + 1).fill(0);
    const report = numericReport(profile, bins.map(() => 2000), 20_000, 0, dist, thresholds);
    expect(report.test).toBe('Wasserstein');
    expect(report.ks.pValue!).toBeLessThan(0.01);
    expect(report.wasserstein!).toBeLessThan(0.1);
    expect(report.verdict).toBe('no drift');
    // WHEN the large-sample size is raised above the sample THEN KS decides again
    const small = numericReport(profile, bins.map(() => 2000), 20_000, 0, dist, { ...thresholds, largeSampleSize: 50_000 });
    expect(small.test).toBe('KS');
  });
});
