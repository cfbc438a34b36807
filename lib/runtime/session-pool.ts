/**
 * Main-thread side of a model's sessions: `workers` worker threads, each with its own onnxruntime
 * session of the model. A run goes to an idle worker; the event loop only posts messages.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
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
  resolve(outputs: WireTensor[]): void;
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
        if (reply.kind === 'result') pending?.resolve(reply.outputs);
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

  run(id: number, inputs: readonly WireTensor[], outputNames: readonly string[], transfer: ArrayBuffer[]): Promise<WireTensor[]> {
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

/** The sessions of one model version: load them all, run on any idle one, release them all. */
export class SessionPool {
  private readonly workers: SessionWorker[] = [];
  private nextId = 0;

  constructor(
    readonly size: number,
    /** Called once when a worker dies outside release (native crash, out of memory). */
    private readonly onWorkerExit: (reason: string) => void,
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
    return { provider: first.provider, inputs: first.inputs, outputs: first.outputs, ...(first.fallbackReason ? { fallbackReason: first.fallbackReason } : {}) };
  }

  /** How many runs can start now. */
  get idle(): number {
    return this.workers.filter((w) => !w.busy).length;
  }

  /**
   * Runs on an idle worker; callers keep at most `size` runs in flight (BatchScheduler's
   * concurrency). Buffers in `transfer` move to the worker without a copy and are unusable here
   * afterwards; other tensor data is copied.
   */
  async run(inputs: readonly WireTensor[], outputNames: readonly string[], transfer: ArrayBuffer[] = []): Promise<WireTensor[]> {
    const worker = this.workers.find((w) => !w.busy) ?? this.workers[this.nextId % this.workers.length]!;
    worker.busy = true;
    try {
      return await worker.run(this.nextId++, inputs, outputNames, transfer);
    } finally {
      worker.busy = false;
    }
  }

  async release(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.release()));
  }
}
