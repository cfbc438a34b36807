import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Every file below `dir` (the .git folder included) with a hash of its bytes: byte-compare repos. */
export function snapshotDir(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path);
      else out.set(path, createHash('sha256').update(readFileSync(join(dir, path))).digest('hex'));
    }
  };
  walk('');
  return out;
}

/** The working tree files (no .git), for reading what Argo CD would see. */
export function workingFiles(dir: string): string[] {
  return [...snapshotDir(dir).keys()].filter((p) => !p.startsWith('.git/')).sort();
}

// Commits the tests make with git itself carry this identity: a fresh CI runner has no user.name.
const TEST_IDENTITY = { GIT_AUTHOR_NAME: 'slipway tests', GIT_AUTHOR_EMAIL: 'tests@slipway.invalid', GIT_COMMITTER_NAME: 'slipway tests', GIT_COMMITTER_EMAIL: 'tests@slipway.invalid' };

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, ...TEST_IDENTITY } });
}
