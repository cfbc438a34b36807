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
  port: number;
  path: string;
  body: Uint8Array;
  headers: Record<string, string | number>;
  concurrency: number;
  deadline: number;
  requests: number;
  everyRequests: number;
}

type ThreadMessage = { kind: 'progress'; completed: number } | { kind: 'done'; completed: number; failed: number; latencies: Float64Array };

async function clientLoop(job: ThreadJob, progress: (completed: number) => void): Promise<Omit<LoadResult, 'seconds'>> {
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
  const headers = { 'content-type': 'application/json', 'content-length': job.body.length, ...job.headers };
  const body = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength);
  const latencies: number[] = [];
  let started = 0;
  let completed = 0;
  let failed = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const sent = performance.now();
      const req = request({ host: '127.0.0.1', port: job.port, method: 'POST', path: job.path, agent, headers }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => {
          latencies.push(performance.now() - sent);
          if (res.statusCode === 200) completed++;
          else failed++;
          if (completed % job.everyRequests === 0) progress(completed);
          resolve();
        });
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end(body);
    });
  const client = async () => {
    while (started < job.requests && Date.now() < job.deadline) {
      started++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, client));
  agent.destroy();
  return { completed, failed, latenciesMs: Float64Array.from(latencies) };
}

if (!isMainThread && (workerData as { loadWorker?: boolean } | undefined)?.loadWorker) {
  const job = (workerData as { job: ThreadJob }).job;
  const result = await clientLoop(job, (completed) => parentPort!.postMessage({ kind: 'progress', completed } satisfies ThreadMessage));
  parentPort!.postMessage({ kind: 'done', completed: result.completed, failed: result.failed, latencies: result.latenciesMs } satisfies ThreadMessage);
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const threads = Math.max(1, Math.min(options.threads ?? (options.concurrency > 1 ? 2 : 1), options.concurrency));
  const deadline = options.durationMs === undefined ? Number.MAX_SAFE_INTEGER : Date.now() + options.durationMs;
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
  const begin = performance.now();
  const results = await Promise.all(
    Array.from({ length: threads }, (_, thread) => {
      const job: ThreadJob = {
        port: options.port,
        path: options.path,
        body: options.body,
        headers: options.headers ?? {},
        concurrency: Math.floor(options.concurrency / threads) + (thread < options.concurrency % threads ? 1 : 0),
        deadline,
        requests: Math.floor(totalRequests / threads) + (thread < totalRequests % threads ? 1 : 0),
        everyRequests,
      };
      return new Promise<Omit<LoadResult, 'seconds'>>((resolve, reject) => {
        // The worker runs this same TypeScript module, so it registers tsx before importing it.
        const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
        const worker = new Worker(bootstrap, { eval: true, workerData: { loadWorker: true, job } });
        worker.on('message', (message: ThreadMessage) => {
          if (message.kind === 'progress') onThreadProgress(thread, message.completed);
          else resolve({ completed: message.completed, failed: message.failed, latenciesMs: message.latencies });
        });
        worker.on('error', reject);
      });
    }),
  );
  const seconds = (performance.now() - begin) / 1000;
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
