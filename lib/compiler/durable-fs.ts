import * as fs from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { crashPoint } from './crash-points.js';

// Every file isomorphic-git writes (index, refs, loose objects, config, HEAD) goes through
// here: written to a temporary file in the git directory, flushed, then renamed over the real
// name. A process killed at any moment leaves either the old file or the new one, never a
// torn one (a 0-byte .git/index made every later run crash before this).

/** Prefix of temporary files in the git directory; a run holding the lock removes stale ones. */
export const TEMP_PREFIX = 'tmp_slipway_';

let counter = 0;

function gitdirOf(path: string): string {
  const marker = `${sep}.git${sep}`;
  const at = path.lastIndexOf(marker);
  return at >= 0 ? path.slice(0, at + marker.length - 1) : dirname(path);
}

/** Writes `data` to `path` atomically: temporary file in the same file system, fsync, rename. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, tempDir = gitdirOf(path)): void {
  const tmp = join(tempDir, `${TEMP_PREFIX}${process.pid}_${counter++}_${basename(path)}`);
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  crashPoint(`before-rename:${stageName(path)}`);
  try {
    fs.renameSync(tmp, path);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

// 'index', 'ref' or 'object': what a crash test names to die just before that rename.
function stageName(path: string): string {
  if (/[\\/]objects[\\/][0-9a-f]{2}[\\/][0-9a-f]{38}$/.test(path)) return 'object';
  if (/[\\/]refs[\\/]/.test(path)) return 'ref';
  return basename(path);
}

async function writeFile(path: fs.PathLike | fs.promises.FileHandle, data: string | Uint8Array, options?: unknown): Promise<void> {
  if (typeof path !== 'string') return fs.promises.writeFile(path, data, options as fs.WriteFileOptions);
  if (!fs.existsSync(dirname(path))) {
    // isomorphic-git creates missing folders after a failed write; fail the same way.
    const err = new Error(`ENOENT: no such file or directory, open '${path}'`) as NodeJS.ErrnoException;
    err.code = 'ENOENT';
    throw err;
  }
  writeFileAtomicSync(path, data);
}

/** node:fs for isomorphic-git, with atomic writes. */
export const durableFs = {
  promises: {
    readFile: fs.promises.readFile,
    writeFile,
    mkdir: fs.promises.mkdir,
    rmdir: fs.promises.rmdir,
    rm: fs.promises.rm,
    unlink: fs.promises.unlink,
    stat: fs.promises.stat,
    lstat: fs.promises.lstat,
    readdir: fs.promises.readdir,
    readlink: fs.promises.readlink,
    symlink: fs.promises.symlink,
    chmod: fs.promises.chmod,
  },
};

/** Removes temporary files a killed run left in `gitdir` (call with the lock held). */
export function removeStaleTemporaries(gitdir: string): number {
  let removed = 0;
  for (const name of fs.readdirSync(gitdir)) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    fs.rmSync(join(gitdir, name), { force: true });
    removed++;
  }
  return removed;
}
