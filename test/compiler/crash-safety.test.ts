import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRASH_AT_ENV, PACK_STAGES, WRITE_STAGES } from '../../lib/compiler/crash-points.js';
import { release } from '../../lib/compiler/release-ops.js';
import { synth } from '../../lib/compiler/synth.js';
import { git } from './support/repo-snapshot.js';

const BIN = new URL('../../bin/slipway.mjs', import.meta.url).pathname;
const APP = new URL('../../apps/main.ts', import.meta.url).pathname;
const fixture = (name: string) => new URL(`./fixtures/${name}.ts`, import.meta.url).pathname;
const SHA = 'c'.repeat(64);
const DIGEST = `sha256:${'d'.repeat(64)}`;
const RELEASE_ARGS = ['--env', 'staging', '--model', 'fraud-detector', '--version', '1.4.0', '--artifact-sha256', SHA, '--image-digest', DIGEST];

function slipway(repo: string, args: readonly string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args, '--repo', repo, '--app', APP], { encoding: 'utf8', env: { ...process.env, CI: 'true', ...env } });
}

function fsckStrict(repo: string): { status: number | null; output: string } {
  const r = spawnSync('git', ['-C', repo, 'fsck', '--strict', '--no-progress'], { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

let work: string;
let pristine: string;
let base: string;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'slipway-crash-'));
  pristine = join(work, 'pristine');
  base = (await synth({ app: APP, repo: pristine })).commit!;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('kill -9 during a release', () => {
  // One real child process per stage, killed by SIGKILL exactly there (SLIPWAY_CRASH_AT).
  it.each(WRITE_STAGES)('leaves a repository git fsck --strict accepts and the next run repairs, when killed at %s', async (stage) => {
    // GIVEN a synthesized config repository
    const repo = join(work, stage.replace(/[^a-z-]/g, '_'));
    cpSync(pristine, repo, { recursive: true });
    // WHEN `slipway release` is killed at the stage
    const killed = slipway(repo, ['release', ...RELEASE_ARGS], { [CRASH_AT_ENV]: stage });
    expect(killed.signal, `the run must reach ${stage}: ${killed.stderr}`).toBe('SIGKILL');
    // THEN git accepts the repository as it is
    const afterKill = fsckStrict(repo);
    expect(afterKill.status, afterKill.output).toBe(0);
    // (objects written before the kill may dangle; anything else fsck says is a finding)
    expect(afterKill.output.split('\n').filter((l) => l !== '' && !/^dangling (blob|tree|commit) [0-9a-f]{40}$/.test(l))).toEqual([]);
    const head = git(repo, 'rev-parse', 'main').trim();
    expect([base]).toContain(git(repo, 'merge-base', base, head).trim());
    // AND the next run repairs it and completes the release
    const next = await release(
      { environment: 'staging', model: 'fraud-detector', version: '1.4.0', modelSha256: SHA, modelLocation: 'image', imageDigest: DIGEST },
      { app: APP, repo },
    );
    expect(next.head).toBeDefined();
    expect(git(repo, 'show', 'main:releases/staging/fraud-detector.yaml')).toContain('version: 1.4.0');
    expect(readFileSync(join(repo, 'releases/staging/fraud-detector.yaml'), 'utf8')).toContain('version: 1.4.0');
    expect(git(repo, 'status', '--porcelain')).toBe('');
    expect(git(repo, 'rev-list', '--count', 'main').trim()).toBe('2');
    const repaired = fsckStrict(repo);
    expect(repaired.status, repaired.output).toBe(0);
    expect(existsSync(join(repo, '.git', 'slipway.lock'))).toBe(false);
    expect(existsSync(join(repo, '.git', 'slipway-checkout.json'))).toBe(false);
  });
});

describe('kill -9 during the first synth (objects in a packfile)', () => {
  it.each(PACK_STAGES)('leaves a repository git fsck --strict accepts and the next run completes, when killed at %s', async (stage) => {
    // GIVEN no config repository yet WHEN the first synth is killed at the stage
    const repo = join(work, `first-${stage}`);
    const killed = spawnSync(process.execPath, [BIN, 'synth', '--repo', repo, '--app', APP], { encoding: 'utf8', env: { ...process.env, CI: 'true', [CRASH_AT_ENV]: stage } });
    expect(killed.signal, `the run must reach ${stage}: ${killed.stderr}`).toBe('SIGKILL');
    const afterKill = fsckStrict(repo);
    expect(afterKill.status, afterKill.output).toBe(0);
    // THEN the next run ends with the same tree a clean first synth makes
    await synth({ app: APP, repo });
    expect(git(repo, 'rev-parse', 'main^{tree}')).toBe(git(pristine, 'rev-parse', 'main^{tree}'));
    expect(git(repo, 'status', '--porcelain')).toBe('');
    expect(fsckStrict(repo).status).toBe(0);
  });
});

describe('repairs', () => {
  it('rebuilds an index left empty by an older writer, keeping hand edits visible', async () => {
    // GIVEN a repository whose index is 0 bytes (git status is fatal) and a hand-edited file
    const repo = join(work, 'empty-index');
    cpSync(pristine, repo, { recursive: true });
    truncateSync(join(repo, '.git', 'index'), 0);
    expect(spawnSync('git', ['-C', repo, 'status'], { encoding: 'utf8' }).status).not.toBe(0);
    const edited = join(repo, 'bootstrap', 'staging.yaml');
    writeFileSync(edited, `${readFileSync(edited, 'utf8')}# hand edit\n`);
    // WHEN the next run starts
    const result = await synth({ app: APP, repo });
    // THEN it rebuilt the index from HEAD, git works again and the edit is still a modification
    expect(result.rebuiltIndex).toBe(true);
    expect(git(repo, 'status', '--porcelain')).toBe(' M bootstrap/staging.yaml\n');
    expect(fsckStrict(repo).status).toBe(0);
    // AND a release refuses to overwrite it, naming it
    await expect(
      release({ environment: 'staging', model: 'fraud-detector', version: '1.4.0', modelSha256: SHA, modelLocation: 'image', imageDigest: DIGEST }, { app: APP, repo }),
    ).rejects.toThrow(/bootstrap\/staging\.yaml \(modified\)/);
  });

  it('reports the rebuilt index and leaves a clean status when nothing else changed', async () => {
    const repo = join(work, 'empty-index-clean');
    cpSync(pristine, repo, { recursive: true });
    truncateSync(join(repo, '.git', 'index'), 0);
    const result = await synth({ app: APP, repo });
    expect(result.rebuiltIndex).toBe(true);
    expect(result.commit).toBeUndefined();
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });

  it('fails when the app calls process.exit(0) during synthesis, committing nothing and releasing the lock', () => {
    // GIVEN a repository and an app that exits the process while being built
    const repo = join(work, 'exits');
    cpSync(pristine, repo, { recursive: true });
    // WHEN slipway synth runs it
    const run = spawnSync(process.execPath, [BIN, 'synth', '--repo', repo, '--app', fixture('shop-exits')], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
    // THEN it exits 1 naming the call, with no commit and no lock left
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/shop-exits\.ts called process\.exit\(0\) during synthesis/);
    expect(git(repo, 'rev-parse', 'main').trim()).toBe(base);
    expect(existsSync(join(repo, '.git', 'slipway.lock'))).toBe(false);
    // AND slipway diff does not pass it off as "no changes"
    const diff = spawnSync(process.execPath, [BIN, 'diff', '--repo', repo, '--app', fixture('shop-exits')], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
    expect(diff.status).toBe(1);
    expect(diff.stderr).toMatch(/called process\.exit\(0\) during synthesis/);
  });
});
