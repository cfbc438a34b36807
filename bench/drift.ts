// npm run bench:drift — baseline profiling throughput and the live monitor's cost per request row.
//
// Baselines in the same run: (1) reading the CSV with a naive line split (no quoting, no
// numbers parsed) is the floor any profiler pays; (2) a no-op recorder with the monitor's
// call shape is the floor for the request-path cost.
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Registry } from 'prom-client';
import { fraudCsv } from '../examples/data/generate.js';
import { buildBaseline } from '../lib/drift/dataset.js';
import { LiveDriftMonitor } from '../lib/drift/live.js';

const ROWS = Number(process.env.SLIPWAY_BENCH_ROWS ?? 300_000);
const FEATURES = ['amount', 'hour', 'merchant_risk', 'distance_km', 'account_age_days', 'txn_count_24h'];
const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-drift-'));
const file = join(dir, 'train.csv');
writeFileSync(file, fraudCsv(ROWS, 1, { amountLog: 3.8, nightShare: 0.08, channels: [['web', 0.45], ['pos', 0.35], ['app', 0.2]], distanceMean: 18 }));

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

async function naiveRead(): Promise<number> {
  let cells = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) cells += line.split(',').length;
  return cells;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const rows: string[][] = [];

const floor = await timed(naiveRead);
const onePass = await timed(() => buildBaseline(file, { features: FEATURES, categorical: ['channel'], numeric: FEATURES }));
const inferred = await timed(() => buildBaseline(file, { features: FEATURES, categorical: ['channel'] }));
rows.push(['naive line split (floor)', fmt(ROWS / floor), '1.00']);
rows.push(['baseline, types given (1 pass)', fmt(ROWS / onePass), (onePass / floor).toFixed(2)]);
rows.push(['baseline, types inferred (2 passes)', fmt(ROWS / inferred), (inferred / floor).toFixed(2)]);

const baseline = await buildBaseline(file, { features: FEATURES, numeric: FEATURES });
const batch = new Float32Array(6);
for (let i = 0; i < 6; i++) batch[i] = i + 0.5;
const CALLS = 2_000_000;
function perRow(record: (data: Float32Array, rows: number, cols: number) => void): number {
  for (let i = 0; i < 100_000; i++) record(batch, 1, 6); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) record(batch, 1, 6);
  return Number(process.hrtime.bigint() - start) / CALLS;
}
let sink = 0;
const noop = perRow((data, r, c) => {
  sink += data[0]! + r + c;
});
const live: string[][] = [['no-op recorder (floor)', noop.toFixed(1), '1.00']];
for (const rate of [0.2, 1]) {
  const monitor = new LiveDriftMonitor({ model: 'bench', baseline, registry: new Registry(), sampleRate: rate, intervalSeconds: 0 });
  const ns = perRow((data, r, c) => monitor.recordRows(data, r, c));
  live.push([`recordRows, sample rate ${rate}`, ns.toFixed(1), (ns / noop).toFixed(2)]);
  const evalStart = performance.now();
  await monitor.evaluate();
  live.push([`  evaluate() on a ${monitor.snapshot().rows}-row window, off the request path`, `${(performance.now() - evalStart).toFixed(1)} ms`, '-']);
  await monitor.close();
}
rmSync(dir, { recursive: true, force: true });

function table(title: string, header: string[], body: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  console.log(`\n${title}`);
  console.log(`| ${header.map((h, i) => h.padEnd(widths[i]!)).join(' | ')} |`);
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const r of body) console.log(`| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`);
}
table(`Baseline profiling, ${fmt(ROWS)} rows × 8 columns (${process.version})`, ['reader', 'rows/s', 'time vs floor'], rows);
table('Live recording cost per request row (1-row batches, 6 features)', ['recorder', 'ns/row', 'vs floor'], live);
if (sink === -1) console.log(sink);
