import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driftObserverFactory } from '../../lib/drift/observer.js';
import { RuntimeApp } from '../../lib/runtime/app.js';
import { MemoryLogger } from '../../lib/runtime/logger.js';
import { mirroringFactory } from '../../lib/runtime/mirror.js';
import type { ObserverFactory } from '../../lib/runtime/observer.js';
import { scanRepository } from '../../lib/runtime/repository.js';
import { startServer, type RunningServer } from '../../lib/runtime/server.js';
import { freePort } from '../e2e/support/services.js';
import { http, writeRepository } from './helpers.js';

const EXAMPLE = new URL('../../examples/model-repository/fraud-detector/1/', import.meta.url).pathname;
const CSV = new URL('../../examples/data/fraud-current.csv', import.meta.url).pathname;

function rows(): Array<{ features: number[]; label: number }> {
  return readFileSync(CSV, 'utf8').trim().split('\n').slice(1).map((line) => {
    const cells = line.split(',');
    return { features: cells.slice(0, 6).map(Number), label: Number(cells[7]) };
  });
}

function metric(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function runtime(version: string, observers: (f: ObserverFactory) => ObserverFactory = (f) => f): Promise<{ server: RunningServer; repository: string }> {
  const repository = writeRepository([{ name: 'fraud', version, bytes: readFileSync(join(EXAMPLE, 'model.onnx')) }]);
  copyFileSync(join(EXAMPLE, 'baseline.json'), join(repository, 'fraud', version, 'baseline.json'));
  const drift: ObserverFactory = (model) => driftObserverFactory({ registry: model.registry, sampleRate: 1, intervalSeconds: 0, feedback: {} })(model);
  const app = new RuntimeApp({ sources: await scanRepository(repository), logger: new MemoryLogger(), observers: observers(drift) });
  const server = await startServer(app, { host: '127.0.0.1', port: 0, gracePeriodMs: 1000 });
  await app.loadModels();
  return { server, repository };
}

describe('champion/challenger mirroring (SLIPWAY_MIRROR_URL)', () => {
  let challenger: Awaited<ReturnType<typeof runtime>>;
  let champion: Awaited<ReturnType<typeof runtime>>;

  beforeAll(async () => {
    // GIVEN a challenger runtime (2.0.0) and a champion (1.3.0) that mirrors to it
    challenger = await runtime('2.0.0');
    champion = await runtime('1.3.0', (f) => mirroringFactory(f, { url: `http://127.0.0.1:${challenger.server.port}` }));
  });

  afterAll(async () => {
    for (const r of [champion, challenger]) {
      await r?.server.shutdown('test finished');
      if (r) rmSync(r.repository, { recursive: true, force: true });
    }
  });

  it('answers callers with the champion only, and the challenger measures the same traffic and feedback', async () => {
    // WHEN 500 labelled rows are inferred by the champion, each request followed at once by its labels
    const data = rows().slice(0, 500);
    for (let i = 0; i < data.length; i += 50) {
      const chunk = data.slice(i, i + 50);
      const res = await http(champion.server.port, 'POST', '/v2/models/fraud/infer', JSON.stringify({ id: `r${i}`, inputs: [{ name: 'features', datatype: 'FP32', shape: [chunk.length, 6], data: chunk.flatMap((r) => r.features) }] }));
      // THEN the caller gets the champion's answer
      expect(res.status).toBe(200);
      expect(res.json().model_version).toBe('1.3.0');
      const fb = await http(champion.server.port, 'POST', '/v2/models/fraud/feedback', JSON.stringify({ id: `r${i}`, label: chunk.map((r) => r.label) }), { 'content-type': 'application/json' });
      expect(fb.status).toBe(200);
    }
    // AND the challenger, having served the mirrored requests, joins the forwarded labels into the same numbers
    const series = (version: string, name: string) => `${name}{model="fraud",version="${version}"}`;
    const challengerMetrics = async () => (await http(challenger.server.port, 'GET', '/metrics')).body.toString();
    const deadline = Date.now() + 10_000;
    while (metric(await challengerMetrics(), series('2.0.0', 'slipway_model_feedback_samples')) !== 500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const c = await challengerMetrics();
    const m = (await http(champion.server.port, 'GET', '/metrics')).body.toString();
    expect(metric(c, series('2.0.0', 'slipway_model_feedback_samples'))).toBe(500);
    expect(metric(c, series('2.0.0', 'slipway_model_roc_auc'))).toBeCloseTo(metric(m, series('1.3.0', 'slipway_model_roc_auc'))!, 12);
    expect(metric(m, 'slipway_mirror_requests_total{model="fraud",outcome="sent",kind="infer"}')).toBe(10);
    expect(metric(m, 'slipway_mirror_requests_total{model="fraud",outcome="sent",kind="feedback"}')).toBe(10);
  });

  it('keeps answering when the challenger is down, counting the failed mirrors', async () => {
    const closedPort = await freePort();
    const gone = await runtime('1.3.0', (f) => mirroringFactory(f, { url: `http://127.0.0.1:${closedPort}`, onError: () => undefined }));
    try {
      const res = await http(gone.server.port, 'POST', '/v2/models/fraud/infer', JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 6], data: rows()[0]!.features }] }));
      expect(res.status).toBe(200);
      const deadline = Date.now() + 10_000;
      let failed: number | undefined;
      while (failed === undefined && Date.now() < deadline) {
        failed = metric((await http(gone.server.port, 'GET', '/metrics')).body.toString(), 'slipway_mirror_requests_total{model="fraud",outcome="failed",kind="infer"}');
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(failed).toBe(1);
    } finally {
      await gone.server.shutdown('test finished');
      rmSync(gone.repository, { recursive: true, force: true });
    }
  });
});
