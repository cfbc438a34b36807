import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// npm's own range logic (semver ships without types).
const semver = createRequire(import.meta.url)('semver') as { satisfies(version: string, range: string): boolean };

// `npm ci` on a supported Node prints no warnings: no EBADENGINE, no unknown .npmrc keys.
const ROOT = resolve(import.meta.dirname, '../..');
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[]; optional?: boolean }>;
};
const ours = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };

describe('install', () => {
  it('locks only packages whose engines accept every Node version slipway supports', () => {
    // The oldest releases our engines range admits, of each supported major.
    const supported = ['20.19.0', '22.12.0'];
    for (const version of supported) expect(semver.satisfies(version, ours.engines.node), version).toBe(true);
    const refused = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.engines && !Array.isArray(p.engines) && p.engines.node)
      .flatMap(([path, p]) =>
        supported.filter((v) => !semver.satisfies(v, (p.engines as { node: string }).node)).map((v) => `${path}@${p.version} needs node ${(p.engines as { node: string }).node}, not ${v}`),
      );
    expect(refused).toEqual([]);
  });

  it('has no .npmrc key npm does not know', () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    const output = execFileSync('npm', ['config', 'get', 'registry'], { cwd: ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(output).not.toMatch(/Unknown/);
    const stderr = execFileSync('sh', ['-c', 'npm config get registry 2>&1 >/dev/null'], { cwd: ROOT, env, encoding: 'utf8' });
    expect(stderr).toBe('');
  });
});
