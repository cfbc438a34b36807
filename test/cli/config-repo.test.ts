import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { snapshotDir } from '../compiler/support/repo-snapshot.js';
import { slipway } from '../support/cli.js';

const run = promisify(execFile);

const fixture = (name: string) => new URL(`../compiler/fixtures/${name}.ts`, import.meta.url).pathname;

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

  it('release --dry-run shows the pod switching to the released build, and writes nothing', async () => {
    // GIVEN a synthesized example platform, whose props fetch build 1.3.0 from S3
    const repo = join(work, 'dry-run');
    expect((await slipway('synth', '--repo', repo)).code).toBe(0);
    const head = await run('git', ['-C', repo, 'rev-parse', 'HEAD']);
    // WHEN a release of a build packaged into its image is previewed (shorthand flags)
    const preview = await slipway('release', '--dry-run', '--repo', repo, '--env', 'staging', '--model', 'fraud-detector', '--version', '1.4.0',
      '--artifact-sha256', 'c'.repeat(64), '--image-digest', `sha256:${'d'.repeat(64)}`);
    // THEN the diff shows the record and a pod that serves the new build from the image, fetching nothing old
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
    expect(changed).toContain('+modelLocation: image');
    expect(changed).toContainEqual(expect.stringMatching(/^\+ +image: ghcr\.io\/acme\/fraud-detector-runtime@sha256:d{64}$/));
    expect(changed).toContainEqual(expect.stringMatching(/^- +- s3:\/\/acme-ml-models\/fraud-detector\/1\.3\.0\/model\.onnx$/));
    const added = changed.filter((l) => l.startsWith('+'));
    expect(added.filter((l) => l.includes('1.3.0') || l.includes('aa912de101a9'))).toEqual([]);
    expect((await run('git', ['-C', repo, 'rev-parse', 'HEAD'])).stdout).toBe(head.stdout);
    expect((await run('git', ['-C', repo, 'status', '--porcelain'])).stdout).toBe('');
  });

  it('release --build records the whole build file', async () => {
    // GIVEN a synthesized example platform and the build.json a training run wrote
    const repo = join(work, 'build');
    expect((await slipway('synth', '--repo', repo)).code).toBe(0);
    const build = {
      model: 'fraud-detector',
      version: '1.5.0',
      modelSha256: 'e'.repeat(64),
      modelLocation: 'image',
      baselineSha256: 'f'.repeat(64),
      baselineLocation: 'image',
      imageDigest: `sha256:${'d'.repeat(64)}`,
      source: { repository: 'https://github.com/acme/fraud-detector.git', commit: '0'.repeat(40) },
      metrics: { auc: 0.91 },
      trigger: 'push',
      pipelineRun: 'fraud-detector-training-abcde',
      builtAt: '2026-12-01T08:00:00Z',
    };
    const file = join(work, 'build.json');
    writeFileSync(file, JSON.stringify(build));
    // WHEN it is released
    const released = await slipway('release', '--repo', repo, '--env', 'staging', '--model', 'fraud-detector', '--build', file);
    // THEN the record holds every field of the build and the environment
    expect(released.stderr).toBe('');
    expect(released.code).toBe(0);
    expect(parse(readFileSync(join(repo, 'releases/staging/fraud-detector.yaml'), 'utf8'))).toEqual({ ...build, environment: 'staging' });
  });

  it('fails when a build file is bad: exit 1, every problem with its JSON pointer, repository unchanged', async () => {
    // GIVEN a synthesized platform and a build.json with a missing field, a bad hash, another model and a credential
    const repo = join(work, 'bad-build');
    expect((await slipway('synth', '--repo', repo)).code).toBe(0);
    const before = snapshotDir(repo);
    const file = join(work, 'bad-build.json');
    writeFileSync(
      file,
      JSON.stringify({
        model: 'image-classifier',
        modelSha256: 'ABC',
        modelLocation: 'https://ci:s3cret@models.acme.example/m.onnx',
        imageDigest: `sha256:${'d'.repeat(64)}`,
      }),
    );
    // WHEN it is released
    const bad = await slipway('release', '--repo', repo, '--env', 'staging', '--model', 'fraud-detector', '--build', file);
    // THEN every problem is named with its pointer, the secret is not repeated, and nothing changed
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${file}: invalid build record:`);
    expect(bad.stderr).toContain('/version: missing required field');
    expect(bad.stderr).toContain('/modelSha256: expected to match ^[0-9a-f]{64}$, got "ABC"');
    expect(bad.stderr).toContain('/modelLocation: expected a location without credentials');
    expect(bad.stderr).toContain("/model: expected the build of 'fraud-detector' (--model), got a build of 'image-classifier'");
    expect(bad.stderr).not.toContain('s3cret');
    expect(snapshotDir(repo)).toEqual(before);
  });

  it('fails with exit code 1 and a clear message on invalid input', async () => {
    const repo = join(work, 'invalid');
    const result = await slipway('synth', '--app', fixture('shop-invalid'), '--repo', repo);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^slipway: \d+ problem\(s\) found; nothing was written to the config repository:\n  - environments\/\w+\/broken\/deployment-broken\.yaml: Deployment 'broken': data\/spec\/replicas must be integer/);
    const bad = await slipway('release', '--repo', repo, '--env', 'staging', '--model', 'm', '--version', '1', '--artifact-sha256', 'x', '--image-digest', 'y');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/\/modelSha256: expected to match/);
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
