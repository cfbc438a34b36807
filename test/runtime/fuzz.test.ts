import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fraudDetectorModel } from '../../lib/onnx/examples.js';
import { identityModel } from '../../lib/onnx/builders.js';
import { DATATYPES } from '../../lib/runtime/datatypes.js';
import { binaryBody, http, infer, startTestServer, type TestServer } from './helpers.js';

// Property tests: malformed requests of every kind get a 4xx, never a 5xx or a crash,
// and the server keeps answering valid requests afterwards. Runs are bounded so the
// whole file stays well under a minute.
const RUNS = 1000;

const valid = () => ({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 6], data: [60, 14, 0.2, 5, 900, 2] }] });

describe('malformed requests (fast-check)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer([
      { name: 'fraud', bytes: fraudDetectorModel().bytes, config: { batching: { maxQueueDelayMs: 1 } } },
      { name: 'ids', bytes: identityModel('INT64', ['batch', 2]) },
    ], { maxBodyBytes: 64 * 1024 });
  });
  afterAll(() => t.close());

  const expect4xx = async (res: Awaited<ReturnType<typeof infer>>) => {
    expect(res.status, res.body.toString().slice(0, 200)).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(typeof res.json().error).toBe('string');
  };

  it('answers random bytes with 4xx', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
      await expect4xx(await infer(t.port, 'fraud', Buffer.from(bytes)));
    }), { numRuns: RUNS });
  });

  it('answers arbitrary JSON documents with 4xx', async () => {
    await fc.assert(fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (doc) => {
      await expect4xx(await infer(t.port, 'fraud', JSON.stringify(doc ?? null)));
    }), { numRuns: RUNS });
  });

  it('answers requests with one broken field (name, datatype, shape, data) with 4xx', async () => {
    const mutation = fc.oneof(
      fc.record({ name: fc.string({ maxLength: 12 }).filter((s) => s !== 'features') }),
      fc.record({ datatype: fc.oneof(fc.constantFrom(...DATATYPES.filter((d) => d !== 'FP32')), fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null)) }),
      fc.record({ shape: fc.oneof(
        fc.array(fc.integer({ min: -3, max: 10 }), { maxLength: 4 }).filter((s) => !(s.length === 2 && s[0]! >= 0 && s[1] === 6 && s[0]! * 6 === 6)),
        fc.tuple(fc.constantFrom(2 ** 31, 2 ** 40, 2 ** 53 - 1, 1e300), fc.constant(6)),
        fc.array(fc.double(), { minLength: 2, maxLength: 2 }).filter((s) => !s.every(Number.isInteger)),
        fc.string(),
      ) }),
      fc.record({ data: fc.oneof(
        fc.array(fc.double({ noNaN: true }), { maxLength: 12 }).filter((d) => d.length !== 6),
        fc.array(fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fc.object()), { minLength: 6, maxLength: 6 }),
        fc.array(fc.array(fc.double({ noNaN: true }), { maxLength: 7 }), { minLength: 1, maxLength: 3 }).filter((d) => !(d.length === 1 && d[0]!.length === 6)),
        fc.jsonValue().filter((v) => !Array.isArray(v)),
      ) }),
    );
    await fc.assert(fc.asyncProperty(mutation, async (change) => {
      const request = valid();
      Object.assign(request.inputs[0]!, change);
      await expect4xx(await infer(t.port, 'fraud', JSON.stringify(request)));
    }), { numRuns: RUNS });
  });

  it('answers out-of-range and non-integer INT64 values with 4xx', async () => {
    const bad = fc.oneof(
      fc.bigInt({ min: 2n ** 63n, max: 2n ** 70n }),
      fc.bigInt({ min: -(2n ** 70n), max: -(2n ** 63n) - 1n }),
      fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }).map(String),
    );
    await fc.assert(fc.asyncProperty(bad, async (value) => {
      const body = `{"inputs":[{"name":"x","datatype":"INT64","shape":[1,2],"data":[1,${value}]}]}`;
      await expect4xx(await infer(t.port, 'ids', body));
    }), { numRuns: RUNS / 2 });
  });

  it('answers truncated or inconsistent binary tensor data with 4xx', async () => {
    const row = new Uint8Array(Float32Array.from([60, 14, 0.2, 5, 900, 2]).buffer);
    const scenario = fc.record({
      declaredSize: fc.oneof(fc.constant(24), fc.integer({ min: 0, max: 100 }), fc.constantFrom(2 ** 31, 2 ** 52)),
      keepBytes: fc.integer({ min: 0, max: 23 }),
      headerDelta: fc.integer({ min: -10, max: 40 }),
      extra: fc.uint8Array({ maxLength: 8 }),
    }).filter((s) => !(s.declaredSize === 24 && s.keepBytes + s.extra.length === 24 && s.headerDelta === 0));
    await fc.assert(fc.asyncProperty(scenario, async ({ declaredSize, keepBytes, headerDelta, extra }) => {
      const header = { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 6], parameters: { binary_data_size: declaredSize } }] };
      const { body, headerLength } = binaryBody(header, [row.subarray(0, keepBytes), extra]);
      await expect4xx(await infer(t.port, 'fraud', body, { 'inference-header-content-length': Math.max(0, headerLength + headerDelta) }));
    }), { numRuns: RUNS });
  });

  it('is still healthy and correct after all of that', async () => {
    expect((await http(t.port, 'GET', '/v2/health/ready')).status).toBe(200);
    const res = await infer(t.port, 'fraud', valid());
    expect(res.status).toBe(200);
    expect(res.json().outputs[0].shape).toEqual([1, 2]);
    expect(t.app.inFlightRequests).toBe(0);
    const metrics = (await http(t.port, 'GET', '/metrics')).body.toString();
    expect(metrics).not.toMatch(/status="5\d\d"/);
    expect(t.logger.records.filter((r) => r.level === 'error')).toEqual([]);
  });
});
