import type { Release } from '../../constructs/release.js';
import { SlipwayError } from '../errors.js';
import { inspectApp } from './app-inspection.js';
import { compileApps, importApp } from './app-loader.js';
import { type ApprovalRequest, approvalTrailers, checkApprovals, reviewBranch } from './approvals.js';
import { type Trailer, commitMessage } from './commit-message.js';
import { ConfigRepo, type FileChange, type LocalChange, type Repairs, type TreeDiff } from './config-repo.js';
import { crashPoint } from './crash-points.js';
import { withExitGuard } from './exit-guard.js';
import { type Node, type TreeNode, blobNode, oidOf, storedNode, treeNode } from './git-objects.js';
import { type ApplicationSummary, GENERATED_ROOTS, type RenderedRepo, renderRepo } from './layout.js';
import { LazyTree } from './lazy-tree.js';
import { modelCardPath, renderModelCard } from './model-card.js';
import { type ProgressSink, silentProgress } from './progress.js';
import { viewRecord } from './record-view.js';
import { RELEASES_DIR, parseRelease, releasePath, serializeRelease } from './releases.js';
import { Remote } from './remote.js';
import { type RenderCache, cacheKey, readRenderCache, writeRenderCache } from './render-cache.js';
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
  /** Release records to write in the same commit (slipway release / promote / rollback). */
  readonly releases?: readonly Release[];
  /** First line of the commit message. */
  readonly title?: string;
  /** Other files to write in the same commit, by path (outside the generated folders, e.g. a fleet's rollout state). */
  readonly files?: ReadonlyMap<string, string>;
  /** Trailers for the commit message (after `Source:`), e.g. what a rollback restored. */
  readonly trailers?: readonly Trailer[];
  /** Approval of the releases, for environments with `requireApproval`. */
  readonly approval?: ApprovalRequest;
  /**
   * The releases restore a build the environment already ran (rollback): no new approval.
   * @default false
   */
  readonly approvalExempt?: boolean;
  /** Remote name or http(s) URL to push main to. */
  readonly push?: string;
  /** Send the token to an http:// remote (never do this outside a test or a trusted network). */
  readonly allowInsecureHttp?: boolean;
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
  /** The index was unreadable (a killed run) and was rebuilt from HEAD. */
  readonly rebuiltIndex?: boolean;
  /** `--review`: the branch the commit went to (main untouched) and where it was pushed. */
  readonly review?: { readonly branch: string; readonly pushedTo?: string };
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
  /** The releases go to a review branch instead of main. */
  readonly reviewBranch?: string;
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

/**
 * Computes what a synth would commit on top of `base`, validating nothing yet. With
 * `enforceApprovals`, releases into environments that require approval are refused unless
 * approved or sent to review (a preview does not need approval).
 */
export async function plan(repo: ConfigRepo, base: string | undefined, ctx: Context, { enforceApprovals = false } = {}): Promise<Plan> {
  const { options, progress } = ctx;
  const baseTree = await repo.treeOf(base);
  const releases = await readReleases(repo, baseTree);
  let requested = options.releases ?? [];
  for (const r of requested) releases.set(releasePath(r.environment, r.model), r);

  progress.update('building the app');
  const apps = await ctx.build([...releases.values()]);
  const platforms = compileApps(apps, options.app);
  checkReleaseTargets(requested, platforms);

  // Release operations: approvals and the model card beside each record.
  const cards = new Map<string, string>();
  const trailers: Trailer[] = [];
  let review: string | undefined;
  if (requested.length > 0) {
    const facts = inspectApp(apps);
    const approval =
      enforceApprovals && !options.approvalExempt
        ? checkApprovals(requested, facts.environments, options.approval)
        : { approvedBy: options.approval?.approvedBy ?? [], review: false };
    // A record's approvals are the ones given for this commit; a rollback restores the
    // record as it was, approvals included. Approvals copied from another environment (promote)
    // or passed in the record itself do not count.
    if (!options.approvalExempt) {
      requested = requested.map(({ approvedBy: _copied, ...r }) => (approval.approvedBy.length > 0 ? { ...r, approvedBy: approval.approvedBy } : r));
      for (const r of requested) releases.set(releasePath(r.environment, r.model), r);
      trailers.push(...approvalTrailers(approval.approvedBy));
    }
    if (approval.review) review = reviewBranch(requested[0]!);
    for (const r of requested) {
      cards.set(modelCardPath(r.environment, r.model), renderModelCard(viewRecord(r), facts.models.get(`${r.environment}/${r.model}`)));
    }
  }
  trailers.push(...(options.trailers ?? []));

  progress.update('rendering');
  const only = options.environments && options.environments.length > 0 ? new Set(options.environments) : undefined;
  const rendered = renderRepo(platforms, only);

  const generated = { rendered, only, releases: requested, cards, files: options.files ?? new Map<string, string>() };
  const cache = readRenderCache(repo.gitdir, baseTree);
  const misses = { count: 0 };
  let root = await buildTree(repo, baseTree, generated, cache, misses);
  const unchanged = cache !== undefined && oidOf(root) === baseTree;
  if (cache && !unchanged) root = await buildTree(repo, baseTree, generated, undefined, misses);
  const fromCache = unchanged && misses.count === 0;

  const rootOid = oidOf(root);
  const changed = rootOid !== baseTree;
  const diff = changed ? await repo.diff(baseTree, root) : { changes: [], newObjects: [] };
  const message = commitMessage({ changes: diff.changes, releases, ...(options.title ? { title: options.title } : {}), ...(ctx.source ? { source: ctx.source } : {}), trailers });
  return { ...(base ? { base } : {}), ...(baseTree ? { baseTree } : {}), root, changed, diff, rendered, fromCache, message, ...(review ? { reviewBranch: review } : {}) };
}

function checkReleaseTargets(requested: readonly Release[], platforms: ReturnType<typeof compileApps>): void {
  const known = new Set(platforms.flatMap((p) => p.environments.map((e) => e.name)));
  for (const r of requested) {
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
}

interface Generated {
  readonly rendered: RenderedRepo;
  readonly only: ReadonlySet<string> | undefined;
  readonly releases: readonly Release[];
  /** Model cards by path. */
  readonly cards: ReadonlyMap<string, string>;
  readonly files: ReadonlyMap<string, string>;
}

async function buildTree(repo: ConfigRepo, baseTree: string | undefined, g: Generated, cache: RenderCache | undefined, misses: { count: number }): Promise<TreeNode> {
  const root = treeNode();
  const tree = new LazyTree(repo, root);
  if (baseTree) {
    for (const [name, entry] of await repo.readTree(baseTree)) {
      const isGenerated = (GENERATED_ROOTS as readonly string[]).includes(name);
      if (!isGenerated || (g.only && name !== 'platform')) root.entries.set(name, entry.node!);
    }
    if (g.only) for (const path of g.rendered.owned) await tree.remove(path);
  }
  for (const [path, doc] of g.rendered.documents) {
    const hit = cache?.entries.get(path);
    if (hit && hit.key === cacheKey(doc)) {
      await tree.set(path, storedNode('blob', hit.oid));
    } else {
      misses.count++;
      await tree.set(path, blobNode(toYaml(doc)));
    }
  }
  for (const r of g.releases) await tree.set(releasePath(r.environment, r.model), blobNode(serializeRelease(r)));
  for (const [path, card] of g.cards) await tree.set(path, blobNode(card));
  for (const [path, text] of g.files) await tree.set(path, blobNode(text));
  return root;
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
  return withExitGuard(options.app, async () => {
    const ctx = await createContext(options);
    try {
      if (options.approval?.review) return await synthForReview(ctx);
      return options.push ? await synthAndPush(ctx, options.push) : await synthLocal(ctx);
    } finally {
      ctx.progress.clear();
    }
  });
}

async function synthLocal(ctx: Context): Promise<SynthResult> {
  const existing = ConfigRepo.exists(ctx.options.repo) ? await ConfigRepo.open(ctx.options.repo) : undefined;
  if (!existing) {
    // Nothing is created until the first commit passes validation.
    const p = await plan(ConfigRepo.notYetCreated(ctx.options.repo), undefined, ctx, { enforceApprovals: true });
    await validate(p, ctx);
    const repo = await ConfigRepo.init(ctx.options.repo);
    return withLock(repo, async (repairs) => {
      if ((await repo.head()) !== undefined) throw concurrentCreation(repo);
      const commit = await commitPlan(repo, p, undefined, ctx);
      return result(p, commit, commit, repairs);
    });
  }
  return withLock(existing, async (repairs) => {
    const head = await existing.head();
    const p = await plan(existing, head, ctx, { enforceApprovals: true });
    if (!p.changed) {
      if (!p.fromCache) writeRenderCache(existing.gitdir, p.rendered.documents, p.root);
      return result(p, undefined, head, repairs);
    }
    await validate(p, ctx);
    const commit = await commitPlan(existing, p, head, ctx);
    return result(p, commit, commit, repairs);
  });
}

async function synthAndPush(ctx: Context, remoteSpec: string): Promise<SynthResult> {
  const repo = await ConfigRepo.init(ctx.options.repo);
  const attempts = ctx.options.pushAttempts ?? 3;
  return withLock(repo, async (repairs) => {
    const remote = await Remote.resolve(repo, remoteSpec, { allowInsecureHttp: ctx.options.allowInsecureHttp === true });
    let last: SynthResult | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      ctx.progress.update(`fetching ${remote.displayUrl}`);
      const remoteHead = await remote.fetch();
      const localHead = await repo.head();
      const base = await chooseBase(repo, localHead, remoteHead);
      const p = await plan(repo, base, ctx, { enforceApprovals: true });
      let head = base;
      let commit: string | undefined;
      if (p.changed) {
        await validate(p, ctx);
        commit = await commitPlan(repo, p, localHead, ctx);
        head = commit;
      } else if (base !== localHead) {
        await moveTo(repo, localHead, base!, ctx);
      }
      last = result(p, commit, head, repairs);
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
 * `--review`: the release commit goes on its review branch, on top of main; main, the working
 * tree and the index stay as they are. The branch is pushed when a remote is given or an
 * `origin` is configured.
 */
async function synthForReview(ctx: Context): Promise<SynthResult> {
  const repo = await ConfigRepo.open(ctx.options.repo);
  return withLock(repo, async (repairs) => {
    const head = await repo.head();
    const p = await plan(repo, head, ctx, { enforceApprovals: true });
    const branch = p.reviewBranch!;
    if (!p.changed) {
      throw new SlipwayError('NOTHING_TO_REVIEW', `main already has this release; there is nothing to put on ${branch}`);
    }
    await validate(p, ctx);
    // The remote is checked (https, credentials) before anything is written.
    const remoteSpec = ctx.options.push ?? ((await repo.hasRemote('origin')) ? 'origin' : undefined);
    const remote = remoteSpec ? await Remote.resolve(repo, remoteSpec, { allowInsecureHttp: ctx.options.allowInsecureHttp === true }) : undefined;
    const commit = await writeCommit(repo, p, ctx);
    await repo.moveBranch(commit, `refs/heads/${branch}`);
    let pushedTo: string | undefined;
    if (remote) {
      ctx.progress.update(`pushing ${branch} to ${remote.displayUrl}`);
      if ((await remote.push(branch)) !== 'pushed') {
        throw new SlipwayError('PUSH_REJECTED', `${remote.displayUrl} refused ${branch}: it already has another commit there; delete the remote branch or release another version`);
      }
      pushedTo = remote.displayUrl;
    }
    return { ...result(p, commit, head, repairs), review: { branch, ...(pushedTo ? { pushedTo } : {}) } };
  });
}

async function chooseBase(repo: ConfigRepo, local: string | undefined, remote: string | undefined): Promise<string | undefined> {
  // The remote's commit when it is ahead or has diverged (the synth is re-applied on top of it
  // rather than merged), the local one when it is ahead.
  if (!remote || local === remote) return local;
  if (!local) return remote;
  return (await repo.isDescendant(local, remote)) ? local : remote;
}

async function moveTo(repo: ConfigRepo, from: string | undefined, to: string, ctx: Context): Promise<void> {
  await refuseLocalEdits(repo, await repo.treeOf(from), ctx);
  const { changes } = await repo.diff(await repo.treeOf(from), storedNode('tree', (await repo.treeOf(to))!));
  await repo.advance(from, to, changes);
}

/** Writes the plan's new objects and its commit (on its base); moves no branch. */
async function writeCommit(repo: ConfigRepo, p: Plan, ctx: Context): Promise<string> {
  ctx.progress.update(`writing ${p.diff.newObjects.length} objects`);
  await repo.writeObjects(p.diff.newObjects);
  return repo.commit(oidOf(p.root), p.base ? [p.base] : [], p.message);
}

async function commitPlan(repo: ConfigRepo, p: Plan, workingCommit: string | undefined, ctx: Context): Promise<string> {
  const workingTree = await repo.treeOf(workingCommit);
  const restore = await refuseLocalEdits(repo, workingTree, ctx);
  const commit = await writeCommit(repo, p, ctx);
  let changes = workingTree === p.baseTree ? p.diff.changes : (await repo.diff(workingTree, p.root)).changes;
  if (restore.length > 0) changes = [...changes, ...(await restoreChanges(repo, p.root, restore, changes))];
  ctx.progress.update(`updating ${changes.length} files`);
  await repo.advance(workingCommit, commit, changes);
  writeRenderCache(repo.gitdir, p.rendered.documents, p.root);
  crashPoint('render-cache-written');
  return commit;
}

/** Refuses hand edits unless --force; with --force returns the edits to put back. */
async function refuseLocalEdits(repo: ConfigRepo, tree: string | undefined, ctx: Context): Promise<LocalChange[]> {
  ctx.progress.update('checking for local edits');
  const edits = await repo.localChanges(tree);
  if (edits.length === 0 || ctx.options.force) return edits;
  const shown = edits.slice(0, 20).map((e) => `  - ${e.path} (${e.kind})`);
  throw new SlipwayError(
    'LOCAL_EDITS',
    `${repo.dir} has uncommitted changes that a synth would overwrite:\n${shown.join('\n')}` +
      `${edits.length > shown.length ? `\n  … and ${edits.length - shown.length} more` : ''}\n` +
      `commit or revert them, or pass --force to overwrite them`,
  );
}

async function restoreChanges(repo: ConfigRepo, root: TreeNode, edits: readonly LocalChange[], already: readonly FileChange[]): Promise<FileChange[]> {
  const covered = new Set(already.map((c) => c.path));
  const tree = new LazyTree(repo, root);
  const out: FileChange[] = [];
  for (const { path } of edits) {
    if (covered.has(path)) continue;
    const node: Node | undefined = await tree.get(path);
    if (node && node.kind === 'blob') out.push({ path, newOid: node.oid, content: node.content });
    else if (node && node.kind === 'stored' && node.type === 'blob') out.push({ path, newOid: node.oid });
    else out.push({ path, oldOid: '0'.repeat(40) });
  }
  return out;
}

async function withLock<T>(repo: ConfigRepo, run: (repairs: Repairs) => Promise<T>): Promise<T> {
  const unlock = repo.lock();
  try {
    return await run(await repo.repair());
  } finally {
    unlock();
  }
}

function concurrentCreation(repo: ConfigRepo): SlipwayError {
  return new SlipwayError('REPO_LOCKED', `another slipway run created ${repo.dir} at the same time: run again`);
}

function result(p: Plan, commit: string | undefined, head: string | undefined, repairs: Repairs): SynthResult {
  return {
    ...(commit ? { commit, message: p.message } : {}),
    ...(head ? { head } : {}),
    changes: commit ? p.diff.changes : [],
    applications: p.rendered.applications,
    ...(repairs.recoveredCheckout ? { recovered: repairs.recoveredCheckout } : {}),
    ...(repairs.rebuiltIndex ? { rebuiltIndex: true } : {}),
  };
}

async function readReleases(repo: ConfigRepo, tree: string | undefined): Promise<Map<string, Release>> {
  const out = new Map<string, Release>();
  for (const [path, oid] of await repo.listFiles((await repo.entryAt(tree, RELEASES_DIR))?.oid, `${RELEASES_DIR}/`)) {
    // Model cards (.md) sit beside the records.
    if (!path.endsWith('.yaml')) continue;
    out.set(path, parseRelease(path, (await repo.readBlob(oid)).toString('utf8')));
  }
  return out;
}
