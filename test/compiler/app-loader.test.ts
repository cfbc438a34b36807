import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Release } from '../../constructs/index.js';
import { compileApp, importApp } from '../../lib/compiler/app-loader.js';

const ROOT = resolve(import.meta.dirname, '../..');
// Below the checkout (.tmp/ is ignored by Git) so the apps resolve cdk8s and find tsconfig.json.
mkdirSync(join(ROOT, '.tmp'), { recursive: true });
const work = mkdtempSync(join(ROOT, '.tmp', 'app-loader-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const header = `import { App } from 'cdk8s';
import { Environment, ModelDeployment, Platform } from '${ROOT}/constructs/index.js';
import { deploymentProps } from '${ROOT}/test/support/fixtures.js';
`;

function app(name: string, body: string): string {
  const file = join(work, name);
  writeFileSync(file, header + body);
  return file;
}

const SCRIPT = `
const app = new App();
const platform = new Platform(app, 'scripted', { repoURL: 'https://git.example.com/scripted/config.git' });
new ModelDeployment(new Environment(platform, 'staging', { namespace: 'ml-staging' }), 'fraud-detector', deploymentProps());
app.synth();
`;

const release = {
  environment: 'staging',
  model: 'fraud-detector',
  version: '9.9.9',
  artifactSha256: 'e'.repeat(64),
  modelSha256: 'e'.repeat(64),
  modelLocation: 'image',
  imageDigest: `sha256:${'f'.repeat(64)}`,
} as unknown as Release;

function deploymentVersions(platforms: Awaited<ReturnType<typeof compileApp>>): string[] {
  return platforms
    .flatMap((p) => p.environments.flatMap((e) => e.applications.flatMap((a) => a.objects)))
    .filter((o) => o.kind === 'Deployment' || o.kind === 'Rollout')
    .map((o) => o.metadata.labels?.['app.kubernetes.io/version'] ?? '');
}

describe('importApp', () => {
  it('runs a script that creates an App and calls app.synth(), writing nothing, with the releases in context', async () => {
    // GIVEN an app shaped like the cdk8s templates: no export, synth() at the end
    const file = app('script.ts', SCRIPT);
    // WHEN slipway loads and compiles it, first without releases, then with one
    const loaded = await importApp(file, { typeCheck: true });
    const plain = await compileApp(loaded.build, [], file);
    const released = await compileApp(loaded.build, [release], file);
    // THEN its platform comes out, the release picks the build, and no dist/ was written
    expect(plain.map((p) => p.name)).toEqual(['scripted']);
    expect(deploymentVersions(plain)).toEqual(['1.3.0']);
    expect(deploymentVersions(released)).toEqual(['9.9.9']);
  }, 60_000);

  it('runs a module exporting build(app) with the releases in context', async () => {
    const file = app('module.ts', `
export default function build(app: App): void {
  const platform = new Platform(app, 'built', { repoURL: 'https://git.example.com/built/config.git' });
  new ModelDeployment(new Environment(platform, 'staging', { namespace: 'ml-staging' }), 'fraud-detector', deploymentProps());
}
`);
    const loaded = await importApp(file);
    expect(deploymentVersions(await compileApp(loaded.build, [release], file))).toEqual(['9.9.9']);
  });

  it('fails when a TypeScript app does not type-check, naming file:line:column and the message', async () => {
    // GIVEN a misspelled prop, which plain JavaScript would silently ignore
    const file = app('typo.ts', `
const app = new App();
const platform = new Platform(app, 'typo', { repoURL: 'https://git.example.com/typo/config.git' });
new ModelDeployment(new Environment(platform, 'staging', { namespace: 'ml-staging' }), 'fraud-detector', { ...deploymentProps(), maxReplica: 8 });
app.synth();
`);
    // WHEN it is loaded with the type-check THEN it fails before running
    const failure = importApp(file, { typeCheck: true });
    await expect(failure).rejects.toMatchObject({ code: 'APP_TYPE_ERRORS', id: 'SLIPWAY_E0104' });
    await expect(failure).rejects.toThrow(
      new RegExp(`typo\\.ts:7:\\d+ - error TS2561: Object literal may only specify known properties, but 'maxReplica' does not exist in type 'ModelDeploymentProps'. Did you mean to write 'maxReplicas'\\?`),
    );
    // AND --no-type-check runs it anyway
    await expect(importApp(file, { typeCheck: false })).resolves.toBeDefined();
  }, 60_000);

  it('fails when an app that passed the type-check is edited into one that does not (the pass cache notices)', async () => {
    const body = `
export default function build(app: App): void {
  const platform = new Platform(app, 'edited', { repoURL: 'https://git.example.com/edited/config.git' });
  new ModelDeployment(new Environment(platform, 'staging', { namespace: 'ml-staging' }), 'fraud-detector', { ...deploymentProps(), minReplicas: 1 });
}
`;
    const file = app('edited.ts', body);
    await importApp(file, { typeCheck: true });
    writeFileSync(file, header + body.replace('minReplicas: 1', "minReplicas: 'one'"));
    await expect(importApp(file, { typeCheck: true })).rejects.toMatchObject({ code: 'APP_TYPE_ERRORS' });
  }, 60_000);

  it('fails when the module neither exports build(app) nor calls app.synth()', async () => {
    const file = app('nothing.ts', `
export const unrelated = 1;
`);
    await expect(importApp(file)).rejects.toMatchObject({ code: 'APP_INVALID' });
    await expect(importApp(file)).rejects.toThrow('must export a default function build(app: App), or create an App and call app.synth()');
  });
});
