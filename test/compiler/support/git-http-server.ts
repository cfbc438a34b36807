import { execFileSync, spawn } from 'node:child_process';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitHttpServer {
  readonly url: (repo: string) => string;
  /** Requests seen, as `METHOD path?query`, and whether they carried the expected token. */
  readonly requests: Array<{ line: string; authorized: boolean }>;
  close(): Promise<void>;
}

/**
 * A real Git smart-HTTP server on 127.0.0.1: node:http in front of `git http-backend` (CGI).
 * Requires HTTP Basic auth with `token` as password; `beforeReceivePack` runs before each
 * push is answered, to let a test move the branch under a client.
 */
export async function startGitHttpServer(root: string, token: string, hooks: { beforeReceivePack?: () => void } = {}): Promise<GitHttpServer> {
  const requests: GitHttpServer['requests'] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const header = req.headers.authorization ?? '';
    const password = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString().split(':').slice(1).join(':') : undefined;
    const authorized = password === token;
    requests.push({ line: `${req.method} ${url.pathname}${url.search}`, authorized });
    if (!authorized) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end('unauthorized');
      return;
    }
    if (url.searchParams.get('service') === 'git-receive-pack') hooks.beforeReceivePack?.();
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        REMOTE_USER: 'slipway-test',
        REMOTE_ADDR: '127.0.0.1',
      },
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const [name, ...rest] = line.split(':');
        const value = rest.join(':').trim();
        if (name!.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
        else headers[name!] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.stdout.on('end', () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (repo) => `http://127.0.0.1:${port}/${repo}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A bare repository that accepts pushes over http-backend. */
export function createBareRepo(path: string): void {
  execFileSync('git', ['init', '--bare', '--initial-branch=main', '--quiet', path]);
  execFileSync('git', ['--git-dir', path, 'config', 'http.receivepack', 'true']);
}
