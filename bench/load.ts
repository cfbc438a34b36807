/**
 * Keep-alive HTTP load generator: `concurrency` clients, each sending its next
 * request when the last one answers (node:http Agent with keepAlive). Clients
 * are spread over worker threads so that the generator itself is not the
 * bottleneck of a fast server at high concurrency.
 */
import { Agent, request } from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

export interface LoadOptions {
  port: number;
  /** Send this gRPC ModelInfer message to `port` (a gRPC port) instead of HTTP requests. */
  grpcMessage?: object;
  path: string;
  body: Buffer;
  headers?: Record<string, string | number>;
  concurrency: number;
  /** Stop after this long... */
  durationMs?: number;
  /** ...or after this many requests in total. */
  requests?: number;
  /** Worker threads to spread the clients over; default 2 when concurrency > 1. */
  threads?: number;
  /** Called about every `everyRequests` completions (the soak samples RSS with it). */
  onProgress?: (completed: number) => void;
  everyRequests?: number;
}

export interface LoadResult {
  completed: number;
  failed: number;
  seconds: number;
  latenciesMs: Float64Array;
}

interface ThreadJob {
  /** http: POST `body` to `path`; grpc: ModelInfer `message` on `port`. */
  protocol: 'http' | 'grpc';
  message?: object;
  port: number;
  path: string;
  body: Uint8Array;
  headers: Record<string, string | number>;
  concurrency: number;
  /** How long to send, counted from when this thread's clients are set up (not from when it was started). */
  durationMs: number | undefined;
  requests: number;
  everyRequests: number;
}

type ThreadMessage = { kind: 'progress'; completed: number } | { kind: 'done'; completed: number; failed: number; latencies: Float64Array; seconds: number };

/**
 * Closed-loop load: `job.concurrency` clients, each sending the next request when its last one
 * answered, until `job.requests` were started or the time is up. `send` sends one request and
 * calls `done` once with whether it succeeded (`timed: false`: failed before an answer, so no
 * latency is recorded).
 */
async function closedLoop(
  job: ThreadJob,
  progress: (completed: number) => void,
  send: (done: (ok: boolean, timed?: boolean) => void) => void,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let started = 0;
  let completed = 0;
  let failed = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const sent = performance.now();
      send((ok, timed = true) => {
        if (timed) latencies.push(performance.now() - sent);
        if (ok) completed++;
        else failed++;
        if (timed && completed % job.everyRequests === 0) progress(completed);
        resolve();
      });
    });
  const begin = performance.now();
  const deadline = job.durationMs === undefined ? Number.MAX_SAFE_INTEGER : Date.now() + job.durationMs;
  const client = async () => {
    while (started < job.requests && Date.now() < deadline) {
      started++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, client));
  const seconds = (performance.now() - begin) / 1000;
  return { completed, failed, latenciesMs: Float64Array.from(latencies), seconds };
}

async function clientLoop(job: ThreadJob, progress: (completed: number) => void): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
  const headers = { 'content-type': 'application/json', 'content-length': job.body.length, ...job.headers };
  const body = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength);
  const result = await closedLoop(job, progress, (done) => {
    const req = request({ host: '127.0.0.1', port: job.port, method: 'POST', path: job.path, agent, headers }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => done(res.statusCode === 200));
    });
    req.on('error', () => done(false, false));
    req.end(body);
  });
  agent.destroy();
  return result;
}

/** A ModelInfer message encoded once (protobufjs, from the runtime's .proto) in its uncompressed gRPC frame, and the method's path. */
export async function modelInferFrame(message: object): Promise<{ path: string; frame: Buffer }> {
  const [{ loadInferenceService }, { frameMessage }] = await Promise.all([import('../lib/runtime/grpc.js'), import('../lib/runtime/grpc-transport.js')]);
  const method = loadInferenceService().ModelInfer!;
  return { path: method.path, frame: frameMessage(method.requestSerialize(message)) };
}

/**
 * gRPC clients: `concurrency` ModelInfer calls in flight on one HTTP/2 connection, each sending the
 * next when it answers. Like the HTTP clients, which send a body built once, they send the request
 * message encoded once (protobufjs, from the runtime's .proto) in its gRPC frame over node:http2:
 * grpc-js's client spent more CPU per call than the server measured here, and capped the load at a
 * quarter of REST's. An answer counts as a success when its trailers say grpc-status 0.
 */
async function grpcLoop(job: ThreadJob, progress: (completed: number) => void): Promise<LoadResult> {
  const { connect } = await import('node:http2');
  const { path, frame } = await modelInferFrame(job.message!);
  const session = connect(`http://127.0.0.1:${job.port}`);
  await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
  const headers = { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' };
  const result = await closedLoop(job, progress, (done) => {
    const stream = session.request(headers);
    let status: string | undefined;
    let answered = false;
    const answer = (ok: boolean, timed?: boolean) => {
      if (answered) return;
      answered = true;
      done(ok, timed);
    };
    stream.on('response', (h) => (status = h['grpc-status'] as string | undefined));
    stream.on('trailers', (t) => (status = t['grpc-status'] as string | undefined));
    stream.on('data', () => undefined);
    stream.on('end', () => answer(status === '0'));
    stream.on('error', () => answer(false, false));
    stream.end(frame);
  });
  session.close();
  return result;
}

if (!isMainThread && (workerData as { loadWorker?: boolean } | undefined)?.loadWorker) {
  const job = (workerData as { job: ThreadJob }).job;
  const result = await (job.protocol === 'grpc' ? grpcLoop : clientLoop)(job, (completed) => parentPort!.postMessage({ kind: 'progress', completed } satisfies ThreadMessage));
  parentPort!.postMessage({ kind: 'done', completed: result.completed, failed: result.failed, latencies: result.latenciesMs, seconds: result.seconds } satisfies ThreadMessage);
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const threads = Math.max(1, Math.min(options.threads ?? (options.concurrency > 1 ? 2 : 1), options.concurrency));
  const totalRequests = options.requests ?? Number.MAX_SAFE_INTEGER;
  const everyRequests = Math.max(1, Math.floor((options.everyRequests ?? 10_000) / threads));
  const progressByThread = new Array<number>(threads).fill(0);
  let reported = 0;
  const onThreadProgress = (thread: number, completed: number) => {
    progressByThread[thread] = completed;
    const total = progressByThread.reduce((a, b) => a + b, 0);
    if (options.onProgress && total - reported >= (options.everyRequests ?? 10_000)) {
      reported = total;
      options.onProgress(total);
    }
  };
  const results = await Promise.all(
    Array.from({ length: threads }, (_, thread) => {
      const job: ThreadJob = {
        protocol: options.grpcMessage ? 'grpc' : 'http',
        ...(options.grpcMessage ? { message: options.grpcMessage } : {}),
        port: options.port,
        path: options.path,
        body: options.body,
        headers: options.headers ?? {},
        concurrency: Math.floor(options.concurrency / threads) + (thread < options.concurrency % threads ? 1 : 0),
        durationMs: options.durationMs,
        requests: Math.floor(totalRequests / threads) + (thread < totalRequests % threads ? 1 : 0),
        everyRequests,
      };
      return new Promise<LoadResult>((resolve, reject) => {
        // The worker runs this same TypeScript module, so it registers tsx before importing it.
        const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
        const worker = new Worker(bootstrap, { eval: true, workerData: { loadWorker: true, job } });
        worker.on('message', (message: ThreadMessage) => {
          if (message.kind === 'progress') onThreadProgress(thread, message.completed);
          else resolve({ completed: message.completed, failed: message.failed, latenciesMs: message.latencies, seconds: message.seconds });
        });
        worker.on('error', reject);
      });
    }),
  );
  // Each thread times its own sending window (thread start-up left out); they overlap, so the longest is the run's.
  const seconds = Math.max(...results.map((r) => r.seconds));
  const latencies = new Float64Array(results.reduce((n, r) => n + r.latenciesMs.length, 0));
  let offset = 0;
  for (const r of results) {
    latencies.set(r.latenciesMs, offset);
    offset += r.latenciesMs.length;
  }
  return { completed: results.reduce((n, r) => n + r.completed, 0), failed: results.reduce((n, r) => n + r.failed, 0), seconds, latenciesMs: latencies };
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
