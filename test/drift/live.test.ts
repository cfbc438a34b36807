import { spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBaseline } from '../../lib/drift/baseline-file.js';
import { measureDrift } from '../../lib/drift/dataset.js';
import { alertFingerprint, LiveDriftMonitor } from '../../lib/drift/live.js';
import type { BaselineProfile } from '../../lib/drift/profile.js';
import { tensorRows } from '../support/drift.js';

const example = (name: string) => new URL(`../../examples/${name}`, import.meta.url).pathname;
const BASELINE = example('model-repository/fraud-detector/1/baseline.json');

interface Received {
  body: Record<string, any>; // parsed webhook JSON: shape asserted field by field below
  contentType: string | undefined;
}

let server: Server;
let url: string;
const received: Received[] = [];
let respondWith = 200;

beforeAll(async () => {
  // A real HTTP receiver on loopback standing in for the Tekton EventListener.
  server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')), contentType: req.headers['content-type'] });
      res.writeHead(respondWith).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/retrain`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

class FakeClock {
  now = Date.parse('2025-01-01T00:00:00Z');
  readonly read = () => this.now;
  advance(seconds: number) {
    this.now += seconds * 1000;
  }
}

describe('live drift monitor', () => {
  let baseline: BaselineProfile;
  let current: { data: Float64Array; rows: number };
  let drifted: { data: Float64Array; rows: number };

  beforeAll(async () => {
    baseline = await readBaseline(BASELINE);
    current = await tensorRows(example('data/fraud-current.csv'), baseline.featureOrder);
    drifted = await tensorRows(example('data/fraud-drifted.csv'), baseline.featureOrder);
  });

  it('computes the same statistics on its window as `slipway drift` on the same rows', async () => {
    // GIVEN a monitor recording every row
    const registry = new Registry();
    const monitor = new LiveDriftMonitor({ model: 'fraud-detector', version: '2.1.0', baseline, registry, sampleRate: 1, intervalSeconds: 0 });
    // WHEN the drifted sample goes through the request path and the window is evaluated
    monitor.recordRows(drifted.data, drifted.rows, 6);
    const snapshot = await monitor.evaluate();
    // THEN the numbers equal the batch report for the same file (the batch report also has `channel`, not a model input)
    const batch = await measureDrift(baseline, example('data/fraud-drifted.csv'));
    for (const name of baseline.featureOrder) {
      const live = snapshot.features[name]!;
      const want = batch.features[name]!;
      expect(live.psi).toBeCloseTo(want.psi!, 12);
      expect(live.jensenShannon).toBeCloseTo(want.jensenShannon!, 12);
      expect(live.type === 'numeric' && want.type === 'numeric' && live.ks.statistic).toBeCloseTo((want as { ks: { statistic: number } }).ks.statistic, 12);
      expect(live.drifted).toBe(want.drifted);
    }
    expect(snapshot.drifted).toBe(true);
    expect(snapshot.rows).toBe(2000);
    // AND the gauges carry them, in an exposition promtool accepts
    const text = await registry.metrics();
    expect(text).toContain('slipway_model_drift_detected{model="fraud-detector",version="2.1.0"} 1');
    expect(text).toMatch(/slipway_feature_drift_psi\{model="fraud-detector",version="2\.1\.0",feature="amount"\} 0\.34/);
    expect(text).toMatch(/slipway_feature_drift_ks_statistic\{model="fraud-detector",version="2\.1\.0",feature="hour"\} 0\.14/);
    expect(text).toMatch(/slipway_feature_drift_js_distance\{model="fraud-detector",version="2\.1\.0",feature="distance_km"\} 0\.2/);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(promtool.status, promtool.stdout + promtool.stderr).toBe(0);
    // WHEN closed THEN its series are gone from the shared registry
    await monitor.close();
    expect(await registry.metrics()).not.toContain('model="fraud-detector"');
  });

  it('reports no drift for new draws of the training population, from Float32 tensors', async () => {
    const registry = new Registry();
    const monitor = new LiveDriftMonitor({ model: 'm', baseline, registry, sampleRate: 1, intervalSeconds: 0 });
    monitor.recordRows(Float32Array.from(current.data), current.rows, 6);
    const snapshot = await monitor.evaluate();
    expect(snapshot.drifted).toBe(false);
    expect(Object.values(snapshot.features).every((f) => !f.drifted)).toBe(true);
    expect(await registry.metrics()).toContain('slipway_model_drift_detected{model="m",version=""} 0');
    await monitor.close();
  });

  it('bounds the window by rows and by age, and samples at the configured rate', async () => {
    // GIVEN a window of 500 rows, 60 seconds, sampling 25% of rows
    const clock = new FakeClock();
    const monitor = new LiveDriftMonitor({ model: 'w', baseline, registry: new Registry(), sampleRate: 0.25, windowRows: 500, windowSeconds: 60, intervalSeconds: 0, clock: clock.read });
    // WHEN 1000 rows arrive THEN about a quarter are kept
    monitor.recordRows(current.data.subarray(0, 6000), 1000, 6);
    let snapshot = await monitor.evaluate();
    expect(snapshot.rows).toBeGreaterThan(200);
    expect(snapshot.rows).toBeLessThan(300);
    // WHEN 2000 more arrive THEN the window holds at most 500
    monitor.recordRows(current.data, 2000, 6);
    snapshot = await monitor.evaluate();
    expect(snapshot.rows).toBe(500);
    // WHEN 61 seconds pass THEN every row has aged out and there is no verdict
    clock.advance(61);
    snapshot = await monitor.evaluate();
    expect(snapshot.rows).toBe(0);
    expect(snapshot.insufficientData).toBe(true);
    expect(snapshot.drifted).toBe(false);
    await monitor.close();
  });

  it('POSTs one Alertmanager webhook per sustained drift episode, with a cooldown between episodes', async () => {
    received.length = 0;
    respondWith = 200;
    const clock = new FakeClock();
    const monitor = new LiveDriftMonitor({
      model: 'fraud-detector', baseline, registry: new Registry(), sampleRate: 1, windowRows: 2000, intervalSeconds: 0, clock: clock.read,
      alert: { url, sustainSeconds: 600, cooldownSeconds: 3600, receiver: 'tekton-retrain', severity: 'critical' },
    });
    const startedAt = clock.now;
    // GIVEN drifted traffic WHEN evaluated at once THEN nothing is sent: drift is not yet sustained
    monitor.recordRows(drifted.data, drifted.rows, 6);
    await monitor.evaluate();
    expect(received).toHaveLength(0);
    // WHEN it lasts past 600 s THEN exactly one alert is POSTed
    clock.advance(300);
    await monitor.evaluate();
    expect(received).toHaveLength(0);
    clock.advance(301);
    const snapshot = await monitor.evaluate();
    expect(snapshot.driftingSince).toBe(new Date(startedAt).toISOString());
    expect(received).toHaveLength(1);
    const { body, contentType } = received[0]!;
    expect(contentType).toBe('application/json');
    expect(body).toMatchObject({
      version: '4', status: 'firing', receiver: 'tekton-retrain', truncatedAlerts: 0,
      groupLabels: { alertname: 'SlipwayModelDrift', model: 'fraud-detector' },
      commonLabels: { alertname: 'SlipwayModelDrift', model: 'fraud-detector', severity: 'critical' },
    });
    expect(body.alerts).toHaveLength(1);
    expect(body.alerts[0]).toMatchObject({
      status: 'firing',
      labels: { alertname: 'SlipwayModelDrift', model: 'fraud-detector', severity: 'critical' },
      startsAt: new Date(startedAt).toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      fingerprint: alertFingerprint({ alertname: 'SlipwayModelDrift', model: 'fraud-detector', severity: 'critical' }),
    });
    expect(body.alerts[0].annotations.drifted_features.split(',')).toEqual(expect.arrayContaining(['amount', 'hour', 'distance_km']));
    // WHEN the same episode goes on THEN no second alert
    clock.advance(900);
    await monitor.evaluate();
    expect(received).toHaveLength(1);
    // WHEN drift clears and returns within the cooldown THEN the new episode stays quiet
    monitor.recordRows(current.data, current.rows, 6);
    clock.advance(60);
    expect((await monitor.evaluate()).drifted).toBe(false);
    monitor.recordRows(drifted.data, drifted.rows, 6);
    clock.advance(60);
    await monitor.evaluate();
    clock.advance(700);
    await monitor.evaluate();
    expect(received).toHaveLength(1);
    // WHEN the cooldown (3600 s after the first alert) has passed THEN the sustained episode alerts once more
    clock.advance(2000);
    await monitor.evaluate();
    expect(received).toHaveLength(2);
    await monitor.close();
  });

  it('fails when the webhook receiver errors: reports it and retries at the next evaluation', async () => {
    received.length = 0;
    respondWith = 503;
    const errors: string[] = [];
    const clock = new FakeClock();
    const monitor = new LiveDriftMonitor({
      model: 'r', baseline, registry: new Registry(), sampleRate: 1, intervalSeconds: 0, clock: clock.read,
      alert: { url, sustainSeconds: 0 }, onError: (e) => errors.push(e.message),
    });
    monitor.recordRows(drifted.data, drifted.rows, 6);
    await monitor.evaluate();
    expect(errors).toEqual([`drift webhook ${url} failed: HTTP 503`]);
    respondWith = 200;
    clock.advance(30);
    await monitor.evaluate();
    expect(received).toHaveLength(2);
    expect(errors).toHaveLength(1);
    await monitor.close();
  });

  it('keeps a rolling accuracy from ground-truth feedback with bounded pending requests', async () => {
    // GIVEN feedback over the last 4 labeled rows and at most 2 requests awaiting feedback
    const registry = new Registry();
    const monitor = new LiveDriftMonitor({ model: 'acc', baseline, registry, intervalSeconds: 0, feedback: { windowRows: 4, maxPendingRequests: 2 } });
    // WHEN three requests' outputs are recorded (softmax rows: argmax 1, 0, 1)
    monitor.recordOutputs(Float32Array.of(0.2, 0.8), 1, 2, 'a');
    monitor.recordOutputs(Float32Array.of(0.9, 0.1, 0.3, 0.7), 2, 2, 'b');
    monitor.recordOutputs(Float32Array.of(0.4, 0.6), 1, 2, 'c');
    // THEN the oldest was evicted and cannot be scored
    expect(monitor.recordFeedback('a', 1)).toBe(false);
    // WHEN b is labeled [0, 0] (1 of 2 right) and c is labeled 1 (right)
    expect(monitor.recordFeedback('b', [0, 0])).toBe(true);
    expect(monitor.recordFeedback('c', '1')).toBe(true);
    // THEN accuracy is 2/3 and a repeated id is not scored twice
    expect(monitor.recordFeedback('c', '1')).toBe(false);
    expect(await registry.metrics()).toContain('slipway_model_accuracy{model="acc",version=""} 0.6666666666666666');
    monitor.recordOutputs(Float32Array.of(0.1, 0.9, 0.8, 0.2), 2, 2, 'd');
    monitor.recordFeedback('d', [0, 1]);
    // THEN only the last 4 labeled rows count: b's second (wrong), c (right), d's two (wrong) → 1/4
    expect(await registry.metrics()).toContain('slipway_model_accuracy{model="acc",version=""} 0.25');
    expect((await monitor.evaluate()).accuracy).toEqual({ value: 0.25, labeled: 4 });
    await monitor.close();
  });

  it('reports live accuracy beside the training accuracy the baseline recorded', async () => {
    const withPerformance: BaselineProfile = { ...baseline, performance: { metric: 'accuracy', prediction: 'predicted', value: 0.92, count: 10_000 } };
    const monitor = new LiveDriftMonitor({ model: 'perf', baseline: withPerformance, registry: new Registry(), intervalSeconds: 0, feedback: {} });
    monitor.recordOutputs(Float32Array.of(0.2, 0.8, 0.7, 0.3), 2, 2, 'r');
    expect(monitor.recordFeedback('r', [1, 1])).toBe(true);
    expect((await monitor.evaluate()).accuracy).toEqual({ value: 0.5, labeled: 2, reference: 0.92 });
    await monitor.close();
  });

  it('fails when the sample rate is out of range', () => {
    expect(() => new LiveDriftMonitor({ model: 'x', baseline, registry: new Registry(), sampleRate: 0 })).toThrow('sampleRate must be in (0, 1], got 0');
  });

  it('fails when rows do not have the baseline width: reports once and records nothing', async () => {
    const errors: string[] = [];
    const monitor = new LiveDriftMonitor({ model: 'x', baseline, registry: new Registry(), sampleRate: 1, intervalSeconds: 0, onError: (e) => errors.push(e.message) });
    monitor.recordRows(new Float32Array(10), 2, 5);
    monitor.recordRows(new Float32Array(10), 2, 5);
    expect(errors).toEqual(['input rows have 5 columns but the baseline names 6; not recording them']);
    expect((await monitor.evaluate()).rows).toBe(0);
    await monitor.close();
  });

  it('publishes a missing-rate gauge and raises the drift gauge and webhook when a feature turns 100% missing', async () => {
    // GIVEN live rows whose merchant_risk (column 2) arrives as NaN on every row
    const registry = new Registry();
    const clock = new FakeClock();
    received.length = 0;
    const monitor = new LiveDriftMonitor({ model: 'broken', version: '7', baseline, registry, sampleRate: 1, intervalSeconds: 0, clock: clock.read, alert: { url, sustainSeconds: 60 } });
    const rows = Float64Array.from(current.data);
    for (let r = 0; r < current.rows; r++) rows[r * 6 + 2] = NaN;
    monitor.recordRows(rows, current.rows, 6);
    // WHEN evaluated (before: no gauge at all for the feature, drift 0, no alert ever)
    let snapshot = await monitor.evaluate();
    // THEN the finding, the gauges with the version label, and the verdict
    expect(snapshot.verdict).toBe('data quality');
    expect(snapshot.features.merchant_risk).toMatchObject({ verdict: 'insufficient data', missingRate: { current: 1 } });
    expect(snapshot.quality.findings.map((f) => [f.column, f.kind])).toEqual([['merchant_risk', 'missing-rate']]);
    const text = await registry.metrics();
    expect(text).toContain('slipway_feature_missing_rate{model="broken",version="7",feature="merchant_risk"} 1');
    expect(text).toContain('slipway_feature_missing_rate{model="broken",version="7",feature="amount"} 0');
    expect(text).toContain('slipway_model_drift_detected{model="broken",version="7"} 1');
    expect(text).toContain('slipway_model_data_quality_findings{model="broken",version="7"} 1');
    expect(text).not.toContain('slipway_feature_drift_psi{model="broken",version="7",feature="merchant_risk"}');
    // AND once it has lasted, the webhook names the finding
    clock.advance(61);
    snapshot = await monitor.evaluate();
    expect(received).toHaveLength(1);
    expect(received[0]!.body.alerts[0].labels).toEqual({ alertname: 'SlipwayModelDrift', model: 'broken', version: '7', severity: 'warning' });
    expect(received[0]!.body.alerts[0].annotations.data_quality).toBe('merchant_risk:missing-rate');
    await monitor.close();
    expect(await registry.metrics()).not.toContain('model="broken"');
  });

  it('counts infinite values apart from the statistics', async () => {
    const monitor = new LiveDriftMonitor({ model: 'inf', baseline, registry: new Registry(), sampleRate: 1, intervalSeconds: 0 });
    const rows = Float64Array.from(current.data);
    rows[0] = Infinity;
    rows[6] = -Infinity;
    monitor.recordRows(rows, current.rows, 6);
    const amount = (await monitor.evaluate()).features.amount!;
    expect(amount).toMatchObject({ nonFinite: 2, count: current.rows - 2 });
    expect(amount.psi).toEqual(expect.any(Number));
    expect(amount.quality[0]!.kind).toBe('non-finite');
    await monitor.close();
  });

  it('says `insufficient data` below minRows instead of drift', async () => {
    const monitor = new LiveDriftMonitor({ model: 'few', baseline, registry: new Registry(), sampleRate: 1, intervalSeconds: 0 });
    monitor.recordRows(drifted.data.subarray(0, 30), 5, 6);
    const snapshot = await monitor.evaluate();
    expect(snapshot).toMatchObject({ insufficientData: true, drifted: false, verdict: 'insufficient data' });
    expect(snapshot.features.amount!.verdict).toBe('insufficient data');
    await monitor.close();
  });

  it('keeps a bounded history of window snapshots for the trend', async () => {
    const clock = new FakeClock();
    const monitor = new LiveDriftMonitor({ model: 'h', baseline, registry: new Registry(), sampleRate: 1, intervalSeconds: 0, historySize: 3, clock: clock.read });
    monitor.recordRows(current.data, current.rows, 6);
    for (let i = 0; i < 2; i++) {
      clock.advance(30);
      await monitor.evaluate();
    }
    monitor.recordRows(drifted.data, drifted.rows, 6);
    for (let i = 0; i < 3; i++) {
      clock.advance(30);
      await monitor.evaluate();
    }
    // THEN only the last 3 of 5 evaluations are kept, oldest first, the shift visible in them
    const trend = monitor.trend();
    expect(trend).toMatchObject({ model: 'h', capacity: 3 });
    expect(trend.points.map((p) => p.evaluatedAt)).toEqual(['2025-01-01T00:01:30.000Z', '2025-01-01T00:02:00.000Z', '2025-01-01T00:02:30.000Z']);
    expect(trend.points.every((p) => p.verdict === 'drift')).toBe(true);
    expect(trend.points[0]!.features.amount!.psi).toBeGreaterThan(0.05);
    await monitor.close();
  });
});
