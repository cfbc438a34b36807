import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Release } from '../../constructs/release.js';
import { SlipwayError } from '../errors.js';
import { compileApp, importApp } from './app-loader.js';
import { ConfigRepo, type FileChange, type TreeDiff } from './config-repo.js';
import { type Node, type TreeNode, blobNode, oidOf, storedNode, treeNode } from './git-objects.js';
import { type ApplicationSummary, GENERATED_ROOTS, type RenderedRepo, renderRepo } from './layout.js';
import { type ProgressSink, silentProgress } from './progress.js';
import { RELEASES_DIR, parseRelease, releasePath, serializeRelease } from './releases.js';
import { Remote } from './remote.js';
import { sourceCommit } from './source-commit.js';
import { ObjectValidator, checkKustomizations, validationError } from './validate.js';
import { toYaml } from './yaml.js';

export interface SynthOptions {
  /** The app module: `export default function build(app: App)`. */
  readonly app: string;
  /** The config repository folder; created on the first commit. */
  readonly repo: string;
  /** Only re-synthesize these environments; the others keep what the repository has. */
  readonly environments?: readonly string[];
  /** Overwrite uncommitted edits in the config repository. */
  readonly force?: boolean;
  /** `apiVersion/Kind` keys accepted without an upstream schema. */
  readonly allowKinds?: readonly string[];
  /** Release records to write in the same commit (slipway release / promote). */
  readonly releases?: readonly Release[];
  /** First line of the commit message. */
  readonly title?: string;
  /** Remote name or http(s) URL to push main to. */
  readonly push?: string;
  /** Attempts at a push that the remote rejects because it moved on. */
  readonly pushAttempts?: number;
  readonly progress?: ProgressSink;
  /** Type-check a TypeScript app before running it (the CLI does unless --no-type-check). */
  readonly typeCheck?: boolean;
}

export interface SynthResult {
  /** The new commit, when the tree changed. */
  readonly commit?: string;
  /** main after the run (the new commit or the unchanged head). */
  readonly head?: string;
  readonly changes: readonly FileChange[];
  readonly applications: readonly ApplicationSummary[];
  readonly message?: string;
  readonly pushed?: { readonly url: string; readonly attempts: number };
  /** Commit whose working tree an interrupted earlier run left unfinished and this run completed. */
  readonly recovered?: string;
}

/** What a synth on top of one base commit would produce, before anything is written. */
export interface Plan {
  readonly base?: string;
  readonly baseTree?: string;
  readonly root: TreeNode;
  readonly changed: boolean;
  readonly diff: TreeDiff;
  readonly rendered: RenderedRepo;
  readonly message: string;
  /** Whether the render cache alone proved the tree unchanged (no YAML was written). */
  readonly fromCache: boolean;
}

// ModelDeployment labels every object with its model's name.
const MODEL_LABEL = 'app.kubernetes.io/name';

type Build = Awaited<ReturnType<typeof importApp>>['build'];

export interface Context {
  readonly options: SynthOptions;
  readonly build: Build;
  readonly source?: { dir: string; commit: string };
  readonly progress: ProgressSink;
  readonly validator: ObjectValidator;
}

/** Loads the app module once; plans and validators of one command share it. */
export async function createContext(options: SynthOptions): Promise<Context> {
  const progress = options.progress ?? silentProgress;
  progress.update(`loading ${options.app}`);
  const { build, allowUnvalidatedKinds } = await importApp(options.app, { typeCheck: options.typeCheck ?? false });
  const source = await sourceCommit(options.app);
  const validator = new ObjectValidator({ allowUnvalidatedKinds: [...allowUnvalidatedKinds, ...(options.allowKinds ?? [])] });
  return { options, build, progress, validator, ...(source ? { source } : {}) };
}

/** Computes what a synth would commit on top of `base`, validating nothing yet. */
export async function plan(repo: ConfigRepo, base: string | undefined, ctx: Context): Promise<Plan> {
  const { options, progress } = ctx;
  const baseTree = await repo.treeOf(base);
  const releases = await readReleases(repo, baseTree);
  for (const r of options.releases ?? []) releases.set(releasePath(r.environment, r.model), r);

  progress.update('building the app');
  const platforms = await compileApp(ctx.build, [...releases.values()], options.app);
  const known = new Set(platforms.flatMap((p) => p.environments.map((e) => e.name)));
  for (const r of options.releases ?? []) {
    if (!known.has(r.environment)) {
      throw new SlipwayError('UNKNOWN_ENVIRONMENT', `unknown environment '${r.environment}'; the app defines ${[...known].map((e) => `'${e}'`).join(', ')}`);
    }
    // A release nobody reads (a misspelt model) would commit and change nothing in the cluster.
    const env = platforms.flatMap((p) => p.environments).find((e) => e.name === r.environment)!;
    const deployed = new Set(env.applications.flatMap((a) => a.objects.map((o) => o.metadata.labels?.[MODEL_LABEL]).filter((m) => m !== undefined)));
    if (!deployed.has(r.model)) {
      throw new SlipwayError(
        'UNKNOWN_MODEL',
        `no application in '${r.environment}' deploys model '${r.model}' (no object labelled ${MODEL_LABEL}=${r.model}); ` +
          `it deploys ${[...deployed].sort().map((m) => `'${m}'`).join(', ') || 'no models'}`,
      );
    }
  }
  progress.update('rendering');
  const only = options.environments && options.environments.length > 0 ? new Set(options.environments) : undefined;
  const rendered = renderRepo(platforms, only);

  // The render cache maps each file's data to the blob it became in the base commit, so an
  // unchanged synth skips writing YAML. It only ever proves "no change": any difference and
  // the tree is built again from freshly written YAML.
  const cache = readRenderCache(repo, baseTree);
  const misses = { count: 0 };
  let root = await buildTree(repo, baseTree, rendered, only, options.releases ?? [], cache, misses);
  const unchanged = cache !== undefined && oidOf(root) === baseTree;
  if (cache && !unchanged) root = await buildTree(repo, baseTree, rendered, only, options.releases ?? [], undefined, misses);
  const fromCache = unchanged && misses.count === 0;

  const rootOid = oidOf(root);
  const changed = rootOid !== baseTree;
  const diff = changed ? await repo.diff(baseTree, root) : { changes: [], newObjects: [] };
  return { ...(base ? { base } : {}), ...(baseTree ? { baseTree } : {}), root, changed, diff, rendered, fromCache, message: commitMessage(diff.changes, ctx, releases) };
}

async function buildTree(
  repo: ConfigRepo,
  baseTree: string | undefined,
  rendered: RenderedRepo,
  only: ReadonlySet<string> | undefined,
  releases: readonly Release[],
  cache: RenderCache | undefined,
  misses: { count: number },
): Promise<TreeNode> {
  const root = treeNode();
  const tree = new LazyTree(repo, root);
  if (baseTree) {
    for (const [name, entry] of await repo.readTree(baseTree)) {
      const generated = (GENERATED_ROOTS as readonly string[]).includes(name);
      if (!generated || (only && name !== 'platform')) root.entries.set(name, entry.node!);
    }
    if (only) {
      for (const env of rendered.environments) {
        await tree.remove(`apps/${env}`);
        await tree.remove(`environments/${env}`);
        await tree.remove(`bootstrap/${env}.yaml`);
      }
    }
  }
  for (const [path, doc] of rendered.documents) {
    const hit = cache?.entries.get(path);
    if (hit && hit.key === cacheKey(doc)) {
      await tree.set(path, storedNode('blob', hit.oid));
    } else {
      misses.count++;
      await tree.set(path, blobNode(toYaml(doc)));
    }
  }
  for (const r of releases) await tree.set(releasePath(r.environment, r.model), blobNode(serializeRelease(r)));
  return root;
}

interface RenderCache {
  readonly entries: Map<string, { key: string; oid: string }>;
}

const RENDER_CACHE = 'slipway-render-cache.json';
// Cached blobs are only valid for the YAML emitter that wrote them.
const EMITTER_FINGERPRINT = emitterFingerprint();

function emitterFingerprint(): string {
  const dir = dirname(fileURLToPath(import.meta.url));
  const source = ['yaml.ts', 'yaml.js'].map((f) => join(dir, f)).find((f) => existsSync(f))!;
  return createHash('sha1').update(readFileSync(source)).digest('hex');
}

function cacheKey(doc: unknown): string {
  return createHash('sha1').update(JSON.stringify(doc)).digest('base64');
}

function readRenderCache(repo: ConfigRepo, baseTree: string | undefined): RenderCache | undefined {
  if (!baseTree) return undefined;
  try {
    const raw = JSON.parse(readFileSync(join(repo.gitdir, RENDER_CACHE), 'utf8')) as { emitter: string; tree: string; entries: Record<string, string> };
    if (raw.emitter !== EMITTER_FINGERPRINT || raw.tree !== baseTree) return undefined;
    return { entries: new Map(Object.entries(raw.entries).map(([path, v]) => [path, { key: v.slice(0, 28), oid: v.slice(29) }])) };
  } catch {
    return undefined;
  }
}

/** Records which blob each rendered file became in `tree`, for the next run's no-change check. */
function writeRenderCache(repo: ConfigRepo, p: Plan): void {
  const entries: Record<string, string> = {};
  for (const [path, doc] of p.rendered.documents) {
    const node = nodeAt(p.root, path);
    if (node) entries[path] = `${cacheKey(doc)} ${oidOf(node)}`;
  }
  const file = join(repo.gitdir, RENDER_CACHE);
  writeFileSync(`${file}.tmp`, JSON.stringify({ emitter: EMITTER_FINGERPRINT, tree: oidOf(p.root), entries }));
  renameSync(`${file}.tmp`, file);
}

function nodeAt(root: TreeNode, path: string): Node | undefined {
  let node: Node | undefined = root;
  for (const part of path.split('/')) node = node?.kind === 'tree' ? node.entries.get(part) : undefined;
  return node;
}

async function validate(p: Plan, ctx: Context): Promise<void> {
  const total = p.rendered.objects.size;
  let done = 0;
  const problems = [];
  for (const [path, obj] of p.rendered.objects) {
    problems.push(...(await ctx.validator.problemsOf(path, obj)));
    ctx.progress.update('validating objects', ++done, total);
  }
  problems.push(...checkKustomizations(new Set(p.rendered.documents.keys()), p.rendered.kustomizations, p.rendered.objects));
  if (problems.length > 0) throw validationError(problems);
}

/** `slipway synth`: renders, validates and commits (and pushes) in one locked run. */
export async function synth(options: SynthOptions): Promise<SynthResult> {
  const ctx = await createContext(options);
  try {
    return options.push ? await synthAndPush(ctx, options.push) : await synthLocal(ctx);
  } finally {
    ctx.progress.clear();
  }
}

async function synthLocal(ctx: Context): Promise<SynthResult> {
  const existing = ConfigRepo.exists(ctx.options.repo) ? await ConfigRepo.open(ctx.options.repo) : undefined;
  if (!existing) {
    // Nothing is created until the first commit passes validation.
    const p = await plan(ConfigRepo.notYetCreated(ctx.options.repo), undefined, ctx);
    await validate(p, ctx);
    const repo = await ConfigRepo.init(ctx.options.repo);
    return withLock(repo, async (recovered) => {
      if ((await repo.head()) !== undefined) throw concurrentCreation(repo);
      const commit = await commitPlan(repo, p, undefined, ctx);
      return result(p, commit, commit, recovered);
    });
  }
  return withLock(existing, async (recovered) => {
    const head = await existing.head();
    const p = await plan(existing, head, ctx);
    if (!p.changed) {
      if (!p.fromCache) writeRenderCache(existing, p);
      return result(p, undefined, head, recovered);
    }
    await validate(p, ctx);
    const commit = await commitPlan(existing, p, head, ctx);
    return result(p, commit, commit, recovered);
  });
}

async function synthAndPush(ctx: Context, remoteSpec: string): Promise<SynthResult> {
  const repo = await ConfigRepo.init(ctx.options.repo);
  const attempts = ctx.options.pushAttempts ?? 3;
  return withLock(repo, async (recovered) => {
    const remote = await Remote.resolve(repo, remoteSpec);
    let last: SynthResult | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      ctx.progress.update(`fetching ${remote.displayUrl}`);
      const remoteHead = await remote.fetch();
      const localHead = await repo.head();
      const base = await chooseBase(repo, localHead, remoteHead);
      const p = await plan(repo, base, ctx);
      let head = base;
      let commit: string | undefined;
      if (p.changed) {
        await validate(p, ctx);
        commit = await commitPlan(repo, p, localHead, ctx);
        head = commit;
      } else if (base !== localHead) {
        await moveTo(repo, localHead, base!, ctx);
      }
      last = result(p, commit, head, recovered);
      if (head === undefined || head === remoteHead) return last;
      ctx.progress.update(`pushing to ${remote.displayUrl}`);
      if ((await remote.push()) === 'pushed') return { ...last, pushed: { url: remote.displayUrl, attempts: attempt } };
    }
    throw new SlipwayError(
      'PUSH_REJECTED',
      `${remote.displayUrl} moved on during each of ${attempts} attempts; the commit ${last?.head?.slice(0, 12)} is in ${repo.dir}: run again`,
    );
  });
}

/**
 * The commit to build on: the remote's when it is ahead or has diverged (the synth is
 * re-applied on top of it rather than merged), the local one when it is ahead.
 */
async function chooseBase(repo: ConfigRepo, local: string | undefined, remote: string | undefined): Promise<string | undefined> {
  if (!remote || local === remote) return local;
  if (!local) return remote;
  const git = (await import('isomorphic-git')).default;
  const fs = await import('node:fs');
  const localAhead = await git.isDescendent({ fs, gitdir: repo.gitdir, oid: local, ancestor: remote, depth: -1, cache: repo.cache });
  return localAhead ? local : remote;
}

async function moveTo(repo: ConfigRepo, from: string | undefined, to: string, ctx: Context): Promise<void> {
  await refuseLocalEdits(repo, await repo.treeOf(from), ctx);
  const { changes } = await repo.diff(await repo.treeOf(from), { kind: 'stored', type: 'tree', mode: '040000', oid: (await repo.treeOf(to))! });
  await repo.advance(from, to, changes);
}

async function commitPlan(repo: ConfigRepo, p: Plan, workingCommit: string | undefined, ctx: Context): Promise<string> {
  const workingTree = await repo.treeOf(workingCommit);
  const restore = await refuseLocalEdits(repo, workingTree, ctx);
  ctx.progress.update(`writing ${p.diff.newObjects.length} objects`);
  await repo.writeObjects(p.diff.newObjects);
  const commit = await repo.commit(oidOf(p.root), p.base ? [p.base] : [], p.message);
  let changes = workingTree === p.baseTree ? p.diff.changes : (await repo.diff(workingTree, p.root)).changes;
  if (restore.length > 0) changes = [...changes, ...(await restoreChanges(repo, p.root, restore, changes))];
  ctx.progress.update(`updating ${changes.length} files`);
  await repo.advance(workingCommit, commit, changes);
  writeRenderCache(repo, p);
  return commit;
}

/** Refuses hand edits unless --force; with --force returns the paths to put back. */
async function refuseLocalEdits(repo: ConfigRepo, tree: string | undefined, ctx: Context): Promise<string[]> {
  ctx.progress.update('checking for local edits');
  const edits = await repo.localChanges(tree);
  if (edits.length === 0) return [];
  if (ctx.options.force) return edits.map((e) => e.replace(/ \((modified|deleted|untracked)\)$/, ''));
  const shown = edits.slice(0, 20).map((e) => `  - ${e}`);
  throw new SlipwayError(
    'LOCAL_EDITS',
    `${repo.dir} has uncommitted changes that a synth would overwrite:\n${shown.join('\n')}` +
      `${edits.length > shown.length ? `\n  … and ${edits.length - shown.length} more` : ''}\n` +
      `commit or revert them, or pass --force to overwrite them`,
  );
}

async function restoreChanges(repo: ConfigRepo, root: TreeNode, paths: readonly string[], already: readonly FileChange[]): Promise<FileChange[]> {
  const covered = new Set(already.map((c) => c.path));
  const out: FileChange[] = [];
  for (const path of paths) {
    if (covered.has(path)) continue;
    const node = await lookup(repo, root, path);
    if (node && node.kind === 'blob') out.push({ path, newOid: node.oid, content: node.content });
    else if (node && node.kind === 'stored' && node.type === 'blob') out.push({ path, newOid: node.oid });
    else out.push({ path, oldOid: '0'.repeat(40) });
  }
  return out;
}

async function lookup(repo: ConfigRepo, root: TreeNode, path: string): Promise<Node | undefined> {
  let node: Node | undefined = root;
  for (const part of path.split('/')) {
    if (!node) return undefined;
    if (node.kind === 'tree') node = node.entries.get(part);
    else if (node.kind === 'stored' && node.type === 'tree') node = (await repo.readTree(node.oid)).get(part)?.node;
    else return undefined;
  }
  return node;
}

async function withLock<T>(repo: ConfigRepo, run: (recovered: string | undefined) => Promise<T>): Promise<T> {
  const unlock = repo.lock();
  try {
    return await run(await repo.recoverInterruptedCheckout());
  } finally {
    unlock();
  }
}

function concurrentCreation(repo: ConfigRepo): SlipwayError {
  return new SlipwayError('REPO_LOCKED', `another slipway run created ${repo.dir} at the same time: run again`);
}

function result(p: Plan, commit: string | undefined, head: string | undefined, recovered: string | undefined): SynthResult {
  return {
    ...(commit ? { commit, message: p.message } : {}),
    ...(head ? { head } : {}),
    changes: commit ? p.diff.changes : [],
    applications: p.rendered.applications,
    ...(recovered ? { recovered } : {}),
  };
}

async function readReleases(repo: ConfigRepo, tree: string | undefined): Promise<Map<string, Release>> {
  const out = new Map<string, Release>();
  for (const [path, oid] of await repo.listFiles((await repo.entryAt(tree, RELEASES_DIR))?.oid, `${RELEASES_DIR}/`)) {
    out.set(path, parseRelease(path, (await repo.readBlob(oid)).toString('utf8')));
  }
  return out;
}

/** Changed applications per environment, for commit messages and reports. */
export function changedApplications(changes: readonly FileChange[]): Map<string, Set<string>> {
  const byEnv = new Map<string, Set<string>>();
  const add = (env: string, app: string) => byEnv.set(env, (byEnv.get(env) ?? new Set()).add(app));
  for (const { path } of changes) {
    const parts = path.split('/');
    if (parts[0] === 'environments' && parts.length >= 4) add(parts[1]!, parts[2]!);
    else if (parts[0] === 'apps' && parts.length === 3 && parts[2] !== 'kustomization.yaml') add(parts[1]!, parts[2]!.replace(/\.yaml$/, ''));
  }
  return byEnv;
}

function commitMessage(changes: readonly FileChange[], ctx: Context, releases: ReadonlyMap<string, Release>): string {
  const byEnv = changedApplications(changes);
  const apps = [...byEnv.values()].reduce((n, s) => n + s.size, 0);
  const title =
    ctx.options.title ??
    `synth: ${apps} application${apps === 1 ? '' : 's'} changed${byEnv.size > 0 ? ` in ${[...byEnv.keys()].sort().join(', ')}` : ''}`;
  const lines = [title, ''];
  for (const env of [...byEnv.keys()].sort()) lines.push(`${env}: ${[...byEnv.get(env)!].sort().join(', ')}`);
  const releaseLines = changes
    .filter((c) => c.path.startsWith(`${RELEASES_DIR}/`) && c.newOid)
    .map((c) => releases.get(c.path))
    .filter((r): r is Release => r !== undefined)
    .map((r) => `release: ${r.environment}/${r.model} ${r.version} (image ${r.imageDigest.slice(0, 19)})`);
  lines.push(...releaseLines);
  if (changes.some((c) => c.path.startsWith('platform/'))) lines.push('platform: AppProject changed');
  lines.push('', ctx.source ? `Source: ${basename(ctx.source.dir)}@${ctx.source.commit}` : 'Source: not a Git checkout');
  return `${lines.join('\n')}\n`;
}

/** In-memory tree that expands folders kept from the base commit when something below them changes. */
class LazyTree {
  constructor(
    private readonly repo: ConfigRepo,
    private readonly root: TreeNode,
  ) {}

  private async folder(parts: readonly string[], create: boolean): Promise<TreeNode | undefined> {
    let dir = this.root;
    for (const part of parts) {
      let next = dir.entries.get(part);
      if (next?.kind === 'stored' && next.type === 'tree') {
        const expanded = treeNode();
        for (const [name, e] of await this.repo.readTree(next.oid)) expanded.entries.set(name, e.node!);
        dir.entries.set(part, expanded);
        next = expanded;
      }
      if (!next) {
        if (!create) return undefined;
        next = treeNode();
        dir.entries.set(part, next);
      }
      if (next.kind !== 'tree') {
        if (!create) return undefined;
        next = treeNode();
        dir.entries.set(part, next);
      }
      dir = next;
    }
    return dir;
  }

  async set(path: string, node: Node): Promise<void> {
    const parts = path.split('/');
    (await this.folder(parts.slice(0, -1), true))!.entries.set(parts[parts.length - 1]!, node);
  }

  async remove(path: string): Promise<void> {
    const parts = path.split('/');
    (await this.folder(parts.slice(0, -1), false))?.entries.delete(parts[parts.length - 1]!);
  }
}
