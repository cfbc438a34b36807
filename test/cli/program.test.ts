import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../lib/cli/program.js';

// The compiled CLI (build/, made by vitest's global setup) as installed users run it.
const ROOT = resolve(import.meta.dirname, '../..');
const COMPILED = join(ROOT, 'build/lib/cli/main.js');
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function compiled(...args: string[]) {
  return spawnSync(process.execPath, [COMPILED, ...args], { cwd: ROOT, encoding: 'utf8' });
}

describe('the slipway program', () => {
  it('prints its own version, not the host project’s', () => {
    const run = spawnSync(process.execPath, [COMPILED, '--version'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, npm_package_version: '9.9.9' } });
    expect(run.stdout.trim()).toBe(version);
  });

  it('lists every command in --help from the build-time manifest, as loading every module would', async () => {
    // GIVEN the help of the program with every command module loaded
    const program = await buildProgram();
    const full = program.helpInformation();
    // WHEN the compiled CLI answers --help from its manifest
    const run = compiled('--help');
    // THEN the command list is the same
    expect(run.status).toBe(0);
    const commands = (help: string) => help.slice(help.indexOf('Commands:'));
    expect(commands(run.stdout)).toBe(commands(full));
  });

  it('loads only the requested command and shows its own options', () => {
    const run = compiled('synth', '--help');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('--no-type-check');
  });

  it('fails with the stable error id under the message', () => {
    const run = compiled('synth', '--app', 'does/not/exist.ts', '--repo', join(ROOT, '.tmp', 'never'));
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      'slipway: app module does/not/exist.ts does not exist (pass --app path/to/app.ts)\n' +
        '  error SLIPWAY_E0101 (APP_NOT_FOUND): cause and fix in docs/errors.md#slipway_e0101\n',
    );
  });
});
