import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorReference } from '../../lib/cli/program.js';
import { readBaseline } from '../../lib/drift/baseline-file.js';
import { LiveDriftMonitor } from '../../lib/drift/live.js';
import { driftEndpoint } from '../../lib/drift/trend.js';
import { slipwayInProcess as run } from '../support/cli.js';
import { tensorRows } from '../support/drift.js';

const example = (name: string) => new URL(`../../examples/${name}`, import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'slipway-drift-trend-'));

describe('slipway drift report --from-runtime', () => {
  let server: Server;
  let base: string;
  let monitor: LiveDriftMonitor;

  beforeAll(async () => {
    // GIVEN a live monitor that saw the training population, then the drifted one, over 5 windows
    const baseline = await readBaseline(example('model-repository/fraud-detector/1/baseline.json'));
    let now = Date.parse('2025-03-01T12:00:00Z');
    monitor = new LiveDriftMonitor({ model: 'fraud', version: '3', baseline, registry: new Registry(), sampleRate: 1, intervalSeconds: 0, windowRows: 2000, clock: () => now });
    const current = await tensorRows(example('data/fraud-current.csv'), baseline.featureOrder);
    const drifted = await tensorRows(example('data/fraud-drifted.csv'), baseline.featureOrder);
    monitor.recordRows(current.data, current.rows, 6);
    for (let i = 0; i < 2; i++) {
      now += 30_000;
      await monitor.evaluate();
    }
    monitor.recordRows(drifted.data, drifted.rows, 6);
    for (let i = 0; i < 3; i++) {
      now += 30_000;
      await monitor.evaluate();
    }
    // AND a loopback server answering like the runtime's drift route
    server = createServer((req, res) => {
      const body = req.url === '/v2/models/fraud/drift?history=1' ? monitor.trend() : req.url === '/v2/models/fraud/drift' ? monitor.snapshot() : { error: `unknown model` };
      res.writeHead(req.url?.startsWith('/v2/models/fraud/drift') ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await monitor.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('renders the trend as a table: one row per window, the shift visible, exit 3 while drifting', async () => {
    const res = await run('drift', 'report', '--from-runtime', base, '--model', 'fraud');
    expect(res.code).toBe(3);
    const lines = res.stdout.split('\n');
    expect(lines[0]).toBe(`drift trend of fraud version 3: 5 of at most 120 windows, every 0 s (${base}/v2/models/fraud/drift)`);
    expect(lines[2]).toMatch(/^evaluated at\s+rows\s+verdict\s+drift share\s+findings\s+accuracy\s+psi amount/);
    expect(lines[4]).toMatch(/^2025-03-01T12:00:30.000Z\s+2000\s+no drift\s+0.00/);
    // 3 of the 6 tensor inputs drift (channel is not in the input tensor)
    expect(lines[8]).toMatch(/^2025-03-01T12:02:30.000Z\s+2000\s+drift\s+0.50/);
    expect(res.stdout).toContain('latest: drift at 2025-03-01T12:02:30.000Z');
  });

  it('renders an HTML trend with the latest window after it, and says what it wrote', async () => {
    const out = join(dir, 'trend.html');
    const res = await run('drift', 'report', '--from-runtime', `${base}/v2/models/fraud/drift`, '--format', 'html', '--out', out);
    expect(res.stderr).toBe(`slipway: wrote ${out} (html): 5 windows; latest DRIFT in 3 of 6: distance_km, amount, hour (2000 rows)\n`);
    const html = readFileSync(out, 'utf8');
    expect(html.match(/<svg class="trend"/g)).toHaveLength(3);
    // 6 inputs, 5 points each, on the PSI chart
    const psiChart = html.match(/<svg class="trend"[\s\S]*?<\/svg>/)![0];
    expect(psiChart.match(/<polyline/g)).toHaveLength(6);
    expect(psiChart.match(/<circle/g)).toHaveLength(30);
    expect(html).toContain('<h3>Latest window: inputs</h3>');
    expect(html).not.toMatch(/<script|src=/i);
  });

  it('fails when the runtime does not monitor the model, or cannot be reached, naming the URL and never a password', async () => {
    const res = await run('drift', 'report', '--from-runtime', base, '--model', 'nope');
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`slipway: ${base}/v2/models/nope/drift: the runtime answered 404: unknown model\n${errorReference('DRIFT_RUNTIME_ERROR')}\n`);
    const res2 = await run('drift', 'report', '--from-runtime', 'http://user:secret@127.0.0.1:1/v2/models/x/drift');
    expect(res2.code).toBe(1);
    expect(res2.stderr).toBe(`slipway: http://user:***@127.0.0.1:1/v2/models/x/drift: refusing to send credentials over plain http; use https\n${errorReference('DRIFT_USAGE')}\n`);
    // A port that was free a moment ago: nothing listens there
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closed = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const res3 = await run('drift', 'report', '--from-runtime', `http://127.0.0.1:${closed}/v2/models/x/drift`);
    expect(res3.stderr).toBe(`slipway: http://127.0.0.1:${closed}/v2/models/x/drift: cannot reach the runtime: connect ECONNREFUSED 127.0.0.1:${closed}\n${errorReference('DRIFT_RUNTIME_UNREACHABLE')}\n`);
    expect(res2.stderr).not.toContain('secret');
    expect(() => driftEndpoint('http://h:8080')).toThrow('name the model with --model, or pass the drift endpoint');
  });

  it('still requires --baseline and --data for a batch comparison', async () => {
    const res = await run('drift', '--data', 'x.csv');
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`slipway: required option '--baseline <file>' not specified (or read a runtime's trend: slipway drift report --from-runtime URL)\n${errorReference('DRIFT_USAGE')}\n`);
  });
});
