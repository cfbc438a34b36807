import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FeedbackJoin } from '../../../lib/drift/live/feedback.js';
import { LiveDriftMonitor } from '../../../lib/drift/live.js';
import type { BaselineProfile } from '../../../lib/drift/profile.js';
import { REFERENCE, fixture } from '../../support/performance-fixtures.js';

const softmax = (...p1: number[]) => Float64Array.from(p1.flatMap((p) => [1 - p, p]));

describe('FeedbackJoin', () => {
  it('expires waiting predictions by age even when no new prediction arrives', () => {
    // GIVEN predictions that wait at most 60 s
    let now = 0;
    const join = new FeedbackJoin({ pendingSeconds: 60 }, () => now);
    join.recordPredictions('a', softmax(0.9), 1, 2);
    join.recordPredictions('b', softmax(0.1), 1, 2);
    // WHEN 61 s pass with no traffic
    now = 61_000;
    // THEN the late feedback is refused and the sweep frees them
    expect(join.recordFeedback('a', '1')).toBe(false);
    join.expire();
    expect(join.pendingRequests).toBe(0);
    expect(join.pendingRows).toBe(0);
    expect(join.value).toBeNull();
  });

  it('keeps at most maxPendingRequests and maxPendingRows, dropping the oldest', () => {
    const join = new FeedbackJoin({ maxPendingRequests: 2, maxPendingRows: 5 }, () => 0);
    for (const id of ['a', 'b', 'c']) join.recordPredictions(id, softmax(0.9), 1, 2);
    expect(join.pendingRequests).toBe(2);
    expect(join.recordFeedback('a', '1')).toBe(false);
    expect(join.recordFeedback('c', '1')).toBe(true);
    expect(join.value).toBe(1);
    // WHEN a request of 4 rows arrives beside b's one: 5 rows fit; one more evicts b
    join.recordPredictions('d', softmax(0.9, 0.9, 0.1, 0.1), 4, 2);
    expect([join.pendingRequests, join.pendingRows]).toEqual([2, 5]);
    join.recordPredictions('e', softmax(0.9), 1, 2);
    expect([join.pendingRequests, join.pendingRows]).toEqual([2, 5]);
    expect(join.recordFeedback('b', 1)).toBe(false);
    // AND a request larger than the whole bound is never held
    join.recordPredictions('huge', softmax(...Array.from({ length: 6 }, () => 0.5)), 6, 2);
    expect(join.recordFeedback('huge', 0)).toBe(false);
  });

  it('joins regression outputs (one column) into MAE and RMSE', () => {
    const join = new FeedbackJoin({}, () => 0);
    join.recordPredictions('r', Float64Array.of(1, 2, 4), 3, 1);
    expect(join.recordFeedback('r', [2, 2, 1])).toBe(true);
    const m = join.metrics();
    expect(m.task).toBe('regression');
    expect(m.regression).toEqual({ mae: (1 + 0 + 3) / 3, rmse: Math.sqrt((1 + 0 + 9) / 3) });
    expect(m.classification).toBeUndefined();
    expect(m.estimated).toBeUndefined();
  });

  it('counts a label that is no class index as a miss', () => {
    const join = new FeedbackJoin({}, () => 0);
    join.recordPredictions('x', softmax(0.9, 0.1), 2, 2);
    join.recordFeedback('x', ['fraud', 0]);
    expect(join.metrics().classification?.accuracy).toBe(0.5);
  });

  it('stays bounded under a soak: 300 000 requests, a third labelled, the clock moving on', () => {
    // GIVEN the runtime's defaults (10 000 requests, 100 000 rows, a day) and requests of 8 rows
    let now = 0;
    const join = new FeedbackJoin({ pendingSeconds: 3600 }, () => now);
    const rows = softmax(0.1, 0.7, 0.4, 0.9, 0.2, 0.6, 0.3, 0.8);
    let maxRequests = 0;
    let maxRows = 0;
    let joined = 0;
    // WHEN 300 000 requests arrive, 100 per simulated second, and every third gets its labels 30 s later
    for (let i = 0; i < 300_000; i++) {
      now = i * 10;
      join.recordPredictions(`req-${i}`, rows, 8, 2);
      if (i % 3 === 0 && i >= 3000 && join.recordFeedback(`req-${i - 3000}`, [0, 1, 0, 1, 0, 1, 0, 1])) joined++;
      maxRequests = Math.max(maxRequests, join.pendingRequests);
      maxRows = Math.max(maxRows, join.pendingRows);
    }
    // THEN the waiting predictions never exceeded their bounds, recent labels still joined, and the window is full
    expect(maxRequests).toBeLessThanOrEqual(10_000);
    expect(maxRows).toBeLessThanOrEqual(80_000);
    expect(joined).toBe(99_000);
    expect(join.labeled).toBe(1000);
    expect(join.metrics().classification?.accuracy).toBe(1);
    // AND once the clock passes the expiry, nothing waits
    now += 3_600_001;
    join.expire();
    expect([join.pendingRequests, join.pendingRows]).toEqual([0, 0]);
  });
});

describe('live performance gauges in the runtime\'s registry', () => {
  const baseline = { featureOrder: [] as string[], features: {}, source: { file: 'x', rows: 1 } } as unknown as BaselineProfile;

  it('publish the fixture\'s scikit-learn accuracy, precision, recall, AUC and the CBPE estimate, with the sample count', async () => {
    // GIVEN a monitor with feedback, and the binary fixture served as 10 requests of 100 rows
    const registry = new Registry();
    const monitor = new LiveDriftMonitor({ model: 'm', version: 'v1', baseline, registry, intervalSeconds: 0, feedback: {} });
    const rows = fixture('binary.csv');
    for (let r = 0; r < 10; r++) {
      const chunk = rows.slice(r * 100, (r + 1) * 100);
      monitor.recordOutputs(softmax(...chunk.map((x) => x[0]!)), chunk.length, 2, `req-${r}`);
    }
    // WHEN every label arrives through feedback
    for (let r = 0; r < 10; r++) expect(monitor.recordFeedback(`req-${r}`, rows.slice(r * 100, (r + 1) * 100).map((x) => x[1]!))).toBe(true);
    const snapshot = await monitor.evaluate();
    // THEN the gauges carry sklearn's numbers for the model version
    const gauges = Object.fromEntries((await registry.getMetricsAsJSON()).map((m) => [m.name, (m.values as Array<{ value: number; labels: Record<string, string> }>).find((v) => v.labels.version === 'v1')?.value]));
    const ref = REFERENCE.binary;
    expect(gauges.slipway_model_accuracy).toBeCloseTo(ref.accuracy, 12);
    expect(gauges.slipway_model_precision).toBeCloseTo(ref.precision, 12);
    expect(gauges.slipway_model_recall).toBeCloseTo(ref.recall, 12);
    expect(gauges.slipway_model_roc_auc).toBeCloseTo(ref.roc_auc, 12);
    expect(gauges.slipway_model_feedback_samples).toBe(1000);
    expect(gauges.slipway_model_feedback_pending_requests).toBe(0);
    expect(gauges.slipway_model_estimated_accuracy).toBeCloseTo(ref.cbpe.accuracy, 9);
    expect(gauges.slipway_model_estimated_accuracy_stddev).toBeCloseTo(ref.cbpe.accuracy_stddev, 9);
    expect(gauges.slipway_model_estimated_precision).toBeCloseTo(ref.cbpe.precision, 9);
    expect(gauges.slipway_model_estimated_recall).toBeCloseTo(ref.cbpe.recall, 9);
    expect(gauges.slipway_model_estimated_samples).toBe(1000);
    expect(snapshot.livePerformance?.classification?.rocAuc).toBeCloseTo(ref.roc_auc, 12);
    // AND closing the monitor removes the series
    await monitor.close();
    expect(await registry.metrics()).not.toContain('version="v1"');
  });
});
