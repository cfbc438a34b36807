/**
 * A small client of the OCI distribution API for what the image tools do not do: attaching
 * signatures and attestations to an image as OCI 1.1 referrers (artifact manifests with a
 * `subject`), listed under the referrers tag schema `sha256-<digest>` that registries without
 * the referrers API (distribution 2.8) and cosign, oras and Kyverno read. Images themselves
 * move with buildah, skopeo and podman.
 *
 * Credentials come from a containers auth file (REGISTRY_AUTH_FILE), TLS trust from a certs
 * folder (ca.crt); no message ever repeats a credential.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { SlipwayError } from '../errors.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
const ACCEPT = [OCI_MANIFEST, OCI_INDEX, 'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json'].join(', ');

export interface RegistryAccess {
  /** containers-auth.json (REGISTRY_AUTH_FILE). @default no credentials */
  readonly authFile?: string;
  /** Folder of CA certificates (*.crt) to trust for this registry. @default the system's */
  readonly certDir?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** `host[:port]/path` of an image reference without tag or digest. */
export function splitRepository(repository: string): { host: string; name: string } {
  const slash = repository.indexOf('/');
  if (slash < 0) throw new SlipwayError('INVALID_ARGUMENT', `expected an image repository such as 127.0.0.1:5000/acme/model, got ${JSON.stringify(repository)}`, 2);
  return { host: repository.slice(0, slash), name: repository.slice(slash + 1) };
}

export const sha256Digest = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Credentials for a host from a containers auth file; only the `auth` field (base64 user:password) is read. */
function basicAuth(authFile: string | undefined, host: string): string | undefined {
  if (!authFile) return undefined;
  let parsed: { auths?: Record<string, { auth?: string }> };
  try {
    parsed = JSON.parse(readFileSync(authFile, 'utf8'));
  } catch (err) {
    throw new SlipwayError('REGISTRY_AUTH_FAILED', `cannot read the registry auth file ${authFile}: ${(err as NodeJS.ErrnoException).code ?? 'not JSON'}`);
  }
  const entry = parsed.auths?.[host] ?? parsed.auths?.[`https://${host}`];
  return entry?.auth;
}

function trustedCa(certDir: string | undefined): Buffer[] | undefined {
  if (!certDir || !existsSync(certDir)) return undefined;
  return readdirSync(certDir).filter((f) => f.endsWith('.crt')).map((f) => readFileSync(join(certDir, f)));
}

interface Response {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

export class RegistryClient {
  private readonly ca: Buffer[] | undefined;
  private authorization: string | undefined;

  constructor(
    readonly host: string,
    private readonly access: RegistryAccess = {},
  ) {
    this.ca = trustedCa(access.certDir);
  }

  private send(method: string, path: string, body?: Buffer, headers: Record<string, string> = {}, url?: URL): Promise<Response> {
    const target = url ?? new URL(`https://${this.host}${path}`);
    return new Promise((resolve, reject) => {
      const req = request(
        target,
        {
          method,
          ...(this.ca ? { ca: this.ca } : {}),
          headers: { ...headers, ...(this.authorization && target.host === this.host ? { authorization: this.authorization } : {}), ...(body ? { 'content-length': String(body.length) } : {}) },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
      req.on('error', (err) => reject(new SlipwayError('REGISTRY_UNREACHABLE', `${method} https://${this.host}${target.pathname}: ${(err as Error).message}${/certificate|self.signed/i.test((err as Error).message) ? ' (pass the folder holding its CA with --registry-cert-dir)' : ''}`)));
      req.end(body);
    });
  }

  /** Answers a 401 challenge once: Basic with the auth file's credentials, or Bearer through the token realm. */
  private async authenticate(challenge: string, what: string): Promise<void> {
    const auth = basicAuth(this.access.authFile, this.host);
    if (!auth) throw new SlipwayError('REGISTRY_AUTH_FAILED', `${what}: ${this.host} requires credentials and the auth file ${this.access.authFile ?? '(none given)'} has none for it`);
    if (/^basic/i.test(challenge)) {
      this.authorization = `Basic ${auth}`;
      return;
    }
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (!params.realm) throw new SlipwayError('REGISTRY_AUTH_FAILED', `${what}: ${this.host} answered 401 with a challenge slipway cannot answer`);
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    if (params.scope) url.searchParams.set('scope', params.scope);
    const res = await this.send('GET', '', undefined, { authorization: `Basic ${auth}` }, url);
    const token = res.status === 200 ? ((JSON.parse(res.body.toString('utf8')) as { token?: string; access_token?: string }).token ?? JSON.parse(res.body.toString('utf8')).access_token) : undefined;
    if (!token) throw new SlipwayError('REGISTRY_AUTH_FAILED', `${what}: the token service of ${this.host} refused the credentials (HTTP ${res.status})`);
    this.authorization = `Bearer ${token}`;
  }

  async call(method: string, path: string, what: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Response> {
    let res = await this.send(method, path, body, headers);
    if (res.status === 401) {
      await this.authenticate(String(res.headers['www-authenticate'] ?? ''), what);
      res = await this.send(method, path, body, headers);
    }
    if (res.status === 401 || res.status === 403) throw new SlipwayError('REGISTRY_AUTH_FAILED', `${what}: ${this.host} refused the credentials of ${this.access.authFile ?? 'no auth file'} (HTTP ${res.status})`);
    return res;
  }

  /** The manifest's descriptor, or undefined when the registry does not have it. */
  async head(name: string, reference: string): Promise<Descriptor | undefined> {
    const res = await this.call('HEAD', `/v2/${name}/manifests/${reference}`, `looking up ${this.host}/${name}:${reference}`, undefined, { accept: ACCEPT });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new SlipwayError('REGISTRY_PUSH_FAILED', `HEAD ${this.host}/${name}/manifests/${reference} answered ${res.status}`);
    return { mediaType: String(res.headers['content-type']), digest: String(res.headers['docker-content-digest']), size: Number(res.headers['content-length']) };
  }

  async getManifest(name: string, reference: string): Promise<{ readonly descriptor: Descriptor; readonly bytes: Buffer } | undefined> {
    const res = await this.call('GET', `/v2/${name}/manifests/${reference}`, `reading ${this.host}/${name}:${reference}`, undefined, { accept: ACCEPT });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new SlipwayError('REGISTRY_PUSH_FAILED', `GET ${this.host}/${name}/manifests/${reference} answered ${res.status}: ${res.body.toString('utf8').slice(0, 300)}`);
    const digest = sha256Digest(res.body);
    if (reference.startsWith('sha256:') && digest !== reference) throw new SlipwayError('SUPPLY_CHAIN_MISMATCH', `${this.host}/${name}@${reference}: the registry served a manifest whose sha256 is ${digest}`);
    return { descriptor: { mediaType: String(res.headers['content-type']).split(';')[0]!, digest, size: res.body.length }, bytes: res.body };
  }

  async getBlob(name: string, digest: string): Promise<Buffer> {
    const res = await this.call('GET', `/v2/${name}/blobs/${digest}`, `reading blob ${digest} of ${this.host}/${name}`);
    if (res.status !== 200) throw new SlipwayError('REGISTRY_PUSH_FAILED', `GET ${this.host}/${name}/blobs/${digest} answered ${res.status}`);
    if (sha256Digest(res.body) !== digest) throw new SlipwayError('SUPPLY_CHAIN_MISMATCH', `${this.host}/${name}: blob ${digest} came back with sha256 ${sha256Digest(res.body)}`);
    return res.body;
  }

  async putBlob(name: string, bytes: Buffer): Promise<string> {
    const digest = sha256Digest(bytes);
    const what = `pushing blob ${digest} to ${this.host}/${name}`;
    if ((await this.call('HEAD', `/v2/${name}/blobs/${digest}`, what)).status === 200) return digest;
    const started = await this.call('POST', `/v2/${name}/blobs/uploads/`, what, Buffer.alloc(0));
    const location = started.headers.location;
    if (started.status !== 202 || typeof location !== 'string') throw new SlipwayError('REGISTRY_PUSH_FAILED', `${what}: starting the upload answered ${started.status}`);
    const url = new URL(location, `https://${this.host}`);
    url.searchParams.set('digest', digest);
    const done = await this.call('PUT', `${url.pathname}${url.search}`, what, bytes, { 'content-type': 'application/octet-stream' });
    if (done.status !== 201) throw new SlipwayError('REGISTRY_PUSH_FAILED', `${what}: the upload answered ${done.status}: ${done.body.toString('utf8').slice(0, 300)}`);
    return digest;
  }

  async putManifest(name: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const what = `pushing manifest ${reference} to ${this.host}/${name}`;
    const res = await this.call('PUT', `/v2/${name}/manifests/${reference}`, what, bytes, { 'content-type': mediaType });
    if (res.status !== 201) throw new SlipwayError('REGISTRY_PUSH_FAILED', `${what}: answered ${res.status}: ${res.body.toString('utf8').slice(0, 300)}`);
    return sha256Digest(bytes);
  }
}

/** The referrers tag schema's tag for a subject digest (OCI distribution spec 1.1). */
export const referrersTag = (digest: string) => digest.replace(':', '-');

export interface Attachment {
  readonly artifactType: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * Attaches artifacts to the image `repository@subjectDigest`: each as an artifact manifest whose
 * `subject` is the image, then the referrers index under `sha256-<hex>` (kept entries plus the
 * new ones). Blobs and manifests go first and the index last, so a push that fails midway leaves
 * nothing listed. Returns the artifact manifests' descriptors.
 */
export async function attach(repository: string, subjectDigest: string, attachments: readonly Attachment[], access: RegistryAccess): Promise<Descriptor[]> {
  const { host, name } = splitRepository(repository);
  const client = new RegistryClient(host, access);
  const subject = await client.head(name, subjectDigest);
  if (!subject) throw new SlipwayError('REGISTRY_PUSH_FAILED', `${repository}@${subjectDigest} is not in the registry: push the image before its signatures`);
  const empty = Buffer.from('{}');
  const emptyDigest = await client.putBlob(name, empty);
  const added: Descriptor[] = [];
  for (const a of attachments) {
    const layer = await client.putBlob(name, a.bytes);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: a.artifactType,
        config: { mediaType: OCI_EMPTY, digest: emptyDigest, size: empty.length },
        layers: [{ mediaType: a.mediaType, digest: layer, size: a.bytes.length }],
        subject: { mediaType: subject.mediaType, digest: subjectDigest, size: subject.size },
        ...(a.annotations ? { annotations: a.annotations } : {}),
      }),
    );
    const digest = await client.putManifest(name, sha256Digest(manifest), manifest, OCI_MANIFEST);
    added.push({ mediaType: OCI_MANIFEST, digest, size: manifest.length, artifactType: a.artifactType, ...(a.annotations ? { annotations: a.annotations } : {}) });
  }
  const existing = await client.getManifest(name, referrersTag(subjectDigest));
  const kept = existing ? ((JSON.parse(existing.bytes.toString('utf8')) as { manifests?: Descriptor[] }).manifests ?? []).filter((d) => !added.some((a) => a.digest === d.digest)) : [];
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...kept, ...added] }));
  await client.putManifest(name, referrersTag(subjectDigest), index, OCI_INDEX);
  return added;
}

/** The artifacts attached to `repository@subjectDigest` (the referrers tag schema), with their single layer's bytes. */
export async function referrers(repository: string, subjectDigest: string, access: RegistryAccess): Promise<Array<Descriptor & { readonly bytes: Buffer }>> {
  const { host, name } = splitRepository(repository);
  const client = new RegistryClient(host, access);
  const index = await client.getManifest(name, referrersTag(subjectDigest));
  if (!index) return [];
  const out: Array<Descriptor & { bytes: Buffer }> = [];
  for (const d of (JSON.parse(index.bytes.toString('utf8')) as { manifests?: Descriptor[] }).manifests ?? []) {
    const manifest = await client.getManifest(name, d.digest);
    if (!manifest) continue;
    const parsed = JSON.parse(manifest.bytes.toString('utf8')) as { subject?: { digest: string }; layers?: Descriptor[] };
    if (parsed.subject?.digest !== subjectDigest || !parsed.layers?.[0]) continue;
    out.push({ ...d, bytes: await client.getBlob(name, parsed.layers[0].digest) });
  }
  return out;
}

/** Flags buildah, skopeo and podman take for the registry's trust and credentials. */
export function toolAccessArgs(access: RegistryAccess): string[] {
  return [...(access.certDir ? ['--cert-dir', access.certDir] : []), ...(access.authFile ? ['--authfile', access.authFile] : [])];
}

/** The error code of a failed buildah/skopeo/podman registry operation, from its message. */
export function registryFailureCode(message: string): 'REGISTRY_AUTH_FAILED' | 'REGISTRY_UNREACHABLE' | 'REGISTRY_PUSH_FAILED' {
  // Trust and reachability first: a port number or a host name must not read as a status code.
  if (/connection refused|no such host|x509|certificate|i\/o timeout|connection reset|\bEOF\b/i.test(message)) return 'REGISTRY_UNREACHABLE';
  if (/unauthorized|authentication required|denied|\bHTTP (401|403)\b|\b(401|403) (Unauthorized|Forbidden)\b/i.test(message)) return 'REGISTRY_AUTH_FAILED';
  return 'REGISTRY_PUSH_FAILED';
}
