/**
 * Per-model inference statistics in the shape of Triton's statistics extension
 * (GET /v2/models/{name}/stats): counts and cumulative nanoseconds.
 */
export interface Duration {
  count: number;
  ns: number;
}

export interface ModelStatistics {
  name: string;
  version: string;
  /** Milliseconds since the epoch of the last successful inference; 0 before the first. */
  last_inference: number;
  /** Rows (batch dimension) answered successfully. */
  inference_count: number;
  /** Model executions; below inference_count when batching joined requests. */
  execution_count: number;
  inference_stats: {
    success: Duration;
    fail: Duration;
    queue: Duration;
    compute_input: Duration;
    compute_infer: Duration;
    compute_output: Duration;
  };
  batch_stats: Array<{ batch_size: number; compute_input: Duration; compute_infer: Duration; compute_output: Duration }>;
}

const zero = (): Duration => ({ count: 0, ns: 0 });
const ns = (seconds: number) => Math.round(seconds * 1e9);

export class StatisticsRecorder {
  private lastInference = 0;
  private inferences = 0;
  private executions = 0;
  private readonly success = zero();
  private readonly fail = zero();
  private readonly queue = zero();
  private readonly compute = zero();
  private readonly batches = new Map<number, Duration>();

  constructor(
    readonly name: string,
    readonly version: string,
  ) {}

  succeeded(rows: number, totalSeconds: number, queueSeconds: number, computeSeconds: number): void {
    this.lastInference = Date.now();
    this.inferences += rows;
    this.success.count++;
    this.success.ns += ns(totalSeconds);
    this.queue.count++;
    this.queue.ns += ns(queueSeconds);
    this.compute.count++;
    this.compute.ns += ns(computeSeconds);
  }

  failed(totalSeconds: number): void {
    this.fail.count++;
    this.fail.ns += ns(totalSeconds);
  }

  executed(rows: number, computeSeconds: number): void {
    this.executions++;
    const entry = this.batches.get(rows) ?? zero();
    entry.count++;
    entry.ns += ns(computeSeconds);
    this.batches.set(rows, entry);
  }

  /**
   * Input copying and output conversion happen inside the session worker's run, so their time
   * is part of compute_infer and the compute_input/compute_output entries count without time.
   */
  snapshot(): ModelStatistics {
    return {
      name: this.name,
      version: this.version,
      last_inference: this.lastInference,
      inference_count: this.inferences,
      execution_count: this.executions,
      inference_stats: {
        success: { ...this.success },
        fail: { ...this.fail },
        queue: { ...this.queue },
        compute_input: { count: this.compute.count, ns: 0 },
        compute_infer: { ...this.compute },
        compute_output: { count: this.compute.count, ns: 0 },
      },
      batch_stats: [...this.batches.entries()]
        .sort(([a], [b]) => a - b)
        .map(([batch_size, d]) => ({ batch_size, compute_input: { count: d.count, ns: 0 }, compute_infer: { ...d }, compute_output: { count: d.count, ns: 0 } })),
    };
  }
}
