import * as fs from 'node:fs';
import { dirname, resolve } from 'node:path';
import git from 'isomorphic-git';

/** The commit checked out in the Git repository the app lives in, if it lives in one. */
export async function sourceCommit(appPath: string): Promise<{ dir: string; commit: string } | undefined> {
  try {
    const dir = await git.findRoot({ fs, filepath: dirname(resolve(appPath)) });
    const commit = await git.resolveRef({ fs, dir, ref: 'HEAD' });
    return { dir, commit };
  } catch {
    // Not a Git checkout, or one without commits yet: the message just has no source line.
    return undefined;
  }
}
