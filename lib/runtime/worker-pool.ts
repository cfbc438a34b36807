/**
 * The one worker-thread plumbing the codec pool and the session threads share: start a worker on a
 * module of this directory (under tsx too), call it with request ids, and fail what it held when it
 * dies. Workers answer every request with a `WorkerReply` carrying the request's id.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** What a worker posts back for the request `id`. `status`: the HTTP status a failure maps to (codec errors). */
export type WorkerReply<T = unknown> = { id: number; ok: true; value: T } | { id: number; ok: false; message: string; status?: number };

/** The URL of a sibling module, as .ts under tsx and vitest, as .js in the compiled build. */
export function siblingModule(base: string, name: string): URL {
  return new URL(base.endsWith('.ts') ? `./${name}.ts` : `./${name}.js`, base);
}

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

/** A failed worker call: the worker's message, and the status it maps to when the worker gave one. */
export class WorkerCallError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

/** One worker thread, called by request id; `pending` is its load. */
export class WorkerChannel {
  readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  private nextId = 0;
  private closing = false;
  /** Resolves close()'s wait once no call is in flight. */
  private drained: (() => void) | undefined;
  /** Why the worker died, once it has. */
  exitReason: string | undefined;

  constructor(
    url: URL,
    /** Called once when the worker dies outside close() (native crash, out of memory). */
    private readonly onExit: (reason: string) => void,
  ) {
    this.worker = startWorker(url);
    this.worker.on('message', (reply: WorkerReply) => {
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (reply.ok) waiter?.resolve(reply.value);
      else waiter?.reject(new WorkerCallError(reply.message, reply.status));
      if (this.waiting.size === 0) this.drained?.();
    });
    this.worker.on('error', (err) => this.fail(`worker failed: ${err.message}`));
    this.worker.on('exit', (code) => this.fail(`worker exited with code ${code}`));
  }

  /** Calls in flight. */
  get pending(): number {
    return this.waiting.size;
  }

  call<T>(message: object, transfer: ArrayBuffer[] = []): Promise<T> {
    return new Promise((resolve, reject) => {
      if (this.exitReason !== undefined) return reject(new WorkerCallError(this.exitReason, undefined));
      if (this.closing) return reject(new WorkerCallError('worker is closing', undefined));
      const id = this.nextId++;
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  private fail(reason: string): void {
    if (this.exitReason !== undefined) return;
    this.exitReason = reason;
    for (const waiter of this.waiting.values()) waiter.reject(new WorkerCallError(reason, undefined));
    this.waiting.clear();
    this.drained?.();
    if (!this.closing) this.onExit(reason);
  }

  async close(): Promise<void> {
    this.closing = true;
    // A thread terminated inside a native call (onnxruntime creating a session) aborts the whole
    // process: the calls in flight finish first.
    if (this.waiting.size > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await this.worker.terminate();
  }
}

/** The channel with the fewest calls in flight. */
export function leastBusy<T extends { pending: number }>(channels: readonly T[]): T {
  return channels.reduce((a, b) => (b.pending < a.pending ? b : a));
}
