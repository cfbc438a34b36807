import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, snapshotDir } from '../../compiler/support/repo-snapshot.js';
import { slipway } from '../../support/cli.js';

const GOVERNED = new URL('../../compiler/fixtures/governed.ts', import.meta.url).pathname;

const releaseArgs = (env: string, version: string, hex: string) => [
  'release', '--env', env, '--model', 'fraud-detector', '--version', version, '--artifact-sha256', hex.repeat(64), '--image-digest', `sha256:${hex.repeat(64)}`,
];

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'slipway-rollback-cli-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('slipway rollback / release approvals / history', () => {
  it('rolls back through the CLI and history shows it', async () => {
    const repo = join(work, 'repo');
    const app = ['--repo', repo, '--app', GOVERNED];
    expect((await slipway('synth', ...app)).code).toBe(0);
    expect((await slipway(...releaseArgs('staging', '1.4.0', 'a'), ...app)).code).toBe(0);
    expect((await slipway(...releaseArgs('staging', '1.5.0', 'b'), ...app)).code).toBe(0);
    // WHEN staging is rolled back
    const res = await slipway('rollback', '--env', 'staging', '--model', 'fraud-detector', ...app);
    // THEN the command says from and to, and history lists the rollback as such
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^rolled back fraud-detector in staging from 1\.5\.0 to 1\.4\.0\n/);
    const history = await slipway('history', '--model', 'fraud-detector', '--repo', repo);
    expect(history.stdout).toMatch(/\n\S+ \S+ +rollback from 1\.5\.0 +1\.4\.0 +aaaaaaaaaaaa… .* rollback: fraud-detector in staging from 1\.5\.0 to 1\.4\.0\n/);
  });

  it('exits 1 with the repository unchanged when prod needs approval; --approved-by and --review pass', async () => {
    const repo = join(work, 'gated');
    const app = ['--repo', repo, '--app', GOVERNED];
    expect((await slipway('synth', ...app)).code).toBe(0);
    const before = snapshotDir(repo);
    // WHEN a release into prod has neither approval nor review THEN exit 1, nothing written
    const refused = await slipway(...releaseArgs('prod', '1.4.0', 'c'), ...app);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^slipway: 'prod' requires approval \(requireApproval: true\)/);
    expect(snapshotDir(repo)).toEqual(before);
    // WHEN it goes to review THEN main is unchanged and the output says what to open a pull request from
    const review = await slipway(...releaseArgs('prod', '1.4.0', 'c'), '--review', ...app);
    expect(review.code, review.stderr).toBe(0);
    expect(review.stdout).toMatch(/commit [0-9a-f]{40} on branch release\/prod\/fraud-detector-1\.4\.0 \(\d+ files changed\); main is unchanged\nno remote configured: push release\/prod\/fraud-detector-1\.4\.0 and open a pull request from it into main\n$/);
    // WHEN bob approves THEN the commit lands on main with his trailer
    const approved = await slipway(...releaseArgs('prod', '1.4.0', 'c'), '--approved-by', 'bob', ...app);
    expect(approved.code, approved.stderr).toBe(0);
    expect(git(repo, 'log', '-1', '--format=%(trailers:key=Approved-by,valueonly)').trim()).toBe('bob');
  });

  it('records release --fixes as a Fixes trailer that kpis counts as a failure of the fixed version and as rework', async () => {
    const repo = join(work, 'fixes');
    const app = ['--repo', repo, '--app', GOVERNED];
    expect((await slipway('synth', ...app)).code).toBe(0);
    expect((await slipway(...releaseArgs('staging', '1.4.0', 'a'), ...app)).code).toBe(0);
    expect((await slipway(...releaseArgs('staging', '1.5.0', 'b'), ...app)).code).toBe(0);
    // WHEN 1.5.1 is released as the fix of 1.5.0
    const fixed = await slipway(...releaseArgs('staging', '1.5.1', 'c'), '--fixes', '1.5.0', ...app);
    expect(fixed.code, fixed.stderr).toBe(0);
    // THEN the commit carries the trailer, and kpis counts 1.5.0 failed (not 1.4.0, replaced just as fast) and 1.5.1 as rework
    expect(git(repo, 'log', '-1', '--format=%(trailers:key=Fixes,valueonly)').trim()).toBe('1.5.0');
    const kpis = await slipway('kpis', '--repo', repo, '--format', 'json');
    const report = JSON.parse(kpis.stdout) as { series: Array<Record<string, unknown>>; deployments: Array<{ version: string; failed: boolean; failure?: { reason: string }; fixes?: string[] }> };
    expect(report.deployments.map((d) => [d.version, d.failed, d.failure?.reason, d.fixes])).toEqual([
      ['1.4.0', false, undefined, undefined],
      ['1.5.0', true, 'fixed', undefined],
      ['1.5.1', false, undefined, ['1.5.0']],
    ]);
    expect(report.series[0]).toMatchObject({ failures: 1, changeFailureRate: 0.3333, reworkDeployments: 1, reworkRate: 0.3333 });
  });

  it('fails when --fixes names the released version itself, writing nothing', async () => {
    const repo = join(work, 'fixes-self');
    const app = ['--repo', repo, '--app', GOVERNED];
    expect((await slipway('synth', ...app)).code).toBe(0);
    const before = snapshotDir(repo);
    const res = await slipway(...releaseArgs('staging', '1.4.0', 'a'), '--fixes', '1.4.0', ...app);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('--fixes: expected versions of fraud-detector released before 1.4.0, got "1.4.0"');
    expect(snapshotDir(repo)).toEqual(before);
  });
});
