import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signModelFolder } from '../../lib/supply-chain/attest.js';
import { generateKeyPair } from '../../lib/supply-chain/keys.js';
import { startLocalRegistry, type LocalRegistry } from '../../lib/supply-chain/local-registry.js';
import { FILEPATH_ANNOTATION, MODELPACK_ARTIFACT_TYPE, MODELPACK_CONFIG, MODELPACK_DOC, MODELPACK_WEIGHT, MODELPACK_WEIGHT_CONFIG, TITLE_ANNOTATION } from '../../lib/supply-chain/model-artifact.js';
import { OCI_MANIFEST, RegistryClient, sha256Digest } from '../../lib/supply-chain/registry.js';
import { slipway } from '../support/cli.js';
import { onPath } from '../image/support.js';
import { describeWithTools } from '../support/tools.js';

const missing = () => {
  const tools = ['docker-registry', 'openssl', 'htpasswd'].filter((t) => !onPath(t));
  return tools.length > 0 ? `not installed: ${tools.join(', ')} (Debian packages docker-registry openssl apache2-utils)` : undefined;
};

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describeWithTools('models as OCI artifacts: push-model and fetch-model against a real registry (TLS, htpasswd), served verified', missing(), () => {
  const work = mkdtempSync(join(tmpdir(), 'slipway-oci-model-'));
  let registry: LocalRegistry;
  let location: string;
  const build = join(work, 'build');
  const key = generateKeyPair(join(work, 'pipeline.key'), join(work, 'pipeline.pub'));
  const password = () => Buffer.from(JSON.parse(readFileSync(registry.authFile, 'utf8')).auths[registry.host].auth, 'base64').toString().split(':')[1]!;
  const access = () => ['--registry-cert-dir', registry.certDir, '--registry-auth-file', registry.authFile];
  const fetchModel = (ref: string, out: string, auth = registry.authFile) => slipway('pipeline', 'fetch-model', ref, '--out', out, '--registry-cert-dir', registry.certDir, '--registry-auth-file', auth);

  beforeAll(async () => {
    registry = await startLocalRegistry({ dir: join(work, 'registry') });
    // GIVEN the example build, signed as the package task signs it
    cpSync('examples/model-repository/fraud-detector/1', build, { recursive: true });
    await signModelFolder('fraud-detector', build, key);
  }, 60_000);

  afterAll(async () => {
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('pushes the model folder as a ModelPack artifact by digest and prints the oci:// location', async () => {
    // WHEN push-model runs
    const pushed = await slipway('pipeline', 'push-model', '--folder', build, '--repository', `${registry.host}/acme/fraud-model`, '--model', 'fraud-detector', '--version', '1', '--location-file', join(work, 'location'), ...access());
    expect(pushed.code, pushed.stderr).toBe(0);
    location = readFileSync(join(work, 'location'), 'utf8');
    expect(location).toMatch(new RegExp(`^oci://${registry.host.replace('.', '\\.')}/acme/fraud-model@sha256:[0-9a-f]{64}$`));
    expect(pushed.stdout).toBe(`package: pushed model.onnx, baseline.json, model.sig as ${location}\n`);
    expect(pushed.stdout + pushed.stderr).not.toContain(password());
    // AND the same folder pushes to the same digest (no timestamp in the artifact)
    const again = await slipway('pipeline', 'push-model', '--folder', build, '--repository', `${registry.host}/acme/fraud-model`, '--model', 'fraud-detector', '--version', '1', ...access());
    expect(again.stdout).toContain(location);
    // THEN the registry holds a ModelPack manifest under that digest, one raw layer per file
    const client = new RegistryClient(registry.host, registry);
    const got = await client.getManifest('acme/fraud-model', location.split('@')[1]!);
    const manifest = JSON.parse(got!.bytes.toString('utf8'));
    expect(manifest).toMatchObject({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: MODELPACK_ARTIFACT_TYPE, config: { mediaType: MODELPACK_CONFIG } });
    expect(manifest.layers.map((l: { mediaType: string; annotations: Record<string, string> }) => [l.annotations[TITLE_ANNOTATION], l.annotations[FILEPATH_ANNOTATION], l.mediaType])).toEqual([
      ['model.onnx', 'model.onnx', MODELPACK_WEIGHT],
      ['baseline.json', 'baseline.json', MODELPACK_WEIGHT_CONFIG],
      ['model.sig', 'model.sig', MODELPACK_DOC],
    ]);
    expect(manifest.layers[0].digest).toBe(sha256Digest(readFileSync(join(build, 'model.onnx'))));
    const config = JSON.parse((await client.getBlob('acme/fraud-model', manifest.config.digest)).toString('utf8'));
    expect(config).toEqual({ descriptor: { name: 'fraud-detector', version: '1' }, config: { format: 'onnx' }, modelfs: { type: 'layers', diff_ids: manifest.layers.map((l: { digest: string }) => l.digest) } });
  });

  it('fetches it by digest and `slipway serve` verifies sha256 and signature and becomes ready', async () => {
    // WHEN the init container's command pulls it into the model repository
    const repo = join(work, 'served');
    const fetched = await fetchModel(location, join(repo, 'fraud-detector', '1'));
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fetched.stdout).toContain(`model.onnx sha256 ${sha(readFileSync(join(build, 'model.onnx')))}`);
    expect(readdirSync(join(repo, 'fraud-detector', '1')).sort()).toEqual(['baseline.json', 'model.onnx', 'model.sig']);
    // THEN the runtime, given the release's sha256 and the trusted key, verifies and serves it
    const expected = { 'fraud-detector': { 'model.onnx': sha(readFileSync(join(build, 'model.onnx'))), 'baseline.json': sha(readFileSync(join(build, 'baseline.json'))) } };
    const child = spawn(process.execPath, ['bin/slipway.mjs', 'serve', '--model-repository', repo, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, SLIPWAY_TRUSTED_KEYS: readFileSync(join(work, 'pipeline.pub'), 'utf8'), SLIPWAY_EXPECTED_SHA256: JSON.stringify(expected) },
    });
    const events: Array<Record<string, unknown>> = [];
    try {
      const port = await new Promise<number>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const event = JSON.parse(line) as Record<string, unknown>;
          events.push(event);
          if (event.event === 'models_loaded') resolve(events.find((e) => e.event === 'server_listening')!.port as number);
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      });
      expect((await fetch(`http://127.0.0.1:${port}/v2/health/ready`)).status).toBe(200);
      expect(events.filter((e) => e.event === 'signature_verified')).toMatchObject([{ model: 'fraud-detector', version: '1', keyId: key.keyId }]);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }, 60_000);

  it('fails when the digest names nothing in the registry, or the location is a tag: clear codes, nothing written', async () => {
    const out = join(work, 'wrong-digest');
    const absent = await fetchModel(location.replace(/@sha256:.*/, `@sha256:${'0'.repeat(64)}`), out);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain('SLIPWAY_E1114');
    expect(absent.stderr).toContain(`${registry.host}/acme/fraud-model@sha256:${'0'.repeat(64)} is not in the registry`);
    const tagged = await fetchModel(`oci://${registry.host}/acme/fraud-model:1`, out);
    expect(tagged.code).toBe(2);
    expect(tagged.stderr).toContain('SLIPWAY_E1113');
    expect(tagged.stderr).toContain('pinned by digest');
    const credentials = await fetchModel(`oci://user:hunter2@${registry.host}/acme/fraud-model@sha256:${'0'.repeat(64)}`, out);
    expect(credentials.stderr).toContain('SLIPWAY_E1113');
    expect(credentials.stderr).not.toContain('hunter2');
    expect(existsSync(out)).toBe(false);
  });

  it('fails when the registry refuses the credentials, never printing the password', async () => {
    const bad = join(work, 'bad-auth.json');
    writeFileSync(bad, JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('slipway:wrong-password').toString('base64') } } }));
    const refused = await fetchModel(location, join(work, 'refused'), bad);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('SLIPWAY_E1110');
    expect(refused.stderr).toContain(`refused the credentials of ${bad}`);
    expect(refused.stderr).not.toContain(password());
    const pushed = await slipway('pipeline', 'push-model', '--folder', build, '--repository', `${registry.host}/acme/other`, '--model', 'fraud-detector', '--version', '1', '--registry-cert-dir', registry.certDir, '--registry-auth-file', bad);
    expect(pushed.code).toBe(1);
    expect(pushed.stderr).toContain('SLIPWAY_E1110');
  });

  it('fails when a manifest is not a ModelPack model', async () => {
    const client = new RegistryClient(registry.host, registry);
    const empty = Buffer.from('{}');
    const emptyDigest = await client.putBlob('acme/fraud-model', empty);
    const other = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/spdx+json', config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: 2 }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: emptyDigest, size: 2, annotations: { [TITLE_ANNOTATION]: '../escape' } }] }));
    const digest = await client.putManifest('acme/fraud-model', sha256Digest(other), other, OCI_MANIFEST);
    const refused = await fetchModel(`oci://${registry.host}/acme/fraud-model@${digest}`, join(work, 'other'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('SLIPWAY_E1114');
    expect(refused.stderr).toContain(`artifactType "application/spdx+json" is not ${MODELPACK_ARTIFACT_TYPE}`);
    expect(refused.stderr).toContain('layer 0 has the file name "../escape"; expected a plain file name');
    expect(existsSync(join(work, 'other'))).toBe(false);
  });

  it('fails when a blob in the registry was tampered with, naming the file, and writes nothing', async () => {
    // GIVEN model.onnx's blob changed in the registry's storage
    const digest = sha(readFileSync(join(build, 'model.onnx')));
    const blob = join(registry.storage, 'docker/registry/v2/blobs/sha256', digest.slice(0, 2), digest, 'data');
    const original = readFileSync(blob);
    const tampered = Buffer.from(original);
    tampered[tampered.length - 1] ^= 1;
    writeFileSync(blob, tampered);
    try {
      // WHEN it is fetched
      const out = join(work, 'tampered');
      const refused = await fetchModel(location, out);
      // THEN the fetch fails naming the file and both digests; no folder appears
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('SLIPWAY_E1105');
      expect(refused.stderr).toContain(`model.onnx: ${registry.host}/acme/fraud-model: blob sha256:${digest} came back with sha256 sha256:${sha(tampered)}: refusing the model`);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(work).filter((f) => f.includes('partial'))).toEqual([]);
    } finally {
      writeFileSync(blob, original);
    }
  });
});
