import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderModelCard } from '../../lib/compiler/model-card.js';
import { viewRecord } from '../../lib/compiler/record-view.js';
import { synth } from '../../lib/compiler/synth.js';
import { pipelineRelease } from '../../lib/pipeline/release.js';
import { PROVENANCE_BUNDLE, attestBuild, signModelFolder } from '../../lib/supply-chain/attest.js';
import { generateKeyPair, readTrustedKeys } from '../../lib/supply-chain/keys.js';
import type { BuildRecord } from '../../lib/vocabulary/build.js';
import { slipway } from '../support/cli.js';
import { snapshotDir } from '../compiler/support/repo-snapshot.js';

const work = mkdtempSync(join(tmpdir(), 'slipway-signed-release-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const PLATFORM = new URL('../..', import.meta.url).pathname;
const key = generateKeyPair(join(work, 'pipeline.key'), join(work, 'pipeline.pub'));
const other = generateKeyPair(join(work, 'other.key'), join(work, 'other.pub'));
const trusted = readTrustedKeys(join(work, 'pipeline.pub'));

/** What the package task leaves beside build.json: the record, model.sig and the two attestation bundles. */
async function signedBuildDir(name: string, by = key): Promise<{ dir: string; buildFile: string; build: BuildRecord }> {
  const dir = join(work, name);
  mkdirSync(dir);
  cpSync('examples/model-repository/fraud-detector/1/model.onnx', join(dir, 'model.onnx'));
  cpSync('examples/model-repository/fraud-detector/1/baseline.json', join(dir, 'baseline.json'));
  const { files } = await signModelFolder('fraud-detector', dir, by);
  const build: BuildRecord = {
    model: 'fraud-detector',
    version: '1.7.0',
    modelSha256: files['model.onnx']!,
    modelLocation: 'image',
    baselineSha256: files['baseline.json']!,
    baselineLocation: 'image',
    imageDigest: `sha256:${'7'.repeat(64)}`,
    trigger: 'drift',
    pipelineRun: 'fraud-detector-training-x1',
    builtAt: '2026-12-02T08:00:00Z',
  };
  const buildFile = join(dir, 'build.json');
  writeFileSync(buildFile, JSON.stringify(build));
  await attestBuild({ build, key: by, outDir: dir, imageRepository: 'ghcr.io/acme/fraud-detector-runtime', builderId: 'https://slipway.dev/pipeline/ml-ci/fraud-detector-training' });
  return { dir, buildFile, build };
}

describe('release refuses a build whose signatures do not verify', () => {
  const repo = join(work, 'config');
  beforeAll(async () => {
    await synth({ app: join(PLATFORM, 'apps/main.ts'), repo });
  }, 120_000);

  const release = (buildFile: string) =>
    pipelineRelease({ platformDir: PLATFORM, appFile: 'apps/main.ts', repo, environment: 'staging', model: 'fraud-detector', buildFile, trustedKeys: trusted }, () => {});

  it('fails when the provenance was tampered with, and the repository is untouched', async () => {
    const { dir, buildFile } = await signedBuildDir('tampered-provenance');
    const bundle = JSON.parse(readFileSync(join(dir, PROVENANCE_BUNDLE), 'utf8'));
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString());
    statement.predicate.runDetails.builder.id = 'https://evil.example/builder';
    bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    writeFileSync(join(dir, PROVENANCE_BUNDLE), JSON.stringify(bundle));
    const before = snapshotDir(repo);
    await expect(release(buildFile)).rejects.toMatchObject({ code: 'SUPPLY_CHAIN_SIGNATURE_INVALID', message: expect.stringContaining('provenance.sigstore.json: the signature does not verify') });
    expect(snapshotDir(repo)).toEqual(before);
  });

  it('fails when the model file sha256 in build.json is not the signed one (a swapped model)', async () => {
    const { buildFile, build } = await signedBuildDir('swapped-model');
    writeFileSync(buildFile, JSON.stringify({ ...build, modelSha256: '0'.repeat(64) }));
    const before = snapshotDir(repo);
    await expect(release(buildFile)).rejects.toMatchObject({ code: 'SUPPLY_CHAIN_MISMATCH', message: expect.stringContaining(`attests model.onnx sha256 ${build.modelSha256}, the build records ${'0'.repeat(64)}`) });
    expect(snapshotDir(repo)).toEqual(before);
  });

  it('fails through the CLI when another key signed the build: non-zero, the error id, nothing committed', async () => {
    const { buildFile } = await signedBuildDir('other-key', other);
    const before = snapshotDir(repo);
    const ran = await slipway('release', '--repo', repo, '--env', 'staging', '--model', 'fraud-detector', '--build', buildFile, '--trusted-keys', join(work, 'pipeline.pub'));
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain('SLIPWAY_E1104');
    expect(ran.stderr).toContain(`signed by key ${other.keyId}, which is not trusted; trusted: ${key.keyId}`);
    expect(snapshotDir(repo)).toEqual(before);
  });

  it('fails when the signatures are missing (an unsigned build)', async () => {
    const dir = join(work, 'unsigned');
    mkdirSync(dir);
    const { build } = await signedBuildDir('unsigned-source');
    writeFileSync(join(dir, 'build.json'), JSON.stringify(build));
    await expect(release(join(dir, 'build.json'))).rejects.toMatchObject({ code: 'SUPPLY_CHAIN_UNSIGNED' });
  });

  it('records a build whose signatures verify, saying which key signed it', async () => {
    const { buildFile, build } = await signedBuildDir('good');
    const lines: string[] = [];
    const result = await pipelineRelease({ platformDir: PLATFORM, appFile: 'apps/main.ts', repo, environment: 'staging', model: 'fraud-detector', buildFile, trustedKeys: trusted }, (l) => lines.push(l));
    expect(result.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(lines).toEqual([`verified the image signature, SLSA provenance and model signature of fraud-detector 1.7.0 (key ${key.keyId})`]);
    expect(parse(readFileSync(join(repo, 'releases/staging/fraud-detector.yaml'), 'utf8'))).toEqual({ ...build, environment: 'staging' });
    // AND its model card links the attestations, the ML-BOM among them (the staging pod verifies signatures)
    const card = readFileSync(join(repo, 'releases/staging/fraud-detector.md'), 'utf8');
    expect(card).toContain(`## Supply chain`);
    expect(card).toContain(`Attached to image \`${build.imageDigest}\` as OCI referrers (referrers tag \`sha256-${'7'.repeat(64)}\`)`);
    expect(card).toContain('| ML bill of materials (CycloneDX 1.6, `ml-bom.cdx.json`) | `https://cyclonedx.org/bom` |');
  });

  it('writes no supply-chain section in the card of a model whose pods do not verify signatures', async () => {
    const { build } = await signedBuildDir('card');
    const props = { name: 'fraud-detector', owner: 'o@acme.example', format: 'onnx', inputs: [], outputs: [], labels: {} };
    expect(renderModelCard(viewRecord({ ...build, environment: 'staging' }), props)).not.toContain('## Supply chain');
    expect(renderModelCard(viewRecord({ ...build, environment: 'staging' }), { ...props, verifiesSignatures: true })).toContain('## Supply chain');
  });
});
