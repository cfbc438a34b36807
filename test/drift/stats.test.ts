import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chiSquare, jensenShannon, ksPValue, psi, regularizedGammaQ, smirnovSf } from '../../lib/drift/statistics/index.js';

// Grids computed by test/fixtures/drift/reference.py with scipy (kstwo.sf as ks_2samp's
// asymptotic mode calls it, chi2.sf, special.smirnov). Tolerance: 1e-9 relative, or
// 1e-14 absolute for p-values that small (scipy uses double-double arithmetic there).
const { functions } = JSON.parse(readFileSync(new URL('../fixtures/drift/expected.json', import.meta.url), 'utf8'));

const agree = (actual: number, want: number, label: string) => {
  const diff = Math.abs(actual - want);
  expect(diff <= 1e-9 * Math.abs(want) || diff <= 1e-14, `${label}: ${actual} vs scipy ${want}`).toBe(true);
};

describe('KS p-value (scipy.stats.ks_2samp, method="asymp")', () => {
  it('matches scipy kstwo.sf(d, round(n1·n2/(n1+n2))) across sizes and statistics', () => {
    // GIVEN scipy's values over sizes from 3 to 2e6 and d from 5e-4 to 1 (every branch of kstwo.sf)
    for (const { d, n1, n2, pValue } of functions.kstwo) {
      // WHEN our p-value is computed THEN it agrees
      agree(ksPValue(d, n1, n2), pValue, `d=${d} n1=${n1} n2=${n2}`);
    }
    expect(functions.kstwo.length).toBeGreaterThan(150);
  });

  it('rounds n1·n2/(n1+n2) half to even as numpy does', () => {
    // GIVEN n1 = n2 = 3: en = 1.5 rounds to 2, not 1 WHEN d = 0.6 THEN p = kstwo.sf(0.6, 2)
    // kstwo.sf(0.6, 2) = 2·(1 − 0.6)² = 0.32 (Ruben–Gambino, t >= n − 1)
    expect(ksPValue(0.6, 3, 3)).toBeCloseTo(0.32, 14);
  });

  it('matches scipy.special.smirnov', () => {
    for (const { n, x, sf } of functions.smirnov) agree(smirnovSf(n, x), sf, `smirnov(${n}, ${x})`);
  });
});

describe('chi-square p-value (scipy.stats.chi2.sf)', () => {
  it('matches scipy from 1 to 999 degrees of freedom', () => {
    for (const { df, x, pValue } of functions.chi2) agree(regularizedGammaQ(df / 2, x / 2), pValue, `chi2.sf(${x}, ${df})`);
  });

  it('computes the goodness-of-fit statistic against proportions', () => {
    // GIVEN observed 30/70 against proportions 1/2, 1/2: expected 50/50
    const { statistic } = chiSquare([30, 70], [0.5, 0.5]);
    // THEN stat = 400/50 + 400/50
    expect(statistic).toBeCloseTo(16, 12);
  });
});

describe('PSI and Jensen-Shannon', () => {
  it('floors empty bins at 1e-4 in PSI', () => {
    // GIVEN a current sample with nothing in the first bin
    // THEN that bin contributes (1e-4 - 0.5)·ln(1e-4 / 0.5)
    const want = (1e-4 - 0.5) * Math.log(1e-4 / 0.5) + (1 - 0.5) * Math.log(1 / 0.5);
    expect(psi([0.5, 0.5], [0, 1])).toBeCloseTo(want, 12);
  });

  it('is 1 for disjoint distributions in base 2 and 0 for identical ones', () => {
    expect(jensenShannon([1, 0], [0, 1])).toBeCloseTo(1, 12);
    expect(jensenShannon([0.2, 0.8], [0.2, 0.8])).toBe(0);
  });
});
