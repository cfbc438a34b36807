import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initProject } from '../../lib/scaffold/init.js';

const ROOT = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'slipway-init-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** What `npm install` would give the project, without the network: this checkout's packages. */
function linkDependencies(dir: string): void {
  const modules = join(dir, 'node_modules');
  mkdirSync(modules);
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry));
  symlinkSync(ROOT, join(modules, 'slipway'));
}

describe('slipway init', () => {
  it('scaffolds a project that type-checks, passes its test and synthesizes', async () => {
    // GIVEN a new project
    const dir = join(work, 'acme-ml');
    const result = await initProject({ dir, model: 'churn' });
    expect(result.files).toEqual(['package.json', '.gitignore', 'cdk8s.yaml', 'tsconfig.json', 'apps/models/churn.yaml', 'apps/main.ts', 'test/main.test.ts', 'README.md']);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const ours = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    // AND run from this checkout, it depends on the checkout (its version is not published)
    expect(ours.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(pkg.dependencies.slipway).toBe(`file:${relative(dir, ROOT)}`);
    expect(result.slipwaySpecifier).toBe(`file:${relative(dir, ROOT)}`);
    expect(pkg.scripts.synth).toBe('cdk8s synth --no-check-upgrade');
    linkDependencies(dir);
    const run = (cmd: string, args: string[]) =>
      execFileSync(join(dir, 'node_modules/.bin', cmd), args, { cwd: dir, encoding: 'utf8', env: { ...process.env, CDK8S_OUTDIR: join(dir, 'dist'), CI: 'true' } });
    // WHEN it is type-checked, tested and synthesized as cdk8s would
    run('tsc', ['--noEmit']);
    expect(run('vitest', ['run'])).toMatch(/1 passed/);
    run('tsx', ['apps/main.ts']);
    // THEN both environments come out
    expect(readdirSync(join(dir, 'dist')).map((f) => f.replace(/-[0-9a-f]{8}\.k8s\.yaml$/, ''))).toEqual(['acme-ml-prod-churn', 'acme-ml-staging-churn']);
  }, 120_000);

  it('depends on the folder --slipway-from names', async () => {
    const dir = join(work, 'local');
    const tarball = join(work, 'slipway-9.9.9.tgz');
    writeFileSync(tarball, '');
    await initProject({ dir, slipwayFrom: tarball });
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(pkg.dependencies.slipway).toBe(`file:${relative(dir, tarball)}`);
  });

  it('fails when --slipway-from does not exist, creating no folder', async () => {
    const dir = join(work, 'nowhere');
    await expect(initProject({ dir, slipwayFrom: join(work, 'missing.tgz') })).rejects.toMatchObject({ code: 'INIT_INVALID_SOURCE' });
    expect(existsSync(dir)).toBe(false);
  });

  it('fails when the folder is not empty, writing nothing', async () => {
    const dir = join(work, 'busy');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    await expect(initProject({ dir })).rejects.toThrow(`${dir} is not empty (notes.txt); choose a new or empty folder`);
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('fails when the model name is not a DNS-1123 label, creating no folder', async () => {
    const dir = join(work, 'bad-name');
    await expect(initProject({ dir, model: 'My Model' })).rejects.toThrow(`--model: expected a DNS-1123 label (lower-case letters, digits and '-'), got "My Model"`);
    expect(existsSync(dir)).toBe(false);
  });
});
