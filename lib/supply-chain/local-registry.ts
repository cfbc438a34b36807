/**
 * A real OCI registry on this machine for tests and local pipeline runs: Debian's
 * `docker-registry` (CNCF distribution 2.8) on 127.0.0.1, TLS from a throwaway CA made with
 * openssl, htpasswd (bcrypt) auth. Clients trust the CA through a containers certs folder
 * (`--cert-dir`, `ca.crt`) and log in through a containers auth file (`--authfile`, mode 0600):
 * the password never appears on a command line, in a log or in Git.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { SlipwayError } from '../errors.js';

export const REGISTRY_BINARY = 'docker-registry';

export interface LocalRegistry {
  /** `127.0.0.1:<port>`: the registry part of an image reference. */
  readonly host: string;
  /** Holds ca.crt: pass as --cert-dir to buildah, skopeo and podman. */
  readonly certDir: string;
  /** containers-auth.json with the registry's credentials: pass as --authfile (REGISTRY_AUTH_FILE). */
  readonly authFile: string;
  readonly username: string;
  /** Where the registry stores blobs (to tamper with them in tests). */
  readonly storage: string;
  /** The registry's own output. */
  log(): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function openssl(args: readonly string[], cwd: string): void {
  const ran = spawnSync('openssl', [...args], { cwd, encoding: 'utf8' });
  if (ran.error && (ran.error as NodeJS.ErrnoException).code === 'ENOENT') throw new SlipwayError('PIPELINE_TOOL_MISSING', 'openssl is not installed; install the Debian package openssl');
  if (ran.status !== 0) throw new SlipwayError('REGISTRY_UNREACHABLE', `openssl ${args[0]} failed: ${ran.stderr.trim()}`);
}

/** A CA and a server certificate for 127.0.0.1 and localhost, valid one day. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=slipway throwaway CA'], dir);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext'], dir);
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

/** GET /v2/ over TLS with the CA: 401 (auth required) means the registry is up. */
function probe(host: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const [hostname, port] = host.split(':');
    const req = request({ hostname, port: Number(port), path: '/v2/', ca: readFileSync(ca), timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

export interface StartRegistryOptions {
  /** Folder for its certificates, credentials, configuration and storage. */
  readonly dir: string;
  /** @default 'slipway' */
  readonly username?: string;
  /** @default random */
  readonly password?: string;
  /** Serve reads only (distribution's maintenance mode): every push is refused. @default false */
  readonly readOnly?: boolean;
}

export async function startLocalRegistry(options: StartRegistryOptions): Promise<LocalRegistry> {
  const { dir } = options;
  const username = options.username ?? 'slipway';
  const password = options.password ?? randomBytes(18).toString('base64url');
  const tls = makeCertificates(join(dir, 'tls'));
  const certDir = join(dir, 'certs.d');
  mkdirSync(certDir, { recursive: true });
  writeFileSync(join(certDir, 'ca.crt'), readFileSync(tls.ca));
  // htpasswd reads the password from stdin (-i), so it never shows in a process listing.
  const htpasswd = spawnSync('htpasswd', ['-B', '-i', '-n', username], { input: password, encoding: 'utf8' });
  if (htpasswd.error) throw new SlipwayError('PIPELINE_TOOL_MISSING', 'htpasswd is not installed; install the Debian package apache2-utils');
  if (htpasswd.status !== 0) throw new SlipwayError('REGISTRY_UNREACHABLE', `htpasswd failed: ${htpasswd.stderr.trim()}`);
  writeFileSync(join(dir, 'htpasswd'), htpasswd.stdout, { mode: 0o600 });
  const storage = join(dir, 'storage');
  mkdirSync(storage, { recursive: true });
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${JSON.stringify(storage)}`,
      '  delete:',
      '    enabled: true',
      ...(options.readOnly ? ['  maintenance:', '    readonly:', '      enabled: true'] : []),
      'http:',
      `  addr: ${host}`,
      '  tls:',
      `    certificate: ${JSON.stringify(tls.cert)}`,
      `    key: ${JSON.stringify(tls.key)}`,
      'auth:',
      '  htpasswd:',
      '    realm: slipway',
      `    path: ${JSON.stringify(join(dir, 'htpasswd'))}`,
      '',
    ].join('\n'),
  );
  const authFile = join(dir, 'auth.json');
  writeFileSync(authFile, `${JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } } })}\n`, { mode: 0o600 });

  let output = '';
  const child: ChildProcess = spawn(REGISTRY_BINARY, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    const failed = await Promise.race([spawnError, new Promise<undefined>((r) => setTimeout(r, 100, undefined))]);
    if (failed) {
      throw new SlipwayError('PIPELINE_TOOL_MISSING', (failed as NodeJS.ErrnoException).code === 'ENOENT' ? `${REGISTRY_BINARY} is not installed; install the Debian package docker-registry` : failed.message);
    }
    if (child.exitCode !== null) throw new SlipwayError('REGISTRY_UNREACHABLE', `${REGISTRY_BINARY} exited with ${child.exitCode}: ${output.trim().slice(-2000)}`);
    const status = await probe(host, tls.ca).catch(() => 0);
    if (status === 401) break;
    if (Date.now() > deadline) {
      await stop();
      throw new SlipwayError('REGISTRY_UNREACHABLE', `${REGISTRY_BINARY} did not answer on https://${host}/v2/ within 20 s: ${output.trim().slice(-2000)}`);
    }
  }
  return { host, certDir, authFile, username, storage, log: () => output, stop };
}

