import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseHistory } from '../../lib/compiler/history.js';
import { promote, release } from '../../lib/compiler/release-ops.js';
import { rollback } from '../../lib/compiler/rollback.js';
import { synth } from '../../lib/compiler/synth.js';
import { describeEvent } from '../../lib/cli/commands/history.js';
import { git, snapshotDir } from './support/repo-snapshot.js';

const APP = new URL('../../apps/main.ts', import.meta.url).pathname;
const record = (environment: string, version: string, sha: string) => ({
  environment,
  model: 'fraud-detector',
  version,
  modelSha256: sha.repeat(64),
  modelLocation: 'image',
  imageDigest: `sha256:${sha.repeat(64)}`,
});
const deployment = (repo: string, env: string) => readFileSync(join(repo, `environments/${env}/fraud-detector/deployment-fraud-detector.yaml`), 'utf8');

let work: string;
let repo: string;
beforeAll(async () => {
  // GIVEN staging ran 1.4.0, then 1.5.0, then 1.6.0 (promoted to prod)
  work = mkdtempSync(join(tmpdir(), 'slipway-rollback-'));
  repo = join(work, 'config-repo');
  await synth({ app: APP, repo });
  await release(record('staging', '1.4.0', 'a'), { app: APP, repo });
  await release(record('staging', '1.5.0', 'b'), { app: APP, repo });
  await release(record('staging', '1.6.0', 'c'), { app: APP, repo });
  await promote('fraud-detector', 'staging', 'prod', { app: APP, repo });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('rollback', () => {
  it('restores the previous record and re-synthesizes the environment in one commit saying from and to', async () => {
    const before = git(repo, 'rev-parse', 'main').trim();
    // WHEN staging is rolled back
    const result = await rollback({ environment: 'staging', model: 'fraud-detector' }, { app: APP, repo });
    // THEN one commit restores 1.5.0's record and objects; prod is untouched
    expect([result.from, result.to]).toEqual(['1.6.0', '1.5.0']);
    expect(git(repo, 'rev-parse', 'main^').trim()).toBe(before);
    const message = git(repo, 'log', '-1', '--format=%B');
    expect(message).toMatch(/^rollback: fraud-detector in staging from 1\.6\.0 to 1\.5\.0\n/);
    expect(message).toMatch(/\nRollback-from: 1\.6\.0 \([0-9a-f]{12}\)\nRollback-to: 1\.5\.0 \([0-9a-f]{12}\)\n/);
    expect(readFileSync(join(repo, 'releases/staging/fraud-detector.yaml'), 'utf8')).toContain(`modelSha256: ${'b'.repeat(64)}`);
    expect(deployment(repo, 'staging')).toContain('app.kubernetes.io/version: 1.5.0');
    expect(deployment(repo, 'staging')).toContain(`@sha256:${'b'.repeat(64)}`);
    expect(deployment(repo, 'prod')).toContain('app.kubernetes.io/version: 1.6.0');
    expect(result.changes.every((c) => !c.path.includes('/prod/'))).toBe(true);
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });

  it('restores a named version with --to, and history shows rollbacks and promotions for what they are', async () => {
    // WHEN staging is rolled back to 1.4.0 by name
    const result = await rollback({ environment: 'staging', model: 'fraud-detector', to: '1.4.0' }, { app: APP, repo });
    // THEN it runs 1.4.0 and history names each kind of change
    expect([result.from, result.to]).toEqual(['1.5.0', '1.4.0']);
    expect(deployment(repo, 'staging')).toContain('app.kubernetes.io/version: 1.4.0');
    const history = await releaseHistory(repo, 'fraud-detector');
    expect(history.get('staging')!.map((e) => [describeEvent(e), e.record?.version])).toEqual([
      ['release', '1.4.0'],
      ['release', '1.5.0'],
      ['release', '1.6.0'],
      ['rollback from 1.6.0', '1.5.0'],
      ['rollback from 1.5.0', '1.4.0'],
    ]);
    expect(history.get('prod')!.map((e) => [describeEvent(e), e.record?.version])).toEqual([['promotion from staging', '1.6.0']]);
  });

  it('fails when the named version never ran there, or there is nothing earlier, leaving the repository untouched', async () => {
    const before = snapshotDir(repo);
    await expect(rollback({ environment: 'staging', model: 'fraud-detector', to: '0.9.0' }, { app: APP, repo })).rejects.toThrow(
      /--to 0\.9\.0: fraud-detector 0\.9\.0 never ran in 'staging'; earlier versions there: 1\.5\.0, 1\.6\.0/,
    );
    await expect(rollback({ environment: 'prod', model: 'fraud-detector' }, { app: APP, repo })).rejects.toMatchObject({ code: 'NOTHING_TO_ROLL_BACK' });
    await expect(rollback({ environment: 'prod', model: 'image-classifier' }, { app: APP, repo })).rejects.toMatchObject({ code: 'RELEASE_NOT_FOUND' });
    expect(snapshotDir(repo)).toEqual(before);
  });
});
