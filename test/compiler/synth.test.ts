import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigRepo } from '../../lib/compiler/config-repo.js';
import { synth } from '../../lib/compiler/synth.js';
import { git, snapshotDir, workingFiles } from './support/repo-snapshot.js';

const fixture = (name: string) => new URL(`./fixtures/${name}.ts`, import.meta.url).pathname;
const SHOP = fixture('shop');

let work: string;
let repo: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'slipway-synth-'));
  repo = join(work, 'config-repo');
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

describe('synth', () => {
  it('creates the config repository with the documented layout on the first run', async () => {
    // GIVEN no config repository yet
    // WHEN the shop app is synthesized
    const result = await synth({ app: SHOP, repo });
    // THEN main has one commit with the layout, and the working tree is clean
    expect(result.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(git(repo, 'rev-parse', 'main').trim()).toBe(result.commit);
    expect(git(repo, 'status', '--porcelain')).toBe('');
    expect(workingFiles(repo)).toMatchSnapshot();
    expect(readFileSync(join(repo, 'environments/prod/web/deployment-web.yaml'), 'utf8')).toMatchSnapshot();
    expect(readFileSync(join(repo, 'apps/prod/web.yaml'), 'utf8')).toMatchSnapshot();
    expect(readFileSync(join(repo, 'bootstrap/staging.yaml'), 'utf8')).toMatchSnapshot();
    expect(readFileSync(join(repo, 'platform/shop/appproject.yaml'), 'utf8')).toMatchSnapshot();
  });

  it('produces a repository that git fsck accepts and every Application path builds with kubectl kustomize', async () => {
    // GIVEN a synthesized repository
    await synth({ app: SHOP, repo });
    // WHEN git fsck and kubectl kustomize check it
    execFileSync('git', ['-C', repo, 'fsck', '--strict', '--no-dangling'], { stdio: 'pipe' });
    const paths = ['platform/shop', 'apps/staging', 'apps/prod', 'environments/staging/web', 'environments/staging/worker', 'environments/prod/web', 'environments/prod/worker'];
    const built = paths.map((p) => execFileSync('/usr/bin/kubectl', ['kustomize', join(repo, p)], { encoding: 'utf8' }));
    // THEN each path builds, with its objects and sync waves
    expect(built[3]).toContain('kind: Deployment');
    expect(built[3]).toMatch(/argocd\.argoproj\.io\/sync-wave: "1"/);
    expect(built[1]).toContain('kind: AppProject');
    expect(built[1]).toContain('name: shop-staging-web');
  });

  it('prints no changes and makes no commit when nothing changed, leaving the repository byte-identical', async () => {
    // GIVEN a synthesized repository
    const first = await synth({ app: SHOP, repo });
    const before = snapshotDir(repo);
    // WHEN it is synthesized again
    const second = await synth({ app: SHOP, repo });
    // THEN nothing was committed or written
    expect(second.commit).toBeUndefined();
    expect(second.head).toBe(first.commit);
    expect(snapshotDir(repo)).toEqual(before);
  });

  it('never trusts a render cache that disagrees with the repository', async () => {
    // GIVEN a synthesized repository whose render cache was tampered with
    const first = await synth({ app: SHOP, repo });
    const cacheFile = join(repo, '.git', 'slipway-render-cache.json');
    writeFileSync(cacheFile, readFileSync(cacheFile, 'utf8').replace(/ [0-9a-f]{40}"/g, ` ${'0'.repeat(40)}"`));
    // WHEN the same app and then a changed app are synthesized
    // THEN the first finds no change and the second commits its change
    expect((await synth({ app: SHOP, repo })).head).toBe(first.commit);
    expect((await synth({ app: fixture('shop-v2'), repo })).changes.map((c) => c.path)).toEqual([
      'environments/prod/web/deployment-web.yaml',
      'environments/staging/web/deployment-web.yaml',
    ]);
    execFileSync('git', ['-C', repo, 'fsck', '--strict', '--no-dangling'], { stdio: 'pipe' });
  });

  it('writes byte-identical files into two separate repositories', async () => {
    // GIVEN two empty locations WHEN both are synthesized
    const a = await synth({ app: SHOP, repo });
    const b = await synth({ app: SHOP, repo: join(work, 'other') });
    // THEN the trees are the same object
    expect(git(repo, 'rev-parse', `${a.commit}^{tree}`)).toBe(git(join(work, 'other'), 'rev-parse', `${b.commit}^{tree}`));
  });

  it('deletes the files of an application removed from the app, and names it in the commit message', async () => {
    // GIVEN a repository with the worker application
    await synth({ app: SHOP, repo });
    // WHEN the app no longer has it
    const result = await synth({ app: fixture('shop-no-worker'), repo });
    // THEN its folder and Application are gone from the tree and the working tree
    expect(result.changes.filter((c) => c.newOid === undefined).map((c) => c.path)).toEqual([
      'apps/prod/worker.yaml',
      'apps/staging/worker.yaml',
      'environments/prod/worker/deployment-worker.yaml',
      'environments/prod/worker/kustomization.yaml',
      'environments/staging/worker/deployment-worker.yaml',
      'environments/staging/worker/kustomization.yaml',
    ]);
    expect(existsSync(join(repo, 'environments/prod/worker'))).toBe(false);
    expect(git(repo, 'ls-files')).not.toContain('worker');
    expect(git(repo, 'status', '--porcelain')).toBe('');
    expect(git(repo, 'log', '-1', '--format=%B')).toMatch(/^synth: 2 applications changed in prod, staging\n\nprod: worker\nstaging: worker\n/);
    expect(git(repo, 'log', '-1', '--format=%B')).toMatch(/Source: \S+@[0-9a-f]{40}/);
    expect(git(repo, 'rev-list', '--count', 'main').trim()).toBe('2');
  });

  it('keeps files it does not generate, such as a README committed by hand', async () => {
    // GIVEN a repository with a hand-written README committed with git
    await synth({ app: SHOP, repo });
    writeFileSync(join(repo, 'README.md'), '# shop config\n');
    git(repo, 'add', 'README.md');
    git(repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'readme');
    // WHEN the app changes
    await synth({ app: fixture('shop-v2'), repo });
    // THEN the README is still tracked
    expect(git(repo, 'ls-files', 'README.md').trim()).toBe('README.md');
  });

  it('re-synthesizes only the environments named with environments, keeping the others as committed', async () => {
    // GIVEN a repository synthesized from the shop
    await synth({ app: SHOP, repo });
    // WHEN the new image is synthesized for staging only
    const result = await synth({ app: fixture('shop-v2'), repo, environments: ['staging'] });
    // THEN only staging changed
    expect(result.changes.map((c) => c.path)).toEqual(['environments/staging/web/deployment-web.yaml']);
    expect(readFileSync(join(repo, 'environments/prod/web/deployment-web.yaml'), 'utf8')).toContain('nginx:1.27');
  });

  it('fails when an environment named with --env does not exist', async () => {
    await expect(synth({ app: SHOP, repo, environments: ['qa'] })).rejects.toThrow(/unknown environment 'qa'; the app defines 'staging', 'prod'/);
  });

  it('fails when an object breaks its upstream schema, naming the file and field, and creates nothing', async () => {
    // GIVEN no repository WHEN an invalid app is synthesized
    // THEN the error names the object and the field, and no repository was created
    await expect(synth({ app: fixture('shop-invalid'), repo })).rejects.toThrow(
      /environments\/staging\/broken\/deployment-broken\.yaml: Deployment 'broken': data\/spec\/replicas must be integer/,
    );
    expect(existsSync(repo)).toBe(false);
  });

  it('fails when the input is invalid and leaves an existing repository byte-identical', async () => {
    // GIVEN a repository
    await synth({ app: SHOP, repo });
    const before = snapshotDir(repo);
    // WHEN an app with an invalid object, one with an unknown kind and one that throws are synthesized
    await expect(synth({ app: fixture('shop-invalid'), repo })).rejects.toThrow(/VALIDATION|replicas must be integer/);
    await expect(synth({ app: fixture('shop-unknown-kind'), repo })).rejects.toThrow(
      /example\.com\/v1\/Widget has no upstream schema .*--allow-kind example\.com\/v1\/Widget/,
    );
    await expect(synth({ app: fixture('shop-throws'), repo })).rejects.toThrow(/building the app failed: the model registry is unreachable/);
    // THEN not a byte changed, .git included
    expect(snapshotDir(repo)).toEqual(before);
  });

  it('accepts a kind without schema when it is allowed explicitly, by flag or by the app module', async () => {
    const result = await synth({ app: fixture('shop-unknown-kind'), repo, allowKinds: ['example.com/v1/Widget'] });
    expect(result.changes.map((c) => c.path)).toContain('environments/prod/widgets/widget-w.yaml');
    const declared = await synth({ app: fixture('shop-allowed-kind'), repo: join(work, 'declared') });
    expect(declared.changes.map((c) => c.path)).toContain('environments/prod/widgets/widget-w.yaml');
  });

  it('fails when the config repository has uncommitted hand edits, naming them, unless forced', async () => {
    // GIVEN a repository with a hand-edited, a deleted and an untracked file
    await synth({ app: SHOP, repo });
    writeFileSync(join(repo, 'environments/prod/web/service-web.yaml'), 'edited: by hand\n');
    rmSync(join(repo, 'environments/staging/worker/deployment-worker.yaml'));
    writeFileSync(join(repo, 'environments/prod/web/extra.yaml'), 'kind: Secret\n');
    const before = snapshotDir(repo);
    // WHEN a changing synth runs
    // THEN it refuses, naming each file, and leaves the repository as it was
    const err = await synth({ app: fixture('shop-v2'), repo }).catch((e: Error) => e);
    expect((err as Error).message).toContain('uncommitted changes that a synth would overwrite');
    expect((err as Error).message).toContain('environments/prod/web/service-web.yaml (modified)');
    expect((err as Error).message).toContain('environments/staging/worker/deployment-worker.yaml (deleted)');
    expect((err as Error).message).toContain('environments/prod/web/extra.yaml (untracked)');
    expect((err as Error).message).toContain('--force');
    expect(snapshotDir(repo)).toEqual(before);
    // WHEN forced THEN the edits are overwritten and the tree is clean
    await synth({ app: fixture('shop-v2'), repo, force: true });
    expect(git(repo, 'status', '--porcelain')).toBe('');
    expect(readFileSync(join(repo, 'environments/prod/web/service-web.yaml'), 'utf8')).toContain('kind: Service');
  });

  it('fails when another run holds the lock, and takes over a stale lock of a dead process', async () => {
    // GIVEN a repository locked by a live process (this one)
    await synth({ app: SHOP, repo });
    const lock = join(repo, '.git', 'slipway.lock');
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname() }));
    // WHEN a synth runs THEN it refuses with a clear message
    await expect(synth({ app: fixture('shop-v2'), repo })).rejects.toThrow(
      new RegExp(`another slipway run \\(pid ${process.pid} on .*\\) is writing .*: wait for it to finish`),
    );
    // GIVEN the lock of a process that no longer exists
    const dead = execFileSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).trim();
    writeFileSync(lock, JSON.stringify({ pid: Number(dead), host: (await import('node:os')).hostname() }));
    // WHEN a synth runs THEN it proceeds and releases the lock
    expect((await synth({ app: fixture('shop-v2'), repo })).commit).toBeDefined();
    expect(existsSync(lock)).toBe(false);
  });

  it('finishes the working tree of a run interrupted after moving main', async () => {
    // GIVEN a run that moved main to a new commit but died before writing the working tree
    const first = await synth({ app: SHOP, repo });
    const other = join(work, 'other');
    const next = await synth({ app: fixture('shop-v2'), repo: other });
    git(repo, 'fetch', '-q', other, 'main');
    const cr = await ConfigRepo.open(repo);
    const reparented = git(repo, 'commit-tree', `${next.commit}^{tree}`, '-p', first.commit!, '-m', 'interrupted').trim();
    git(repo, 'update-ref', 'refs/heads/main', reparented);
    writeFileSync(join(cr.gitdir, 'slipway-checkout.json'), JSON.stringify({ from: first.commit, to: reparented }));
    // WHEN the next synth runs
    const result = await synth({ app: fixture('shop-v2'), repo });
    // THEN it completes the checkout first, then finds nothing to change
    expect(result.recovered).toBe(reparented);
    expect(result.commit).toBeUndefined();
    expect(readFileSync(join(repo, 'environments/prod/web/deployment-web.yaml'), 'utf8')).toContain('nginx:1.28');
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });

  it('fails when the config repository has another branch checked out', async () => {
    await synth({ app: SHOP, repo });
    git(repo, 'checkout', '-q', '-b', 'experiment');
    await expect(synth({ app: fixture('shop-v2'), repo })).rejects.toThrow(/has branch 'experiment' checked out; slipway writes 'main'/);
  });

  it('fails when the app module is missing or has no default build function', async () => {
    await expect(synth({ app: join(work, 'nope.ts'), repo })).rejects.toThrow(/app module .*nope\.ts does not exist/);
    writeFileSync(join(work, 'no-default.mjs'), 'export const x = 1;\n');
    await expect(synth({ app: join(work, 'no-default.mjs'), repo })).rejects.toThrow(/must export a default function build\(app: App\), or create an App and call app\.synth\(\); it did neither \(default export: undefined\)/);
  });
});
