import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { Module, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApiObject, App, Chart } from 'cdk8s';
import { Node } from 'constructs';
import { Environment } from '../../constructs/environment.js';
import { Fleet, FleetWave } from '../../constructs/fleet.js';
import { Platform } from '../../constructs/platform.js';
import { RELEASES_CONTEXT_KEY, type Release } from '../../constructs/release.js';
import { SlipwayError } from '../errors.js';
import type { CompiledApplication, CompiledPlatform, KubeObject } from './model.js';
import { typeCheckApp } from './type-check.js';

/** Builds the app with the release records in its context and returns the App(s) it made. */
export type AppBuilder = (releases: readonly Release[]) => Promise<readonly App[]>;

export interface AppModule {
  readonly build: AppBuilder;
  /**
   * `apiVersion/Kind` keys the app emits that no upstream schema package covers (e.g. Tekton),
   * from the module's optional `export const allowUnvalidatedKinds = [...]`.
   */
  readonly allowUnvalidatedKinds: readonly string[];
}

export interface ImportAppOptions {
  /**
   * Type-check a TypeScript app (with the tsconfig.json above it) before running it, as
   * cdk8s's ts-node setup does; a misspelled prop fails here instead of being committed.
   * @default false
   */
  readonly typeCheck?: boolean;
}

const TYPESCRIPT_APP = /\.[cm]?tsx?$/;

/**
 * Imports an app module. Two shapes work:
 * - a module exporting `default function build(app: App)` (slipway calls it), or
 * - a script that creates an `App` and calls `app.synth()` itself (the cdk8s templates, the
 *   README example): it runs with `synth()` captured, so nothing is written to dist/.
 */
export async function importApp(appPath: string, options: ImportAppOptions = {}): Promise<AppModule> {
  const absolute = resolve(appPath);
  if (!existsSync(absolute)) {
    throw new SlipwayError('APP_NOT_FOUND', `app module ${appPath} does not exist (pass --app path/to/app.ts)`);
  }
  if (options.typeCheck && TYPESCRIPT_APP.test(absolute)) await typeCheckApp(absolute, appPath);
  const first = await evaluate(absolute, appPath, [], 0);
  const allowed = first.mod.allowUnvalidatedKinds ?? [];
  if (!Array.isArray(allowed) || !allowed.every((k) => typeof k === 'string' && /^[^/\s]+(\/[^/\s]+)?\/[A-Za-z0-9]+$/.test(k))) {
    throw new SlipwayError(
      'APP_INVALID',
      `app module ${appPath}: allowUnvalidatedKinds must be an array of 'apiVersion/Kind' strings such as 'tekton.dev/v1/Pipeline', got ${JSON.stringify(allowed)}`,
    );
  }
  const allowUnvalidatedKinds = allowed as string[];

  const exported = first.mod.default;
  if (typeof exported === 'function') {
    const build = exported as (app: App) => void;
    return {
      allowUnvalidatedKinds,
      build: async (releases) => {
        // cdk8s wants an outdir; nothing is written there because app.synth() is never called.
        const app = new App({ outdir: join(tmpdir(), 'slipway-unused-outdir') });
        app.node.setContext(RELEASES_CONTEXT_KEY, releases);
        try {
          build(app);
        } catch (err) {
          // A construct's own error keeps its code (INVALID_PROPS, FLEET_*): it names the fix.
          const code = err instanceof SlipwayError ? err.code : 'APP_FAILED';
          throw new SlipwayError(code, `${appPath}: building the app failed: ${describe(err)}`, 1, { cause: err });
        }
        return [app];
      },
    };
  }
  if (first.apps.length > 0) {
    // A script reads the releases while it builds, so each build runs it again (a fresh module instance).
    let runs = 0;
    let unused: readonly App[] | undefined = first.apps;
    return {
      allowUnvalidatedKinds,
      build: async (releases) => {
        if (unused && releases.length === 0) {
          const apps = unused;
          unused = undefined;
          return apps;
        }
        unused = undefined;
        return (await evaluate(absolute, appPath, releases, ++runs)).apps;
      },
    };
  }
  throw new SlipwayError(
    'APP_INVALID',
    `app module ${appPath} must export a default function build(app: App), or create an App and call app.synth(); ` +
      `it did neither (default export: ${typeof exported})`,
  );
}

interface Evaluation {
  readonly mod: { default?: unknown; allowUnvalidatedKinds?: unknown };
  /** The Apps whose synth() the module called while it ran. */
  readonly apps: readonly App[];
}

/**
 * Runs the module with App#synth captured and the release records visible to every construct
 * it creates (a script's own `new App()` has no slipway context otherwise). `run` > 0 loads a
 * fresh instance of the module, so its top-level code runs again.
 */
async function evaluate(absolute: string, appPath: string, releases: readonly Release[], run: number): Promise<Evaluation> {
  const apps: App[] = [];
  const synth = Object.getOwnPropertyDescriptor(App.prototype, 'synth')!;
  const tryGetContext = Object.getOwnPropertyDescriptor(Node.prototype, 'tryGetContext')!;
  Object.defineProperty(App.prototype, 'synth', {
    ...synth,
    value: function captureSynth(this: App): void {
      apps.push(this);
    },
  });
  Object.defineProperty(Node.prototype, 'tryGetContext', {
    ...tryGetContext,
    value: function withReleases(this: Node, key: string): unknown {
      const value: unknown = (tryGetContext.value as (k: string) => unknown).call(this, key);
      return value === undefined && key === RELEASES_CONTEXT_KEY ? releases : value;
    },
  });
  try {
    if (run > 0) {
      // CommonJS apps (ts-node style) are cached by file name, not URL.
      delete createRequire(absolute).cache[absolute];
    }
    return { mod: await importModule(absolute, appPath, run), apps };
  } catch (err) {
    if (err instanceof SlipwayError) throw err;
    throw new SlipwayError('APP_FAILED', `app module ${appPath} failed to load: ${describe(err)}`, 1, { cause: err });
  } finally {
    Object.defineProperty(App.prototype, 'synth', synth);
    Object.defineProperty(Node.prototype, 'tryGetContext', tryGetContext);
  }
}

// What Node answers for TypeScript it cannot run itself: no loader at all, or its type
// stripping meeting `.js` specifiers of `.ts` files or syntax it does not strip (enums).
const NEEDS_TS_LOADER = new Set(['ERR_UNKNOWN_FILE_EXTENSION', 'ERR_MODULE_NOT_FOUND', 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX', 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING']);
let loaderRegistered = false;

/**
 * Imports the module as it is (a test runner or a TS-aware runtime may load it), else through
 * tsx, registered once per process. A failed import links nothing, so no app code ran twice.
 */
async function importModule(absolute: string, appPath: string, run: number): Promise<Evaluation['mod']> {
  const url = pathToFileURL(absolute);
  if (run > 0) url.search = `?slipway-run=${run}`;
  try {
    return (await import(url.href)) as Evaluation['mod'];
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!TYPESCRIPT_APP.test(absolute) || loaderRegistered || code === undefined || !NEEDS_TS_LOADER.has(code)) throw err;
    if (!(await registerTypeScriptLoader(absolute))) {
      throw new SlipwayError('APP_LOADER_MISSING', `running the TypeScript app ${appPath} needs tsx: npm install --save-dev tsx`, 1, { cause: err });
    }
    // The failed URL stays failed in Node's module map: load the module under a new one.
    url.search = `?slipway-run=${run}-tsx`;
    return (await import(url.href)) as Evaluation['mod'];
  }
}

/** tsx's ESM and CommonJS hooks, from the app's project or else from slipway's own dependencies. */
async function registerTypeScriptLoader(absolute: string): Promise<boolean> {
  for (const from of [absolute, import.meta.filename]) {
    const require = createRequire(from);
    let manifest: string;
    try {
      manifest = require.resolve('tsx/package.json');
    } catch {
      continue;
    }
    // The ESM hooks must be loaded as ESM: tsx's CommonJS build of tsx/esm/api cannot register them.
    const exports = (JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports;
    const esm = (await import(pathToFileURL(join(dirname(manifest), exports['./esm/api']!.import.default)).href)) as { register(): unknown };
    const cjs = require('tsx/cjs/api') as { register(): unknown };
    esm.register();
    cjs.register();
    await shareSlipwayWithCommonJs(absolute);
    loaderRegistered = true;
    return true;
  }
  return false;
}

/**
 * tsx's CommonJS hook compiles an ES module that a CommonJS app require()s into a second copy,
 * so `require('slipway')` in a CommonJS app (cdk8s's typescript-app, ts-node projects) would get
 * Platform and Environment classes this compiler does not recognise. When the app's `slipway` is
 * this very package, its require() gets the module this compiler already loaded.
 */
async function shareSlipwayWithCommonJs(absolute: string): Promise<void> {
  const require = createRequire(absolute);
  let entry: string;
  try {
    entry = realpathSync(require.resolve('slipway'));
  } catch {
    return;
  }
  const ours = new URL('../../constructs/index.js', import.meta.url);
  if (!existsSync(ours) || entry !== realpathSync(ours) || require.cache[entry]) return;
  const loaded = new Module(entry);
  loaded.filename = entry;
  loaded.exports = await import(ours.href);
  loaded.loaded = true;
  require.cache[entry] = loaded;
}

/**
 * Compiles the app with the release records as context and returns its platforms as data.
 * No cdk8s output is written: objects come from each chart's ApiObjects.
 */
export async function compileApp(build: AppBuilder, releases: readonly Release[], appPath: string): Promise<CompiledPlatform[]> {
  return compileApps(await build(releases), appPath);
}

/** {@link compileApp} for apps already built (so a caller that also inspects them builds once). */
export function compileApps(apps: readonly App[], appPath: string): CompiledPlatform[] {

  const problems: string[] = [];
  for (const app of apps) {
    for (const c of app.node.findAll()) {
      for (const message of c.node.validate()) problems.push(`  - ${c.node.path}: ${message}`);
    }
  }
  if (problems.length > 0) {
    throw new SlipwayError('INVALID_CONSTRUCT', `${appPath}: constructs failed validation:\n${problems.join('\n')}`);
  }

  const platforms = apps.flatMap((app) => app.node.findAll().filter((c): c is Platform => Platform.isPlatform(c)));
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
        ...(FleetWave.isFleetWave(env) ? { fleetWave: { fleet: env.fleet, wave: env.wave } } : {}),
      })),
    fleets: platform.node
      .findAll()
      .filter((c): c is Fleet => Fleet.isFleet(c))
      .map((f) => ({ ...f.plan, hubObjects: f.hubObjects as unknown as KubeObject[] })),
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

