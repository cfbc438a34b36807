import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONTAINERS_CONF, onPath } from './support.js';
import { describeWithTools } from '../support/tools.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-containers-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('containers/ scripts', () => {
  it('pass shellcheck', () => {
    const scripts = readdirSync('containers').filter((f) => f.endsWith('.sh')).map((f) => join('containers', f));
    expect(scripts).toEqual(['containers/build-base-image.sh', 'containers/image-context.sh']);
    const check = spawnSync('shellcheck', scripts, { encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('image-context.sh fails when DIR holds files it did not make, and leaves them', () => {
    // GIVEN a directory with someone's work in it
    const target = join(dir, 'work');
    mkdirSync(target);
    writeFileSync(join(target, 'notes.txt'), 'keep me');
    // WHEN it is passed as the context directory
    const run = spawnSync(resolve('containers/image-context.sh'), [target], { encoding: 'utf8' });
    // THEN the script refuses, naming the directory, and the file is still there
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(`image-context: ${target} is not empty and was not made by this script; pass a new directory`);
    expect(readdirSync(target)).toEqual(['notes.txt']);
  });

  it('build-base-image.sh fails when mmdebstrap is missing, naming the Debian package', () => {
    // A PATH with the shell's tools but neither mmdebstrap nor podman.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const tool of ['sh', 'sha256sum', 'cut', 'dirname']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      spawnSync('ln', ['-s', found, join(bin, tool)]);
    }
    const run = spawnSync('/bin/sh', [resolve('containers/build-base-image.sh')], { encoding: 'utf8', env: { PATH: bin } });
    expect(run.status).toBe(127);
    expect(run.stderr).toBe('build-base-image: mmdebstrap is not installed (Debian package: mmdebstrap)\n');
  });
});

describeWithTools('containers.conf', onPath('podman') ? undefined : 'podman is not installed (Debian package podman)', () => {
  it('makes podman use runc and the cgroupfs manager (ulimits: checked in a running container, runtime-image.test.ts)', () => {
    const info = spawnSync('podman', ['info', '--format', '{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}}'], { encoding: 'utf8', env: { ...process.env, CONTAINERS_CONF } });
    expect(info.stderr).toBe('');
    expect(info.stdout.trim()).toBe('runc cgroupfs');
  });
});
