/**
 * Closed-loop load from C load generators, when Debian's `wrk` (HTTP/1.1) and `h2load`
 * (nghttp2-client, HTTP/2 for gRPC) are installed: they drive the same concurrency as load.ts's
 * Node clients for a fraction of the CPU. On these shared 2-core machines the Node clients used
 * about 160 µs of CPU per request (0.65 of a core at 4,000 requests/s), as much as the server they
 * measured, so the wall-clock rows measured the client as much as the server.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile } from './load.js';

export interface NativeTarget {
  port: number;
  path: string;
  body: Buffer;
  headers: Record<string, string | number>;
  /** gRPC: `body` is one length-prefixed message, sent over HTTP/2 with gRPC's headers. */
  grpc: boolean;
}

export interface NativeResult {
  completed: number;
  failed: number;
  seconds: number;
  p50: number;
  p99: number;
}

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** Whether wrk and h2load are both here (the benchmark uses both or neither, so rows compare). */
export function nativeLoadAvailable(): boolean {
  return has('wrk') && has('h2load');
}

// wrk's Lua: the body and headers once, and a one-line JSON summary with its latency percentiles (µs).
const WRK_SCRIPT = `
local f = io.open(os.getenv("SLIPWAY_BENCH_BODY"), "rb"); local body = f:read("*all"); f:close()
wrk.method = "POST"
wrk.body = body
for line in io.lines(os.getenv("SLIPWAY_BENCH_HEADERS")) do
  local name, value = line:match("^([^:]+): (.*)$")
  wrk.headers[name] = value
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"errors":%d,"non2xx":%d,"seconds":%f,"p50":%d,"p99":%d}\\n',
    summary.requests, e.connect + e.read + e.write + e.timeout, e.status, summary.duration / 1e6, latency:percentile(50), latency:percentile(99)))
end
`;

/** `concurrency` requests in flight for `durationMs` (wrk counts whole seconds: it is rounded up). */
export function runNativeLoad(target: NativeTarget, concurrency: number, durationMs: number): NativeResult {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-load-'));
  try {
    const bodyFile = join(dir, 'body');
    writeFileSync(bodyFile, target.body);
    const seconds = Math.max(1, Math.ceil(durationMs / 1000));
    const threads = Math.min(2, concurrency);
    if (!target.grpc) {
      writeFileSync(join(dir, 'post.lua'), WRK_SCRIPT);
      writeFileSync(join(dir, 'headers'), Object.entries(target.headers).map(([k, v]) => `${k}: ${v}\n`).join(''));
      const out = execFileSync('wrk', [`-t${threads}`, `-c${concurrency}`, `-d${seconds}s`, '-s', join(dir, 'post.lua'), `http://127.0.0.1:${target.port}${target.path}`], {
        encoding: 'utf8',
        env: { ...process.env, SLIPWAY_BENCH_BODY: bodyFile, SLIPWAY_BENCH_HEADERS: join(dir, 'headers') },
      });
      const summary = JSON.parse(out.trim().split('\n').at(-1)!) as { requests: number; errors: number; non2xx: number; seconds: number; p50: number; p99: number };
      const failed = summary.errors + summary.non2xx;
      return { completed: summary.requests - summary.non2xx, failed, seconds: summary.seconds, p50: summary.p50 / 1000, p99: summary.p99 / 1000 };
    }
    // h2load: `threads` connections with concurrency/threads streams each, like load.ts's gRPC clients.
    const log = join(dir, 'log');
    execFileSync('h2load', [
      `-t${threads}`, `-c${threads}`, `-m${Math.ceil(concurrency / threads)}`, `-D${seconds}`, '-d', bodyFile,
      '-H', 'content-type: application/grpc', '-H', 'te: trailers', `--log-file=${log}`,
      `http://127.0.0.1:${target.port}${target.path}`,
    ], { encoding: 'utf8' });
    const rows = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((line) => line.split('\t').map(Number) as [number, number, number]);
    const ok = rows.filter(([, status]) => status === 200);
    const durations = Float64Array.from(ok, ([, , us]) => us / 1000).sort();
    const first = Math.min(...rows.map(([start]) => start));
    const last = Math.max(...rows.map(([start, , us]) => start + us));
    return { completed: ok.length, failed: rows.length - ok.length, seconds: (last - first) / 1e6, p50: percentile(durations, 50), p99: percentile(durations, 99) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
