import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { synth } from '../../lib/compiler/synth.js';
import { pipelineRelease } from '../../lib/pipeline/release.js';
import { snapshotDir } from '../compiler/support/repo-snapshot.js';

const work = mkdtempSync(join(tmpdir(), 'slipway-pipeline-release-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const PLATFORM = new URL('../..', import.meta.url).pathname;

const BUILD = {
  model: 'fraud-detector',
  version: '1.6.0',
  modelSha256: '4'.repeat(64),
  modelLocation: 'image',
  baselineSha256: '5'.repeat(64),
  baselineLocation: 'image',
  imageDigest: `sha256:${'6'.repeat(64)}`,
  trigger: 'push',
  pipelineRun: 'fraud-detector-training-z9',
  builtAt: '2026-12-01T08:00:00Z',
};

describe('slipway pipeline release', () => {
  it('records the build file the package step wrote, in the checked-out config repository', async () => {
    // GIVEN the platform checkout (this repository) and a synthesized config repository
    const repo = join(work, 'config');
    await synth({ app: join(PLATFORM, 'apps/main.ts'), repo });
    const buildFile = join(work, 'build.json');
    writeFileSync(buildFile, JSON.stringify(BUILD));
    // WHEN the release step runs
    const lines: string[] = [];
    const result = await pipelineRelease({ platformDir: PLATFORM, appFile: 'apps/main.ts', repo, environment: 'staging', model: 'fraud-detector', buildFile }, (l) => lines.push(l));
    // THEN the whole build is recorded and rendered, with no dependency install (node_modules exist)
    expect(result.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(parse(readFileSync(join(repo, 'releases/staging/fraud-detector.yaml'), 'utf8'))).toEqual({ ...BUILD, environment: 'staging' });
    expect(lines).toEqual([]);
  });

  it('fails when the build is of another model, leaving the repository untouched', async () => {
    const repo = join(work, 'config-2');
    await synth({ app: join(PLATFORM, 'apps/main.ts'), repo });
    const before = snapshotDir(repo);
    const buildFile = join(work, 'other.json');
    writeFileSync(buildFile, JSON.stringify({ ...BUILD, model: 'image-classifier' }));
    await expect(
      pipelineRelease({ platformDir: PLATFORM, appFile: 'apps/main.ts', repo, environment: 'staging', model: 'fraud-detector', buildFile }, () => {}),
    ).rejects.toThrow(/\/model: expected the build of 'fraud-detector' \(--model\), got a build of 'image-classifier'/);
    expect(snapshotDir(repo)).toEqual(before);
  });
});
