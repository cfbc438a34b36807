import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, REFERENCE, fixture } from '../../support/performance-fixtures.js';
import { describeWithTools } from '../../support/tools.js';
import { classificationMetrics, estimatePerformance, regressionMetrics, rocAuc } from '../../../lib/drift/live/quality.js';

const argmax = (row: readonly number[]) => row.reduce((best, v, i) => (v > row[best]! ? i : best), 0);

describe('live quality metrics agree with scikit-learn on committed fixtures', () => {
  it('binary: accuracy, precision, recall and ROC AUC (tied scores at their mean rank)', () => {
    // GIVEN a logistic regression's probabilities and the true labels
    const rows = fixture('binary.csv');
    const proba = rows.map(([p1]) => [1 - p1!, p1!]);
    const predicted = Float64Array.from(proba, argmax);
    const observed = Float64Array.from(rows, (r) => r[1]!);
    // WHEN the metrics are computed as the runtime does
    const m = classificationMetrics(predicted, observed, rows.length, true, Float64Array.from(rows, (r) => r[0]!))!;
    // THEN they equal sklearn's accuracy_score, precision_score, recall_score and roc_auc_score
    const ref = REFERENCE.binary;
    expect(m.accuracy).toBeCloseTo(ref.accuracy, 12);
    expect(m.precision).toBeCloseTo(ref.precision, 12);
    expect(m.recall).toBeCloseTo(ref.recall, 12);
    expect(m.rocAuc).toBeCloseTo(ref.roc_auc, 12);
  });

  it('multi-class: accuracy and macro precision and recall', () => {
    const rows = fixture('multiclass.csv');
    const m = classificationMetrics(Float64Array.from(rows, (r) => argmax(r.slice(0, 3))), Float64Array.from(rows, (r) => r[3]!), rows.length, false)!;
    const ref = REFERENCE.multiclass;
    expect(m.accuracy).toBeCloseTo(ref.accuracy, 12);
    expect(m.precision).toBeCloseTo(ref.precision, 12);
    expect(m.recall).toBeCloseTo(ref.recall, 12);
    expect(m.rocAuc).toBeUndefined();
  });

  it('regression: MAE and RMSE', () => {
    const rows = fixture('regression.csv');
    const m = regressionMetrics(Float64Array.from(rows, (r) => r[0]!), Float64Array.from(rows, (r) => r[1]!), rows.length)!;
    expect(m.mae).toBeCloseTo(REFERENCE.regression.mae, 9);
    expect(m.rmse).toBeCloseTo(REFERENCE.regression.rmse, 9);
  });

  it('CBPE: the expected accuracy, its spread and the expected precision and recall match the reference, and the realised accuracy lies within 2 standard deviations', () => {
    for (const [name, cols] of [['binary', 2], ['multiclass', 3]] as const) {
      const rows = fixture(`${name}.csv`);
      const proba = rows.map((r) => (cols === 2 ? [1 - r[0]!, r[0]!] : r.slice(0, 3)));
      const predicted = proba.map(argmax);
      const estimate = estimatePerformance(
        Float64Array.from(proba, (p, i) => p[predicted[i]!]!),
        rows.length,
        cols === 2 ? { positive: Float64Array.from(proba, (p) => p[1]!), predictedPositive: Uint8Array.from(predicted, (k) => (k === 1 ? 1 : 0)) } : undefined,
      )!;
      const ref = REFERENCE[name];
      expect(estimate.accuracy).toBeCloseTo(ref.cbpe.accuracy, 9);
      expect(estimate.accuracyStddev).toBeCloseTo(ref.cbpe.accuracy_stddev, 12);
      expect(estimate.rows).toBe(ref.cbpe.rows);
      if (cols === 2) {
        expect(estimate.precision).toBeCloseTo(ref.cbpe.precision, 9);
        expect(estimate.recall).toBeCloseTo(ref.cbpe.recall, 9);
      }
      expect(Math.abs(ref.accuracy - estimate.accuracy)).toBeLessThan(2 * estimate.accuracyStddev);
    }
  });

  it('has no ROC AUC when only one class was observed, and no metrics over no rows', () => {
    expect(rocAuc([0.1, 0.9], [1, 1], 2)).toBeUndefined();
    expect(classificationMetrics([], [], 0, true)).toBeUndefined();
    expect(regressionMetrics([], [], 0)).toBeUndefined();
    expect(estimatePerformance([], 0)).toBeUndefined();
  });
});

const PYTHON = '/usr/bin/python3';
const sklearnMissing = spawnSync(PYTHON, ['-c', 'import sklearn, numpy'], { stdio: 'ignore' }).status === 0 ? undefined : `${PYTHON} lacks scikit-learn (Debian package python3-sklearn)`;

describeWithTools('the committed reference numbers', sklearnMissing, () => {
  it('are what make-reference.py computes with scikit-learn', () => {
    // GIVEN the script in a scratch folder
    const dir = mkdtempSync(join(tmpdir(), 'slipway-perf-ref-'));
    try {
      copyFileSync(join(FIXTURES, 'make-reference.py'), join(dir, 'make-reference.py'));
      // WHEN scikit-learn runs it again
      const run = spawnSync(PYTHON, ['make-reference.py'], { cwd: dir, encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      // THEN it writes exactly the committed fixtures and numbers
      for (const file of ['binary.csv', 'multiclass.csv', 'regression.csv', 'reference.json']) {
        expect(readFileSync(join(dir, file), 'utf8'), file).toBe(readFileSync(join(FIXTURES, file), 'utf8'));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
