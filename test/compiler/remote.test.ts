import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SlipwayError } from '../../lib/errors.js';
import { synth } from '../../lib/compiler/synth.js';
import { TOKEN_ENV } from '../../lib/compiler/remote.js';
import { type GitHttpServer, createBareRepo, startGitHttpServer } from './support/git-http-server.js';
import { git, snapshotDir } from './support/repo-snapshot.js';

const fixture = (name: string) => new URL(`./fixtures/${name}.ts`, import.meta.url).pathname;
const TOKEN = 'test-token-3f9a1c';

let work: string;
let repo: string;
let bare: string;
let server: GitHttpServer;
let beforeReceivePack: (() => void) | undefined;
beforeEach(async () => {
  work = mkdtempSync(join(tmpdir(), 'slipway-push-'));
  repo = join(work, 'config-repo');
  bare = join(work, 'remote', 'config.git');
  createBareRepo(bare);
  beforeReceivePack = undefined;
  server = await startGitHttpServer(join(work, 'remote'), TOKEN, { beforeReceivePack: () => beforeReceivePack?.() });
  process.env[TOKEN_ENV] = TOKEN;
});
afterEach(async () => {
  delete process.env[TOKEN_ENV];
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

/** Commits a file to the remote's main as another person would, with the git CLI. */
function commitElsewhere(file: string, content: string): string {
  const clone = mkdtempSync(join(work, 'clone-'));
  execFileSync('git', ['clone', '-q', bare, clone]);
  writeFileSync(join(clone, file), content);
  git(clone, 'add', file);
  git(clone, '-c', 'user.name=o', '-c', 'user.email=o@example.com', 'commit', '-qm', `add ${file}`);
  git(clone, 'push', '-q', 'origin', 'main');
  return git(clone, 'rev-parse', 'HEAD').trim();
}

describe('synth --push', () => {
  it('pushes main over HTTP with the token from the environment, never printing it', async () => {
    // GIVEN an empty remote behind HTTP basic auth
    // WHEN the shop is synthesized and pushed
    const result = await synth({ app: fixture('shop'), repo, push: server.url('config.git'), allowInsecureHttp: true });
    // THEN the remote's main is the new commit, every request carried the token, and the token is nowhere in the repo
    expect(result.pushed).toEqual({ url: server.url('config.git'), attempts: 1 });
    expect(execFileSync('git', ['--git-dir', bare, 'rev-parse', 'main'], { encoding: 'utf8' }).trim()).toBe(result.commit);
    expect(server.requests.filter((r) => !r.authorized && !r.line.includes('info/refs'))).toEqual([]);
    for (const [path] of snapshotDir(repo)) {
      if (!path.includes('/objects/')) expect(readFileSync(join(repo, path), 'latin1')).not.toContain(TOKEN);
    }
    execFileSync('git', ['--git-dir', bare, 'fsck', '--strict'], { stdio: 'pipe' });
  });

  it('re-applies the synth on top of commits others pushed, keeping theirs', async () => {
    // GIVEN a pushed config repository and a README another person pushed since
    await synth({ app: fixture('shop'), repo, push: server.url('config.git'), allowInsecureHttp: true });
    const theirs = commitElsewhere('README.md', '# config\n');
    // WHEN a changed app is synthesized and pushed
    const result = await synth({ app: fixture('shop-v2'), repo, push: server.url('config.git'), allowInsecureHttp: true });
    // THEN the new commit sits on theirs, and both the README and the change are on the remote and locally
    expect(git(repo, 'rev-parse', 'main^').trim()).toBe(theirs);
    expect(execFileSync('git', ['--git-dir', bare, 'rev-parse', 'main'], { encoding: 'utf8' }).trim()).toBe(result.commit);
    expect(readFileSync(join(repo, 'README.md'), 'utf8')).toBe('# config\n');
    expect(readFileSync(join(repo, 'environments/prod/web/deployment-web.yaml'), 'utf8')).toContain('nginx:1.28');
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });

  it('retries when the remote moves between fetch and push, without force', async () => {
    // GIVEN a pushed repository, and a remote that gets a commit just before the next push is answered
    await synth({ app: fixture('shop'), repo, push: server.url('config.git'), allowInsecureHttp: true });
    let concurrent = '';
    beforeReceivePack = () => {
      beforeReceivePack = undefined;
      concurrent = commitElsewhere('NOTES.md', 'moved under you\n');
    };
    // WHEN a changed app is pushed
    const result = await synth({ app: fixture('shop-v2'), repo, push: server.url('config.git'), allowInsecureHttp: true });
    // THEN the first push was rejected, the synth was re-applied on the new head, and the second push landed
    expect(result.pushed?.attempts).toBe(2);
    expect(git(repo, 'rev-parse', 'main^').trim()).toBe(concurrent);
    expect(git(repo, 'log', '--format=%s', 'main')).toMatch(/^synth: 2 applications changed.*\nadd NOTES\.md\nsynth: 4 applications changed/);
    expect(execFileSync('git', ['--git-dir', bare, 'rev-parse', 'main'], { encoding: 'utf8' }).trim()).toBe(result.commit);
  });

  it('fails when the remote refuses the credentials, saying which variable to set', async () => {
    delete process.env[TOKEN_ENV];
    await expect(synth({ app: fixture('shop'), repo, push: server.url('config.git'), allowInsecureHttp: true })).rejects.toThrow(
      new RegExp(`requires credentials: set ${TOKEN_ENV} to a token that may push`),
    );
    process.env[TOKEN_ENV] = 'wrong-token-value';
    const err = (await synth({ app: fixture('shop'), repo, push: server.url('config.git'), allowInsecureHttp: true }).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(new RegExp(`check the token in ${TOKEN_ENV}`));
    expect(err.message).not.toContain('wrong-token-value');
  });

  it('fails when the URL carries credentials, without writing them anywhere', async () => {
    const url = server.url('config.git').replace('http://', `http://user:${TOKEN}@`);
    const err = (await synth({ app: fixture('shop'), repo, push: url, allowInsecureHttp: true }).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/has credentials in its URL: remove them and put the token in SLIPWAY_GIT_TOKEN/);
    expect(err.message).not.toContain(TOKEN);
    expect(readFileSync(join(repo, '.git', 'config'), 'utf8')).not.toContain(TOKEN);
  });

  it('fails when the remote name is not configured', async () => {
    await expect(synth({ app: fixture('shop'), repo, push: 'origin' })).rejects.toThrow(/remote 'origin' is not configured in .*: add it with git -C .* remote add origin/);
  });

  it('fails when the remote is plain http:// without --allow-insecure-http, sending nothing', async () => {
    // GIVEN a token and an http:// remote WHEN synth pushes without the explicit opt-in
    const err = (await synth({ app: fixture('shop'), repo, push: server.url('config.git') }).catch((e: Error) => e)) as SlipwayError;
    // THEN it refuses before any request, and the token went nowhere
    expect(err.code).toBe('INSECURE_REMOTE');
    expect(err.message).toMatch(/is plain http:\/\/: the token in SLIPWAY_GIT_TOKEN would travel unencrypted; use https:\/\/, or pass --allow-insecure-http/);
    expect(server.requests).toEqual([]);
  });

  it('fails when the remote redirects, never sending the token to the redirect target', async () => {
    // GIVEN a server on another port that redirects every request to the real Git server
    const target = server.url('config.git');
    const redirector = createServer((req, res) => {
      res.writeHead(302, { Location: `${target}${(req.url ?? '/').replace(/^\/config\.git/, '')}` }).end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    const { port } = redirector.address() as AddressInfo;
    try {
      // WHEN synth pushes to the redirecting URL
      const err = (await synth({ app: fixture('shop'), repo, push: `http://127.0.0.1:${port}/config.git`, allowInsecureHttp: true }).catch((e: Error) => e)) as SlipwayError;
      // THEN it stops at the redirect and the Git server never saw a request
      expect(err.code).toBe('REMOTE_REDIRECT');
      expect(err.message).toMatch(/answered 302 redirecting to http:\/\/127\.0\.0\.1:\d+\/config\.git\/info\/refs.*never follows redirects with credentials/);
      expect(err.message).not.toContain(TOKEN);
      expect(server.requests).toEqual([]);
    } finally {
      await new Promise((resolve) => redirector.close(resolve));
    }
  });
});
