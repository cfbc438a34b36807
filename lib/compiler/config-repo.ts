import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import git from 'isomorphic-git';
import { GitIndexManager } from 'isomorphic-git/managers';
import { FileSystem } from 'isomorphic-git/models';
import { SlipwayError } from '../errors.js';
import { crashPoint } from './crash-points.js';
import { durableFs, removeStaleTemporaries, writeFileAtomicSync } from './durable-fs.js';
import {
  type GitObject,
  type Node,
  hashObject,
  isEmptyTree,
  nodeType,
  oidOf,
  storedNode,
  treeObject,
  writePack,
} from './git-objects.js';

export const BRANCH = 'main';
const BRANCH_REF = `refs/heads/${BRANCH}`;
const LOCK_FILE = 'slipway.lock';
// Written between moving the branch and finishing the working tree; a later run completes it.
const CHECKOUT_JOURNAL = 'slipway-checkout.json';
// Below this, loose objects through isomorphic-git; above it one packfile (see writePack).
const PACK_THRESHOLD = 64;

/** One file that differs between two trees. */
export interface FileChange {
  readonly path: string;
  readonly oldOid?: string;
  readonly newOid?: string;
  /** The new content when it was built in memory (otherwise read from the object store). */
  readonly content?: Buffer;
}

export interface TreeDiff {
  readonly changes: FileChange[];
  /** In-memory objects the old tree does not have, to write before committing. */
  readonly newObjects: GitObject[];
}

type Entry = { readonly oid: string; readonly type: 'blob' | 'tree'; readonly node?: Node };

/** A working tree file that differs from the committed tree. */
export interface LocalChange {
  readonly path: string;
  readonly kind: 'modified' | 'deleted' | 'untracked';
}

/** What a run repaired before starting: left by a run that was killed. */
export interface Repairs {
  /** Commit whose working tree an interrupted run left unfinished and this run completed. */
  readonly recoveredCheckout?: string;
  /** The index was unreadable (torn or empty) and was rebuilt from HEAD. */
  readonly rebuiltIndex?: boolean;
}

/** The config repository on disk: reading trees, writing objects, commits and the working tree. */
export class ConfigRepo {
  readonly gitdir: string;
  readonly cache: object = {};

  private constructor(readonly dir: string) {
    this.gitdir = join(dir, '.git');
  }

  static exists(dir: string): boolean {
    return fs.existsSync(join(dir, '.git', 'HEAD'));
  }

  /** Creates the repository (branch main) at `dir`; an existing one is opened instead. */
  static async init(dir: string): Promise<ConfigRepo> {
    if (!ConfigRepo.exists(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      await git.init({ fs: durableFs, dir, defaultBranch: BRANCH });
    }
    return ConfigRepo.open(dir);
  }

  /**
   * A handle on a repository that does not exist yet, for planning the first synth without
   * creating anything: with no base commit, nothing is ever read from it.
   */
  static notYetCreated(dir: string): ConfigRepo {
    return new ConfigRepo(dir);
  }

  /** Opens the repository at `dir`; it must exist and have main checked out. */
  static async open(dir: string): Promise<ConfigRepo> {
    const repo = new ConfigRepo(dir);
    if (!ConfigRepo.exists(dir)) {
      throw new SlipwayError('REPO_NOT_FOUND', `${dir} is not a config repository (no .git): run slipway synth first`);
    }
    const branch = await git.currentBranch({ fs, dir, fullname: false });
    if (branch !== BRANCH) {
      throw new SlipwayError(
        'WRONG_BRANCH',
        `${dir} has branch '${branch ?? '(detached HEAD)'}' checked out; slipway writes '${BRANCH}': check it out first`,
      );
    }
    return repo;
  }

  /** Whether `commit` has `ancestor` in its history. */
  async isDescendant(commit: string, ancestor: string): Promise<boolean> {
    return git.isDescendent({ fs, gitdir: this.gitdir, oid: commit, ancestor, depth: -1, cache: this.cache });
  }

  async hasRemote(name: string): Promise<boolean> {
    return (await git.getConfig({ fs, gitdir: this.gitdir, path: `remote.${name}.url` })) !== undefined;
  }

  /** The commit `main` points at, or undefined in a new repository. */
  async head(): Promise<string | undefined> {
    try {
      return await git.resolveRef({ fs, gitdir: this.gitdir, ref: BRANCH_REF });
    } catch (err) {
      if ((err as { code?: string }).code === 'NotFoundError') return undefined;
      throw err;
    }
  }

  /** Committer time of `commit`, seconds since the epoch. */
  async commitTime(commit: string): Promise<number> {
    return (await git.readCommit({ fs, gitdir: this.gitdir, oid: commit, cache: this.cache })).commit.committer.timestamp;
  }

  async treeOf(commit: string | undefined): Promise<string | undefined> {
    if (!commit) return undefined;
    return (await git.readCommit({ fs, gitdir: this.gitdir, oid: commit, cache: this.cache })).commit.tree;
  }

  async readTree(oid: string): Promise<Map<string, Entry>> {
    const { tree } = await git.readTree({ fs, gitdir: this.gitdir, oid, cache: this.cache });
    return new Map(tree.map((e) => [e.path, { oid: e.oid, type: e.type === 'tree' ? 'tree' : 'blob', node: storedNode(e.type === 'tree' ? 'tree' : 'blob', e.oid, e.mode) }]));
  }

  async readBlob(oid: string): Promise<Buffer> {
    const { blob } = await git.readBlob({ fs, gitdir: this.gitdir, oid, cache: this.cache });
    return Buffer.from(blob);
  }

  /** The entry at `path` below `treeOid`, if any. */
  async entryAt(treeOid: string | undefined, path: string): Promise<Entry | undefined> {
    let entry: Entry | undefined = treeOid ? { oid: treeOid, type: 'tree' } : undefined;
    for (const part of path.split('/').filter(Boolean)) {
      if (!entry || entry.type !== 'tree') return undefined;
      entry = (await this.readTree(entry.oid)).get(part);
    }
    return entry;
  }

  /** Every file below `treeOid`: path → blob id. */
  async listFiles(treeOid: string | undefined, prefix = ''): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (!treeOid) return out;
    const walk = async (oid: string, base: string): Promise<void> => {
      for (const [name, e] of await this.readTree(oid)) {
        if (e.type === 'tree') await walk(e.oid, `${base}${name}/`);
        else out.set(`${base}${name}`, e.oid);
      }
    };
    await walk(treeOid, prefix);
    return out;
  }

  /**
   * Compares a stored tree with a tree built in memory. Only folders whose ids differ are
   * read, so an unchanged environment of a thousand applications costs one comparison.
   */
  async diff(oldTree: string | undefined, newTree: Node | undefined): Promise<TreeDiff> {
    const changes: FileChange[] = [];
    const newObjects: GitObject[] = [];
    const entriesOf = async (node: Node): Promise<Map<string, Entry>> => {
      if (node.kind === 'tree') {
        const m = new Map<string, Entry>();
        for (const [name, child] of node.entries) {
          if (child.kind === 'tree' && isEmptyTree(child)) continue;
          m.set(name, { oid: oidOf(child), type: nodeType(child), node: child });
        }
        return m;
      }
      return this.readTree(node.oid);
    };
    const walk = async (oldOid: string | undefined, node: Node | undefined, base: string): Promise<void> => {
      const newOid = node ? oidOf(node) : undefined;
      if (oldOid === newOid) return;
      if (node?.kind === 'tree') newObjects.push(treeObject(node));
      const before = oldOid ? await this.readTree(oldOid) : new Map<string, Entry>();
      const after = node ? await entriesOf(node) : new Map<string, Entry>();
      for (const name of new Set([...before.keys(), ...after.keys()])) {
        const o = before.get(name);
        const n = after.get(name);
        const path = `${base}${name}`;
        if (o?.type === 'tree' || n?.type === 'tree') {
          await walk(o?.type === 'tree' ? o.oid : undefined, n?.type === 'tree' ? n.node : undefined, `${path}/`);
          if (o && o.type !== 'tree') changes.push({ path, oldOid: o.oid });
          if (n && n.type !== 'tree') changes.push(blobChange(path, undefined, n, newObjects));
          continue;
        }
        if (o?.oid === n?.oid) continue;
        changes.push(n ? blobChange(path, o?.oid, n, newObjects) : { path, oldOid: o!.oid });
      }
    };
    await walk(oldTree, newTree, '');
    changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { changes, newObjects };
  }

  async writeObjects(objects: readonly GitObject[]): Promise<void> {
    if (objects.length >= PACK_THRESHOLD) {
      writePack(this.gitdir, objects);
      crashPoint('objects-written');
      return;
    }
    for (const obj of objects) {
      const oid = await git.writeObject({ fs: durableFs, gitdir: this.gitdir, type: obj.type, object: obj.content, format: 'content' });
      if (oid !== obj.oid) throw new Error(`object id mismatch writing ${obj.type}: ${oid} != ${obj.oid}`);
    }
    crashPoint('objects-written');
  }

  async commit(tree: string, parents: readonly string[], message: string): Promise<string> {
    const author = await this.author();
    const oid = await git.writeCommit({
      fs: durableFs,
      gitdir: this.gitdir,
      commit: { tree, parent: [...parents], message, author, committer: author },
    });
    crashPoint('commit-written');
    return oid;
  }

  private async author(): Promise<{ name: string; email: string; timestamp: number; timezoneOffset: number }> {
    const name = (await git.getConfig({ fs, gitdir: this.gitdir, path: 'user.name' })) as string | undefined;
    const email = (await git.getConfig({ fs, gitdir: this.gitdir, path: 'user.email' })) as string | undefined;
    return {
      name: process.env.SLIPWAY_GIT_AUTHOR_NAME ?? name ?? 'slipway',
      email: process.env.SLIPWAY_GIT_AUTHOR_EMAIL ?? email ?? 'slipway@localhost',
      timestamp: Math.floor(Date.now() / 1000),
      timezoneOffset: 0,
    };
  }

  /**
   * Moves `main` to `commit` and brings the working tree and index along. A journal written
   * first lets the next run finish the working tree if this one is killed half-way.
   */
  async advance(from: string | undefined, commit: string, changes: readonly FileChange[]): Promise<void> {
    const journal = join(this.gitdir, CHECKOUT_JOURNAL);
    writeFileAtomicSync(journal, JSON.stringify({ from: from ?? null, to: commit }));
    crashPoint('journal-written');
    await this.moveBranch(commit);
    crashPoint('ref-moved');
    await this.applyToWorkingTree(changes);
    fs.rmSync(journal);
  }

  /** Points `ref` (main by default) at `commit`, atomically. */
  async moveBranch(commit: string, ref = BRANCH_REF): Promise<void> {
    await git.writeRef({ fs: durableFs, gitdir: this.gitdir, ref, value: commit, force: true });
  }

  /**
   * Repairs what a killed run can leave: stale temporary files, an unfinished working tree
   * (see {@link advance}), an unreadable index. Call with the lock held.
   */
  async repair(): Promise<Repairs> {
    removeStaleTemporaries(this.gitdir);
    const recoveredCheckout = await this.recoverInterruptedCheckout();
    const rebuiltIndex = await this.repairIndex();
    return { ...(recoveredCheckout ? { recoveredCheckout } : {}), ...(rebuiltIndex ? { rebuiltIndex } : {}) };
  }

  /**
   * Rebuilds `.git/index` from HEAD when it cannot be read. Entries get the file's stat data
   * only when the working file still has HEAD's content, so a hand edit stays visible.
   */
  async repairIndex(): Promise<boolean> {
    const head = await this.head();
    const file = join(this.gitdir, 'index');
    if (!head) return false;
    if (indexIntact(file)) return false;
    fs.rmSync(file, { force: true });
    const files = await this.listFiles(await this.treeOf(head));
    await GitIndexManager.acquire({ fs: new FileSystem(durableFs), gitdir: this.gitdir, cache: {} }, async (index) => {
      for (const [path, oid] of files) {
        const abs = join(this.dir, path);
        const intact = fs.existsSync(abs) && hashObject('blob', fs.readFileSync(abs)) === oid;
        index.insert({ filepath: path, oid, stats: intact ? fs.lstatSync(abs) : ZERO_STATS });
      }
    });
    // Forget what isomorphic-git cached of the old index.
    for (const key of Object.getOwnPropertySymbols(this.cache)) delete (this.cache as Record<symbol, unknown>)[key];
    return true;
  }

  /** Finishes a working tree update that an interrupted run left; returns the commit if so. */
  async recoverInterruptedCheckout(): Promise<string | undefined> {
    const journal = join(this.gitdir, CHECKOUT_JOURNAL);
    if (!fs.existsSync(journal)) return undefined;
    const { from, to } = JSON.parse(fs.readFileSync(journal, 'utf8')) as { from: string | null; to: string };
    const head = await this.head();
    if (head !== to) await this.moveBranch(to);
    const toTree = (await this.treeOf(to))!;
    const { changes } = await this.diff(await this.treeOf(from ?? undefined), storedNode('tree', toTree));
    await this.applyToWorkingTree(changes);
    fs.rmSync(journal);
    return to;
  }

  private async applyToWorkingTree(changes: readonly FileChange[]): Promise<void> {
    const written: Array<{ path: string; oid: string }> = [];
    const removed: string[] = [];
    const half = Math.floor(changes.length / 2);
    for (const [i, change] of changes.entries()) {
      if (i === half) crashPoint('working-tree-half');
      const file = join(this.dir, change.path);
      if (change.newOid === undefined) {
        fs.rmSync(file, { force: true });
        removeEmptyParents(this.dir, dirname(file));
        removed.push(change.path);
        continue;
      }
      const content = change.content ?? (await this.readBlob(change.newOid));
      fs.mkdirSync(dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
      written.push({ path: change.path, oid: change.newOid });
    }
    await GitIndexManager.acquire({ fs: new FileSystem(durableFs), gitdir: this.gitdir, cache: this.cache }, async (index) => {
      for (const path of removed) index.delete({ filepath: path });
      for (const { path, oid } of written) index.insert({ filepath: path, oid, stats: fs.lstatSync(join(this.dir, path)) });
    });
    crashPoint('index-written');
  }

  /**
   * Files in the working tree that differ from `treeOid`: edited or deleted tracked files and
   * untracked files (ignored ones excepted). The index's stat data skips hashing unchanged files.
   */
  async localChanges(treeOid: string | undefined): Promise<LocalChange[]> {
    const tracked = await this.listFiles(treeOid);
    const indexed = new Map<string, { oid: string; mtimeSeconds: number; mtimeNanoseconds: number; size: number; ino: number }>();
    if (fs.existsSync(join(this.gitdir, 'index'))) {
      await GitIndexManager.acquire({ fs: new FileSystem(durableFs), gitdir: this.gitdir, cache: this.cache }, async (index) => {
        for (const e of index.entries) indexed.set(e.path, e);
      });
    }
    const dirty: LocalChange[] = [];
    const seen = new Set<string>();
    const walk = async (rel: string): Promise<void> => {
      for (const entry of fs.readdirSync(join(this.dir, rel), { withFileTypes: true })) {
        const path = rel ? `${rel}/${entry.name}` : entry.name;
        if (path === '.git') continue;
        if (entry.isDirectory()) {
          if (!tracked.has(path) && (await git.isIgnored({ fs, dir: this.dir, gitdir: this.gitdir, filepath: path }))) continue;
          await walk(path);
          continue;
        }
        seen.add(path);
        const expected = tracked.get(path);
        if (expected === undefined) {
          if (!(await git.isIgnored({ fs, dir: this.dir, gitdir: this.gitdir, filepath: path }))) dirty.push({ path, kind: 'untracked' });
          continue;
        }
        const st = fs.lstatSync(join(this.dir, path));
        const cached = indexed.get(path);
        if (
          cached &&
          cached.oid === expected &&
          cached.size === st.size &&
          cached.ino === st.ino % 2 ** 32 &&
          cached.mtimeSeconds === Math.floor(st.mtimeMs / 1000) &&
          // Same rounding isomorphic-git uses when it writes the index; a mismatch only costs a hash.
          cached.mtimeNanoseconds === Math.floor((st.mtimeMs - Math.floor(st.mtimeMs / 1000) * 1000) * 1_000_000)
        ) {
          continue;
        }
        if (hashObject('blob', fs.readFileSync(join(this.dir, path))) !== expected) dirty.push({ path, kind: 'modified' });
      }
    };
    await walk('');
    for (const path of tracked.keys()) if (!seen.has(path)) dirty.push({ path, kind: 'deleted' });
    return dirty.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Takes the repository's run lock; the returned function releases it. */
  lock(): () => void {
    const file = join(this.gitdir, LOCK_FILE);
    const body = JSON.stringify({ pid: process.pid, host: hostname() });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        createExclusively(file, body);
        crashPoint('locked');
        return releaseOnExit(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = readLock(file);
        if (holder && holder.host === hostname() && !processAlive(holder.pid)) {
          // The process that took it is gone (killed): the lock is stale.
          fs.rmSync(file, { force: true });
          continue;
        }
        throw new SlipwayError(
          'REPO_LOCKED',
          `another slipway run${holder ? ` (pid ${holder.pid} on ${holder.host})` : ''} is writing ${this.dir}: ` +
            `wait for it to finish; if no such process exists, remove ${file}`,
        );
      }
    }
    throw new SlipwayError('REPO_LOCKED', `could not take the lock ${file}`);
  }
}

function blobChange(path: string, oldOid: string | undefined, n: Entry, newObjects: GitObject[]): FileChange {
  if (n.node?.kind === 'blob') {
    newObjects.push({ type: 'blob', oid: n.oid, content: n.node.content });
    return { path, ...(oldOid ? { oldOid } : {}), newOid: n.oid, content: n.node.content };
  }
  return { path, ...(oldOid ? { oldOid } : {}), newOid: n.oid };
}

// The index ends with the SHA-1 of everything before it: checking it is cheaper than parsing
// 33,000 entries, and catches an empty, truncated or torn file.
function indexIntact(file: string): boolean {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch {
    return false;
  }
  if (data.length < 32 || data.toString('latin1', 0, 4) !== 'DIRC') return false;
  const trailer = data.subarray(-20);
  // Git with index.skipHash writes zeros instead of the checksum.
  if (trailer.every((b) => b === 0)) return true;
  return createHash('sha1').update(data.subarray(0, -20)).digest().equals(trailer);
}

const ZERO_STATS = { ctimeMs: 0, mtimeMs: 0, dev: 0, ino: 0, mode: 0o100644, uid: 0, gid: 0, size: 0 };

// A lock file is either absent or complete: its content is written first, then hard-linked
// into place (link fails when the name exists, like O_EXCL).
function createExclusively(file: string, body: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, body);
  try {
    fs.linkSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

// An app that calls process.exit() (or an uncaught error) ends the process without running
// `finally` blocks: the lock goes with the process all the same.
function releaseOnExit(file: string): () => void {
  const onExit = () => fs.rmSync(file, { force: true });
  process.once('exit', onExit);
  return () => {
    process.removeListener('exit', onExit);
    onExit();
  };
}

function removeEmptyParents(root: string, dir: string): void {
  while (dir.length > root.length && dir.startsWith(root)) {
    try {
      fs.rmdirSync(dir);
    } catch {
      return;
    }
    dir = dirname(dir);
  }
}

function readLock(file: string): { pid: number; host: string } | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number; host: string };
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
