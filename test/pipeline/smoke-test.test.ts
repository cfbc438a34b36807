import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryLogger } from '../../lib/runtime/logger.js';
import { serve } from '../../lib/runtime/serve.js';
import type { RunningServer } from '../../lib/runtime/server.js';
import { parseSignature, smokeTest } from '../../lib/pipeline/smoke-test.js';

// The real runtime serving the example fraud detector, as the test task's sidecar does.
let server: RunningServer;
let url: string;
beforeAll(async () => {
  const started = await serve({
    modelRepository: 'examples/model-repository',
    models: [],
    host: '127.0.0.1',
    port: 0,
    maxBodyBytes: 1 << 20,
    gracePeriodMs: 1000,
    executionProvider: 'cpu',
    logLevel: 'error',
    logger: new MemoryLogger(),
  });
  server = started.server;
  url = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server.shutdown('test finished'));

const SIGNATURE = {
  inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 6] }],
  outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 2] }],
} as const;

describe('slipway pipeline smoke-test', () => {
  it('waits for readiness and checks every output of the signature', async () => {
    const message = await smokeTest({ url, model: 'fraud-detector', signature: parseSignature(JSON.stringify(SIGNATURE)), readyTimeoutSeconds: 30, pollMs: 50 });
    expect(message).toBe('fraud-detector answered 200 with probability[-1,2]');
  });

  it('fails when the image answers with another signature, naming each difference', async () => {
    const signature = { inputs: SIGNATURE.inputs, outputs: [{ name: 'probability', datatype: 'FP64', shape: [-1, 3] }, { name: 'label', datatype: 'INT64', shape: [-1] }] };
    await expect(smokeTest({ url, model: 'fraud-detector', signature: parseSignature(JSON.stringify(signature)), readyTimeoutSeconds: 5, pollMs: 50 })).rejects.toThrow(
      'output "probability" has shape [1,2], expected [1,3]; output "probability" has datatype FP32, expected FP64; output "label" is missing (got probability)',
    );
  });

  it('fails when the model never becomes ready in time', async () => {
    await expect(smokeTest({ url, model: 'credit-scorer', signature: SIGNATURE, readyTimeoutSeconds: 1, pollMs: 100 })).rejects.toThrow(
      /model credit-scorer was not ready at http:\/\/127\.0\.0\.1:\d+ within 1s \(last answer: 404 /,
    );
  });

  it('fails when the signature is malformed', () => {
    expect(() => parseSignature('{"inputs":[{"name":"x","datatype":"FLOAT","shape":[0]}]}')).toThrow(
      /--signature: inputs\[0\]: expected \{name, datatype .*\}, got \{"name":"x","datatype":"FLOAT","shape":\[0\]\}; outputs: expected a non-empty array/,
    );
  });
});
