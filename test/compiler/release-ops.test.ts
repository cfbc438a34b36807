import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { releaseHistory } from '../../lib/compiler/history.js';
import { promote, release } from '../../lib/compiler/release-ops.js';
import { synth } from '../../lib/compiler/synth.js';
import type { BuildRecord } from '../../lib/vocabulary/build.js';
import { git, snapshotDir, workingFiles } from './support/repo-snapshot.js';

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

const record = (environment: string, version: string) => ({
  environment,
  model: 'fraud-detector',
  version,
  modelSha256: SHA,
  modelLocation: 'image',
  imageDigest: DIGEST,
});

// What apps/models/fraud-detector.yaml deploys before any release: build 1.3.0 from S3.
const PROPS_MODEL_SHA = 'aa912de101a9084fc7da422869cb464b8410ae7f751d91684fc429c4664880ed';
const PROPS_BASELINE_SHA = '03a00fc941bc1ce14b292c5f45c5cca8bd891288c877cea244b9d803bfc27cfb';
const NEW_MODEL_SHA = '1'.repeat(64);
const NEW_BASELINE_SHA = '2'.repeat(64);

function newBuild(location: 'image' | 'store'): BuildRecord {
  return {
    model: 'fraud-detector',
    version: '1.4.0',
    modelSha256: NEW_MODEL_SHA,
    modelLocation: location === 'image' ? 'image' : 's3://acme-ml-models/fraud-detector/1.4.0/model.onnx',
    baselineSha256: NEW_BASELINE_SHA,
    baselineLocation: location === 'image' ? 'image' : 's3://acme-ml-models/fraud-detector/1.4.0/baseline.json',
    imageDigest: DIGEST,
    source: { repository: 'https://github.com/acme/fraud-detector.git', commit: 'c'.repeat(40), committedAt: '2026-11-30T10:00:00Z' },
    trainingDataSha256: '3'.repeat(64),
    metrics: { auc: 0.93, accuracy: 0.97 },
    trigger: 'drift',
    pipelineRun: 'fraud-detector-training-x7k2p',
    builtAt: '2026-11-30T10:20:00Z',
  };
}

/** The rendered objects of one environment's fraud detector, as text. */
function rendered(environment: string): Array<{ path: string; text: string }> {
  return workingFiles(repo)
    .filter((p) => p.startsWith(`environments/${environment}/fraud-detector/`))
    .map((path) => ({ path, text: readFileSync(join(repo, path), 'utf8') }));
}

function runtimeEnv(environment: string): Record<string, string> {
  const deployment = parse(readFileSync(join(repo, `environments/${environment}/fraud-detector/deployment-fraud-detector.yaml`), 'utf8'));
  const runtime = deployment.spec.template.spec.containers.find((c: { name: string }) => c.name === 'runtime');
  return Object.fromEntries(runtime.env.map((e: { name: string; value: string }) => [e.name, e.value]));
}

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
      `environment: staging\nimageDigest: ${DIGEST}\nmodel: fraud-detector\nmodelLocation: image\nmodelSha256: ${SHA}\nversion: 1.4.0\n`,
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
      release({ ...record('staging', '1.4.0'), modelSha256: 'abc', imageDigest: 'latest' }, { app: APP, repo }),
    ).rejects.toThrow(/\/modelSha256: expected to match \^\[0-9a-f\]\{64\}\$, got "abc"\n  \/imageDigest: expected to match .*, got "latest"/);
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
    await expect(synth({ app: APP, repo })).rejects.toThrow(/releases\/staging\/fraud-detector\.yaml: invalid release record:\n  \/imagedigest: unknown field 'imagedigest'/);
  });
});

describe('one build from release record to pod', () => {
  for (const location of ['image', 'store'] as const) {
    it(`renders the pod from the released build (${location} location): no rendered object names the old hashes, and promote keeps it`, async () => {
      // GIVEN the example platform, whose props deploy build 1.3.0 with its own model and baseline
      await synth({ app: APP, repo });
      expect(rendered('staging').some((f) => f.text.includes(PROPS_MODEL_SHA))).toBe(true);
      const build = newBuild(location);
      // WHEN the retrained build is released to staging and promoted to prod
      await release({ ...build, environment: 'staging' }, { app: APP, repo });
      await promote('fraud-detector', 'staging', 'prod', { app: APP, repo });
      for (const environment of ['staging', 'prod']) {
        // THEN the record keeps every field of the build, only the environment added
        const recorded = parse(readFileSync(join(repo, `releases/${environment}/fraud-detector.yaml`), 'utf8'));
        expect(recorded).toEqual({ ...build, environment });
        // AND no rendered object of the model still names the props' hashes or artifacts
        const files = rendered(environment);
        expect(files.length).toBeGreaterThan(3);
        for (const f of files) {
          expect(f.text, f.path).not.toContain(PROPS_MODEL_SHA);
          expect(f.text, f.path).not.toContain(PROPS_BASELINE_SHA);
          expect(f.text, f.path).not.toContain('/1.3.0/');
        }
        // AND the runtime is told to verify exactly the build's files
        const env = runtimeEnv(environment);
        expect(JSON.parse(env.SLIPWAY_EXPECTED_SHA256!)).toEqual({ 'fraud-detector': { 'model.onnx': NEW_MODEL_SHA, 'baseline.json': NEW_BASELINE_SHA } });
        const deployment = files.find((f) => f.path.endsWith('deployment-fraud-detector.yaml'))!.text;
        if (location === 'image') {
          expect(env.SLIPWAY_MODEL_REPOSITORY).toBe('/models');
          expect(deployment).not.toContain('initContainers');
        } else {
          expect(env.SLIPWAY_MODEL_REPOSITORY).toBe('/mnt/models');
          expect(deployment).toContain('- s3://acme-ml-models/fraud-detector/1.4.0/model.onnx');
          expect(deployment).toContain('- s3://acme-ml-models/fraud-detector/1.4.0/baseline.json');
        }
      }
    });
  }

  it('reads a legacy record (artifactSha256, no URI) as a build served from the image', async () => {
    // GIVEN a record committed before build records existed
    await synth({ app: APP, repo });
    const dir = join(repo, 'releases', 'staging');
    (await import('node:fs')).mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'fraud-detector.yaml'), `environment: staging\nmodel: fraud-detector\nversion: 1.4.0\nartifactSha256: '${NEW_MODEL_SHA}'\nimageDigest: ${DIGEST}\n`);
    git(repo, 'add', '.');
    git(repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'legacy release');
    // WHEN synth reads it
    await synth({ app: APP, repo });
    // THEN the pod serves that build from the image and verifies its sha256
    expect(JSON.parse(runtimeEnv('staging').SLIPWAY_EXPECTED_SHA256!)).toEqual({ 'fraud-detector': { 'model.onnx': NEW_MODEL_SHA } });
    expect(runtimeEnv('staging').SLIPWAY_MODEL_REPOSITORY).toBe('/models');
    expect((await releaseHistory(repo, 'fraud-detector')).get('staging')![0]!.release).toMatchObject({ modelSha256: NEW_MODEL_SHA, modelLocation: 'image' });
  });

  it('fails when a location carries credentials, without echoing them, and leaves the repository untouched', async () => {
    await synth({ app: APP, repo });
    const before = snapshotDir(repo);
    const attempt = release(
      {
        ...newBuild('store'),
        environment: 'staging',
        modelLocation: 'https://alice:hunter2@models.acme.example/fraud/model.onnx',
        baselineLocation: 's3://acme-ml-models/b.json?X-Amz-Signature=abc',
        source: { repository: 'https://x-access-token:ghp_secret@github.com/acme/fraud.git', commit: 'c'.repeat(40) },
      },
      { app: APP, repo },
    );
    await expect(attempt).rejects.toThrow(/\/modelLocation: expected a location without credentials, got user info in https:\/\/\*\*\*@models/);
    await expect(attempt).rejects.toThrow(/\/baselineLocation: expected a location without credentials, got the query parameter 'X-Amz-Signature'/);
    await expect(attempt).rejects.toThrow(/\/source\/repository: expected a location without credentials, got user info in https:\/\/\*\*\*@github\.com/);
    await expect(attempt).rejects.not.toThrow(/hunter2|ghp_secret|=abc/);
    expect(snapshotDir(repo)).toEqual(before);
  });
});
