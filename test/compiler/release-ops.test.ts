import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { releaseHistory } from '../../lib/compiler/history.js';
import { promote, release } from '../../lib/compiler/release-ops.js';
import { synth } from '../../lib/compiler/synth.js';
import { git, snapshotDir } from './support/repo-snapshot.js';

// The lead's example platform: ModelDeployment reads the release records from the context.
const APP = new URL('../../apps/main.ts', import.meta.url).pathname;
const SHA = 'a'.repeat(64);
const DIGEST = `sha256:${'b'.repeat(64)}`;

let work: string;
let repo: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'slipway-release-'));
  repo = join(work, 'config-repo');
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const record = (environment: string, version: string) => ({ environment, model: 'fraud-detector', version, artifactSha256: SHA, imageDigest: DIGEST });

describe('release, promote and history', () => {
  it('writes the release record and re-synthesizes that environment in one commit', async () => {
    // GIVEN a synthesized example platform
    await synth({ app: APP, repo });
    // WHEN fraud-detector 1.4.0 is released to staging
    const result = await release(record('staging', '1.4.0'), { app: APP, repo });
    // THEN one commit holds the record and staging's objects that now carry 1.4.0; prod is untouched
    expect(git(repo, 'show', '--stat', '--format=%s', 'HEAD')).toContain('release: fraud-detector 1.4.0 to staging');
    const paths = result.changes.map((c) => c.path);
    expect(paths).toContain('releases/staging/fraud-detector.yaml');
    expect(paths.some((p) => p.startsWith('environments/staging/fraud-detector/'))).toBe(true);
    expect(paths.some((p) => p.startsWith('environments/prod/'))).toBe(false);
    expect(readFileSync(join(repo, 'releases/staging/fraud-detector.yaml'), 'utf8')).toBe(
      `artifactSha256: ${SHA}\nenvironment: staging\nimageDigest: ${DIGEST}\nmodel: fraud-detector\nversion: 1.4.0\n`,
    );
    expect(readFileSync(join(repo, 'environments/staging/fraud-detector/deployment-fraud-detector.yaml'), 'utf8')).toContain(`@${DIGEST}`);
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });

  it('promotes a release to the next environment and lists both in the history', async () => {
    // GIVEN releases 1.4.0 then 1.5.0 to staging
    await synth({ app: APP, repo });
    await release(record('staging', '1.4.0'), { app: APP, repo });
    await release(record('staging', '1.5.0'), { app: APP, repo });
    // WHEN staging's release is promoted to prod
    const promoted = await promote('fraud-detector', 'staging', 'prod', { app: APP, repo });
    // THEN prod carries 1.5.0 and history lists the releases per environment, oldest first
    expect(promoted.message).toMatch(/^promote: fraud-detector 1\.5\.0 from staging to prod\n/);
    expect(readFileSync(join(repo, 'environments/prod/fraud-detector/deployment-fraud-detector.yaml'), 'utf8')).toContain('app.kubernetes.io/version: 1.5.0');
    const history = await releaseHistory(repo, 'fraud-detector');
    expect(history.get('staging')!.map((e) => e.release?.version)).toEqual(['1.4.0', '1.5.0']);
    expect(history.get('prod')!.map((e) => [e.release?.version, e.subject])).toEqual([['1.5.0', 'promote: fraud-detector 1.5.0 from staging to prod']]);
    expect(history.get('prod')![0]!.commit).toBe(promoted.commit);
  });

  it('fails when a release record is invalid, naming the fields, and leaves the repository untouched', async () => {
    await synth({ app: APP, repo });
    const before = snapshotDir(repo);
    await expect(
      release({ ...record('staging', '1.4.0'), artifactSha256: 'abc', imageDigest: 'latest' }, { app: APP, repo }),
    ).rejects.toThrow(/artifactSha256: expected to match \^\[0-9a-f\]\{64\}\$, got "abc"; imageDigest: expected to match .*, got "latest"/);
    await expect(release(record('qa', '1.4.0'), { app: APP, repo })).rejects.toThrow(/unknown environment 'qa'/);
    await expect(release({ ...record('staging', '1.4.0'), model: 'fraud-detectr' }, { app: APP, repo })).rejects.toThrow(
      /no application in 'staging' deploys model 'fraud-detectr' \(no object labelled app\.kubernetes\.io\/name=fraud-detectr\); it deploys 'fraud-detector', 'image-classifier'/,
    );
    expect(snapshotDir(repo)).toEqual(before);
  });

  it('fails when promoting a model that has no release in the source environment', async () => {
    await synth({ app: APP, repo });
    await expect(promote('fraud-detector', 'staging', 'prod', { app: APP, repo })).rejects.toThrow(
      /no release of 'fraud-detector' in 'staging' \(releases\/staging\/fraud-detector\.yaml is missing/,
    );
  });

  it('fails when a committed release record breaks the schema, naming the file', async () => {
    // GIVEN a hand-committed record with an unknown field
    await synth({ app: APP, repo });
    const dir = join(repo, 'releases', 'staging');
    (await import('node:fs')).mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'fraud-detector.yaml'), `${readFileSync(new URL('./fixtures/release-with-typo.yaml', import.meta.url), 'utf8')}`);
    git(repo, 'add', '.');
    git(repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'hand-written release');
    // WHEN synth reads it THEN the error names the file and the field
    await expect(synth({ app: APP, repo })).rejects.toThrow(/releases\/staging\/fraud-detector\.yaml: invalid release record: \(record\): unknown field 'imagedigest'/);
  });
});
