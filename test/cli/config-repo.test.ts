import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = new URL('../../bin/slipway.mjs', import.meta.url).pathname;
const fixture = (name: string) => new URL(`../compiler/fixtures/${name}.ts`, import.meta.url).pathname;

async function slipway(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, CI: 'true' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'slipway-cli-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('slipway synth / release / promote / history / diff', () => {
  it('runs the release workflow end to end through the CLI', async () => {
    const repo = join(work, 'repo');
    // GIVEN a synthesized example platform
    const first = await slipway('synth', '--repo', repo);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^ENVIRONMENT +APPLICATION +OBJECTS +MODEL VERSION +IMAGE\nstaging +fraud-detector +\d+ +1\.3\.0 +ghcr\.io\/acme\/fraud-detector-runtime@sha256:[0-9a-f]{12}…/);
    expect(first.stdout).toMatch(/\ncommit [0-9a-f]{40} \(\d+ files changed\)\n$/);
    expect((await slipway('synth', '--repo', repo)).stdout).toMatch(/\nno changes \(main at [0-9a-f]{40}\)\n$/);
    // WHEN a release (with --version) and a promotion run
    const released = await slipway('release', '--repo', repo, '--env', 'staging', '--model', 'fraud-detector', '--version', '1.4.0',
      '--artifact-sha256', 'c'.repeat(64), '--image-digest', `sha256:${'d'.repeat(64)}`);
    expect(released.stderr).toBe('');
    expect(released.stdout).toMatch(/staging +fraud-detector +\d+ +1\.4\.0 /);
    expect((await slipway('promote', '--repo', repo, '--model', 'fraud-detector', '--from', 'staging', '--to', 'prod')).code).toBe(0);
    // THEN history lists them per environment
    const history = await slipway('history', '--repo', repo, '--model', 'fraud-detector');
    expect(history.stdout).toMatch(
      /fraud-detector in prod:\nDATE +KIND +VERSION +MODEL SHA256 +IMAGE +APPROVED BY +COMMIT +SUBJECT\n\S+ \S+ +promotion from staging +1\.4\.0 +cccccccccccc… +sha256:dddddddddddd… +- +[0-9a-f]{12} +promote: fraud-detector 1\.4\.0 from staging to prod\n/,
    );
    expect(history.stdout).toMatch(/fraud-detector in staging:\n.*\n.* 1\.4\.0 .* release: fraud-detector 1\.4\.0 to staging\n/);
  });

  it('release --dry-run prints exactly the version, sha256 and digest change and writes nothing', async () => {
    // GIVEN a synthesized example platform
    const repo = join(work, 'dry-run');
    expect((await slipway('synth', '--repo', repo)).code).toBe(0);
    const head = await run('git', ['-C', repo, 'rev-parse', 'HEAD']);
    // WHEN a release is previewed
    const preview = await slipway('release', '--dry-run', '--repo', repo, '--env', 'staging', '--model', 'fraud-detector', '--version', '1.4.0',
      '--artifact-sha256', 'c'.repeat(64), '--image-digest', `sha256:${'d'.repeat(64)}`);
    // THEN the diff shows the record and the changed lines, and main has not moved
    expect(preview.code).toBe(0);
    expect(preview.stderr).toMatch(/^\d+ files would change\n$/);
    // The new model card is one patch of its own; the rest are the record and the objects.
    const patches = preview.stdout.split(/(?=^--- )/m);
    expect(patches.filter((p) => p.includes('+++ b/releases/staging/fraud-detector.md'))).toHaveLength(1);
    const changed = patches
      .filter((p) => !p.includes('+++ b/releases/staging/fraud-detector.md'))
      .join('')
      .split('\n')
      .filter((l) => /^[-+][^-+]/.test(l));
    expect(changed).toContain('+version: 1.4.0');
    expect(changed).toContainEqual(expect.stringMatching(/^\+ +image: ghcr\.io\/acme\/fraud-detector-runtime@sha256:d{64}$/));
    expect(changed).toContainEqual(expect.stringMatching(/^- +image: ghcr\.io\/acme\/fraud-detector-runtime@sha256:8ddfdbc6/));
    // Only the version, the artifact hash and the image digest move (labels, env, annotations, record).
    expect(changed.filter((l) => !/1\.[34]\.0$|[0-9a-f]{64}$|^\+(environment: staging|model: fraud-detector)$/.test(l))).toEqual([]);
    expect((await run('git', ['-C', repo, 'rev-parse', 'HEAD'])).stdout).toBe(head.stdout);
    expect((await run('git', ['-C', repo, 'status', '--porcelain'])).stdout).toBe('');
  });

  it('fails with exit code 1 and a clear message on invalid input', async () => {
    const repo = join(work, 'invalid');
    const result = await slipway('synth', '--app', fixture('shop-invalid'), '--repo', repo);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^slipway: \d+ problem\(s\) found; nothing was written to the config repository:\n  - environments\/\w+\/broken\/deployment-broken\.yaml: Deployment 'broken': data\/spec\/replicas must be integer/);
    const bad = await slipway('release', '--repo', repo, '--env', 'staging', '--model', 'm', '--version', '1', '--artifact-sha256', 'x', '--image-digest', 'y');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/artifactSha256: expected to match/);
  });

  it('diff --exit-code exits 1 when a synth would change something and 0 when not', async () => {
    const repo = join(work, 'diff');
    await slipway('synth', '--app', fixture('shop'), '--repo', repo);
    const changed = await slipway('diff', '--app', fixture('shop-v2'), '--repo', repo, '--exit-code');
    expect(changed.code).toBe(1);
    expect(changed.stdout).toContain('+        - image: nginx:1.28');
    expect(changed.stderr).toBe('2 files would change\n');
    const same = await slipway('diff', '--app', fixture('shop'), '--repo', repo, '--exit-code');
    expect(same.code).toBe(0);
    expect(same.stderr).toBe('no changes\n');
  });
});
