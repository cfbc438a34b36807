/**
 * Prometheus series bound to their label values once, for the per-request path. prom-client
 * converts, validates and hashes the labels on every update, label-bound children included (about
 * 1 µs an update, six updates a request); a bound series here updates with a few arithmetic
 * operations. The metrics register in a prom-client Registry, which renders them beside its own in
 * the same text (test/runtime/bound-metrics.test.ts compares the two byte for byte).
 *
 * A series exists from the moment it is bound, at zero, so rate() sees a model's first requests.
 */
import type { Registry } from 'prom-client';

type Labels = Record<string, string | number>;
/** One line of the exposition, as prom-client's metrics return them from get(). */
type Value = { labels: Labels; value: number; metricName?: string };

interface Series {
  reset(): void;
}

/** What a prom-client Registry reads from a metric: name, help, type, and its values on get(). */
abstract class BoundMetric<S extends Series> {
  readonly aggregator = 'sum';
  private readonly series = new Map<string, { labels: Labels; series: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** The series for these label values, in labelNames order; the same object every time. */
  labels(...values: string[]): S {
    if (values.length !== this.labelNames.length) {
      throw new TypeError(`${this.name}: expected ${this.labelNames.length} label values (${this.labelNames.join(', ')}), got ${values.length}`);
    }
    const key = values.join('\u0000');
    let entry = this.series.get(key);
    if (!entry) {
      const labels: Labels = {};
      this.labelNames.forEach((name, i) => (labels[name] = values[i]!));
      entry = { labels, series: this.create() };
      this.series.set(key, entry);
    }
    return entry.series;
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Value[] }> {
    const values: Value[] = [];
    for (const { labels, series } of this.series.values()) this.collect(labels, series, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Zeroes every series in place: whoever bound one keeps updating what is rendered. */
  reset(): void {
    for (const { series } of this.series.values()) series.reset();
  }

  protected abstract create(): S;
  protected abstract collect(labels: Labels, series: S, into: Value[]): void;
}

export class CounterSeries implements Series {
  value = 0;
  inc(): void {
    this.value++;
  }
  reset(): void {
    this.value = 0;
  }
}

export class GaugeSeries extends CounterSeries {
  dec(): void {
    this.value--;
  }
}

export class HistogramSeries implements Series {
  /** Observations per bucket, not cumulative; beyond the last bound only count and sum hold them. */
  private readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: Float64Array) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    if (i < bounds.length) this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  /** Observations at or below each bound. */
  cumulative(): number[] {
    let total = 0;
    return Array.from(this.counts, (n) => (total += n));
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

interface MetricOptions {
  name: string;
  help: string;
  labelNames: readonly string[];
  registry: Registry;
}

/** Counters and gauges: one value per series. */
class BoundValueMetric<S extends CounterSeries> extends BoundMetric<S> {
  constructor(options: MetricOptions, type: 'counter' | 'gauge', private readonly make: () => S) {
    super(options.name, options.help, type, options.labelNames, options.registry);
  }
  protected create(): S {
    return this.make();
  }
  protected collect(labels: Labels, series: S, into: Value[]): void {
    into.push({ labels, value: series.value });
  }
}

export class BoundCounter extends BoundValueMetric<CounterSeries> {
  constructor(options: MetricOptions) {
    super(options, 'counter', () => new CounterSeries());
  }
}

export class BoundGauge extends BoundValueMetric<GaugeSeries> {
  constructor(options: MetricOptions) {
    super(options, 'gauge', () => new GaugeSeries());
  }
}

export class BoundHistogram extends BoundMetric<HistogramSeries> {
  private readonly bounds: Float64Array;

  constructor(options: MetricOptions & { buckets: readonly number[] }) {
    super(options.name, options.help, 'histogram', options.labelNames, options.registry);
    this.bounds = Float64Array.from([...options.buckets].sort((a, b) => a - b));
  }
  protected create(): HistogramSeries {
    return new HistogramSeries(this.bounds);
  }
  protected collect(labels: Labels, series: HistogramSeries, into: Value[]): void {
    const bucket = `${this.name}_bucket`;
    const cumulative = series.cumulative();
    this.bounds.forEach((bound, i) => into.push({ labels: { le: bound, ...labels }, value: cumulative[i]!, metricName: bucket }));
    into.push({ labels: { le: '+Inf', ...labels }, value: series.count, metricName: bucket });
    into.push({ labels, value: series.sum, metricName: `${this.name}_sum` });
    into.push({ labels, value: series.count, metricName: `${this.name}_count` });
  }
}
