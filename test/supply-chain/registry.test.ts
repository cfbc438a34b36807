import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLocalRegistry, type LocalRegistry } from '../../lib/supply-chain/local-registry.js';
import { attach, referrers, registryFailureCode, toolAccessArgs } from '../../lib/supply-chain/registry.js';
import { signModelFolder } from '../../lib/supply-chain/attest.js';
import { generateKeyPair } from '../../lib/supply-chain/keys.js';
import { slipway } from '../support/cli.js';
import { CONTAINERS_CONF, onPath } from '../image/support.js';
import { describeWithTools } from '../support/tools.js';

process.env.CONTAINERS_CONF = CONTAINERS_CONF;
const IMAGE = 'localhost/slipway-i19-registry-test:1';

function missing(): string | undefined {
  const tools = ['docker-registry', 'buildah', 'skopeo', 'openssl', 'htpasswd'].filter((t) => !onPath(t));
  if (tools.length > 0) return `not installed: ${tools.join(', ')} (Debian packages docker-registry buildah skopeo openssl apache2-utils)`;
  if (process.getuid?.() !== 0) return 'buildah must run as root here';
  return undefined;
}

const buildah = (...args: string[]) => spawnSync('buildah', args, { encoding: 'utf8' });

describeWithTools('a real OCI registry: TLS from a throwaway CA, htpasswd auth, pushes by digest, signatures as referrers', missing(), () => {
  const work = mkdtempSync(join(tmpdir(), 'slipway-registry-'));
  let registry: LocalRegistry;
  let digest: string;
  const password = () => Buffer.from(JSON.parse(readFileSync(registry.authFile, 'utf8')).auths[registry.host].auth, 'base64').toString().split(':')[1]!;

  beforeAll(async () => {
    registry = await startLocalRegistry({ dir: join(work, 'registry') });
    // A one-file image from scratch: nothing is pulled.
    mkdirSync(join(work, 'ctx'));
    writeFileSync(join(work, 'ctx', 'hello.txt'), 'hello\n');
    writeFileSync(join(work, 'ctx', 'Containerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
    const built = buildah('bud', '--format=oci', '--file', join(work, 'ctx', 'Containerfile'), '--tag', IMAGE, join(work, 'ctx'));
    expect(built.status, built.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await registry?.stop();
    buildah('rmi', '--force', IMAGE);
    rmSync(work, { recursive: true, force: true });
  });

  it('pushes by digest with the auth file and CA, and the digest names what the registry serves', () => {
    const pushed = buildah('push', ...toolAccessArgs(registry), '--digestfile', join(work, 'digest'), IMAGE, `docker://${registry.host}/acme/hello:1`);
    expect(pushed.status, pushed.stderr).toBe(0);
    digest = readFileSync(join(work, 'digest'), 'utf8').trim();
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const inspected = spawnSync('skopeo', ['inspect', '--raw', ...toolAccessArgs(registry), `docker://${registry.host}/acme/hello@${digest}`], { encoding: 'utf8' });
    expect(inspected.status, inspected.stderr).toBe(0);
    expect(`sha256:${createHash('sha256').update(inspected.stdout).digest('hex')}`).toBe(digest);
  });

  it('attaches signature bundles as OCI referrers of the image digest and reads them back', async () => {
    const bundle = Buffer.from('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}\n');
    const added = await attach(`${registry.host}/acme/hello`, digest, [{ artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json', mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', bytes: bundle, annotations: { 'dev.sigstore.bundle.predicateType': 'https://slsa.dev/provenance/v1' } }], registry);
    // A second attach keeps the first in the referrers index.
    const again = await attach(`${registry.host}/acme/hello`, digest, [{ artifactType: 'application/spdx+json', mediaType: 'application/json', bytes: Buffer.from('{}') }], registry);
    const found = await referrers(`${registry.host}/acme/hello`, digest, registry);
    expect(found.map((f) => f.digest)).toEqual([added[0]!.digest, again[0]!.digest]);
    expect(found[0]!.bytes.equals(bundle)).toBe(true);
    expect(found[0]!.annotations).toEqual({ 'dev.sigstore.bundle.predicateType': 'https://slsa.dev/provenance/v1' });
  });

  it('fails when the registry refuses the credentials, naming the auth file and never the password', async () => {
    const bad = join(work, 'bad-auth.json');
    writeFileSync(bad, JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('slipway:wrong-password').toString('base64') } } }));
    const pushed = buildah('push', '--cert-dir', registry.certDir, '--authfile', bad, IMAGE, `docker://${registry.host}/acme/hello:2`);
    expect(pushed.status).not.toBe(0);
    expect(registryFailureCode(pushed.stderr)).toBe('REGISTRY_AUTH_FAILED');
    const err = (await attach(`${registry.host}/acme/hello`, digest, [], { certDir: registry.certDir, authFile: bad }).catch((e: unknown) => e)) as Error & { code: string };
    expect(err).toMatchObject({ code: 'REGISTRY_AUTH_FAILED', message: expect.stringContaining(`refused the credentials of ${bad}`) });
    expect(err.message).not.toContain(password());
    expect(registry.log()).not.toContain(password());
  });

  it('fails when the attest step meets a registry that refuses the credentials, or refuses writes: non-zero, and nothing half-pushed is listed', async () => {
    // GIVEN a signed build of the pushed image, as the package task leaves it
    const dir = join(work, 'build');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.onnx'), 'onnx bytes');
    const key = generateKeyPair(join(work, 'signing.key'), join(work, 'signing.pub'));
    const { files } = await signModelFolder('hello', dir, key);
    writeFileSync(join(dir, 'build.json'), JSON.stringify({ model: 'hello', version: '1', modelSha256: files['model.onnx'], modelLocation: 'image', imageDigest: digest }));
    const repository = () => `${registry.host}/acme/hello`;
    const before = (await referrers(repository(), digest, registry)).map((r) => r.digest);
    const attest = (authFile: string) =>
      slipway('pipeline', 'attest', '--build', join(dir, 'build.json'), '--image-repository', repository(), '--key', join(work, 'signing.key'), '--attach', '--registry-cert-dir', registry.certDir, '--registry-auth-file', authFile);
    // WHEN the registry refuses the credentials
    const bad = join(work, 'bad-auth-2.json');
    writeFileSync(bad, JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('slipway:wrong-password').toString('base64') } } }));
    const refused = await attest(bad);
    // THEN the step fails with the registry's code, and the referrers are as they were
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('SLIPWAY_E1110');
    expect((await referrers(repository(), digest, registry)).map((r) => r.digest)).toEqual(before);
    // WHEN the registry goes read-only (distribution's maintenance mode) before the signatures are pushed
    await registry.stop();
    registry = await startLocalRegistry({ dir: join(work, 'registry'), readOnly: true });
    const readOnly = await attest(registry.authFile);
    expect(readOnly.code).toBe(1);
    expect(readOnly.stderr).toMatch(/pushing blob sha256:[0-9a-f]{64} to 127\.0\.0\.1:\d+\/acme\/hello: starting the upload answered 405/);
    expect(readOnly.stderr).toContain('SLIPWAY_E1112');
    // THEN still nothing half-pushed is listed (the index goes last)
    expect((await referrers(`${registry.host}/acme/hello`, digest, registry)).map((r) => r.digest)).toEqual(before);
  }, 60_000);

  it('fails when the CA is not trusted or the registry is down', async () => {
    const untrusted = buildah('push', '--authfile', registry.authFile, IMAGE, `docker://${registry.host}/acme/hello:3`);
    expect(registryFailureCode(untrusted.stderr)).toBe('REGISTRY_UNREACHABLE');
    await expect(attach(`${registry.host}/acme/hello`, digest, [], { authFile: registry.authFile })).rejects.toMatchObject({ code: 'REGISTRY_UNREACHABLE', message: expect.stringContaining('--registry-cert-dir') });
    await registry.stop();
    await expect(attach(`${registry.host}/acme/hello`, digest, [], registry)).rejects.toMatchObject({ code: 'REGISTRY_UNREACHABLE', message: expect.stringMatching(/^HEAD https:\/\/127\.0\.0\.1:\d+\/v2\/acme\/hello\/manifests\/sha256:[0-9a-f]{64}: /) });
  });
});
