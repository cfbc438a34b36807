import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CategoricalFeatureReport, NumericFeatureReport } from '../../lib/drift/compare.js';
import { buildBaseline, measureDrift } from '../../lib/drift/dataset.js';
import type { CategoricalProfile, NumericProfile } from '../../lib/drift/profile.js';
import { dataHash, scenarios } from '../fixtures/drift/generate.js';

// Known answers from test/fixtures/drift/reference.py (numpy/scipy on the raw data).
// Tolerances: 1e-9 relative for values computed the same way on exact data (PSI, JS,
// chi-square, exact KS); 1/256 absolute for KS when the profile keeps quantiles instead
// of every value (the bound proven in docs/drift.md), with the p-value then inside
// scipy's p-values at D ± 1/256.
const expected = JSON.parse(readFileSync(new URL('../fixtures/drift/expected.json', import.meta.url), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'slipway-drift-known-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const close = (actual: number | null, want: number, rel = 1e-9) =>
  expect(Math.abs(actual! - want), `${actual} vs ${want}`).toBeLessThanOrEqual(rel * Math.max(Math.abs(want), 1e-12));

describe('drift statistics against scipy known answers', () => {
  const all = scenarios();

  it('regenerates exactly the data the fixtures were computed from', () => {
    // GIVEN the committed generator WHEN it runs THEN its data hash is the one reference.py saw
    expect(dataHash(all)).toBe(expected.dataHash);
  });

  for (const scenario of all) {
    it(`matches scipy for scenario ${scenario.name}`, async () => {
      // GIVEN the scenario's reference and current CSV files
      const ref = join(dir, `${scenario.name}.reference.csv`);
      const cur = join(dir, `${scenario.name}.current.csv`);
      writeFileSync(ref, scenario.reference);
      writeFileSync(cur, scenario.current);
      // WHEN a baseline is built from the reference and the current file is measured against it
      const baseline = await buildBaseline(ref, { categorical: scenario.categorical });
      const report = await measureDrift(baseline, cur);
      // THEN every statistic agrees with scipy on the raw data
      const want = expected.scenarios[scenario.name].features;
      for (const name of [...scenario.numeric, ...scenario.categorical]) {
        const w = want[name];
        const got = report.features[name]!;
        expect(got.type).toBe(w.type);
        expect(got.count).toBe(w.count);
        expect(got.missing).toBe(w.missing);
        close(got.psi, w.psi);
        close(got.jensenShannon, w.jensenShannon);
        got.histogram.current.forEach((c, i) => close(c, w.current[i]));
        if (w.type === 'numeric') {
          const profile = baseline.features[name] as NumericProfile;
          expect(profile.count).toBe(w.reference.count);
          expect(profile.missing).toBe(w.reference.missing);
          close(profile.mean, w.reference.mean);
          close(profile.std, w.reference.std);
          expect([profile.min, profile.max]).toEqual([w.reference.min, w.reference.max]);
          expect(profile.bins.edges).toEqual(w.reference.edges);
          profile.bins.fractions.forEach((f, i) => close(f, w.reference.fractions[i]));
          const ks = (got as NumericFeatureReport).ks;
          if (w.reference.distinct <= 257) {
            close(ks.statistic, w.ks.statistic, 1e-12);
            close(ks.pValue, w.ks.pValue, 1e-9);
          } else {
            expect(Math.abs(ks.statistic! - w.ks.statistic)).toBeLessThanOrEqual(1 / 256);
            expect(ks.pValue!).toBeGreaterThanOrEqual(w.ksPValueRange[0] * (1 - 1e-9));
            expect(ks.pValue!).toBeLessThanOrEqual(w.ksPValueRange[1] * (1 + 1e-9));
          }
        } else {
          const profile = baseline.features[name] as CategoricalProfile;
          expect(profile.categories.map((c) => [c.value, c.count])).toEqual(w.reference.categories);
          expect(profile.otherCount).toBe(w.reference.otherCount);
          const chi2 = (got as CategoricalFeatureReport).chi2;
          close(chi2.statistic, w.chi2.statistic);
          close(chi2.pValue, w.chi2.pValue, 1e-8);
          expect((got as CategoricalFeatureReport).unseen.count).toBe(w.unseen);
        }
      }
    });
  }

  it('applies the default verdict: PSI >= 0.2, or p < 0.01 with a non-negligible effect', async () => {
    // GIVEN the lognormal scenario, whose "amount" shift is significant but small
    const s = all.find((x) => x.name === 'lognormal-large')!;
    const ref = join(dir, 'verdict.reference.csv');
    const cur = join(dir, 'verdict.current.csv');
    writeFileSync(ref, s.reference);
    writeFileSync(cur, s.current);
    const baseline = await buildBaseline(ref);
    // WHEN measured with default thresholds
    const report = await measureDrift(baseline, cur);
    // THEN a p-value of 1e-8 with KS 0.06 (< 0.1) and PSI 0.02 is not drift: large samples make tiny shifts significant
    const amount = report.features.amount as NumericFeatureReport;
    expect(amount.ks.pValue!).toBeLessThan(1e-6);
    expect(amount.drifted).toBe(false);
    expect(report.drifted).toBe(false);
    // WHEN the KS effect threshold for "amount" is lowered to 0.05
    const strict = await measureDrift(baseline, cur, { thresholds: { features: { amount: { ksStatistic: 0.05 } } } });
    // THEN only "amount" drifts, with the rule that fired named
    expect(strict.features.amount!.drifted).toBe(true);
    expect(strict.features.amount!.reasons[0]).toMatch(/^KS p-value .* < 0.01 and KS statistic 0.06\d* >= 0.05$/);
    expect(strict.features.score!.drifted).toBe(false);
    expect(strict.drifted).toBe(true);
  });
});
