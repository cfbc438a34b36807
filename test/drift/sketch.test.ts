import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NumericAccumulator, QUANTILE_STEPS } from '../../lib/drift/profile.js';
import { mulberry32, normalSource } from '../../lib/drift/random.js';
import { RankSketch } from '../../lib/drift/sketch.js';
import { distributionOfSorted, ksStatistic } from '../../lib/drift/statistics/index.js';

/** Two-sample KS on raw data as scipy computes it: ECDFs compared at every pooled point. */
function exactKs(a: Float64Array, b: Float64Array): number {
  const upper = (s: Float64Array, x: number) => {
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  let d = 0;
  for (const x of [...a, ...b]) d = Math.max(d, Math.abs(upper(a, x) / a.length - upper(b, x) / b.length));
  return d;
}

type Kind = 'normal' | 'lognormal' | 'integers' | 'mixture' | 'constant' | 'exponential' | 'uniform';

function sample(kind: Kind, n: number, seed: number, shift: number, scale: number): Float64Array {
  const u = mulberry32(seed);
  const z = normalSource(u);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    switch (kind) {
      case 'normal': out[i] = shift + scale * z(); break;
      case 'lognormal': out[i] = Math.exp(shift + scale * z()); break;
      case 'integers': out[i] = Math.floor(u() * (3 + 40 * scale)) + Math.round(shift); break;
      case 'mixture': out[i] = u() < 0.3 ? shift + z() : 5 + 2 * scale * z(); break;
      case 'constant': out[i] = shift; break;
      case 'exponential': out[i] = Number((-Math.log(1 - u()) * scale).toFixed(1)); break;
      case 'uniform': out[i] = shift + u() * scale; break;
    }
  }
  return out;
}

const kinds: Kind[] = ['normal', 'lognormal', 'integers', 'mixture', 'constant', 'exponential', 'uniform'];

describe('quantile sketch KS bound', () => {
  it('keeps KS against the profile within 1/256 + rankError/n (<= 0.01) of exact KS on raw data', () => {
    // GIVEN varied reference and current distributions (ties, atoms, heavy tails, shifts),
    // with reference sizes past the rank sketch capacity so compaction happens
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds), fc.constantFrom(...kinds),
        fc.integer({ min: 1, max: 30_000 }), fc.integer({ min: 1, max: 3_000 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: 0.1, max: 3, noNaN: true }),
        (refKind, curKind, nRef, nCur, seed, shift, scale) => {
          const ref = sample(refKind, nRef, seed, 0, 1);
          const cur = sample(curKind, nCur, seed + 1, shift, scale);
          const acc = new NumericAccumulator(2_048);
          for (const v of ref) acc.add(v);
          // WHEN the profile is built and KS computed against its quantiles
          const profile = acc.profile();
          const sortedCur = Float64Array.from(cur).sort();
          const approx = ksStatistic(profile.quantiles, distributionOfSorted(sortedCur));
          const exact = exactKs(Float64Array.from(ref).sort(), sortedCur);
          // THEN the difference is within the proven bound, and the bound within 0.01
          const bound = 1 / QUANTILE_STEPS + profile.quantiles.rankError / nRef;
          expect(bound).toBeLessThanOrEqual(0.01);
          expect(Math.abs(approx - exact)).toBeLessThanOrEqual(bound + 1e-12);
          expect(profile.quantiles.values.length).toBeLessThanOrEqual(QUANTILE_STEPS + 1);
        },
      ),
      { numRuns: 60, seed: 20241122 },
    );
  });

  it('is exact when the reference has at most 257 distinct values, however many rows', () => {
    // GIVEN 100000 hour-of-day values (24 distinct)
    const ref = sample('integers', 100_000, 7, 0, 0.5);
    const cur = sample('integers', 5_000, 8, 2, 0.6);
    const acc = new NumericAccumulator();
    for (const v of ref) acc.add(v);
    // WHEN KS is computed against the profile THEN it equals the raw-data KS
    const sortedCur = Float64Array.from(cur).sort();
    expect(ksStatistic(acc.profile().quantiles, distributionOfSorted(sortedCur))).toBeCloseTo(exactKs(Float64Array.from(ref).sort(), sortedCur), 12);
  });

  it('stays bounded in size whatever the input size', () => {
    // GIVEN 10x more values WHEN profiled THEN the serialized quantiles stay the same size (KB)
    const sizes = [20_000, 200_000].map((n) => {
      const acc = new NumericAccumulator();
      for (const v of sample('lognormal', n, 3, 0, 1)) acc.add(v);
      return JSON.stringify(acc.profile()).length;
    });
    expect(sizes[1]!).toBeLessThan(16_384);
    expect(Math.abs(sizes[1]! - sizes[0]!)).toBeLessThan(2_048);
  });

  it('tracks a rank error bound the answers respect', () => {
    // GIVEN a sketch of capacity 64 fed 10000 shuffled integers
    const sketch = new RankSketch(64);
    const u = mulberry32(5);
    const values = Array.from({ length: 10_000 }, (_, i) => i).sort(() => u() - 0.5);
    for (const v of values) sketch.add(v);
    // WHEN ranks are read back THEN each is within the tracked bound, and the weights sum to n
    const dist = sketch.distribution();
    expect(dist.total).toBe(10_000);
    expect(sketch.rankErrorBound).toBeGreaterThan(0);
    dist.values.forEach((v, i) => expect(Math.abs(dist.atOrBelow[i]! - (v + 1))).toBeLessThanOrEqual(sketch.rankErrorBound));
  });

  it('fails when the capacity is odd', () => {
    expect(() => new RankSketch(7)).toThrow('capacity must be an even number >= 2, got 7');
  });
});
