import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sourceCommit } from '../../lib/compiler/source-commit.js';

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'slipway-source-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

function repoWithCommit(dir: string): string {
  execFileSync('git', ['init', '-q', '-b', 'main', dir]);
  writeFileSync(join(dir, 'app.ts'), 'export default () => {};\n');
  execFileSync('git', ['-C', dir, 'add', '.']);
  execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'app']);
  return execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
}

describe('sourceCommit', () => {
  it('reads the checked-out commit of the repository the app lives in', async () => {
    const dir = join(work, 'src');
    const head = repoWithCommit(dir);
    expect(await sourceCommit(join(dir, 'app.ts'))).toEqual({ dir, commit: head });
  });

  it('reads it in a linked worktree, whose .git is a file and whose refs live in the common dir', async () => {
    // GIVEN the layout `git worktree add` makes: <wt>/.git names <main>/.git/worktrees/<wt>
    const main = join(work, 'main');
    const head = repoWithCommit(main);
    const wt = join(work, 'wt');
    const gitdir = join(main, '.git', 'worktrees', 'wt');
    mkdirSync(gitdir, { recursive: true });
    mkdirSync(wt);
    writeFileSync(join(wt, '.git'), `gitdir: ${gitdir}\n`);
    writeFileSync(join(gitdir, 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(join(gitdir, 'commondir'), '../..\n');
    writeFileSync(join(wt, 'app.ts'), 'export default () => {};\n');
    // WHEN the source commit of an app there is read THEN it is main's commit
    expect(await sourceCommit(join(wt, 'app.ts'))).toEqual({ dir: wt, commit: head });
    // AND after git gc packs the refs, still
    execFileSync('git', ['-C', main, 'pack-refs', '--all']);
    expect(await sourceCommit(join(wt, 'app.ts'))).toEqual({ dir: wt, commit: head });
  });

  it('gives nothing outside a Git checkout', async () => {
    writeFileSync(join(work, 'app.ts'), '');
    expect(await sourceCommit(join(work, 'app.ts'))).toBeUndefined();
  });
});
