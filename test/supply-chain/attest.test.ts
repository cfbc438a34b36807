import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IMAGE_SIGNATURE_BUNDLE, PROVENANCE_BUNDLE, attestBuild, modelFiles, signModelFolder, verifyBuild, verifyModelSignature } from '../../lib/supply-chain/attest.js';
import { generateKeyPair, loadSigningKey, parseTrustedKeys, readTrustedKeys } from '../../lib/supply-chain/keys.js';
import { signStatement } from '../../lib/supply-chain/dsse.js';
import { mlBomStatement } from '../../lib/supply-chain/ml-bom.js';
import { MODEL_SIGNATURE_FILE } from '../../lib/supply-chain/statements.js';
import type { BuildRecord } from '../../lib/vocabulary/build.js';

const work = mkdtempSync(join(tmpdir(), 'slipway-attest-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const IMAGE = 'ghcr.io/acme/fraud-detector-runtime';
const key = generateKeyPair(join(work, 'signing.key'), join(work, 'signing.pub'));
const other = generateKeyPair(join(work, 'other.key'), join(work, 'other.pub'));
const trusted = readTrustedKeys(join(work, 'signing.pub'));

/** A signed build: a model folder with model.sig, build.json's bundles beside it. */
async function signedBuild(name: string): Promise<{ dir: string; build: BuildRecord }> {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), 'onnx bytes');
  writeFileSync(join(dir, 'baseline.json'), '{"features":[]}');
  const { files } = await signModelFolder('fraud-detector', dir, key);
  const build: BuildRecord = {
    model: 'fraud-detector',
    version: '1.4.0',
    modelSha256: files['model.onnx']!,
    modelLocation: 'image',
    baselineSha256: files['baseline.json']!,
    baselineLocation: 'image',
    imageDigest: `sha256:${'d'.repeat(64)}`,
    source: { repository: 'https://github.com/acme/fraud-detector.git', commit: 'f'.repeat(40) },
    trainingDataSha256: 'a'.repeat(64),
    trigger: 'drift',
    pipelineRun: 'fraud-detector-training-run-1',
    builtAt: '2026-12-02T10:00:00Z',
  };
  await attestBuild({ build, key, outDir: dir, imageRepository: IMAGE, builderId: 'https://slipway.dev/pipeline/local' });
  return { dir, build };
}

const payloadOf = (file: string) => JSON.parse(Buffer.from(JSON.parse(readFileSync(file, 'utf8')).dsseEnvelope.payload, 'base64').toString('utf8'));

/** Rewrites the signed payload of a bundle, leaving its signature as it was. */
function tamperPayload(file: string, change: (statement: any) => void): void {
  const bundle = JSON.parse(readFileSync(file, 'utf8'));
  const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
  change(statement);
  bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
  writeFileSync(file, JSON.stringify(bundle));
}

describe('supply chain: signing a build and verifying it before release', () => {
  it('signs the model folder, the image digest and SLSA provenance, and verifies all three with the trusted key', async () => {
    // GIVEN a build signed by the pipeline's key
    const { dir, build } = await signedBuild('good');
    // WHEN the release verifies it with the trusted public key
    const { keyIds } = verifyBuild({ build, dir, trusted });
    // THEN every signature is the trusted key's
    expect(keyIds).toEqual([key.keyId]);
    // AND the statements say what is signed: model_signing files, the image digest, SLSA provenance with the lineage
    const model = payloadOf(join(dir, MODEL_SIGNATURE_FILE));
    expect(model.predicateType).toBe('https://model_signing/signature/v1.0');
    expect(model.predicate.resources.map((r: { name: string; digest: string }) => [r.name, r.digest])).toEqual([
      ['baseline.json', build.baselineSha256],
      ['model.onnx', build.modelSha256],
    ]);
    expect(payloadOf(join(dir, IMAGE_SIGNATURE_BUNDLE)).subject).toEqual([{ name: IMAGE, digest: { sha256: 'd'.repeat(64) } }]);
    const provenance = payloadOf(join(dir, PROVENANCE_BUNDLE));
    expect(provenance).toMatchObject({
      _type: 'https://in-toto.io/Statement/v1',
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {
        buildDefinition: { externalParameters: { source: { commit: 'f'.repeat(40) }, trigger: 'drift' } },
        runDetails: { builder: { id: 'https://slipway.dev/pipeline/local' }, metadata: { invocationId: 'fraud-detector-training-run-1' } },
      },
    });
    expect(provenance.predicate.buildDefinition.resolvedDependencies).toContainEqual({ name: 'training-data', digest: { sha256: 'a'.repeat(64) } });
    // AND the private key is nowhere in what is written
    const pem = readFileSync(join(work, 'signing.key'), 'utf8').split('\n')[1]!;
    for (const f of [MODEL_SIGNATURE_FILE, IMAGE_SIGNATURE_BUNDLE, PROVENANCE_BUNDLE]) expect(readFileSync(join(dir, f), 'utf8')).not.toContain(pem);
  });

  it('fails when the model file was changed after signing (the runtime check)', async () => {
    const { dir } = await signedBuild('model-tampered');
    writeFileSync(join(dir, 'model.onnx'), 'other onnx bytes');
    const found = await modelFiles(dir);
    expect(() => verifyModelSignature(join(dir, MODEL_SIGNATURE_FILE), found, trusted)).toThrow(
      expect.objectContaining({ code: 'SUPPLY_CHAIN_MISMATCH', message: expect.stringMatching(/model\.onnx: signed sha256 [0-9a-f]{64}, found [0-9a-f]{64}/) }),
    );
  });

  it('fails when the signed manifest was edited to match a swapped model', async () => {
    const { dir, build } = await signedBuild('manifest-tampered');
    tamperPayload(join(dir, MODEL_SIGNATURE_FILE), (s) => (s.predicate.resources[1].digest = '0'.repeat(64)));
    expect(() => verifyBuild({ build, dir, trusted })).toThrow(expect.objectContaining({ code: 'SUPPLY_CHAIN_SIGNATURE_INVALID', message: expect.stringMatching(/model signature .*model\.sig: the signature does not verify/) }));
  });

  it('fails when the provenance was tampered with', async () => {
    const { dir, build } = await signedBuild('provenance-tampered');
    tamperPayload(join(dir, PROVENANCE_BUNDLE), (s) => (s.predicate.buildDefinition.externalParameters.source.commit = 'e'.repeat(40)));
    expect(() => verifyBuild({ build, dir, trusted })).toThrow(expect.objectContaining({ code: 'SUPPLY_CHAIN_SIGNATURE_INVALID', message: expect.stringContaining('provenance.sigstore.json') }));
  });

  it('fails when the ML-BOM attestation was tampered with, or names another model', async () => {
    const { dir, build } = await signedBuild('ml-bom');
    const bomBundle = join(dir, 'ml-bom.sigstore.json');
    const good = readFileSync(bomBundle, 'utf8');
    tamperPayload(bomBundle, (s) => (s.predicate.components[0].hashes[0].content = '0'.repeat(64)));
    expect(() => verifyBuild({ build, dir, trusted })).toThrow(expect.objectContaining({ code: 'SUPPLY_CHAIN_SIGNATURE_INVALID', message: expect.stringContaining('ml-bom.sigstore.json: the signature does not verify') }));
    // A BOM validly signed by the trusted key, but listing another model file
    const bom = JSON.parse(Buffer.from(JSON.parse(good).dsseEnvelope.payload, 'base64').toString()).predicate;
    bom.components[0].hashes[0].content = '0'.repeat(64);
    writeFileSync(bomBundle, JSON.stringify(await signStatement(mlBomStatement(bom, IMAGE, build.imageDigest), key)));
    expect(() => verifyBuild({ build, dir, trusted })).toThrow(
      expect.objectContaining({ code: 'SUPPLY_CHAIN_MISMATCH', message: expect.stringContaining(`the ML-BOM lists model sha256 ${'0'.repeat(64)}, the build records ${build.modelSha256}`) }),
    );
  });

  it('fails when the build names another image than the one signed', async () => {
    const { dir, build } = await signedBuild('image-swapped');
    expect(() => verifyBuild({ build: { ...build, imageDigest: `sha256:${'e'.repeat(64)}` }, dir, trusted })).toThrow(
      expect.objectContaining({ code: 'SUPPLY_CHAIN_MISMATCH', message: expect.stringContaining(`the image signature is for image sha256:${'d'.repeat(64)}, not the build's sha256:${'e'.repeat(64)}`) }),
    );
  });

  it('fails when the build record claims other lineage than the provenance attests', async () => {
    const { dir, build } = await signedBuild('lineage');
    expect(() => verifyBuild({ build: { ...build, trainingDataSha256: 'b'.repeat(64) }, dir, trusted })).toThrow(
      expect.objectContaining({ code: 'SUPPLY_CHAIN_MISMATCH', message: expect.stringContaining(`the provenance attests training data sha256 ${'a'.repeat(64)}, the build records ${'b'.repeat(64)}`) }),
    );
  });

  it('fails when another key signed it', async () => {
    const { dir, build } = await signedBuild('other-key');
    const byOther = join(work, 'other-key-signed');
    cpSync(dir, byOther, { recursive: true });
    await signModelFolder('fraud-detector', byOther, other);
    cpSync(join(byOther, MODEL_SIGNATURE_FILE), join(dir, MODEL_SIGNATURE_FILE));
    expect(() => verifyBuild({ build, dir, trusted })).toThrow(expect.objectContaining({ code: 'SUPPLY_CHAIN_UNTRUSTED_KEY', message: expect.stringContaining(`signed by key ${other.keyId}, which is not trusted; trusted: ${key.keyId}`) }));
  });

  it('fails when a signature is missing', async () => {
    const { dir, build } = await signedBuild('unsigned');
    rmSync(join(dir, PROVENANCE_BUNDLE));
    expect(() => verifyBuild({ build, dir, trusted })).toThrow(expect.objectContaining({ code: 'SUPPLY_CHAIN_UNSIGNED', message: expect.stringMatching(/the provenance .*provenance\.sigstore\.json is missing \(ENOENT\): the build is unsigned/) }));
  });

  it('fails when a key is not a P-256 PEM key, naming where it came from and never its bytes', () => {
    expect(() => loadSigningKey(undefined, {})).toThrow(expect.objectContaining({ code: 'SUPPLY_CHAIN_KEY_INVALID', message: expect.stringContaining('no signing key') }));
    expect(() => loadSigningKey(undefined, { SLIPWAY_SIGNING_KEY: 'secret-not-a-key' })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('secret-not-a-key') }));
    expect(() => parseTrustedKeys('nothing', 'SLIPWAY_TRUSTED_KEYS')).toThrow(/SLIPWAY_TRUSTED_KEYS: expected one or more PEM public keys/);
    expect(loadSigningKey(undefined, { SLIPWAY_SIGNING_KEY_FILE: join(work, 'signing.key') }).keyId).toBe(key.keyId);
  });
});
