import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { BoundCounter, BoundGauge, BoundHistogram } from './bound-metrics.js';
import { RUNTIME_METRICS } from '../vocabulary/metrics.js';

// Latency buckets from 100 µs to 10 s: tabular models answer in well under a millisecond,
// wide models on CPU take tens of milliseconds.
const durationBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const batchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/** The runtime's Prometheus metrics; names are a shared contract with dashboards, alerts and KEDA. */
export class RuntimeMetrics {
  readonly registry = new Registry();
  readonly requests = new BoundCounter({
    name: RUNTIME_METRICS.requests,
    help: 'Inference requests by model, version and HTTP status code.',
    labelNames: ['model', 'version', 'status'],
    registry: this.registry,
  });
  readonly requestDuration = new BoundHistogram({
    name: RUNTIME_METRICS.requestDuration,
    help: 'Time from receiving an inference request to sending its response.',
    labelNames: ['model', 'version'],
    buckets: durationBuckets,
    registry: this.registry,
  });
  readonly queueDuration = new BoundHistogram({
    name: RUNTIME_METRICS.queueDuration,
    help: 'Time an inference request waited for its batch to start.',
    labelNames: ['model', 'version'],
    buckets: durationBuckets,
    registry: this.registry,
  });
  readonly computeDuration = new BoundHistogram({
    name: RUNTIME_METRICS.computeDuration,
    help: 'Model execution time of the batch each inference request ran in.',
    labelNames: ['model', 'version'],
    buckets: durationBuckets,
    registry: this.registry,
  });
  readonly batchSize = new BoundHistogram({
    name: RUNTIME_METRICS.batchSize,
    help: 'Rows per model execution after dynamic batching.',
    labelNames: ['model', 'version'],
    buckets: batchBuckets,
    registry: this.registry,
  });
  readonly inFlight = new BoundGauge({
    name: RUNTIME_METRICS.inFlight,
    help: 'Inference requests received and not yet answered (autoscaling signal).',
    labelNames: ['model', 'version'],
    registry: this.registry,
  });
  readonly modelReady = new Gauge({
    name: RUNTIME_METRICS.modelReady,
    help: '1 when the model version is loaded and serving, 0 otherwise.',
    labelNames: ['model', 'version'] as const,
    registers: [this.registry],
  });
  readonly executionProvider = new Gauge({
    name: RUNTIME_METRICS.executionProvider,
    help: 'Execution provider a model version runs on (provider) and the one its configuration asked for (requested).',
    labelNames: ['model', 'version', 'requested', 'provider'] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    // Process metrics (CPU, resident memory, event-loop lag, heap, GC, handles) under prom-client's
    // standard names, so the usual Node.js dashboards and alerts work on the runtime.
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The per-request series of one model, bound once (bound-metrics.ts): the hot path never touches labels. */
  forModel(model: string, version: string): ModelMetrics {
    const byStatus = new Map<number, { inc(): void }>();
    return {
      requestDuration: this.requestDuration.labels(model, version),
      queueDuration: this.queueDuration.labels(model, version),
      computeDuration: this.computeDuration.labels(model, version),
      batchSize: this.batchSize.labels(model, version),
      inFlight: this.inFlight.labels(model, version),
      requests: (status: number) => {
        let counter = byStatus.get(status);
        if (!counter) byStatus.set(status, (counter = this.requests.labels(model, version, String(status))));
        return counter;
      },
    };
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

export interface ModelMetrics {
  requestDuration: { observe(seconds: number): void };
  queueDuration: { observe(seconds: number): void };
  computeDuration: { observe(seconds: number): void };
  batchSize: { observe(rows: number): void };
  inFlight: { inc(): void; dec(): void };
  requests(status: number): { inc(): void };
}
