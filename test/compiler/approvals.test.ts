import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Testing } from 'cdk8s';
import { Environment, Platform } from '../../constructs/index.js';
import { promote, release } from '../../lib/compiler/release-ops.js';
import { TOKEN_ENV } from '../../lib/compiler/remote.js';
import { synth } from '../../lib/compiler/synth.js';
import { type GitHttpServer, createBareRepo, startGitHttpServer } from './support/git-http-server.js';
import { git, snapshotDir } from './support/repo-snapshot.js';

const APP = new URL('./fixtures/governed.ts', import.meta.url).pathname;
const TOKEN = 'approval-token-77c1';
const record = (environment: string, version: string) => ({
  environment,
  model: 'fraud-detector',
  version,
  modelSha256: 'e'.repeat(64),
  modelLocation: 'image',
  imageDigest: `sha256:${'f'.repeat(64)}`,
});

let work: string;
let repo: string;
beforeEach(async () => {
  work = mkdtempSync(join(tmpdir(), 'slipway-approvals-'));
  repo = join(work, 'config-repo');
  // GIVEN a platform whose prod requires approval by alice or bob, and 1.4.0 in staging
  await synth({ app: APP, repo });
  await release(record('staging', '1.4.0'), { app: APP, repo });
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

describe('approvals', () => {
  it('fails when releasing or promoting into prod without approval, with exit code 1 and the repository unchanged', async () => {
    const before = snapshotDir(repo);
    const err = await release(record('prod', '1.4.0'), { app: APP, repo }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'APPROVAL_REQUIRED', exitCode: 1 });
    expect((err as Error).message).toMatch(
      /'prod' requires approval \(requireApproval: true\) for fraud-detector 1\.4\.0: pass --approved-by NAME \(one of alice, bob\), or --review to commit on branch release\/prod\/fraud-detector-1\.4\.0/,
    );
    await expect(promote('fraud-detector', 'staging', 'prod', { app: APP, repo })).rejects.toMatchObject({ code: 'APPROVAL_REQUIRED' });
    await expect(promote('fraud-detector', 'staging', 'prod', { app: APP, repo, approval: { approvedBy: ['mallory'] } })).rejects.toThrow(
      /--approved-by mallory: 'prod' accepts approvals from alice, bob only/,
    );
    expect(snapshotDir(repo)).toEqual(before);
  });

  it('records --approved-by as a commit trailer and in the record', async () => {
    // WHEN alice approves the promotion
    const result = await promote('fraud-detector', 'staging', 'prod', { app: APP, repo, approval: { approvedBy: ['alice'] } });
    // THEN the commit carries the trailer, the record names her, and staging needed nobody
    expect(git(repo, 'log', '-1', '--format=%(trailers:key=Approved-by,valueonly)').trim()).toBe('alice');
    expect(result.message).toMatch(/^promote: fraud-detector 1\.4\.0 from staging to prod\n/);
    expect(readFileSync(join(repo, 'releases/prod/fraud-detector.yaml'), 'utf8')).toMatch(/^approvedBy:\n {2}- alice\n/);
    expect(readFileSync(join(repo, 'releases/staging/fraud-detector.yaml'), 'utf8')).not.toContain('approvedBy');
    expect(readFileSync(join(repo, 'releases/prod/fraud-detector.md'), 'utf8')).toContain('| Approved by | alice |');
    expect(git(repo, 'status', '--porcelain')).toBe('');
    // AND approvals do not travel with a promotion: they belong to the environment they were given for
    await release(record('staging', '1.5.0'), { app: APP, repo });
    await promote('fraud-detector', 'prod', 'staging', { app: APP, repo });
    expect(readFileSync(join(repo, 'releases/staging/fraud-detector.yaml'), 'utf8')).not.toContain('approvedBy');
  });

  it('--review commits on release/<env>/<model>-<version> and pushes it, leaving main untouched', async () => {
    // GIVEN an origin over (test) HTTP
    const bare = join(work, 'remote', 'config.git');
    createBareRepo(bare);
    const server: GitHttpServer = await startGitHttpServer(join(work, 'remote'), TOKEN);
    process.env[TOKEN_ENV] = TOKEN;
    try {
      git(repo, 'remote', 'add', 'origin', server.url('config.git'));
      const main = git(repo, 'rev-parse', 'main').trim();
      const files = snapshotDir(repo);
      // WHEN the prod release goes to review
      const result = await release(record('prod', '1.4.0'), { app: APP, repo, allowInsecureHttp: true, approval: { review: true } });
      // THEN the branch holds one commit on top of main with the record; main, index and files are as they were
      expect(result.review).toEqual({ branch: 'release/prod/fraud-detector-1.4.0', pushedTo: server.url('config.git') });
      expect(git(repo, 'rev-parse', 'main').trim()).toBe(main);
      expect(git(repo, 'rev-parse', 'release/prod/fraud-detector-1.4.0^').trim()).toBe(main);
      expect(git(repo, 'show', 'release/prod/fraud-detector-1.4.0:releases/prod/fraud-detector.yaml')).toContain('version: 1.4.0');
      expect(git(repo, 'status', '--porcelain')).toBe('');
      for (const [path, hash] of files) if (!path.startsWith('.git/')) expect(snapshotDir(repo).get(path), path).toBe(hash);
      // AND the remote has the branch (for the pull request) but no new main
      const remoteBranch = execFileSync('git', ['--git-dir', bare, 'rev-parse', 'refs/heads/release/prod/fraud-detector-1.4.0'], { encoding: 'utf8' }).trim();
      expect(remoteBranch).toBe(result.commit);
    } finally {
      delete process.env[TOKEN_ENV];
      await server.close();
    }
  });

  it('--review without a remote keeps the branch local', async () => {
    const result = await release(record('prod', '1.4.0'), { app: APP, repo, approval: { review: true } });
    expect(result.review).toEqual({ branch: 'release/prod/fraud-detector-1.4.0' });
    expect(git(repo, 'branch', '--list', 'release/*').trim()).toBe('release/prod/fraud-detector-1.4.0');
  });

  it('fails when approvers are given without requireApproval', () => {
    const platform = new Platform(Testing.app(), 'p', { repoURL: 'https://example.com/c.git' });
    expect(() => new Environment(platform, 'prod', { approvers: ['alice'] })).toThrow(/approvers only apply when requireApproval is true/);
  });
});
