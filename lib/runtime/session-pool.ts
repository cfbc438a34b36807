/**
 * Main-thread side of a model's sessions: `workers` worker threads, each with its own onnxruntime
 * session of the model. A run goes to an idle worker; the event loop only posts messages — except
 * for runs measured to be tiny, which an extra session on the event loop answers inline (see
 * InlinePolicy): for them the hop to a worker and back cost more than the computation.
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { sessionOptions } from './session-options.js';
import type { ExecutionProviderName } from './model-config.js';
import type { LoadRequest, WireTensor, WireValueMetadata, WorkerReply, WorkerRequest } from './session-worker.js';

const workerUrl = new URL(import.meta.url.endsWith('.ts') ? './session-worker.ts' : './session-worker.js', import.meta.url);

/**
 * tsx's ESM API as a URL: import.meta.resolve where the module system offers it; under vitest's
 * transform it does not, and require.resolve would pick the CommonJS build, so the ESM entry is
 * read from tsx's own package.json exports.
 */
function resolveTsxApi(): string {
  if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx/esm/api');
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const exported = (JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports['./esm/api']!;
  return pathToFileURL(join(dirname(manifest), exported.import.default)).href;
}

/**
 * Starts a worker on a module of this directory. Under tsx (development, tests) workers do not
 * inherit the TypeScript loader, so a small bootstrap registers it first; the compiled build loads
 * the JavaScript file directly.
 */
export function startWorker(url: URL, workerData?: unknown): Worker {
  const options = { workerData, stdout: false, stderr: false } as const;
  if (!url.pathname.endsWith('.ts')) return new Worker(url, options);
  // Resolved from here, not from the worker: an eval'd worker resolves bare names from the
  // current directory, which under `npx slipway` is the user's project, without tsx.
  const tsx = resolveTsxApi();
  const bootstrap = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}

export interface LoadedSessions {
  provider: ExecutionProviderName;
  inputs: WireValueMetadata[];
  outputs: WireValueMetadata[];
  fallbackReason?: string;
}

interface Pending {
  resolve(result: { outputs: WireTensor[]; computeMs: number }): void;
  reject(error: Error): void;
}

class SessionWorker {
  readonly worker: Worker;
  busy = false;
  private readonly pending = new Map<number, Pending>();
  private loadWaiter: ((reply: WorkerReply) => void) | undefined;
  private releaseWaiter: (() => void) | undefined;
  private exitReason: string | undefined;

  constructor(private readonly onExit: (reason: string) => void) {
    this.worker = startWorker(workerUrl);
    this.worker.on('message', (reply: WorkerReply) => this.receive(reply));
    this.worker.on('error', (err) => this.fail(`session worker failed: ${err.message}`));
    this.worker.on('exit', (code) => this.fail(`session worker exited with code ${code}`));
  }

  private receive(reply: WorkerReply): void {
    switch (reply.kind) {
      case 'loaded':
      case 'load-failed':
        this.loadWaiter?.(reply);
        this.loadWaiter = undefined;
        return;
      case 'result':
      case 'error': {
        const pending = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        if (reply.kind === 'result') pending?.resolve(reply);
        else pending?.reject(new Error(reply.message));
        return;
      }
      case 'released':
        this.releaseWaiter?.();
        this.releaseWaiter = undefined;
    }
  }

  private fail(reason: string): void {
    if (this.exitReason !== undefined) return;
    this.exitReason = reason;
    this.loadWaiter?.({ kind: 'load-failed', message: reason });
    for (const pending of this.pending.values()) pending.reject(new Error(reason));
    this.pending.clear();
    this.releaseWaiter?.();
    if (!this.releasing) this.onExit(reason);
  }

  releasing = false;

  load(request: LoadRequest): Promise<WorkerReply> {
    return new Promise((resolve) => {
      this.loadWaiter = resolve;
      this.post(request);
    });
  }

  run(id: number, inputs: readonly WireTensor[], outputNames: readonly string[], transfer: ArrayBuffer[]): Promise<{ outputs: WireTensor[]; computeMs: number }> {
    return new Promise((resolve, reject) => {
      if (this.exitReason !== undefined) return reject(new Error(this.exitReason));
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ kind: 'run', id, inputs, outputNames } satisfies WorkerRequest, transfer);
    });
  }

  async release(): Promise<void> {
    this.releasing = true;
    if (this.exitReason === undefined) {
      await new Promise<void>((resolve) => {
        this.releaseWaiter = resolve;
        this.post({ kind: 'release' });
      });
    }
    await this.worker.terminate();
  }

  private post(message: WorkerRequest): void {
    this.worker.postMessage(message);
  }
}

/**
 * When a run may skip the worker hop. A model's cost is learnt per size class (input elements,
 * rounded up to a power of two) as an exponentially weighted average of session.run milliseconds,
 * measured where the run happened; a run goes inline only when the estimate for its own size stays
 * below `belowMs`. A size never measured is estimated from the nearest smaller one, scaled
 * linearly (which overestimates, as part of a run's cost is fixed), or not at all: then it runs on
 * a worker, which measures it. So a big request to a usually-fast model still goes to a worker.
 * Every model starts on its workers: the event-loop session is only loaded once worker runs have
 * shown the model to be fast.
 */
export interface InlinePolicy {
  /** 0: never inline. */
  belowMs: number;
}

/**
 * onnxruntime-node loads a session synchronously on the calling thread; a model file bigger than
 * this is never loaded on the event loop, however fast it runs.
 */
export const INLINE_MODEL_MAX_BYTES = 16 * 1024 * 1024;
/** Weight of the newest measurement in the cost average. */
const EWMA_WEIGHT = 0.2;
/** Worker runs measured before the model may go inline: one cold first run must not decide. */
const WARM_RUNS = 3;

const sizeClass = (elements: number): number => Math.ceil(Math.log2(Math.max(1, elements)));

/** The sessions of one model version: load them all, run on any idle one, release them all. */
export class SessionPool {
  private readonly workers: SessionWorker[] = [];
  private nextId = 0;
  /** By ceil(log2(input elements)): session.run milliseconds (EWMA) and the elements last measured. */
  private readonly costs = new Map<number, { ms: number; elements: number }>();
  private measuredRuns = 0;
  private inline: { state: 'none' } | { state: 'loading' } | { state: 'ready'; session: ort.InferenceSession } | { state: 'refused' } = { state: 'none' };
  private loadRequest: LoadRequest | undefined;
  /** Runs answered inline and on workers since load. */
  readonly counts = { inline: 0, worker: 0 };

  constructor(
    readonly size: number,
    /** Called once when a worker dies outside release (native crash, out of memory). */
    private readonly onWorkerExit: (reason: string) => void,
    private readonly policy: InlinePolicy = { belowMs: 0 },
  ) {}

  /** Loads the model in every worker; the first failure wins and every worker is released. */
  async load(request: LoadRequest): Promise<LoadedSessions> {
    let exited = false;
    for (let i = 0; i < this.size; i++) {
      this.workers.push(new SessionWorker((reason) => {
        if (exited) return;
        exited = true;
        this.onWorkerExit(reason);
      }));
    }
    // The first session decides the provider (a CUDA fallback happens once); the rest follow it.
    const first = await this.workers[0]!.load(request);
    const replies = [first];
    if (first.kind === 'loaded') {
      replies.push(...(await Promise.all(this.workers.slice(1).map((w) => w.load({ ...request, provider: first.provider })))));
    }
    const failed = replies.find((r) => r.kind === 'load-failed');
    if (failed || first.kind !== 'loaded') {
      await this.release();
      throw new Error(failed?.kind === 'load-failed' ? failed.message : 'session worker did not load');
    }
    this.loadRequest = { ...request, provider: first.provider };
    return { provider: first.provider, inputs: first.inputs, outputs: first.outputs, ...(first.fallbackReason ? { fallbackReason: first.fallbackReason } : {}) };
  }

  /** How many runs can start now. */
  get idle(): number {
    return this.workers.filter((w) => !w.busy).length;
  }

  /**
   * Runs inline when the policy allows it, else on an idle worker; callers keep at most `size`
   * runs in flight (BatchScheduler's concurrency). Buffers in `transfer` move to the worker
   * without a copy and are unusable here afterwards; other tensor data is copied.
   */
  async run(inputs: readonly WireTensor[], outputNames: readonly string[], transfer: ArrayBuffer[] = []): Promise<WireTensor[]> {
    let elements = 0;
    for (const input of inputs) elements += input.data.length;
    if (this.inline.state === 'ready' && this.estimateMs(elements) < this.policy.belowMs) return this.runInline(this.inline.session, inputs, outputNames, elements);
    const worker = this.workers.find((w) => !w.busy) ?? this.workers[this.nextId % this.workers.length]!;
    worker.busy = true;
    try {
      const { outputs, computeMs } = await worker.run(this.nextId++, inputs, outputNames, transfer);
      this.counts.worker++;
      this.measured(computeMs, elements);
      return outputs;
    } finally {
      worker.busy = false;
    }
  }

  private async runInline(session: ort.InferenceSession, inputs: readonly WireTensor[], outputNames: readonly string[], elements: number): Promise<WireTensor[]> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of inputs) feeds[input.name] = new ort.Tensor(input.type as ort.Tensor.Type, input.data as ort.Tensor.DataType, input.dims);
    const started = performance.now();
    const results = await session.run(feeds, outputNames);
    this.counts.inline++;
    this.measured(performance.now() - started, elements);
    return outputNames.map((name) => {
      const value = results[name]!;
      return { name, type: value.type, dims: value.dims, data: value.data as WireTensor['data'] };
    });
  }

  private estimateMs(elements: number): number {
    for (let size = sizeClass(elements); size >= 0; size--) {
      const cost = this.costs.get(size);
      if (cost) return (cost.ms * Math.max(1, elements)) / Math.max(1, cost.elements);
    }
    return Infinity;
  }

  private measured(computeMs: number, elements: number): void {
    const size = sizeClass(elements);
    const cost = this.costs.get(size);
    if (cost) {
      cost.ms += EWMA_WEIGHT * (computeMs - cost.ms);
      cost.elements = Math.max(1, elements);
    } else {
      this.costs.set(size, { ms: computeMs, elements: Math.max(1, elements) });
    }
    this.measuredRuns++;
    if (this.inline.state === 'none' && this.measuredRuns >= WARM_RUNS && this.policy.belowMs > 0 && computeMs < this.policy.belowMs) void this.loadInline();
  }

  /** Loads the event-loop session; any failure just keeps the model on its workers. */
  private async loadInline(): Promise<void> {
    const request = this.loadRequest;
    if (!request || request.provider !== 'cpu') {
      this.inline = { state: 'refused' };
      return;
    }
    this.inline = { state: 'loading' };
    try {
      if (statSync(request.modelPath).size > INLINE_MODEL_MAX_BYTES) throw new Error('model file too big to load on the event loop');
      // One thread: waking an intra-op pool for a run this small cost more than the run (c=1 p99
      // about 1.9 ms with the workers' two threads, 1.4 ms with one, in .bench probes on 2 cores).
      // Answers stay bit-identical to the workers': MLAS splits a GEMM over rows and columns, not
      // over the summed dimension, so every output element adds its terms in the same order.
      const session = await ort.InferenceSession.create(request.modelPath, sessionOptions({ ...request, intraOpThreads: 1, interOpThreads: 0 }, 'cpu'));
      if (this.inline.state !== 'loading') {
        await session.release();
        return;
      }
      this.inline = { state: 'ready', session };
    } catch {
      if (this.inline.state === 'loading') this.inline = { state: 'refused' };
    }
  }

  async release(): Promise<void> {
    const inline = this.inline;
    this.inline = { state: 'refused' };
    if (inline.state === 'ready') await inline.session.release();
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.release()));
  }
}
