import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, closeSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { FETCH_SCRIPT, NOTEBOOK_SCRIPT, RELEASE_CHECKOUT_SCRIPT } from '../../constructs/private/pipeline-scripts.js';
import { SLIPWAY_COMMAND } from '../../constructs/pipeline/steps.js';
import { compileApp, importApp } from '../compiler/app-loader.js';
import type { KubeObject } from '../compiler/model.js';
import { SlipwayError } from '../errors.js';
import { detectExecutor, papermillValue, runNotebook, type NotebookParameter } from './notebook.js';
import { DEBIAN_PACKAGES, exec, runLikeCluster, type RunningContainer } from './podman.js';
import { localRuntimeImage } from './runtime-image.js';
import { isTrainJobStep, singleNodeStep } from './train-job-local.js';
import { HTTP_PORT } from '../vocabulary/ports.js';
import { SIGNING_KEY_FILE_ENV } from '../vocabulary/supply-chain.js';
import { loadSigningKey } from '../supply-chain/keys.js';
import { registryFailureCode, toolAccessArgs } from '../supply-chain/registry.js';

/**
 * `slipway pipeline run --local`: runs a model's TrainingPipeline on this machine from the
 * Tekton objects the app synthesizes (no second description of the pipeline): tasks in
 * Tekton's order (runAfter, result references, then `finally`), params, results, workspaces
 * and context substituted as Tekton does, each step mapped to this machine's tools:
 *
 * - steps in the runtime image (`node /app/build/lib/cli/main.js …`): this checkout's CLI;
 *   the runtime image itself (the package step's FROM) is built locally from containers/;
 * - the git image's fetch script: run by the host's `sh` and `git` (a URL, or a local folder
 *   with --revision); a local folder without --revision is copied as its working tree;
 * - the notebook step: {@link runNotebook} with Debian's Python; a training command runs as it is;
 * - buildah steps: the host's buildah, pushing into the local containers storage;
 * - sidecars (the test task's built image): podman, run as the cluster runs them ({@link runLikeCluster});
 * - the release checkout: the app's checkout and the local config repository, without cloning or pushing.
 */

type Json = Record<string, any>;

interface TektonParam { name: string; value?: unknown; default?: unknown }
interface TektonStepSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  script?: string;
  workingDir?: string;
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
}
interface TektonTaskSpecJson {
  params?: TektonParam[];
  workspaces?: Array<{ name: string }>;
  results?: Array<{ name: string }>;
  steps: TektonStepSpec[];
  sidecars?: TektonStepSpec[];
}
interface PipelineTaskJson {
  name: string;
  taskRef: { name: string };
  params?: Array<{ name: string; value: string }>;
  workspaces?: Array<{ name: string; workspace: string; subPath?: string }>;
  runAfter?: string[];
}

export type StepOutcome = 'succeeded' | 'failed' | 'skipped';

/** What the runner tells its user as it goes (the CLI draws it on a terminal or prints lines). */
export interface RunReporter {
  stepStarted(name: string): void;
  stepFinished(name: string, ms: number, outcome: StepOutcome, detail?: string): void;
  info(line: string): void;
}

export interface LocalRunOptions {
  readonly model: string;
  /** The app module (apps/main.ts). */
  readonly app: string;
  /** The local config repository the release step records the build in. */
  readonly repo: string;
  /** Local folder or Git URL of the training code. @default the checkout holding the app */
  readonly source?: string;
  /** Branch, tag or commit fetched with git. @default the pipeline's branch for a URL; a folder's working tree otherwise */
  readonly revision?: string;
  /** Pipeline parameters (`trigger`, `version`, `train-<name>` …). */
  readonly params?: Readonly<Record<string, string>>;
  /** Environment to release to. @default the pipeline's */
  readonly environment?: string;
  /** The runtime image to build FROM. @default built from containers/ (cached by the hash of its inputs) */
  readonly runtimeImage?: string;
  /** Where each run keeps its step logs and outputs. @default $TMPDIR/slipway-runs */
  readonly logRoot?: string;
  readonly reporter: RunReporter;
  /** Aborts the run (Ctrl-C): the current step is killed, containers and the workspace removed. */
  readonly signal?: AbortSignal;
  /**
   * A real registry standing in for the pipeline's (the image repository's host is replaced by
   * this one): the package step pushes there by digest, the test step pulls from there.
   * @default none: the image goes into the local containers storage
   */
  readonly registry?: LocalRunRegistry;
  /** PEM signing key file for a pipeline that signs builds. @default $SLIPWAY_SIGNING_KEY_FILE */
  readonly signingKeyFile?: string;
}

export interface LocalRunRegistry {
  /** `host:port` of the registry. */
  readonly host: string;
  /** Folder of CA certificates (ca.crt) to trust for it. @default the system's */
  readonly certDir?: string;
  /** containers auth file with its credentials (copied into the run's docker-config workspace, as the cluster mounts the Secret). @default none */
  readonly authFile?: string;
}

export interface LocalRunResult {
  readonly runName: string;
  /** Step logs, and the run's outputs under outputs/ (build.json, metrics.json, baseline.json …). */
  readonly logDir: string;
  /** The Pipeline's results (commit, version, image-digest, metrics). */
  readonly results: Readonly<Record<string, string>>;
  readonly taskStatuses: Readonly<Record<string, string>>;
}

const REPO_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'containers', 'build-base-image.sh')) && existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(from, '../..');
  }
}

/** The CLI of this checkout: the compiled one next to this module, else the TypeScript one through bin/. */
function cliCommand(): string[] {
  const compiled = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  return existsSync(compiled) ? [process.execPath, compiled] : [process.execPath, join(REPO_ROOT, 'bin', 'slipway.mjs')];
}

/** Tekton's variable references; anything else in `$(…)` is shell and stays as it is. */
const REFERENCE = /\$\(((?:params|context|workspaces|results|tasks)\.[^)]+)\)/g;

export function substitute(text: string, vars: ReadonlyMap<string, string>, where: string): string {
  return text.replace(REFERENCE, (_, key: string) => {
    const value = vars.get(key);
    if (value === undefined) throw new SlipwayError('PIPELINE_REFERENCE_UNRESOLVED', `${where}: $(${key}) has no value in this run`);
    return value;
  });
}

function toolMissing(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v "$1"`, 'sh', tool], { stdio: 'ignore' }).status !== 0;
}

function isUrl(source: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(source) || /^[^/\s]+@[^:\s]+:/.test(source);
}

interface LoadedPipeline {
  readonly pipeline: KubeObject & { spec: Json };
  readonly tasks: ReadonlyMap<string, TektonTaskSpecJson>;
  /** The app's environments (where a release may go). */
  readonly environments: readonly string[];
}

/** The model's Pipeline and its Tasks, as the app synthesizes them (nothing is written). */
export async function loadPipeline(app: string, model: string): Promise<LoadedPipeline> {
  const mod = await importApp(app);
  const platforms = await compileApp(mod.build, [], app);
  const objects = platforms.flatMap((p) => p.environments.flatMap((e) => e.applications.flatMap((a) => a.objects)));
  const pipelines = objects.filter((o) => o.apiVersion === 'tekton.dev/v1' && o.kind === 'Pipeline');
  const mine = pipelines.filter((o) => o.metadata.labels?.['app.kubernetes.io/name'] === model);
  if (mine.length !== 1) {
    const names = [...new Set(pipelines.map((o) => o.metadata.labels?.['app.kubernetes.io/name'] ?? o.metadata.name))];
    throw new SlipwayError(
      'PIPELINE_NOT_FOUND',
      mine.length === 0
        ? `${app}: no TrainingPipeline for model "${model}"; the app has pipelines for ${names.join(', ') || 'no model'}`
        : `${app}: ${mine.length} TrainingPipelines for model "${model}" (${mine.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).join(', ')}); expected one`,
    );
  }
  const pipeline = mine[0] as KubeObject & { spec: Json };
  const tasks = new Map<string, TektonTaskSpecJson>();
  for (const o of objects) {
    if (o.apiVersion === 'tekton.dev/v1' && o.kind === 'Task' && o.metadata.namespace === pipeline.metadata.namespace) tasks.set(o.metadata.name, (o as Json).spec as TektonTaskSpecJson);
  }
  return { pipeline, tasks, environments: platforms.flatMap((p) => p.environments.map((e) => e.name)) };
}

/** Tekton's order: a task runs once everything it runs after, or takes results from, has run. */
export function runOrder(tasks: readonly PipelineTaskJson[]): PipelineTaskJson[] {
  const deps = new Map(
    tasks.map((t) => {
      const fromResults = [...JSON.stringify(t.params ?? []).matchAll(/\$\(tasks\.([a-z0-9-]+)\.results\./g)].map((m) => m[1]!);
      return [t.name, new Set([...(t.runAfter ?? []), ...fromResults])] as const;
    }),
  );
  const done = new Set<string>();
  const order: PipelineTaskJson[] = [];
  while (order.length < tasks.length) {
    const next = tasks.find((t) => !done.has(t.name) && [...deps.get(t.name)!].every((d) => done.has(d)));
    if (!next) throw new SlipwayError('PIPELINE_CYCLE', `the pipeline's tasks ${tasks.filter((t) => !done.has(t.name)).map((t) => t.name).join(', ')} wait on each other`);
    done.add(next.name);
    order.push(next);
  }
  return order;
}

function parseArgs(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

class Run {
  readonly children = new Set<{ kill(): void }>();
  private readonly cleanups: Array<() => Promise<void>> = [];

  constructor(readonly signal: AbortSignal | undefined) {}

  onCleanup(fn: () => Promise<void>): void {
    this.cleanups.push(fn);
  }

  checkAborted(): void {
    if (this.signal?.aborted) throw new SlipwayError('PIPELINE_INTERRUPTED', 'interrupted', 130);
  }

  async cleanup(): Promise<void> {
    for (const child of this.children) child.kill();
    for (const fn of this.cleanups.reverse()) await fn().catch(() => undefined);
  }
}

/** Runs a command with its output appended to the step log; killed (its whole process group) on abort. */
function runLogged(run: Run, command: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; log: string; label?: string }): Promise<void> {
  run.checkAborted();
  return new Promise((resolvePromise, reject) => {
    const fd = openSync(options.log, 'a');
    const child = spawn(command[0]!, command.slice(1), { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    const handle = {
      kill: () => {
        try {
          process.kill(-child.pid!, 'SIGTERM');
          setTimeout(() => {
            try {
              process.kill(-child.pid!, 'SIGKILL');
            } catch {
              /* gone */
            }
          }, 3000).unref();
        } catch {
          /* gone */
        }
      },
    };
    run.children.add(handle);
    const onAbort = () => handle.kill();
    run.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      run.children.delete(handle);
      run.signal?.removeEventListener('abort', onAbort);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new SlipwayError('PIPELINE_TOOL_MISSING', `${command[0]} is not installed; install the Debian package ${DEBIAN_PACKAGES[command[0]!] ?? command[0]}`));
      } else reject(err);
    });
    child.on('close', (code, sig) => {
      run.children.delete(handle);
      run.signal?.removeEventListener('abort', onAbort);
      if (run.signal?.aborted) return reject(new SlipwayError('PIPELINE_INTERRUPTED', 'interrupted', 130));
      if (code === 0) return resolvePromise();
      reject(new SlipwayError('PIPELINE_STEP_FAILED', `${options.label ?? basename(command[0]!)} exited with ${code ?? sig}`));
    });
  });
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).map((l) => `  | ${l}`).join('\n');
  } catch {
    return '';
  }
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** The source as the fetch task sees it: a Git URL (or folder) fetched with git, or a folder's working tree copied. */
interface Source {
  readonly url: string;
  readonly revision?: string;
  /** Copy this folder to `<source workspace>/<into>` instead of fetching. */
  readonly copy?: { readonly from: string; readonly into: string };
}

function resolveSource(options: LocalRunOptions, platformRoot: string, modelPath: string, defaultRevision: string): Source {
  // `--param source-url=…` and `--param revision=…` are the same as --source and --revision.
  const source = options.source ?? options.params?.['source-url'] ?? platformRoot;
  const revision = options.revision ?? options.params?.revision;
  if (isUrl(source)) return { url: source, revision: revision ?? defaultRevision };
  const dir = resolve(source);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new SlipwayError('PIPELINE_SOURCE_INVALID', `--source ${source}: expected a folder or a Git URL, and ${dir} is not a folder`);
  if (revision !== undefined) return { url: dir, revision };
  // A folder holding the model's path is the repository root (only the model's folder is copied:
  // a checkout can be big); any other folder is the model's folder itself.
  const from = modelPath !== '.' && existsSync(join(dir, modelPath)) ? join(dir, modelPath) : dir;
  return { url: dir, copy: { from, into: modelPath } };
}

/** Commit and version of a copied working tree: its commit when the folder is clean in Git, else a local version. */
function workingTreeIdentity(dir: string, started: Date): { commit: string; version: string } {
  const git = (...args: string[]) => spawnSync('git', ['-C', dir, ...args], { encoding: 'utf8' });
  const head = git('rev-parse', 'HEAD');
  const dirty = git('status', '--porcelain', '--untracked-files=normal', '--', '.');
  if (head.status === 0 && dirty.status === 0 && dirty.stdout.trim() === '') {
    const commit = head.stdout.trim();
    const date = git('log', '-1', '--format=%cd', '--date=format:%Y%m%d%H%M%S').stdout.trim();
    return { commit, version: `${date}-${commit.slice(0, 7)}` };
  }
  return { commit: '', version: `${timestamp(started)}-local` };
}

export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const { reporter } = options;
  const started = new Date();
  const app = resolve(options.app);
  const repo = resolve(options.repo);
  const { pipeline, tasks, environments } = await loadPipeline(options.app, options.model);
  if (options.environment !== undefined && !environments.includes(options.environment)) {
    throw new SlipwayError('PIPELINE_ENV_UNKNOWN', `--env ${options.environment}: ${options.app} has no such environment; it has ${environments.join(', ')}`, 2);
  }
  const spec = pipeline.spec as { params?: TektonParam[]; tasks: PipelineTaskJson[]; finally?: PipelineTaskJson[]; workspaces?: Array<{ name: string }>; results?: Array<{ name: string; value: string }> };
  const taskSpec = (t: PipelineTaskJson) => {
    const found = tasks.get(t.taskRef.name);
    if (!found) throw new SlipwayError('PIPELINE_NOT_FOUND', `pipeline ${pipeline.metadata.name}: task ${t.name} refers to Task ${t.taskRef.name}, which the app does not define`);
    return found;
  };
  const allSteps = [...spec.tasks, ...(spec.finally ?? [])].flatMap((t) => [...taskSpec(t).steps, ...(taskSpec(t).sidecars ?? [])]);
  const slipwayStep = allSteps.find((s) => isDeepStrictEqual(s.command, [...SLIPWAY_COMMAND]));
  // The model repository's host is not mapped to the run's registry yet: refuse before anything runs rather than push elsewhere.
  if (allSteps.some((s) => s.args?.[0] === 'pipeline' && s.args[1] === 'push-model')) {
    throw new SlipwayError(
      'PIPELINE_STEP_UNSUPPORTED',
      `pipeline ${pipeline.metadata.name} pushes its model as an OCI artifact (modelRepository), which the local runner does not run yet; run it in the cluster, or run locally without modelRepository`,
      2,
    );
  }
  const clusterRuntimeImage = slipwayStep?.image;

  // Parameters: the Pipeline's defaults, then what the command line sets.
  const params = new Map<string, string>((spec.params ?? []).map((p) => [p.name, String(p.default ?? '')]));
  const unknown = Object.keys(options.params ?? {}).filter((k) => !params.has(k));
  if (unknown.length > 0) {
    throw new SlipwayError('PIPELINE_PARAM_UNKNOWN', `--param ${unknown.join(', ')}: pipeline ${pipeline.metadata.name} has no such parameter; it has ${[...params.keys()].join(', ')}`, 2);
  }
  for (const [k, v] of Object.entries(options.params ?? {})) params.set(k, v);

  // The app's checkout stands in for the platform repository the release task clones.
  const releaseStep = allSteps.find((s) => s.args?.[0] === 'pipeline' && s.args[1] === 'release');
  const appFile = releaseStep ? (parseArgs(releaseStep.args!, '--app') ?? 'apps/main.ts') : 'apps/main.ts';
  const platformRoot = app.endsWith(`/${appFile}`) ? app.slice(0, -appFile.length - 1) : dirname(app);
  const localAppFile = relative(platformRoot, app);
  // The model's folder in the checkout: where the train step works.
  const trainDir = allSteps.find((s) => s.workingDir?.startsWith('$(workspaces.source.path)'))?.workingDir ?? '$(workspaces.source.path)';
  const modelPath = trainDir === '$(workspaces.source.path)' ? '.' : trainDir.replace('$(workspaces.source.path)/', '');
  const source = resolveSource(options, platformRoot, modelPath, (spec.params ?? []).find((p) => p.name === 'revision')?.default?.toString() ?? 'main');
  params.set('source-url', source.url);
  if (source.revision !== undefined) params.set('revision', source.revision);

  // Everything the run needs, checked before anything starts.
  const needs = new Set<string>(['buildah', 'podman']);
  if (!source.copy) needs.add('git');
  if (!options.runtimeImage) needs.add('mmdebstrap');
  const missing = [...needs].filter(toolMissing);
  if (missing.length > 0) {
    throw new SlipwayError('PIPELINE_TOOL_MISSING', `slipway pipeline run --local needs ${missing.join(', ')}; install the Debian package${missing.length > 1 ? 's' : ''} ${missing.map((t) => DEBIAN_PACKAGES[t] ?? t).join(' ')}`);
  }
  if (allSteps.some((s) => s.script === NOTEBOOK_SCRIPT)) await detectExecutor();
  // A pipeline that signs builds needs the key before anything runs (the cluster reads it from a Secret).
  const signs = allSteps.some((s) => s.args?.[0] === 'pipeline' && (s.args[1] === 'sign-model' || s.args[1] === 'attest'));
  const signingKeyFile = options.signingKeyFile ?? process.env[SIGNING_KEY_FILE_ENV];
  if (signs) {
    try {
      loadSigningKey(signingKeyFile);
    } catch (err) {
      throw new SlipwayError('SUPPLY_CHAIN_KEY_INVALID', `pipeline ${pipeline.metadata.name} signs its builds: ${(err as Error).message}; pass --signing-key FILE (create a pair with slipway pipeline keygen)`, 2);
    }
  }
  // The image repository the cluster pushes to, and where this run pushes instead.
  const pushStep = allSteps.find((s) => s.command?.[0] === 'buildah' && s.args?.includes('push'));
  const clusterRepository = pushStep?.args?.at(-1)?.replace(/^docker:\/\//, '').replace(/:[^:/]+$/, '');
  const registry = options.registry && clusterRepository ? { ...options.registry, cluster: clusterRepository, local: `${options.registry.host}/${clusterRepository.slice(clusterRepository.indexOf('/') + 1)}` } : undefined;
  if (!existsSync(join(repo, '.git'))) {
    throw new SlipwayError('PIPELINE_CONFIG_REPO_MISSING', `--repo ${options.repo}: no Git repository at ${repo}; create it with slipway synth --repo ${options.repo}`);
  }

  const run = new Run(options.signal);
  const runName = `${pipeline.metadata.name}-local-${timestamp(started)}`;
  const logDir = join(options.logRoot ?? join(tmpdir(), 'slipway-runs'), runName);
  mkdirSync(logDir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), `slipway-run-${options.model}-`));
  run.onCleanup(async () => rmSync(work, { recursive: true, force: true }));
  const context = new Map([
    ['context.pipelineRun.name', runName],
    ['context.pipelineRun.namespace', pipeline.metadata.namespace ?? 'default'],
    ['context.pipelineRun.uid', randomUUID()],
    ['context.pipeline.name', pipeline.metadata.name],
  ]);
  const pipelineWorkspaces = new Map<string, string>();
  for (const ws of spec.workspaces ?? [{ name: 'workspace' }]) {
    const dir = join(work, 'workspaces', ws.name);
    mkdirSync(dir, { recursive: true });
    // The registry credentials workspace, as the cluster mounts the Secret: the registry's auth file, or none.
    if (ws.name === 'docker-config') {
      if (registry?.authFile) copyFileSync(registry.authFile, join(dir, 'config.json'));
      else writeFileSync(join(dir, 'config.json'), '{"auths":{}}\n', { mode: 0o600 });
    }
    pipelineWorkspaces.set(ws.name, dir);
  }

  const results = new Map<string, string>();
  const statuses: Record<string, string> = {};
  let failure: SlipwayError | undefined;
  let localRuntime: string | undefined;

  const onAbort = () => void run.cleanup();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    reporter.info(`run ${runName}: ${pipeline.metadata.name} from ${source.copy ? `the working tree of ${source.url}` : `${source.url} at ${source.revision}`}, logs in ${logDir}`);
    // Built when a step first needs it (the package step's FROM), so a failing training costs no image build.
    const ensureRuntimeImage = async () => {
      if (localRuntime) return;
      const t0 = performance.now();
      reporter.stepStarted('runtime-image');
      try {
        localRuntime = options.runtimeImage ?? (await localRuntimeImage({ root: REPO_ROOT, log: join(logDir, 'runtime-image.log'), signal: options.signal }));
        reporter.stepFinished('runtime-image', performance.now() - t0, 'succeeded', localRuntime);
      } catch (err) {
        reporter.stepFinished('runtime-image', performance.now() - t0, 'failed');
        run.checkAborted();
        throw new SlipwayError('PIPELINE_STEP_FAILED', `the local runtime image could not be built: ${(err as Error).message}\nlog: ${join(logDir, 'runtime-image.log')}`);
      }
    };

    const runTask = async (pt: PipelineTaskJson, pipelineVars: Map<string, string>) => {
      const task = taskSpec(pt);
      const vars = new Map(context);
      vars.set('context.taskRun.name', `${runName}-${pt.name}`);
      const given = new Map((pt.params ?? []).map((p) => [p.name, substitute(String(p.value), pipelineVars, `task ${pt.name} param ${p.name}`)]));
      for (const p of task.params ?? []) {
        const value = given.get(p.name) ?? (p.default !== undefined ? String(p.default) : undefined);
        if (value === undefined) throw new SlipwayError('PIPELINE_REFERENCE_UNRESOLVED', `task ${pt.name}: param ${p.name} has no value and no default`);
        vars.set(`params.${p.name}`, value);
      }
      for (const ws of task.workspaces ?? []) {
        const binding = pt.workspaces?.find((w) => w.name === ws.name);
        const root = binding ? pipelineWorkspaces.get(binding.workspace) : undefined;
        const dir = root ? join(root, binding?.subPath ?? '') : join(work, 'task-workspaces', pt.name, ws.name);
        mkdirSync(dir, { recursive: true });
        vars.set(`workspaces.${ws.name}.path`, dir);
      }
      const resultDir = join(work, 'results', pt.name);
      mkdirSync(resultDir, { recursive: true });
      for (const r of task.results ?? []) vars.set(`results.${r.name}.path`, join(resultDir, r.name));

      const sidecars: RunningContainer[] = [];
      const rewrites: Array<[string, string]> = [];
      try {
        for (const sidecar of task.sidecars ?? []) {
          const name = `${pt.name}/${sidecar.name}`;
          const t0 = performance.now();
          reporter.stepStarted(name);
          const log = join(logDir, `${pt.name}-${sidecar.name}.log`);
          try {
            const { container, loopbackUrl } = await startSidecar(run, sidecar, vars, `slipway-${runName}-${pt.name}-${sidecar.name}`.slice(0, 120), registry);
            sidecars.push(container);
            rewrites.push([loopbackUrl, container.url]);
            reporter.stepFinished(name, performance.now() - t0, 'succeeded', `${container.name} at ${container.url}, UID ${container.uid}`);
          } catch (err) {
            writeFileSync(log, `${(err as Error).message}\n`);
            reporter.stepFinished(name, performance.now() - t0, 'failed');
            throw stepFailure(name, log, err);
          }
        }
        for (const step of task.steps) {
          run.checkAborted();
          if (clusterRuntimeImage && isDeepStrictEqual(step.command, [...SLIPWAY_COMMAND]) && (step.args ?? []).includes(clusterRuntimeImage)) await ensureRuntimeImage();
          const name = `${pt.name}/${step.name}`;
          const log = join(logDir, `${pt.name}-${step.name}.log`);
          writeFileSync(log, '');
          const t0 = performance.now();
          reporter.stepStarted(name);
          try {
            await runStep(run, step, vars, { log, rewrites, localRuntime, clusterRuntimeImage, source, platformRoot, localAppFile, repo, environment: options.environment, registry, signingKeyFile });
            reporter.stepFinished(name, performance.now() - t0, 'succeeded');
          } catch (err) {
            reporter.stepFinished(name, performance.now() - t0, 'failed');
            run.checkAborted();
            throw stepFailure(name, log, err, step.args?.[0] === 'pipeline' && step.args[1] === 'release');
          }
        }
      } finally {
        for (const container of sidecars) {
          await container.stop(10).catch(() => container.remove());
        }
      }
      for (const r of task.results ?? []) {
        const file = join(resultDir, r.name);
        results.set(`tasks.${pt.name}.results.${r.name}`, existsSync(file) ? readFileSync(file, 'utf8').replace(/\n$/, '') : '');
      }
    };

    const vars = () => new Map([...context, ...[...params].map(([k, v]) => [`params.${k}`, v] as const), ...results]);
    for (const pt of runOrder(spec.tasks)) {
      if (failure) {
        statuses[pt.name] = 'None';
        continue;
      }
      try {
        await runTask(pt, vars());
        statuses[pt.name] = 'Succeeded';
      } catch (err) {
        run.checkAborted();
        statuses[pt.name] = 'Failed';
        failure = err instanceof SlipwayError ? err : new SlipwayError('PIPELINE_STEP_FAILED', (err as Error).message);
      }
    }
    const finallyVars = vars();
    finallyVars.set('tasks.status', failure ? 'Failed' : 'Succeeded');
    for (const [task, status] of Object.entries(statuses)) finallyVars.set(`tasks.${task}.status`, status);
    for (const pt of spec.finally ?? []) {
      try {
        await runTask(pt, finallyVars);
        statuses[pt.name] = 'Succeeded';
      } catch (err) {
        run.checkAborted();
        statuses[pt.name] = 'Failed';
        failure ??= err as SlipwayError;
      }
    }
    if (failure) throw failure;
    keepOutputs(pipelineWorkspaces, join(logDir, 'outputs'));
    const pipelineResults = Object.fromEntries((spec.results ?? []).map((r) => [r.name, substitute(r.value, vars(), `pipeline result ${r.name}`)]));
    return { runName, logDir, results: pipelineResults, taskStatuses: statuses };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await run.cleanup();
  }
}

function stepFailure(name: string, log: string, err: unknown, releasing = false): SlipwayError {
  if (err instanceof SlipwayError && err.code === 'PIPELINE_INTERRUPTED') return err;
  const why = err instanceof Error ? err.message : String(err);
  // A message that already quotes the failure (a notebook's exception) needs no log excerpt.
  const excerpt = why.includes('\n') ? '' : tail(log);
  // Release is the last task, and `slipway release` commits all or nothing.
  const repo = releasing ? 'the release did not commit (slipway history shows the releases)' : 'nothing was released: the config repository is as it was';
  // A registry or signature failure keeps its own code: the user fixes the registry or the key, not the step.
  const code = err instanceof SlipwayError && /^(REGISTRY|SUPPLY_CHAIN)_/.test(err.code) ? err.code : 'PIPELINE_STEP_FAILED';
  return new SlipwayError(code, `step ${name} failed: ${why}\nlog: ${log}${excerpt ? `\n${excerpt}` : ''}\n${repo}`);
}

/** Top-level files of each workspace folder (build.json, metrics.json, baseline.json, model.onnx …), kept with the logs. */
function keepOutputs(workspaces: ReadonlyMap<string, string>, into: string): void {
  for (const [name, root] of workspaces) {
    if (name === 'docker-config') continue;
    for (const sub of readdirSync(root, { withFileTypes: true })) {
      if (!sub.isDirectory()) continue;
      for (const file of readdirSync(join(root, sub.name), { withFileTypes: true })) {
        if (!file.isFile()) continue;
        mkdirSync(into, { recursive: true });
        copyFileSync(join(root, sub.name, file.name), join(into, file.name));
      }
    }
  }
}

function envOf(step: TektonStepSpec, vars: ReadonlyMap<string, string>, where: string): Record<string, string> {
  // valueFrom (Secrets) has no local source: credentials stay out of local runs.
  return Object.fromEntries((step.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, substitute(e.value!, vars, `${where} env ${e.name}`)]));
}

type RunRegistry = LocalRunRegistry & { readonly cluster: string; readonly local: string };

async function startSidecar(run: Run, sidecar: TektonStepSpec, vars: ReadonlyMap<string, string>, name: string, registry: RunRegistry | undefined): Promise<{ container: RunningContainer; loopbackUrl: string }> {
  const where = `sidecar ${sidecar.name}`;
  let image = substitute(sidecar.image, vars, `${where} image`);
  if (registry && image.startsWith(`${registry.cluster}@`)) {
    // The image the test runs is the one in the registry, pulled by digest as the cluster would.
    image = `${registry.local}${image.slice(registry.cluster.length)}`;
    await exec('podman', ['pull', '--quiet', ...toolAccessArgs(registry), image]).catch((err: Error) => {
      const code = registryFailureCode(err.message);
      throw new SlipwayError(code, `pulling ${image} from the registry: ${err.message}`);
    });
  }
  const args = (sidecar.args ?? []).map((a) => substitute(a, vars, `${where} args`));
  const port = Number(parseArgs(args, '--port') ?? HTTP_PORT);
  const host = args.indexOf('--host');
  // In a pod, steps reach sidecars on the shared loopback; here they reach the container through
  // its published port, which podman forwards to the container's own interface.
  if (host >= 0) args[host + 1] = '0.0.0.0';
  run.onCleanup(async () => {
    spawnSync('podman', ['rm', '--force', '--ignore', name], { stdio: 'ignore' });
  });
  const container = await runLikeCluster(image, { name, port, args, env: envOf(sidecar, vars, where), readyTimeoutMs: 180_000 });
  return { container, loopbackUrl: `http://127.0.0.1:${port}` };
}

interface StepContext {
  readonly log: string;
  readonly rewrites: ReadonlyArray<readonly [string, string]>;
  readonly localRuntime?: string;
  readonly clusterRuntimeImage?: string;
  readonly source: Source;
  readonly platformRoot: string;
  readonly localAppFile: string;
  readonly repo: string;
  readonly environment?: string;
  readonly registry?: RunRegistry;
  readonly signingKeyFile?: string;
}

async function runStep(run: Run, step: TektonStepSpec, vars: ReadonlyMap<string, string>, ctx: StepContext): Promise<void> {
  // The TrainJob path trains single-node here, through the trainer's own entry point (docs/training.md).
  if (isTrainJobStep(step)) return runStep(run, singleNodeStep(step) as TektonStepSpec, vars, ctx);
  const where = `step ${step.name}`;
  const env = envOf(step, vars, where);
  const cwd = step.workingDir ? substitute(step.workingDir, vars, `${where} workingDir`) : undefined;
  let args = (step.args ?? []).map((a) => substitute(a, vars, `${where} args`));
  const log = (line: string) => appendFileSync(ctx.log, `${line}\n`);

  if (step.script === FETCH_SCRIPT && ctx.source.copy) {
    const into = join(env.SOURCE_DIR!, ctx.source.copy.into);
    rmSync(env.SOURCE_DIR!, { recursive: true, force: true });
    mkdirSync(dirname(into), { recursive: true });
    cpSync(ctx.source.copy.from, into, { recursive: true, filter: (src) => !/(^|\/)(\.git|node_modules)$/.test(src) });
    const { commit, version } = workingTreeIdentity(ctx.source.copy.from, new Date());
    const chosen = env.VERSION || version;
    writeFileSync(env.RESULT_COMMIT!, commit);
    writeFileSync(env.RESULT_VERSION!, chosen);
    log(`fetch: copied the working tree of ${ctx.source.copy.from} to ${into}${commit ? ` (commit ${commit})` : ' (not a clean Git commit: no commit recorded)'}, version ${chosen}`);
    return;
  }
  if (step.script === RELEASE_CHECKOUT_SCRIPT) {
    // The app's checkout and the local config repository stand in for the clones.
    rmSync(env.PLATFORM_DIR!, { recursive: true, force: true });
    rmSync(env.CONFIG_DIR!, { recursive: true, force: true });
    mkdirSync(dirname(env.PLATFORM_DIR!), { recursive: true });
    symlinkSync(ctx.platformRoot, env.PLATFORM_DIR!);
    symlinkSync(ctx.repo, env.CONFIG_DIR!);
    log(`release: platform ${ctx.platformRoot}, config repository ${ctx.repo} (local, nothing cloned)`);
    return;
  }
  if (step.script === NOTEBOOK_SCRIPT) {
    const parameters: Record<string, NotebookParameter> = { output_dir: env.OUTPUT_DIR!, training_data: env.TRAINING_DATA! };
    for (let i = 0; i + 2 < args.length + 1; i += 3) {
      if (args[i] === '-p' && args[i + 1] !== undefined && args[i + 2] !== undefined) parameters[args[i + 1]!] = papermillValue(args[i + 2]!);
    }
    mkdirSync(env.OUTPUT_DIR!, { recursive: true });
    const result = await runNotebook({
      notebook: join(cwd ?? '.', env.NOTEBOOK!),
      output: join(env.OUTPUT_DIR!, 'executed.ipynb'),
      parameters,
      ...(cwd ? { cwd } : {}),
      log,
      ...(run.signal ? { signal: run.signal } : {}),
    });
    log(`train: ${env.NOTEBOOK} ran under ${result.executor} in ${(result.durationMs / 1000).toFixed(1)} s`);
    return;
  }
  if (step.script !== undefined && step.script !== FETCH_SCRIPT) {
    throw new SlipwayError('PIPELINE_STEP_UNSUPPORTED', `${where} (image ${step.image}) runs a script the local runner does not know; run it in the cluster`);
  }
  const processEnv = { ...process.env, ...env };
  if (step.script === FETCH_SCRIPT) {
    await runLogged(run, ['sh', '-c', FETCH_SCRIPT, 'fetch'], { env: processEnv, log: ctx.log, ...(cwd ? { cwd } : {}) });
    return;
  }
  const command = (step.command ?? []).map((c) => substitute(c, vars, `${where} command`));
  if (isDeepStrictEqual(step.command, [...SLIPWAY_COMMAND])) {
    // The runtime image is this machine's: the packaged image is built FROM the local one.
    if (ctx.clusterRuntimeImage && ctx.localRuntime) args = args.map((a) => (a === ctx.clusterRuntimeImage ? ctx.localRuntime! : a));
    for (const [from, to] of ctx.rewrites) args = args.map((a) => a.replaceAll(from, to));
    if (args[0] === 'pipeline' && args[1] === 'release') args = releaseArgs(args, ctx);
    if (ctx.registry) args = args.map((a) => a.replaceAll(ctx.registry!.cluster, ctx.registry!.local));
    if (args[0] === 'pipeline' && args[1] === 'attest') {
      // Attach to the run's registry (trusting its CA), or nowhere when the image stays in local storage.
      args = ctx.registry ? [...args, ...(ctx.registry.certDir ? ['--registry-cert-dir', ctx.registry.certDir] : [])] : args.filter((a) => a !== '--attach');
    }
    // The signing key comes from a file here; in the cluster from the Secret (valueFrom, not run locally).
    if (ctx.signingKeyFile) processEnv[SIGNING_KEY_FILE_ENV] = ctx.signingKeyFile;
    await runLogged(run, [...cliCommand(), ...args], { env: processEnv, log: ctx.log, label: `slipway ${args.slice(0, args[0] === 'pipeline' ? 2 : 1).join(' ')}`, ...(cwd ? { cwd } : {}) });
    return;
  }
  if (command[0] === 'buildah') {
    try {
      await runLogged(run, ['buildah', ...buildahArgs(args, ctx.registry)], { env: processEnv, log: ctx.log, ...(cwd ? { cwd } : {}) });
    } catch (err) {
      // A push the registry refused: say so with the registry's code (the tool's words are in the log).
      if (ctx.registry && args.includes('push') && err instanceof SlipwayError && err.code === 'PIPELINE_STEP_FAILED') {
        const said = readFileSync(ctx.log, 'utf8');
        const code = registryFailureCode(said);
        throw new SlipwayError(code, `buildah push to ${ctx.registry.host} failed: ${said.trim().split('\n').at(-1) ?? ''}`);
      }
      throw err;
    }
    return;
  }
  if (command.length > 0) {
    // A training command (trainingCommand): the host runs it as the training image would.
    await runLogged(run, [...command, ...args], { env: processEnv, log: ctx.log, ...(cwd ? { cwd } : {}) });
    return;
  }
  throw new SlipwayError('PIPELINE_STEP_UNSUPPORTED', `${where} (image ${step.image}) has neither a command nor a script the local runner can run`);
}

/**
 * buildah on the host: the host's own storage (the cluster step's vfs driver is for an emptyDir).
 * Without a registry the push goes into that storage, whose digest the test step then runs; with
 * one, to the registry (its CA trusted), by the same repository path.
 */
export function buildahArgs(args: readonly string[], registry?: Pick<RunRegistry, 'cluster' | 'local' | 'certDir'>): string[] {
  const out = args.filter((a) => !a.startsWith('--storage-driver='));
  if (out[0] === 'push') {
    const last = out.length - 1;
    if (!out[last]?.startsWith('docker://')) return out;
    if (!registry) out[last] = `containers-storage:${out[last]!.slice('docker://'.length)}`;
    else {
      out[last] = out[last]!.replace(`docker://${registry.cluster}`, `docker://${registry.local}`);
      if (registry.certDir) out.splice(1, 0, '--cert-dir', registry.certDir);
    }
  }
  return out;
}

/** The release step locally: no push (the config repository is a local one), the chosen environment. */
function releaseArgs(args: readonly string[], ctx: StepContext): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--push') {
      if (args[i + 1] !== undefined && !args[i + 1]!.startsWith('--')) i++;
      continue;
    }
    out.push(args[i]!);
    if (args[i] === '--env' && ctx.environment) {
      out.push(ctx.environment);
      i++;
    } else if (args[i] === '--app') {
      out.push(ctx.localAppFile);
      i++;
    }
  }
  return out;
}
