/**
 * Dynamic batching for one model. Requests wait in a queue while the model is
 * busy; when it is free, queued requests with the same non-batch dimensions
 * are concatenated along dimension 0 (up to maxBatchSize rows), run once,
 * and the outputs split back into per-request views (no copy on the way out).
 *
 * Executions run on the model's session workers (up to `concurrency` at a
 * time); everything that arrives while they are busy queues and forms the next
 * batch: under load batches fill themselves, and an idle model answers at once. maxQueueDelayMs > 0 additionally holds an idle model back
 * for a not-yet-full batch, as Triton's max_queue_delay does.
 *
 * Refill: with maxQueueDelayMs 0, a model that just answered a batch waits a moment (at most
 * REFILL_SHARE of that batch's compute time) for the rows it expects: that batch's and those that
 * queued behind it, whose clients come back one by one. Without the wait, a model with one session
 * under steady load split its clients into two groups that took turns (wide MLP at c=32: batches
 * of 13 rows on average, not 32), and a memory-bound model computes 32 rows in little more time
 * than 13. An idle model (last batch one row, nothing queued) never waits, nor does a model whose
 * batches compute in under 4 ms.
 */
import { DATATYPE_INFO, type NumericArray, type TensorData } from './datatypes.js';
import type { Tensor } from './protocol.js';

/** `batched`: the inputs were concatenated for this run and nothing else holds them. */
export type Executor = (inputs: readonly Tensor[], outputNames: readonly string[], batched: boolean) => Promise<Map<string, Tensor>>;

export interface BatchResult {
  outputs: Map<string, Tensor>;
  queueSeconds: number;
  computeSeconds: number;
  batchRows: number;
}

export interface BatchOptions {
  /** False runs every request on its own (models without a dynamic batch dimension). */
  enabled: boolean;
  maxBatchSize: number;
  maxQueueDelayMs: number;
  /** Wait for a batch's clients to come back (see Refill above); default off. */
  refill?: boolean;
  /** Batches that may run at once (the model's session workers); default 1. */
  concurrency?: number;
  /** Called once per model execution with the rows it ran and how long it took. */
  onBatch?: (rows: number, computeSeconds: number) => void;
}

interface Job {
  inputs: readonly Tensor[];
  outputNames: readonly string[];
  rows: number;
  /** Requests batch together only when all dims but the first agree; undefined runs alone. */
  key: string | undefined;
  enqueuedAt: number;
  resolve(result: BatchResult): void;
  reject(error: unknown): void;
}

function batchKey(inputs: readonly Tensor[]): { rows: number; key: string | undefined } {
  const rows = inputs[0]?.shape[0] ?? 0;
  let key = '';
  for (const input of inputs) {
    if (input.shape.length === 0 || input.shape[0] !== rows) return { rows, key: undefined };
    key += `${input.shape.slice(1).join('x')}|`;
  }
  return { rows, key };
}

function concatenate(parts: readonly Tensor[], totalRows: number): Tensor {
  const first = parts[0]!;
  const shape = [totalRows, ...first.shape.slice(1)];
  if (first.datatype === 'BYTES') {
    return { ...first, shape, data: parts.flatMap((p) => p.data as string[]) };
  }
  const total = parts.reduce((n, p) => n + p.data.length, 0);
  const out = new DATATYPE_INFO[first.datatype].arrayClass!(total);
  let offset = 0;
  for (const part of parts) {
    (out as Float32Array).set(part.data as Float32Array, offset);
    offset += part.data.length;
  }
  return { ...first, shape, data: out };
}

function rowSlice(tensor: Tensor, fromRow: number, rows: number): Tensor {
  let rowSize = 1;
  for (let i = 1; i < tensor.shape.length; i++) rowSize *= tensor.shape[i]!;
  const data: TensorData = Array.isArray(tensor.data)
    ? tensor.data.slice(fromRow * rowSize, (fromRow + rows) * rowSize)
    : (tensor.data as NumericArray).subarray(fromRow * rowSize, (fromRow + rows) * rowSize);
  return { ...tensor, shape: [rows, ...tensor.shape.slice(1)], data };
}

const seconds = (fromMs: number, toMs: number) => (toMs - fromMs) / 1000;

/** Longest refill wait, as a share of the last batch's compute time. */
export const REFILL_SHARE = 0.25;
/** Never wait longer than this for a refill, however slow the model. */
export const REFILL_MAX_MS = 20;

export class BatchScheduler {
  private readonly queue: Job[] = [];
  private queuedRows = 0;
  private running = 0;
  private wakeup: { kind: 'immediate'; handle: NodeJS.Immediate } | { kind: 'timer'; handle: NodeJS.Timeout } | undefined;
  /** The last batch run: its rows, compute time and when it finished (the refill's measure). */
  private lastBatch: { rows: number; computeMs: number; finishedAt: number; queuedRows: number } | undefined;
  /** Rows a refill wait is waiting for; it ends early once they are queued. */
  private refillRows = Infinity;

  constructor(
    private readonly execute: Executor,
    private readonly options: BatchOptions,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  submit(inputs: readonly Tensor[], outputNames: readonly string[]): Promise<BatchResult> {
    return new Promise((resolve, reject) => {
      const { rows, key } = this.options.enabled ? batchKey(inputs) : { rows: inputs[0]?.shape[0] ?? 1, key: undefined };
      this.queue.push({ inputs, outputNames, rows, key, enqueuedAt: performance.now(), resolve, reject });
      this.queuedRows += rows;
      if (this.wakeup?.kind === 'timer' && this.queuedRows >= Math.min(this.options.maxBatchSize, this.refillRows)) {
        clearTimeout(this.wakeup.handle);
        this.wakeup = undefined;
      }
      this.schedule();
    });
  }

  /**
   * `now`: a batch just finished and its answers are not written yet. Then what is queued goes to
   * the session at once, before them, so the session computes while the event loop writes them
   * (wide MLP at c=32: the session thread sat idle a third of the time while it waited).
   */
  private schedule(now = false): void {
    if (this.running >= (this.options.concurrency ?? 1) || this.wakeup || this.queue.length === 0) return;
    const { enabled, maxQueueDelayMs, maxBatchSize } = this.options;
    let wait = enabled && maxQueueDelayMs > 0 && this.queuedRows < maxBatchSize
      ? this.queue[0]!.enqueuedAt + maxQueueDelayMs - performance.now()
      : 0;
    this.refillRows = Infinity;
    const last = this.lastBatch;
    // The clients of the last batch and those that queued behind it: the load that is about.
    const expected = last ? Math.min(maxBatchSize, last.rows + last.queuedRows) : 0;
    if (enabled && this.options.refill && maxQueueDelayMs === 0 && last && this.queuedRows < expected) {
      const hold = Math.min(REFILL_SHARE * last.computeMs, REFILL_MAX_MS);
      // Below a millisecond a timer cannot wait that little: such a model runs what it has.
      if (hold >= 1) {
        wait = last.finishedAt + hold - performance.now();
        this.refillRows = expected;
      }
    }
    if (wait <= 0 && now) {
      void this.dispatch();
      return;
    }
    // setImmediate, not a direct call: requests read in the same event-loop turn join this batch.
    this.wakeup = wait > 0
      ? { kind: 'timer', handle: setTimeout(() => void this.dispatch(), wait) }
      : { kind: 'immediate', handle: setImmediate(() => void this.dispatch()) };
  }

  private takeBatch(): Job[] {
    const first = this.queue[0]!;
    const batch = [first];
    let rows = first.rows;
    const rest: Job[] = [];
    for (let i = 1; i < this.queue.length; i++) {
      const job = this.queue[i]!;
      if (first.key !== undefined && job.key === first.key && rows + job.rows <= this.options.maxBatchSize) {
        batch.push(job);
        rows += job.rows;
      } else {
        rest.push(job);
      }
    }
    this.queue.length = 0;
    this.queue.push(...rest);
    this.queuedRows -= rows;
    return batch;
  }

  private async dispatch(): Promise<void> {
    this.wakeup = undefined;
    this.running++;
    const batch = this.takeBatch();
    // Another idle session may take the next batch at once.
    this.schedule();
    let answer: () => void = () => undefined;
    try {
      answer = batch.length === 1 ? await this.runAlone(batch[0]!) : await this.runTogether(batch);
    } finally {
      this.running--;
      this.schedule(true);
      answer();
    }
  }

  private executed(rows: number, computeSeconds: number): void {
    this.lastBatch = { rows, computeMs: computeSeconds * 1000, finishedAt: performance.now(), queuedRows: this.queuedRows };
    this.options.onBatch?.(rows, computeSeconds);
  }

  /** Runs one job; resolves to what answers it (called once the next batch is on its way). */
  private async runAlone(job: Job): Promise<() => void> {
    const start = performance.now();
    try {
      const outputs = await this.execute(job.inputs, job.outputNames, false);
      const computeSeconds = seconds(start, performance.now());
      this.executed(job.rows, computeSeconds);
      return () => job.resolve({ outputs, queueSeconds: seconds(job.enqueuedAt, start), computeSeconds, batchRows: job.rows });
    } catch (err) {
      return () => job.reject(err);
    }
  }

  private async runTogether(batch: readonly Job[]): Promise<() => void> {
    const start = performance.now();
    const totalRows = batch.reduce((n, job) => n + job.rows, 0);
    const inputs = batch[0]!.inputs.map((_, i) => concatenate(batch.map((job) => job.inputs[i]!), totalRows));
    const outputNames = [...new Set(batch.flatMap((job) => job.outputNames))];
    let outputs: Map<string, Tensor>;
    try {
      outputs = await this.execute(inputs, outputNames, true);
    } catch {
      // One bad request must not fail its neighbours: rerun each alone so the error lands where it belongs.
      for (const job of batch) (await this.runAlone(job))();
      return () => undefined;
    }
    if ([...outputs.values()].some((t) => t.shape[0] !== totalRows)) {
      // The model's outputs do not follow the batch dimension after all: batching cannot split them.
      for (const job of batch) (await this.runAlone(job))();
      return () => undefined;
    }
    const computeSeconds = seconds(start, performance.now());
    this.executed(totalRows, computeSeconds);
    return () => {
      let row = 0;
      for (const job of batch) {
        const own = new Map<string, Tensor>();
        for (const name of job.outputNames) own.set(name, rowSlice(outputs.get(name)!, row, job.rows));
        job.resolve({ outputs: own, queueSeconds: seconds(job.enqueuedAt, start), computeSeconds, batchRows: totalRows });
        row += job.rows;
      }
    };
  }
}
