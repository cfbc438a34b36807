import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApiObject, App, Chart } from 'cdk8s';
import { Environment } from '../../constructs/environment.js';
import { Platform } from '../../constructs/platform.js';
import { RELEASES_CONTEXT_KEY, type Release } from '../../constructs/release.js';
import { SlipwayError } from '../errors.js';
import type { CompiledApplication, CompiledPlatform, KubeObject } from './model.js';

type BuildFunction = (app: App) => void;

export interface AppModule {
  readonly build: BuildFunction;
  /**
   * `apiVersion/Kind` keys the app emits that no upstream schema package covers (e.g. Tekton),
   * from the module's optional `export const allowUnvalidatedKinds = [...]`.
   */
  readonly allowUnvalidatedKinds: readonly string[];
}

/** Imports the app module (`export default function build(app: App): void`). */
export async function importApp(appPath: string): Promise<AppModule> {
  const absolute = resolve(appPath);
  if (!existsSync(absolute)) {
    throw new SlipwayError('APP_NOT_FOUND', `app module ${appPath} does not exist (pass --app path/to/app.ts)`);
  }
  let mod: { default?: unknown; allowUnvalidatedKinds?: unknown };
  try {
    mod = (await import(pathToFileURL(absolute).href)) as { default?: unknown; allowUnvalidatedKinds?: unknown };
  } catch (err) {
    throw new SlipwayError('APP_FAILED', `app module ${appPath} failed to load: ${describe(err)}`, 1, { cause: err });
  }
  if (typeof mod.default !== 'function') {
    throw new SlipwayError(
      'APP_INVALID',
      `app module ${appPath} must export a default function build(app: App): void, got ${typeof mod.default}`,
    );
  }
  const allowed = mod.allowUnvalidatedKinds ?? [];
  if (!Array.isArray(allowed) || !allowed.every((k) => typeof k === 'string' && /^[^/\s]+(\/[^/\s]+)?\/[A-Za-z0-9]+$/.test(k))) {
    throw new SlipwayError(
      'APP_INVALID',
      `app module ${appPath}: allowUnvalidatedKinds must be an array of 'apiVersion/Kind' strings such as 'tekton.dev/v1/Pipeline', got ${JSON.stringify(allowed)}`,
    );
  }
  return { build: mod.default as BuildFunction, allowUnvalidatedKinds: allowed as string[] };
}

/**
 * Builds the app with the release records as context and returns its platforms as data.
 * No cdk8s output is written: objects come from each chart's toJson().
 */
export function compileApp(build: BuildFunction, releases: readonly Release[], appPath: string): CompiledPlatform[] {
  // cdk8s wants an outdir; nothing is written there because app.synth() is never called.
  const app = new App({ outdir: join(tmpdir(), 'slipway-unused-outdir') });
  app.node.setContext(RELEASES_CONTEXT_KEY, releases);
  try {
    build(app);
  } catch (err) {
    throw new SlipwayError('APP_FAILED', `${appPath}: building the app failed: ${describe(err)}`, 1, { cause: err });
  }

  const problems: string[] = [];
  for (const c of app.node.findAll()) {
    for (const message of c.node.validate()) problems.push(`  - ${c.node.path}: ${message}`);
  }
  if (problems.length > 0) {
    throw new SlipwayError('INVALID_CONSTRUCT', `${appPath}: constructs failed validation:\n${problems.join('\n')}`);
  }

  const platforms = app.node.findAll().filter((c): c is Platform => Platform.isPlatform(c));
  if (platforms.length === 0) {
    throw new SlipwayError(
      'APP_INVALID',
      `${appPath}: the app defines no Platform; create new Platform(app, 'name', { repoURL }) in build(app)`,
    );
  }
  return platforms.map((platform) => ({
    name: platform.name,
    repoURL: platform.repoURL,
    targetRevision: platform.targetRevision,
    argocdNamespace: platform.argocdNamespace,
    sourceRepos: platform.sourceRepos,
    syncPolicy: platform.syncPolicy,
    environments: platform.node
      .findAll()
      .filter((c): c is Environment => c instanceof Environment)
      .map((env) => ({
        name: env.name,
        namespace: env.namespace,
        clusterServer: env.clusterServer,
        monitoringNamespace: env.monitoringNamespace,
        syncPolicy: env.syncPolicy,
        applications: env.applications.map(compileChart),
      })),
  }));
}

/**
 * The chart's objects. Not chart.toJson(): that re-resolves dependencies and re-validates the
 * whole app for every chart (quadratic: 90 s for 3000 charts). Construct validation ran once
 * above; dependency order is irrelevant here because every object gets its own file.
 */
function chartObjects(chart: Chart): unknown[] {
  return chart.node
    .findAll()
    .filter((c): c is ApiObject => c instanceof ApiObject && Chart.of(c) === chart)
    .map((o) => o.toJson() as unknown);
}

function compileChart(chart: Chart): CompiledApplication {
  const objects: KubeObject[] = [];
  for (const [i, obj] of chartObjects(chart).entries()) {
    const o = obj as Partial<KubeObject> | null;
    if (!o || typeof o !== 'object' || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') {
      throw new SlipwayError(
        'INVALID_OBJECT',
        `${chart.node.path}: object #${i} has no apiVersion, kind or metadata.name: ${JSON.stringify(obj)?.slice(0, 200)}`,
      );
    }
    objects.push(o as KubeObject);
  }
  return { name: chart.node.id, constructPath: chart.node.path, objects };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
