// npm run bench:serve [-- --quick]
//
// Serving throughput and latency for two generated models, against a ceiling and a floor
// measured in the same run:
//   ceiling  raw in-process session.run, batch 1 and batch 32 (rows/s), in every round like the rows
//   floor    a naive node:http server: JSON.parse, one session.run per request
//   slipway  `slipway serve` with JSON, Triton binary tensors, and gRPC (typed contents and raw)
// Load, at concurrency 1 and 32, one row per request: wrk (HTTP) and h2load (gRPC, the ModelInfer
// message encoded once) when Debian's wrk and nghttp2-client are installed (bench/native-load.ts),
// else keep-alive node:http clients and node:http2 gRPC clients (bench/load.ts), which use about as
// much CPU per request as the server they load on these shared cores. slipway runs as the compiled CLI. Each row also reports rows per CPU-second of the serving process alone,
// which leaves out the load generator that shares the machine's cores.
// Then liveness while one client streams ~40 MiB JSON requests back to back (slipway vs naive).
// Then the tabular model with live drift on (a baseline.json built in-process) vs off, in the
// same slipway process, interleaved; then an RSS soak of slipway (200k requests; 20k with --quick).
// Then RSS after huge batches with onnxruntime's CPU arena on, off and auto (bench/arena.ts).
// First, many models (bench/many-models.ts): the ~1,000 ONNX backend-test models under the
// compiled CLI against in-process session creation; --many-models runs only that.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import os from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { serializeBaseline } from '../lib/drift/baseline-file.js';
import { buildBaseline } from '../lib/drift/dataset.js';
import { mlpModel, seededRandom } from '../lib/onnx/builders.js';
import { RUNTIME_METRICS } from '../lib/vocabulary/metrics.js';
import { modelInferFrame, percentile, runLoad, type LoadResult } from './load.js';
import { arenaRss, printArena } from './arena.js';
import { nativeLoadAvailable, runNativeLoad } from './native-load.js';
import { benchManyModels, printManyModels } from './many-models.js';

const quick = process.argv.includes('--quick') || process.env.SLIPWAY_BENCH_QUICK === '1';
// The rows' load: wrk and h2load when installed (SLIPWAY_BENCH_NODE_LOAD=1 keeps load.ts's Node clients).
const nativeLoad = process.env.SLIPWAY_BENCH_NODE_LOAD !== '1' && nativeLoadAvailable();
const durationMs = quick ? 1_500 : 3_000;
const warmupMs = quick ? 300 : 1_000;
// The machine is shared: each server row is measured in interleaved rounds and the best round
// is reported (the one least disturbed by other work), as timing benchmarks usually do.
const rounds = quick ? 1 : 3;
const soakRequests = quick ? 20_000 : 200_000;
const root = join(process.cwd(), '.bench', 'serve');

interface BenchModel {
  name: string;
  label: string;
  inputs: number;
  outputs: number;
  bytes: Uint8Array;
}

const models: BenchModel[] = [
  { name: 'tabular', label: 'tabular MLP 32→256→256→2', inputs: 32, outputs: 2, bytes: mlpModel({ sizes: [32, 256, 256, 2], softmax: true, seed: 11 }).bytes },
  { name: 'wide', label: 'wide MLP 512→2048→2048→1000', inputs: 512, outputs: 1000, bytes: mlpModel({ sizes: [512, 2048, 2048, 1000], seed: 12 }).bytes },
];

function randomRow(width: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: width }, () => random() * 2 - 1);
}

function jsonBody(model: BenchModel): Buffer {
  const data = Array.from(randomRow(model.inputs, 5));
  return Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, model.inputs], data }] }));
}

function binaryBody(model: BenchModel): { body: Buffer; headerLength: number } {
  const row = randomRow(model.inputs, 5);
  const header = Buffer.from(JSON.stringify({
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, model.inputs], parameters: { binary_data_size: row.byteLength } }],
    outputs: [{ name: 'y', parameters: { binary_data: true } }],
  }));
  return { body: Buffer.concat([header, Buffer.from(row.buffer)]), headerLength: header.length };
}

interface Row {
  model: string;
  mode: string;
  concurrency: number;
  throughput: number;
  p50: number;
  p99: number;
  failed: number;
  /** Rows per CPU-second of the serving process alone (the load generator's share left out). */
  perCpu: number;
}

/** User + system CPU seconds a process has used (Linux /proc). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function rawRun(model: BenchModel, batch: number): Promise<Row> {
  const session = await ort.InferenceSession.create(join(root, model.name, '1', 'model.onnx'));
  const input = new Float32Array(batch * model.inputs);
  for (let r = 0; r < batch; r++) input.set(randomRow(model.inputs, 5 + r), r * model.inputs);
  const feeds = () => ({ x: new ort.Tensor('float32', input, [batch, model.inputs]) });
  const warmEnd = performance.now() + warmupMs;
  while (performance.now() < warmEnd) await session.run(feeds());
  const latencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  const begin = performance.now();
  while (performance.now() - begin < durationMs) {
    const t = performance.now();
    await session.run(feeds());
    latencies.push(performance.now() - t);
  }
  const seconds = (performance.now() - begin) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await session.release();
  const sorted = Float64Array.from(latencies).sort();
  return {
    model: model.name, mode: `raw session.run batch ${batch}`, concurrency: batch, throughput: (latencies.length * batch) / seconds,
    p50: percentile(sorted, 50), p99: percentile(sorted, 99), failed: 0, perCpu: (latencies.length * batch) / ((cpu.user + cpu.system) / 1e6),
  };
}

interface Server {
  child: ChildProcess;
  port: number;
  grpcPort?: number;
  /** model_loaded's load_ms by model (slipway). */
  loadMs: Map<string, number>;
}

/** Starts a server process and waits for its `models_loaded` (slipway) or `server_listening` (naive) line. */
function startProcess(args: string[], readyEvent: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let port = 0;
    let grpcPort: number | undefined;
    const loadMs = new Map<string, number>();
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let event: { event?: string; port?: number; grpc_port?: number | null; model?: string; load_ms?: number };
      try {
        event = JSON.parse(line);
      } catch {
        return;
      }
      if (event.event === 'server_listening') {
        port = event.port!;
        grpcPort = event.grpc_port ?? undefined;
      }
      if (event.event === 'model_loaded') loadMs.set(event.model!, event.load_ms!);
      if (event.event === readyEvent) resolve({ child, port, loadMs, ...(grpcPort !== undefined ? { grpcPort } : {}) });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before it was ready`)));
  });
}

function stopProcess(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null) return resolve();
    server.child.once('exit', () => resolve());
    server.child.kill('SIGTERM');
  });
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** Answers slipway counted as 200 for `model` (gRPC successes included): what h2load cannot see in trailers. */
async function answered(server: Server, model: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${RUNTIME_METRICS.requests}{`) && l.includes(`model="${model}"`) && l.includes('status="200"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** One row from wrk or h2load (bench/native-load.ts). */
async function measureNative(server: Server, model: BenchModel, mode: string, concurrency: number, body: Buffer | { grpc: object }, headers: Record<string, string | number>, warm: boolean): Promise<Row> {
  const grpc = !Buffer.isBuffer(body);
  const target = grpc
    ? await modelInferFrame(body.grpc).then(({ path, frame }) => ({ port: server.grpcPort!, path, body: frame, headers: {}, grpc }))
    : { port: server.port, path: `/v2/models/${model.name}/infer`, body, headers, grpc };
  if (warm) runNativeLoad(target, concurrency, warmupMs);
  const before = grpc ? await answered(server, model.name) : 0;
  // After the count: the /metrics scrape is not the row's work.
  const cpuBefore = cpuSeconds(server.child.pid!);
  const result = runNativeLoad(target, concurrency, durationMs);
  const cpu = cpuSeconds(server.child.pid!) - cpuBefore;
  // h2load counts HTTP 200s, and a gRPC error is an HTTP 200 with a non-zero grpc-status: the server's own count decides.
  const completed = grpc ? (await answered(server, model.name)) - before : result.completed;
  const failed = result.failed + (grpc ? Math.max(0, result.completed - completed) : 0);
  return { model: model.name, mode, concurrency, throughput: completed / result.seconds, p50: result.p50, p99: result.p99, failed, perCpu: completed / cpu };
}

async function measure(server: Server, model: BenchModel, mode: string, concurrency: number, body: Buffer | { grpc: object }, headers: Record<string, string | number> = {}, warm = true): Promise<Row> {
  if (nativeLoad) return measureNative(server, model, mode, concurrency, body, headers, warm);
  const path = `/v2/models/${model.name}/infer`;
  const target = Buffer.isBuffer(body)
    ? { port: server.port, path, body, headers }
    : { port: server.grpcPort!, path, body: Buffer.alloc(0), grpcMessage: body.grpc };
  if (warm) await runLoad({ ...target, concurrency, durationMs: warmupMs });
  const cpuBefore = cpuSeconds(server.child.pid!);
  const result: LoadResult = await runLoad({ ...target, concurrency, durationMs });
  const cpu = cpuSeconds(server.child.pid!) - cpuBefore;
  const sorted = result.latenciesMs.sort();
  return {
    model: model.name, mode, concurrency, throughput: result.completed / result.seconds,
    p50: percentile(sorted, 50), p99: percentile(sorted, 99), failed: result.failed, perCpu: result.completed / cpu,
  };
}

function grpcMessage(model: BenchModel, raw: boolean): { grpc: object } {
  const row = randomRow(model.inputs, 5);
  const input = { name: 'x', datatype: 'FP32', shape: [1, model.inputs] };
  return {
    grpc: raw
      ? { model_name: model.name, inputs: [input], raw_input_contents: [Buffer.from(row.buffer)] }
      : { model_name: model.name, inputs: [{ ...input, contents: { fp32_contents: Array.from(row) } }] },
  };
}

/** JSON for `rows` rows of the model, about `bytes` long: the big-body stream's request. */
function bigJsonBody(model: BenchModel, bytes: number): Buffer {
  const random = seededRandom(77);
  const row = () => Array.from({ length: model.inputs }, () => Math.round((random() * 2 - 1) * 1e4) / 1e4).join(',');
  const sample = row();
  const rows = Math.floor(bytes / (sample.length + 1));
  const data = Array.from({ length: rows }, row).join(',');
  return Buffer.from(`{"inputs":[{"name":"x","datatype":"FP32","shape":[${rows},${model.inputs}],"data":[${data}]}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}`);
}

interface HealthRow {
  server: string;
  streamed: number;
  streamFailed: number;
  checks: number;
  p50: number;
  p99: number;
  max: number;
}

/** GET /v2/health/live every 10 ms on its own connection while one client streams big JSON requests back to back. */
async function healthDuringStream(server: Server, label: string, model: BenchModel, body: Buffer, seconds: number): Promise<HealthRow> {
  const { request } = await import('node:http');
  const latencies: number[] = [];
  let stop = false;
  const probe = (async () => {
    while (!stop) {
      const started = performance.now();
      await new Promise<void>((resolve) => {
        const req = request({ host: '127.0.0.1', port: server.port, path: '/v2/health/live', agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        });
        req.on('error', () => resolve());
        req.end();
      });
      latencies.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const stream = await runLoad({ port: server.port, path: `/v2/models/${model.name}/infer`, body, concurrency: 1, threads: 1, durationMs: seconds * 1000 });
  stop = true;
  await probe;
  const sorted = Float64Array.from(latencies).sort();
  return { server: label, streamed: stream.completed, streamFailed: stream.failed, checks: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1]! };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The wide model again with batching's refill off (config.json): the refill's effect, measured in the same run. */
const wideNoRefill: BenchModel = { ...models[1]!, name: 'wide-no-refill', label: `${models[1]!.label}, refill off` };

/** The tabular model again, served with a baseline.json so slipway monitors it for drift. */
const tabularDrift: BenchModel = { ...models[0]!, name: 'tabular-drift', label: `${models[0]!.label}, drift on` };

/** A baseline profile of 5,000 rows from the distribution the load's rows come from. */
async function writeDriftBaseline(model: BenchModel, dir: string): Promise<void> {
  const columns = Array.from({ length: model.inputs }, (_, c) => `f${c}`);
  const lines = [columns.join(',')];
  for (let r = 0; r < 5_000; r++) lines.push(Array.from(randomRow(model.inputs, 1_000 + r)).join(','));
  const csv = join(dir, 'train.csv');
  writeFileSync(csv, `${lines.join('\n')}\n`);
  writeFileSync(join(dir, 'baseline.json'), serializeBaseline(await buildBaseline(csv, { inputTensor: 'x' })));
  rmSync(csv);
}

async function main(): Promise<void> {
  const many = await benchManyModels(join(process.cwd(), '.bench', 'many-models'));
  if (process.argv.includes('--many-models')) {
    printManyModels(many);
    return;
  }
  rmSync(root, { recursive: true, force: true });
  for (const model of [...models, tabularDrift]) {
    mkdirSync(join(root, model.name, '1'), { recursive: true });
    writeFileSync(join(root, model.name, '1', 'model.onnx'), model.bytes);
  }
  await writeDriftBaseline(tabularDrift, join(root, tabularDrift.name, '1'));
  mkdirSync(join(root, wideNoRefill.name, '1'), { recursive: true });
  writeFileSync(join(root, wideNoRefill.name, '1', 'model.onnx'), wideNoRefill.bytes);
  writeFileSync(join(root, wideNoRefill.name, 'config.json'), JSON.stringify({ batching: { refill: false } }));
  process.stdout.write(
    `slipway serve benchmark${quick ? ' (--quick)' : ''}: ${durationMs / 1000}s per row after ${warmupMs / 1000}s warm-up, best of ${rounds} interleaved round(s); ` +
      `${os.cpus().length} CPUs, node ${process.version}, onnxruntime-node ${ort.env.versions.common}; ` +
      `load: ${nativeLoad ? 'wrk (HTTP) and h2load (gRPC)' : "Node clients (bench/load.ts; install Debian's wrk and nghttp2-client for C load generators)"}\n\n`,
  );

  const rows: Row[] = [];
  const ceilings = new Map<string, number>();
  const floors = new Map<string, number>();
  // The compiled CLI, as npm installs it (benchManyModels rebuilt build/), not the sources under tsx.
  const slipway = await startProcess(['build/lib/cli/main.js', 'serve', '--model-repository', root, '--port', '0'], 'models_loaded');
  try {
    for (const model of models) {
      const naive = await startProcess(['--import', 'tsx', 'bench/naive-server.ts', join(root, model.name, '1', 'model.onnx'), model.name], 'server_listening');
      const json = jsonBody(model);
      const binary = binaryBody(model);
      const binaryHeaders = { 'inference-header-content-length': binary.headerLength, 'content-type': 'application/octet-stream' };
      try {
        for (const concurrency of [1, 32]) {
          const best = new Map<string, Row>();
          const keep = (row: Row) => {
            const previous = best.get(row.mode);
            if (!previous || row.throughput > previous.throughput) best.set(row.mode, row);
          };
          for (let round = 0; round < rounds; round++) {
            // The ceiling gets the same best-of-rounds as the rows it is compared with: measured once,
            // a slow moment of this shared machine would flatter every ratio against it.
            keep(await rawRun(model, concurrency));
            keep(await measure(naive, model, 'naive node:http server (floor)', concurrency, json, {}, round === 0));
            keep(await measure(slipway, model, 'slipway JSON', concurrency, json, {}, round === 0));
            keep(await measure(slipway, model, 'slipway binary', concurrency, binary.body, binaryHeaders, round === 0));
            if (model.name === 'wide' && concurrency === 32) {
              const off = binaryBody(wideNoRefill);
              keep({ ...(await measure(slipway, wideNoRefill, 'slipway binary, refill off', concurrency, off.body, { ...binaryHeaders, 'inference-header-content-length': off.headerLength }, round === 0)), model: 'wide' });
            }
            keep(await measure(slipway, model, 'slipway gRPC typed', concurrency, grpcMessage(model, false), {}, round === 0));
            keep(await measure(slipway, model, 'slipway gRPC raw', concurrency, grpcMessage(model, true), {}, round === 0));
          }
          ceilings.set(`${model.name}/${concurrency}`, best.get(`raw session.run batch ${concurrency}`)!.throughput);
          floors.set(`${model.name}/${concurrency}`, best.get('naive node:http server (floor)')!.throughput);
          rows.push(...best.values());
        }
      } finally {
        await stopProcess(naive);
      }
    }

    // Drift on vs off: the same model in the same process, rounds interleaved.
    const driftRows: Row[] = [];
    for (const concurrency of [1, 32]) {
      const best = new Map<string, Row>();
      // A 5% question needs more than one round even in --quick; the order alternates (ABBA) so
      // neither mode always runs second.
      for (let round = 0; round < Math.max(rounds, 4); round++) {
        const pair = [[models[0]!, 'drift off'], [tabularDrift, 'drift on']] as const;
        for (const [model, mode] of round % 2 === 0 ? pair : [...pair].reverse()) {
          const row = { ...(await measure(slipway, model, mode, concurrency, jsonBody(model), {}, round === 0)), model: 'tabular' };
          const previous = best.get(mode);
          if (!previous || row.throughput > previous.throughput) best.set(mode, row);
        }
      }
      driftRows.push(...best.values());
    }

    // Liveness under a big-body stream: one client sends ~40 MiB JSON requests back to back.
    const big = bigJsonBody(models[0]!, 40 * 1024 * 1024);
    const streamSeconds = quick ? 6 : 12;
    const healthRows: HealthRow[] = [await healthDuringStream(slipway, 'slipway', models[0]!, big, streamSeconds)];
    const naiveTabular = await startProcess(['--import', 'tsx', 'bench/naive-server.ts', join(root, 'tabular', '1', 'model.onnx'), 'tabular'], 'server_listening');
    try {
      healthRows.push(await healthDuringStream(naiveTabular, 'naive node:http server', models[0]!, big, streamSeconds));
    } finally {
      await stopProcess(naiveTabular);
    }

    // Soak: RSS of the slipway process over many requests, first sample after a warm-up share.
    const tabular = models[0]!;
    const samples: Array<[number, number]> = [];
    const warm = Math.max(10_000, soakRequests / 10);
    await runLoad({ port: slipway.port, path: `/v2/models/${tabular.name}/infer`, body: jsonBody(tabular), concurrency: 32, requests: warm });
    samples.push([0, rssMiB(slipway.child.pid!)]);
    const soak = await runLoad({
      port: slipway.port,
      path: `/v2/models/${tabular.name}/infer`,
      body: jsonBody(tabular),
      concurrency: 32,
      requests: soakRequests,
      everyRequests: soakRequests / 10,
      onProgress: (done) => samples.push([done, rssMiB(slipway.child.pid!)]),
    });
    // The arena: RSS after huge batches with it on, off and auto (their own processes, after this one's rows).
    const arena = await arenaRss(root, 'wide', models[1]!.inputs, 20_000);
    printManyModels(many);
    printArena(arena, 'wide MLP, 20,000 rows each');
    printModelLoads(slipway);
    printTable(rows, ceilings, floors);
    printDrift(driftRows);
    printHealth(healthRows, big.length);
    printSoak(samples, soak);
    printTargets(rows, ceilings, floors, samples, driftRows, healthRows);
  } finally {
    await stopProcess(slipway);
  }
}

function printTable(rows: readonly Row[], ceilings: Map<string, number>, floors: Map<string, number>): void {
  const cpuCeilings = new Map(rows.filter((r) => r.mode.startsWith('raw')).map((r) => [`${r.model}/${r.concurrency}`, r.perCpu]));
  const header = ['model', 'mode', 'conc', 'rows/s', 'p50 ms', 'p99 ms', 'vs ceiling', 'vs floor', 'rows/CPU-s', 'per CPU vs ceiling', 'errors'];
  const lines = rows.map((r) => {
    const isRaw = r.mode.startsWith('raw');
    const ceiling = ceilings.get(`${r.model}/${r.concurrency === 1 ? 1 : 32}`)!;
    const floor = floors.get(`${r.model}/${r.concurrency}`);
    return [
      r.model, r.mode, isRaw ? '-' : String(r.concurrency), fmt(r.throughput), fmt(r.p50, 3), fmt(r.p99, 3),
      isRaw ? '' : `${fmt((r.throughput / ceiling) * 100, 1)}%`,
      isRaw || floor === undefined ? '' : `${fmt(r.throughput / floor, 2)}×`,
      fmt(r.perCpu),
      isRaw ? '' : `${fmt((r.perCpu / cpuCeilings.get(`${r.model}/${r.concurrency === 1 ? 1 : 32}`)!) * 100, 1)}%`,
      String(r.failed),
    ];
  });
  process.stdout.write(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|\n`);
  for (const line of lines) process.stdout.write(`| ${line.join(' | ')} |\n`);
  process.stdout.write('\nvs ceiling: against raw batch 1 at concurrency 1 and raw batch 32 at concurrency 32. vs floor: against the naive server at the same concurrency.\n');
  process.stdout.write('rows/CPU-s: rows answered per CPU-second used by the serving process alone (raw: by the benchmark process running session.run); the load generator, which shares the cores, is left out.\n');
}

function printModelLoads(server: Server): void {
  process.stdout.write('\nLoad time per model (slipway serve, model_loaded load_ms):\n\n| model | file MiB | load ms |\n|---|---|---|\n');
  for (const model of [...models, tabularDrift, wideNoRefill]) {
    process.stdout.write(`| ${model.label} | ${fmt(model.bytes.length / 1024 / 1024, 2)} | ${fmt(server.loadMs.get(model.name) ?? NaN)} |\n`);
  }
}

function driftRatio(rows: readonly Row[], concurrency: number): number {
  const on = rows.find((r) => r.mode === 'drift on' && r.concurrency === concurrency)!;
  const off = rows.find((r) => r.mode === 'drift off' && r.concurrency === concurrency)!;
  return on.throughput / off.throughput;
}

function printDrift(rows: readonly Row[]): void {
  process.stdout.write('\nLive drift (tabular, JSON; drift on = a baseline.json beside the model, default sampling 0.2, 30 s recompute):\n\n');
  process.stdout.write('| model | mode | conc | rows/s | p50 ms | p99 ms | vs drift off | errors |\n|---|---|---|---|---|---|---|---|\n');
  for (const r of rows) {
    const ratio = r.mode === 'drift on' ? `${fmt(driftRatio(rows, r.concurrency), 3)}×` : '1.000×';
    process.stdout.write(`| ${r.model} | ${r.mode} | ${r.concurrency} | ${fmt(r.throughput)} | ${fmt(r.p50, 3)} | ${fmt(r.p99, 3)} | ${ratio} | ${r.failed} |\n`);
  }
}

function printHealth(rows: readonly HealthRow[], bytes: number): void {
  process.stdout.write(`\nLiveness while one client streams ${fmt(bytes / 1024 / 1024, 1)} MiB JSON requests (tabular) back to back; GET /v2/health/live every 10 ms on a fresh connection:\n\n`);
  process.stdout.write('| server | big requests answered | failed | health checks | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.server} | ${r.streamed} | ${r.streamFailed} | ${r.checks} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${fmt(r.max, 1)} |\n`);
}

function printSoak(samples: ReadonlyArray<[number, number]>, soak: LoadResult): void {
  const first = samples[0]![1];
  const last = samples[samples.length - 1]![1];
  process.stdout.write(`\nRSS soak (tabular, JSON, concurrency 32): ${fmt(soak.completed)} requests ok, ${soak.failed} failed, ${fmt(soak.completed / soak.seconds)} req/s\n`);
  process.stdout.write(`RSS MiB by requests done: ${samples.map(([n, mib]) => `${fmt(n)}: ${fmt(mib, 1)}`).join(', ')}\n`);
  process.stdout.write(`RSS first ${fmt(first, 1)} MiB, last ${fmt(last, 1)} MiB, change ${fmt(((last - first) / first) * 100, 1)}%\n`);
}

function printTargets(rows: readonly Row[], ceilings: Map<string, number>, floors: Map<string, number>, samples: ReadonlyArray<[number, number]>, driftRows: readonly Row[], healthRows: readonly HealthRow[]): void {
  const find = (model: string, mode: string, concurrency: number) => rows.find((r) => r.model === model && r.mode === mode && r.concurrency === concurrency)!;
  const wideBinary = find('wide', 'slipway binary', 32);
  const tabularBest = Math.max(find('tabular', 'slipway JSON', 32).throughput, find('tabular', 'slipway binary', 32).throughput);
  const tabularJson1 = find('tabular', 'slipway JSON', 1);
  const tabularBestPerCpu = Math.max(find('tabular', 'slipway JSON', 32).perCpu, find('tabular', 'slipway binary', 32).perCpu);
  const first = samples[0]![1];
  const last = samples[samples.length - 1]![1];
  const checks: Array<[string, string, boolean]> = [
    ['wide, c=32, binary ≥ 3× naive', `${fmt(wideBinary.throughput / floors.get('wide/32')!, 2)}×`, wideBinary.throughput >= 3 * floors.get('wide/32')!],
    ['wide, c=32, binary ≥ 60% of raw batch 32', `${fmt((wideBinary.throughput / ceilings.get('wide/32')!) * 100, 1)}%`, wideBinary.throughput >= 0.6 * ceilings.get('wide/32')!],
    ['tabular, c=32 ≥ 2× naive', `${fmt(tabularBest / floors.get('tabular/32')!, 2)}×`, tabularBest >= 2 * floors.get('tabular/32')!],
    ['tabular, c=1, JSON p99 < 2 ms', `${fmt(tabularJson1.p99, 3)} ms`, tabularJson1.p99 < 2],
    ...[1, 32].map((c): [string, string, boolean] => [`tabular, c=${c}, drift on ≥ 95% of drift off`, `${fmt(driftRatio(driftRows, c) * 100, 1)}%`, driftRatio(driftRows, c) >= 0.95]),
    ['wide, c=32, binary ≥ 60% of raw batch 32, per CPU-second', `${fmt((wideBinary.perCpu / rows.find((r) => r.model === 'wide' && r.mode === 'raw session.run batch 32')!.perCpu) * 100, 1)}%`, wideBinary.perCpu >= 0.6 * rows.find((r) => r.model === 'wide' && r.mode === 'raw session.run batch 32')!.perCpu],
    ['tabular, c=32 ≥ 2× naive, per CPU-second', `${fmt(tabularBestPerCpu / find('tabular', 'naive node:http server (floor)', 32).perCpu, 2)}×`, tabularBestPerCpu >= 2 * find('tabular', 'naive node:http server (floor)', 32).perCpu],
    ...(['tabular', 'wide'] as const).map((m): [string, string, boolean] => {
      const ratio = find(m, 'slipway binary', 32).perCpu / find(m, 'slipway gRPC raw', 32).perCpu;
      return [`${m}, c=32, gRPC raw CPU per request ≤ 1.3× REST binary's`, `${fmt(ratio, 2)}×`, ratio <= 1.3];
    }),
    ['/v2/health/live p99 < 100 ms during the 40 MiB stream', `${fmt(healthRows[0]!.p99, 1)} ms`, healthRows[0]!.p99 < 100],
    // A leak grows RSS; memory handed back during the soak (the big-body stream's, once its
    // arena and codec heap are released) is not one.
    ['RSS grows at most 10% over the soak', `${fmt(((last - first) / first) * 100, 1)}%`, (last - first) / first <= 0.1],
  ];
  process.stdout.write('\n| target | measured | met |\n|---|---|---|\n');
  for (const [target, measured, met] of checks) process.stdout.write(`| ${target} | ${measured} | ${met ? 'yes' : 'NO'} |\n`);
}

await main();
