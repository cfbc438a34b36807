import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { promote, release } from '../../lib/compiler/release-ops.js';
import { readBuildFile, releaseOf } from '../../lib/compiler/releases.js';
import { synth } from '../../lib/compiler/synth.js';
import { layoutImage, recordBuild } from '../../lib/pipeline/package.js';
import { parseExpectedSha256 } from '../../lib/runtime/integrity.js';
import { MemoryLogger } from '../../lib/runtime/logger.js';
import { serve } from '../../lib/runtime/serve.js';
import { signModelFolder } from '../../lib/supply-chain/attest.js';
import { generateKeyPair, parseTrustedKeys } from '../../lib/supply-chain/keys.js';

// One build from the package step to the runtime: the files laid out for the image, build.json,
// the release, the rendered pod, and the runtime started exactly as that pod starts it.
const APP = new URL('../../apps/main.ts', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'slipway-build-identity-'));
// The app trusts this test's public key (apps/trust.ts reads SLIPWAY_TRUSTED_KEYS_FILE); the package step signs with its private half.
const key = generateKeyPair(join(work, 'signing.key'), join(work, 'signing.pub'));
const other = generateKeyPair(join(work, 'other.key'), join(work, 'other.pub'));
const trustedBefore = process.env.SLIPWAY_TRUSTED_KEYS_FILE;
process.env.SLIPWAY_TRUSTED_KEYS_FILE = join(work, 'signing.pub');
afterAll(() => {
  if (trustedBefore === undefined) delete process.env.SLIPWAY_TRUSTED_KEYS_FILE;
  else process.env.SLIPWAY_TRUSTED_KEYS_FILE = trustedBefore;
  rmSync(work, { recursive: true, force: true });
});

interface RenderedRuntime {
  repository: string;
  env: Record<string, string>;
}

function renderedRuntime(repo: string, environment: string): RenderedRuntime {
  const deployment = parse(readFileSync(join(repo, `environments/${environment}/fraud-detector/deployment-fraud-detector.yaml`), 'utf8'));
  const runtime = deployment.spec.template.spec.containers.find((c: { name: string }) => c.name === 'runtime');
  expect(deployment.spec.template.spec.initContainers).toBeUndefined();
  return {
    repository: runtime.args[runtime.args.indexOf('--model-repository') + 1],
    env: Object.fromEntries(runtime.env.map((e: { name: string; value: string }) => [e.name, e.value])),
  };
}

/** Starts the runtime on `imageRoot` (what the image holds at /) the way the rendered pod does; resolves once loaded. */
async function startAsPod(imageRoot: string, pod: RenderedRuntime) {
  const { server, app, loaded } = await serve({
    modelRepository: join(imageRoot, pod.repository),
    models: [],
    host: '127.0.0.1',
    port: 0,
    maxBodyBytes: 1 << 20,
    gracePeriodMs: 500,
    executionProvider: 'cpu',
    logLevel: 'error',
    logger: new MemoryLogger(),
    expectedSha256: parseExpectedSha256(pod.env.SLIPWAY_EXPECTED_SHA256!, 'SLIPWAY_EXPECTED_SHA256'),
    trustedKeys: parseTrustedKeys(pod.env.SLIPWAY_TRUSTED_KEYS!, 'SLIPWAY_TRUSTED_KEYS'),
  });
  await loaded;
  return { server, app };
}

describe('one build identity from the package step to the serving runtime', () => {
  it('serves exactly the packaged files after release and promote, and refuses them once tampered with', async () => {
    // GIVEN training output and the image content the package step lays out, with its build.json
    const output = join(work, 'output');
    mkdirSync(output);
    copyFileSync('examples/model-repository/fraud-detector/1/model.onnx', join(output, 'model.onnx'));
    copyFileSync('examples/model-repository/fraud-detector/1/baseline.json', join(output, 'baseline.json'));
    writeFileSync(join(output, 'metrics.json'), '{"auc":0.95}');
    const image = join(work, 'image');
    layoutImage({ model: 'fraud-detector', version: '1.4.0', outputDir: output, contextDir: image, runtimeImage: 'scratch' });
    const folder = join(image, 'models/fraud-detector/1.4.0');
    await signModelFolder('fraud-detector', folder, key);
    const buildFile = join(work, 'build.json');
    await recordBuild({ model: 'fraud-detector', version: '1.4.0', contextDir: image, imageDigest: `sha256:${'e'.repeat(64)}`, builtAt: new Date(), out: buildFile, trigger: 'drift' });
    // WHEN the build is released to staging and promoted to prod
    const repo = join(work, 'config');
    await synth({ app: APP, repo });
    await release(releaseOf(readBuildFile(buildFile, { model: 'fraud-detector' }), 'staging'), { app: APP, repo });
    await promote('fraud-detector', 'staging', 'prod', { app: APP, repo });
    // THEN the prod pod, started as rendered on the image's files, verifies both files and their signature, and is ready
    const pod = renderedRuntime(repo, 'prod');
    expect(pod.repository).toBe('/models');
    const ok = await startAsPod(image, pod);
    try {
      expect(ok.app.ready).toBe(true);
    } finally {
      await ok.server.shutdown('test');
    }
    // AND the same pod refuses the same files signed by a key the app does not trust
    await signModelFolder('fraud-detector', folder, other);
    const untrusted = await startAsPod(image, pod);
    try {
      expect(untrusted.app.ready).toBe(false);
      expect(untrusted.app.model('fraud-detector')!.notReadyMessage()).toContain(`signed by key ${other.keyId}, which is not trusted; trusted: ${key.keyId}`);
    } finally {
      await untrusted.server.shutdown('test');
    }
    await signModelFolder('fraud-detector', folder, key);
    // AND the same pod refuses a baseline that is not the build's
    appendFileSync(join(image, 'models/fraud-detector/1.4.0/baseline.json'), '\n');
    const tampered = await startAsPod(image, pod);
    try {
      expect(tampered.app.ready).toBe(false);
      expect(tampered.app.model('fraud-detector')!.notReadyMessage()).toMatch(/baseline\.json: sha256 mismatch: expected [0-9a-f]{64}, got [0-9a-f]{64}/);
    } finally {
      await tampered.server.shutdown('test');
    }
  }, 120_000);
});
