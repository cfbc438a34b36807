import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { synth } from '../../lib/compiler/synth.js';

const work = mkdtempSync(join(tmpdir(), 'slipway-kserve-synth-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('synth of a platform on KServe', () => {
  it('validates the KServe objects against their CRDs, commits them, lets the AppProject hold the ClusterServingRuntime, and kustomize builds it', async () => {
    const repo = join(work, 'config-repo');
    const result = await synth({ app: new URL('./fixtures/kserve.ts', import.meta.url).pathname, repo });
    expect(result.commit).toMatch(/^[0-9a-f]{40}$/);
    const prod = readdirSync(join(repo, 'environments/prod/fraud-detector'));
    expect(prod.filter((f) => /inferenceservice|servingruntime/.test(f)).sort()).toEqual(['clusterservingruntime-fraud-detector-slipway.yaml', 'inferenceservice-fraud-detector.yaml']);
    expect(readFileSync(join(repo, 'environments/staging/fraud-detector/inferenceservice-fraud-detector.yaml'), 'utf8')).toMatch(/storageUri: oci:\/\/ghcr\.io\/acme\/fraud-model@sha256:d{64}/);
    expect(readFileSync(join(repo, 'platform/kserve-shop/appproject.yaml'), 'utf8')).toMatch(/- group: serving\.kserve\.io\n\s+kind: ClusterServingRuntime/);
    const built = execFileSync('/usr/bin/kubectl', ['kustomize', join(repo, 'environments/prod/fraud-detector')], { encoding: 'utf8' });
    expect(built).toContain('kind: InferenceService');
  }, 120_000);
});
