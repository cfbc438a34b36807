import fc from 'fast-check';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BoundCounter, BoundGauge, BoundHistogram } from '../../lib/runtime/bound-metrics.js';

const buckets = [0.0001, 0.0005, 0.001, 0.01, 0.1, 1, 2.5, 10];
const series = fc.constantFrom(['fraud', '1'], ['fraud', '2'], ['wide "model"\\', '1']);

/** The same metrics twice: prom-client's own, and bound ones, each in its own registry. */
function pair() {
  const upstream = new Registry();
  const bound = new Registry();
  const labelNames = ['model', 'version'];
  return {
    upstream,
    bound,
    histograms: [new Histogram({ name: 'h_seconds', help: 'A histogram.', labelNames, buckets, registers: [upstream] }), new BoundHistogram({ name: 'h_seconds', help: 'A histogram.', labelNames, buckets, registry: bound })] as const,
    counters: [new Counter({ name: 'c_total', help: 'A counter.', labelNames: [...labelNames, 'status'], registers: [upstream] }), new BoundCounter({ name: 'c_total', help: 'A counter.', labelNames: [...labelNames, 'status'], registry: bound })] as const,
    gauges: [new Gauge({ name: 'g', help: 'A gauge.', labelNames, registers: [upstream] }), new BoundGauge({ name: 'g', help: 'A gauge.', labelNames, registry: bound })] as const,
  };
}

describe('bound metrics', () => {
  it('render exactly what prom-client renders for the same updates (fast-check)', async () => {
    const update = fc.oneof(
      fc.record({ kind: fc.constant('observe' as const), series, value: fc.oneof(fc.constantFrom(...buckets, 0, 1e-9, 1e6), fc.double({ min: 0, max: 20, noNaN: true })) }),
      fc.record({ kind: fc.constant('inc' as const), series, status: fc.constantFrom('200', '400') }),
      fc.record({ kind: fc.constant('gauge' as const), series, up: fc.boolean() }),
    );
    await fc.assert(fc.asyncProperty(fc.array(update, { minLength: 1, maxLength: 60 }), async (updates) => {
      // GIVEN the same updates applied to prom-client's metrics and to bound ones
      const m = pair();
      for (const u of updates) {
        const [model, version] = u.series as [string, string];
        if (u.kind === 'observe') {
          m.histograms[0].labels(model, version).observe(u.value);
          m.histograms[1].labels(model, version).observe(u.value);
        } else if (u.kind === 'inc') {
          m.counters[0].labels(model, version, u.status).inc();
          m.counters[1].labels(model, version, u.status).inc();
        } else {
          if (u.up) m.gauges[0].labels(model, version).inc();
          else m.gauges[0].labels(model, version).dec();
          const gauge = m.gauges[1].labels(model, version);
          if (u.up) gauge.inc();
          else gauge.dec();
        }
      }
      // WHEN each registry renders / THEN the text is the same, byte for byte
      expect(await m.bound.metrics()).toBe(await m.upstream.metrics());
    }), { numRuns: 200 });
  });

  it('has a series at zero from the moment it is bound, and the same one each time', async () => {
    const registry = new Registry();
    const histogram = new BoundHistogram({ name: 'h_seconds', help: 'A histogram.', labelNames: ['model'], buckets: [1], registry });
    expect(histogram.labels('m')).toBe(histogram.labels('m'));
    expect(await registry.metrics()).toBe([
      '# HELP h_seconds A histogram.',
      '# TYPE h_seconds histogram',
      'h_seconds_bucket{le="1",model="m"} 0',
      'h_seconds_bucket{le="+Inf",model="m"} 0',
      'h_seconds_sum{model="m"} 0',
      'h_seconds_count{model="m"} 0',
      '',
    ].join('\n'));
  });

  it('zeroes in place on reset, so bound series keep counting', async () => {
    const registry = new Registry();
    const counter = new BoundCounter({ name: 'c_total', help: 'A counter.', labelNames: ['model'], registry });
    const bound = counter.labels('m');
    bound.inc();
    registry.resetMetrics();
    bound.inc();
    expect(await registry.metrics()).toContain('c_total{model="m"} 1\n');
  });

  it('fails when the label values do not match the label names, or a value is not finite', () => {
    const histogram = new BoundHistogram({ name: 'h_seconds', help: 'A histogram.', labelNames: ['model', 'version'], buckets: [1], registry: new Registry() });
    expect(() => histogram.labels('m')).toThrow('h_seconds: expected 2 label values (model, version), got 1');
    expect(() => histogram.labels('m', '1').observe(Number.NaN)).toThrow('Value is not a valid number: NaN');
  });
});
