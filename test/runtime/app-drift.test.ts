import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driftObserverFactory, type DriftObserver } from '../../lib/drift/observer.js';
import { doubleModel } from '../../lib/onnx/builders.js';
import { RuntimeApp } from '../../lib/runtime/app.js';
import { MemoryLogger } from '../../lib/runtime/logger.js';
import type { ObserverFactory } from '../../lib/runtime/observer.js';
import { scanRepository } from '../../lib/runtime/repository.js';
import { startServer, type RunningServer } from '../../lib/runtime/server.js';
import { http, writeRepository } from './helpers.js';

const EXAMPLE = new URL('../../examples/model-repository/fraud-detector/1/', import.meta.url).pathname;
const CURRENT_CSV = new URL('../../examples/data/fraud-current.csv', import.meta.url).pathname;
const FEATURES = ['amount', 'hour', 'merchant_risk', 'distance_km', 'account_age_days', 'txn_count_24h'];

/** The six model features of fraud-current.csv (new draws of the training population). */
function currentRows(): number[][] {
  return readFileSync(CURRENT_CSV, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(',').slice(0, 6).map(Number));
}

function inferBody(rows: readonly number[][], id?: string): string {
  return JSON.stringify({ ...(id !== undefined ? { id } : {}), inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, 6], data: rows.flat() }] });
}

const postFeedback = (port: number, path: string, body: unknown) =>
  http(port, 'POST', `${path}/feedback`, typeof body === 'string' ? body : JSON.stringify(body), { 'content-type': 'application/json' });

function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET …/drift and POST …/feedback (live drift in the runtime)', () => {
  let repository: string;
  let server: RunningServer;
  let port: number;
  const monitors = new Map<string, DriftObserver>();
  const fraud = '/v2/models/fraud/versions/1.3.0';

  beforeAll(async () => {
    // GIVEN the example fraud detector with its baseline.json served as version 1.3.0, a model
    // without a baseline, and one whose baseline.json is not a baseline profile
    repository = writeRepository([
      { name: 'fraud', version: '1.3.0', bytes: readFileSync(join(EXAMPLE, 'model.onnx')) },
      { name: 'plain', bytes: doubleModel() },
      { name: 'broken', bytes: doubleModel() },
    ]);
    copyFileSync(join(EXAMPLE, 'baseline.json'), join(repository, 'fraud', '1.3.0', 'baseline.json'));
    writeFileSync(join(repository, 'broken', '1', 'baseline.json'), '{"kind": "something else"}');
    const observers: ObserverFactory = async (model) => {
      // No timer (the test recomputes when it wants, deterministically) and every row sampled.
      const observer = await driftObserverFactory({ registry: model.registry, sampleRate: 1, intervalSeconds: 0, windowRows: 500, minRows: 100, feedback: {} })(model);
      if (observer) monitors.set(model.name, observer);
      return observer;
    };
    const app = new RuntimeApp({ sources: await scanRepository(repository), logger: new MemoryLogger(), observers });
    server = await startServer(app, { host: '127.0.0.1', port: 0, gracePeriodMs: 1000 });
    port = server.port;
    await app.loadModels();
  });

  afterAll(async () => {
    await server?.shutdown('test finished');
    rmSync(repository, { recursive: true, force: true });
  });

  it('reports the live window in the `slipway drift` shape, and the shifted feature drifts', async () => {
    // GIVEN nothing evaluated yet THEN the snapshot says so
    expect((await http(port, 'GET', `${fraud}/drift`)).json()).toMatchObject({ drifted: false, features: {}, evaluatedAt: null, insufficientData: true });
    // WHEN 500 in-distribution rows arrive and the monitor recomputes
    const rows = currentRows().slice(0, 500);
    for (let i = 0; i < rows.length; i += 50) expect((await http(port, 'POST', `${fraud}/infer`, inferBody(rows.slice(i, i + 50)))).status).toBe(200);
    await monitors.get('fraud')!.monitor.evaluate();
    // THEN /drift shows every feature with its statistics and no drift
    const calm = await http(port, 'GET', `${fraud}/drift`);
    expect(calm.status).toBe(200);
    expect(calm.headers['content-type']).toBe('application/json');
    const before = calm.json();
    expect(Object.keys(before.features)).toEqual(FEATURES);
    expect(before).toMatchObject({ model: 'fraud', drifted: false, rows: 500, insufficientData: false, window: { rows: 500, maxRows: 500, sampleRate: 1 } });
    expect(before.features.distance_km).toMatchObject({ type: 'numeric', drifted: false });
    expect(typeof before.features.distance_km.psi).toBe('number');
    expect(typeof before.features.distance_km.ks.statistic).toBe('number');
    // WHEN the next 500 rows come from far away (distance_km × 20), filling the window
    const shifted = currentRows().slice(500, 1000).map((r) => r.map((v, c) => (c === 3 ? v * 20 : v)));
    for (let i = 0; i < shifted.length; i += 50) expect((await http(port, 'POST', `${fraud}/infer`, inferBody(shifted.slice(i, i + 50)))).status).toBe(200);
    await monitors.get('fraud')!.monitor.evaluate();
    // THEN the model and distance_km drift, the unshifted features do not, on /drift and /metrics alike
    const after = (await http(port, 'GET', '/v2/models/fraud/drift')).json();
    expect(after.drifted).toBe(true);
    expect(after.driftingSince).not.toBeNull();
    expect(Object.entries(after.features).filter(([, f]) => (f as { drifted: boolean }).drifted).map(([name]) => name)).toEqual(['distance_km']);
    expect(after.features.distance_km.psi).toBeGreaterThan(before.features.distance_km.psi);
    const metrics = (await http(port, 'GET', '/metrics')).body.toString();
    expect(metricValue(metrics, 'slipway_model_drift_detected{model="fraud",version="1.3.0"}')).toBe(1);
    expect(metricValue(metrics, 'slipway_feature_drift_psi{model="fraud",version="1.3.0",feature="distance_km"}')).toBeCloseTo(after.features.distance_km.psi, 10);
    // AND ?history=1 returns the bounded trend: the calm window, then the drifted one
    const history = (await http(port, 'GET', `${fraud}/drift?history=1`)).json();
    expect(history).toMatchObject({ model: 'fraud', version: '1.3.0', capacity: 120 });
    expect(history.points.map((p: { verdict: string }) => p.verdict)).toEqual(['no drift', 'drift']);
  });

  it('scores feedback against the request id\'s predictions into slipway_model_accuracy', async () => {
    // GIVEN a two-row request that sent an id, and its predicted classes (argmax of legit, fraud)
    const res = await http(port, 'POST', `${fraud}/infer`, inferBody(currentRows().slice(0, 2), 'tx-42'));
    expect(res.status).toBe(200);
    const probabilities = res.json().outputs[0].data as number[];
    const predicted = [0, 1].map((r) => (probabilities[r * 2 + 1]! > probabilities[r * 2]! ? 1 : 0));
    // WHEN the observed labels arrive: the first row as predicted, the second not
    const ok = await postFeedback(port, fraud, { id: 'tx-42', label: [predicted[0], 1 - predicted[1]!] });
    // THEN it is recorded and accuracy is 1 of 2
    expect(ok.status).toBe(200);
    expect(ok.json()).toEqual({ model: 'fraud', version: '1.3.0', id: 'tx-42', recorded: true });
    const metrics = (await http(port, 'GET', '/metrics')).body.toString();
    expect(metricValue(metrics, 'slipway_model_accuracy{model="fraud",version="1.3.0"}')).toBe(0.5);
    expect((await http(port, 'GET', `${fraud}/drift`)).json().accuracy).toEqual({ value: null, labeled: 0 }); // the snapshot updates at the next evaluation
    await monitors.get('fraud')!.monitor.evaluate();
    expect((await http(port, 'GET', `${fraud}/drift`)).json().accuracy).toEqual({ value: 0.5, labeled: 2 });
    // AND a one-row request takes a scalar label
    const single = await http(port, 'POST', '/v2/models/fraud/infer', inferBody(currentRows().slice(2, 3), 'tx-43'));
    const [legit, fraudProbability] = single.json().outputs[0].data as number[];
    expect((await postFeedback(port, '/v2/models/fraud', { id: 'tx-43', label: fraudProbability! > legit! ? 1 : 0 })).status).toBe(200);
    expect(metricValue((await http(port, 'GET', '/metrics')).body.toString(), 'slipway_model_accuracy{model="fraud",version="1.3.0"}')).toBeCloseTo(2 / 3, 10);
  });

  it('fails when the model is unknown, has no baseline, or its baseline was rejected', async () => {
    const cases: Array<[string, string, number, string]> = [
      ['GET', '/v2/models/nope/drift', 404, 'unknown model "nope"; served models: broken, fraud, plain'],
      ['GET', '/v2/models/fraud/versions/1.2.0/drift', 404, 'model "fraud" has no version "1.2.0"; version 1.3.0 is served'],
      ['GET', '/v2/models/plain/drift', 404, 'model "plain" version 1 has no drift monitoring: it is served without a baseline.json (put one beside model.onnx to monitor it)'],
      ['GET', '/v2/models/broken/drift', 404, 'model "broken" version 1 has no drift monitoring: its baseline.json was rejected: '],
      ['POST', '/v2/models/nope/feedback', 404, 'unknown model "nope"'],
      ['POST', '/v2/models/plain/feedback', 404, 'model "plain" version 1 takes no ground-truth feedback: it is served without a baseline.json'],
      ['POST', '/v2/models/fraud/drift', 405, 'POST is not allowed here; use GET'],
      ['GET', '/v2/models/fraud/feedback', 405, 'GET is not allowed here; use POST'],
    ];
    for (const [method, path, status, message] of cases) {
      const res = await http(port, method, path, method === 'POST' ? '{"id": "x", "label": 1}' : undefined);
      expect([path, res.status]).toEqual([path, status]);
      expect(res.json().error).toContain(message);
    }
    expect((await http(port, 'GET', '/v2/models/broken/drift')).json().error).toContain(join(repository, 'broken', '1', 'baseline.json'));
  });

  it('fails when the feedback body is malformed, naming the field, what was expected and what came', async () => {
    const cases: Array<[string, string]> = [
      ['{"id": "tx-1", "label": ', 'feedback body is not valid JSON: '],
      ['[1, 2]', 'feedback body must be a JSON object {"id": "<request id>", "label": <observed label>}, got an array'],
      ['{"label": 1}', 'feedback "id": expected the inference request\'s id (a non-empty string), got nothing'],
      ['{"id": 42, "label": 1}', 'feedback "id": expected the inference request\'s id (a non-empty string), got number 42'],
      ['{"id": "tx-1"}', 'feedback "label": expected the observed label (a number, a string, or an array of them, one per row), got nothing'],
      ['{"id": "tx-1", "label": {"class": 1}}', 'feedback "label": expected the observed label (a number, a string, or an array of them, one per row), got object {"class":1}'],
      ['{"id": "tx-1", "label": []}', 'feedback "label": expected a number or string per row, got an empty array'],
      ['{"id": "tx-1", "label": [0, null]}', 'feedback "label": expected a number or string per row, got null at label[1]'],
    ];
    for (const [body, message] of cases) {
      const res = await postFeedback(port, fraud, body);
      expect([body, res.status, res.json().error]).toEqual([body, 400, expect.stringContaining(message)]);
    }
  });

  it('fails when no prediction is held for the id: never sent, or already scored', async () => {
    // GIVEN a request scored once
    await http(port, 'POST', `${fraud}/infer`, inferBody(currentRows().slice(0, 1), 'tx-once'));
    expect((await postFeedback(port, fraud, { id: 'tx-once', label: 0 })).status).toBe(200);
    // WHEN feedback names it again, or an id no request sent THEN 404 says why
    for (const id of ['tx-once', 'never-sent']) {
      const res = await postFeedback(port, fraud, { id, label: 0 });
      expect(res.status).toBe(404);
      expect(res.json().error).toBe(
        `model "fraud" holds no prediction for request id "${id}": the id is unknown (requests must send an "id" to be scored), already scored, or expired`,
      );
    }
  });
});
