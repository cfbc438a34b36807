import * as fs from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import git from 'isomorphic-git';

/** The commit checked out in the Git repository the app lives in, if it lives in one. */
export async function sourceCommit(appPath: string): Promise<{ dir: string; commit: string } | undefined> {
  try {
    const dir = await git.findRoot({ fs, filepath: dirname(resolve(appPath)) });
    const dotGit = join(dir, '.git');
    const commit = fs.statSync(dotGit).isFile() ? worktreeHead(dotGit) : await git.resolveRef({ fs, dir, ref: 'HEAD' });
    return commit ? { dir, commit } : undefined;
  } catch {
    // Not a Git checkout, or one without commits yet: the message just has no source line.
    return undefined;
  }
}

// A linked worktree (`git worktree add`) or submodule: `.git` is a file naming the git dir,
// whose refs live in the common dir. isomorphic-git reads neither, so HEAD is resolved here.
function worktreeHead(dotGitFile: string): string | undefined {
  const pointer = /^gitdir: (.+)$/m.exec(fs.readFileSync(dotGitFile, 'utf8'))?.[1]?.trim();
  if (!pointer) return undefined;
  const gitdir = isAbsolute(pointer) ? pointer : resolve(dirname(dotGitFile), pointer);
  const commonFile = join(gitdir, 'commondir');
  const common = fs.existsSync(commonFile) ? resolve(gitdir, fs.readFileSync(commonFile, 'utf8').trim()) : gitdir;
  const head = fs.readFileSync(join(gitdir, 'HEAD'), 'utf8').trim();
  const ref = /^ref: (.+)$/.exec(head)?.[1];
  if (!ref) return /^[0-9a-f]{40}$/.test(head) ? head : undefined;
  for (const base of [gitdir, common]) {
    const file = join(base, ref);
    if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  }
  const packed = join(common, 'packed-refs');
  if (!fs.existsSync(packed)) return undefined;
  return fs
    .readFileSync(packed, 'utf8')
    .split('\n')
    .map((l) => /^([0-9a-f]{40}) (.+)$/.exec(l))
    .find((m) => m?.[2] === ref)?.[1];
}
