/**
 * Main-thread side of the models' sessions. Session threads (SessionThreads) are shared: one worker
 * holds sessions of many models, so a repository of a thousand models starts a few threads and
 * loads onnxruntime a few times, not a thousand. A model's SessionPool places its sessions on
 * distinct threads; a run goes to one of them, except for runs measured to be tiny, which an extra
 * session on the event loop answers inline (see InlinePolicy): for them the hop to a worker and
 * back cost more than the computation.
 */
import { statSync } from 'node:fs';
import type * as Ort from 'onnxruntime-node';
import { sessionOptions } from './session-options.js';
import type { LoadRequest, LoadedSession, RunResult, WireTensor, WorkerRequest } from './session-worker.js';
import { WorkerChannel, siblingModule } from './worker-pool.js';

const workerUrl = siblingModule(import.meta.url, 'session-worker');

type Distribute<T> = T extends unknown ? Omit<T, 'session'> : never;

/** One shared session thread and the sessions it holds. */
class SessionThread {
  readonly channel: WorkerChannel;
  /** Sessions loaded here, of any model. */
  sessions = 0;
  /** Pools with a session here: told when the thread dies. */
  readonly owners = new Set<(reason: string) => void>();

  constructor(onExit: (thread: SessionThread, reason: string) => void) {
    this.channel = new WorkerChannel(workerUrl, (reason) => onExit(this, `session worker died: ${reason}`));
  }

  call<T>(session: number, message: Distribute<WorkerRequest>, transfer: ArrayBuffer[] = []): Promise<T> {
    return this.channel.call<T>({ ...message, session }, transfer);
  }
}

/**
 * The worker threads every model's sessions live on, started as models need them up to `size`
 * (more only for a model that asks for more sessions than that). A new session goes to the thread
 * holding the fewest, so the first `size` models each get a thread of their own.
 */
export class SessionThreads {
  private readonly threads: SessionThread[] = [];
  private nextSession = 0;

  constructor(readonly size: number) {}

  /** Threads started (for logs and tests). */
  get started(): number {
    return this.threads.length;
  }

  /**
   * Starts up to `count` threads now (at most `size`): a worker takes a few hundred milliseconds to
   * load onnxruntime, which a server about to load models can spend while it opens its ports.
   */
  prestart(count: number): void {
    while (this.threads.length < Math.min(count, this.size)) this.threads.push(new SessionThread((thread, reason) => this.died(thread, reason)));
  }

  /** `count` distinct threads for one model's sessions, and a fresh session number for each. */
  place(count: number): Array<{ thread: SessionThread; session: number }> {
    while (this.threads.length < Math.max(1, count) || (this.threads.length < this.size && this.threads.every((t) => t.sessions > 0))) {
      this.threads.push(new SessionThread((thread, reason) => this.died(thread, reason)));
    }
    const chosen = [...this.threads].sort((a, b) => a.sessions - b.sessions).slice(0, count);
    return chosen.map((thread) => {
      thread.sessions++;
      return { thread, session: this.nextSession++ };
    });
  }

  /** A dead thread takes its sessions with it: their models fail, and later loads start a fresh thread. */
  private died(thread: SessionThread, reason: string): void {
    const index = this.threads.indexOf(thread);
    if (index !== -1) this.threads.splice(index, 1);
    for (const owner of thread.owners) owner(reason);
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.splice(0).map((t) => t.channel.close()));
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

/** The sessions of one model version on the shared threads: load them all, run on any idle one, release them all. */
export class SessionPool {
  private placed: Array<{ thread: SessionThread; session: number; busy: number }> = [];
  private next = 0;
  /** By ceil(log2(input elements)): session.run milliseconds (EWMA) and the elements last measured. */
  private readonly costs = new Map<number, { ms: number; elements: number }>();
  private measuredRuns = 0;
  private inline: { state: 'none' } | { state: 'loading' } | { state: 'ready'; ort: typeof Ort; session: Ort.InferenceSession } | { state: 'refused' } = { state: 'none' };
  private loadRequest: LoadRequest | undefined;
  /** Runs answered inline and on workers since load. */
  readonly counts = { inline: 0, worker: 0 };
  private arenaOffReported = false;
  private exited = false;
  private readonly onThreadExit = (reason: string) => {
    if (this.exited) return;
    this.exited = true;
    this.onWorkerExit(reason);
  };

  constructor(
    private readonly threads: SessionThreads,
    readonly size: number,
    /** Called once when a thread holding one of these sessions dies (native crash, out of memory). */
    private readonly onWorkerExit: (reason: string) => void,
    private readonly policy: InlinePolicy = { belowMs: 0 },
    /** Called once, when the model first runs without the arena a huge batch turned off (cpuMemArena auto). */
    private readonly onArenaOff?: () => void,
  ) {}

  /** Loads the model on `size` threads; the first failure wins and every session is released. */
  async load(request: LoadRequest): Promise<LoadedSession> {
    const placed = this.threads.place(this.size).map((p) => ({ ...p, busy: 0 }));
    this.placed = placed;
    for (const p of placed) p.thread.owners.add(this.onThreadExit);
    try {
      // The first session decides the provider (a CUDA fallback happens once); the rest follow it.
      const first = await placed[0]!.thread.call<LoadedSession>(placed[0]!.session, request);
      const settled = await Promise.allSettled(placed.slice(1).map((p) => p.thread.call<LoadedSession>(p.session, { ...request, provider: first.provider })));
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      this.loadRequest = { ...request, provider: first.provider };
      return first;
    } catch (err) {
      await this.release();
      throw err;
    }
  }

  /**
   * Runs inline when the policy allows it, else on one of the model's sessions (the least busy);
   * callers keep at most `size` runs in flight (BatchScheduler's concurrency). Buffers in
   * `transfer` move to the worker without a copy and are unusable here afterwards; other tensor
   * data is copied.
   */
  async run(inputs: readonly WireTensor[], outputNames: readonly string[], transfer: ArrayBuffer[] = []): Promise<WireTensor[]> {
    let elements = 0;
    for (const input of inputs) elements += input.data.length;
    if (this.inline.state === 'ready' && this.estimateMs(elements) < this.policy.belowMs) return this.runInline(this.inline, inputs, outputNames, elements);
    if (this.placed.length === 0) throw new Error('the model\'s sessions are released');
    const start = this.next++ % this.placed.length;
    let target = this.placed[start]!;
    for (const p of this.placed) if (p.busy < target.busy) target = p;
    target.busy++;
    try {
      const { outputs, computeMs, arenaOff } = await target.thread.call<RunResult>(target.session, { kind: 'run', inputs, outputNames }, transfer);
      this.counts.worker++;
      if (arenaOff && !this.arenaOffReported) {
        this.arenaOffReported = true;
        this.onArenaOff?.();
      }
      this.measured(computeMs, elements);
      return outputs;
    } finally {
      target.busy--;
    }
  }

  private async runInline({ ort, session }: { ort: typeof Ort; session: Ort.InferenceSession }, inputs: readonly WireTensor[], outputNames: readonly string[], elements: number): Promise<WireTensor[]> {
    const feeds: Record<string, Ort.Tensor> = {};
    for (const input of inputs) feeds[input.name] = new ort.Tensor(input.type as Ort.Tensor.Type, input.data as Ort.Tensor.DataType, input.dims);
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
      // Imported here, the first time a model goes inline: the event loop needs onnxruntime only
      // then, and a server starting up has better use for the time.
      const ort = await import('onnxruntime-node');
      const session = await ort.InferenceSession.create(request.modelPath, sessionOptions({ ...request, intraOpThreads: 1, interOpThreads: 0 }, 'cpu'));
      if (this.inline.state !== 'loading') {
        await session.release();
        return;
      }
      this.inline = { state: 'ready', ort, session };
    } catch {
      if (this.inline.state === 'loading') this.inline = { state: 'refused' };
    }
  }

  async release(): Promise<void> {
    const inline = this.inline;
    this.inline = { state: 'refused' };
    if (inline.state === 'ready') await inline.session.release();
    const placed = this.placed.splice(0);
    await Promise.all(placed.map(async ({ thread, session }) => {
      thread.owners.delete(this.onThreadExit);
      thread.sessions--;
      // A thread that died took the session with it.
      if (thread.channel.exitReason === undefined) await thread.call(session, { kind: 'release' }).catch(() => undefined);
    }));
  }
}
