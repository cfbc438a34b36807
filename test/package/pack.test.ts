import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The package as users get it: `npm pack`, then installed from the tarball into fresh projects
// with their own (strict) compiler settings. Only the npm registry is used, through the cache.
const ROOT = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'slipway-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ours = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const installed = (name: string) => (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
const PEERS = ['cdk8s', 'cdk8s-plus-28', 'constructs'].map((name) => `${name}@${installed(name)}`);

// npm passes its config to scripts as npm_* variables; a nested npm must not inherit the checkout's.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

// Asynchronous children: a blocked test worker misses vitest's heartbeats during long installs.
async function npm(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('npm', [...args, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=warn'], { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  return stdout;
}

function project(dir: string, files: Record<string, string>): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

async function run(cwd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, args, { cwd, env: { ...env, CI: 'true' }, encoding: 'utf8', maxBuffer: 64 << 20 });
    return { status: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof failed.code === 'number' ? failed.code : null, stdout: failed.stdout ?? '', stderr: failed.stderr ?? String(err) };
  }
}

async function ok(cwd: string, args: string[]): Promise<string> {
  const result = await run(cwd, args);
  expect(result.stderr + result.stdout, `${args.join(' ')} in ${cwd}`).toSatisfy(() => result.status === 0);
  return result.stdout;
}

function duBytes(path: string): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) total += duBytes(child);
    else if (entry.isFile()) total += statSync(child).size;
  }
  return total;
}

/** The user's flags: as strict as TypeScript goes. */
const STRICT = {
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  noImplicitOverride: true,
  noPropertyAccessFromIndexSignature: true,
  skipLibCheck: true,
  noEmit: true,
};

/**
 * Type-checks the project as configured, then once more with declaration files checked too
 * (--skipLibCheck false): slipway's .d.ts must be clean under the strict flags. cdk8s-plus-28
 * and kubernetes-models ship declarations that are not (exactOptionalPropertyTypes), which a
 * user with these flags sees with or without slipway, so only theirs are tolerated there.
 */
async function typeCheck(tools: string, dir: string): Promise<void> {
  const tsc = join(tools, 'node_modules/typescript/bin/tsc');
  await ok(dir, [tsc, '-p', '.']);
  const strict = await run(dir, [tsc, '-p', '.', '--skipLibCheck', 'false']);
  const errors = strict.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
  expect(errors.filter((l) => !/^\.\.\/node_modules\/(cdk8s-plus-28|kubernetes-models|@kubernetes-models)\//.test(l))).toEqual([]);
}

const MODEL = `{
  name: 'churn',
  version: '1.0.0',
  owner: 'ml-team@example.com',
  artifactUri: 's3://models/churn/1.0.0/model.onnx',
  artifactSha256: '${'a'.repeat(64)}',
  inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 2] }],
  image: 'ghcr.io/example/churn-runtime@sha256:${'b'.repeat(64)}',
}`;

function synthesized(dir: string): string[] {
  return readdirSync(join(dir, 'dist')).filter((f) => f.endsWith('.k8s.yaml'));
}

function deploymentIn(dir: string): string {
  const file = synthesized(dir)[0]!;
  return readFileSync(join(dir, 'dist', file), 'utf8');
}

let tarball: string;
let packed: { size: number; unpackedSize: number; files: { path: string }[] };

beforeAll(async () => {
  // npm pack runs `prepack`, which builds from the current sources.
  const out = await npm(ROOT, ['pack', '--json', '--pack-destination', work]);
  packed = (JSON.parse(out.slice(out.indexOf('['))) as (typeof packed & { filename: string })[])[0]!;
  tarball = join(work, (packed as typeof packed & { filename: string }).filename);
}, 300_000);

describe('the npm package', () => {
  it('ships compiled JavaScript, declarations, schemas and the CLI, and no tests, benchmarks, fixtures or lib/onnx', () => {
    const paths = packed.files.map((f) => f.path);
    for (const needed of ['package.json', 'bin/slipway.mjs', 'build/constructs/index.js', 'build/constructs/index.d.ts', 'build/lib/cli/main.js', 'build/lib/cli/commands.json', 'build/schemas/model-deployment.schema.json', 'schemas/model-deployment.schema.json', 'docs/errors.md']) {
      expect(paths).toContain(needed);
    }
    expect(paths.filter((p) => /^(test|bench|examples|apps|scripts|constructs|lib)\/|^build\/(apps|lib\/onnx)\/|fixtures|\.test\.|\.tsbuildinfo$|(?<!\.d)\.ts$/.test(p))).toEqual([]);
    // AND its manifest has no script npm runs when installing it (npm's allowScripts would ask about it)
    const manifest = JSON.parse(execFileSync('tar', ['-xOzf', tarball, 'package/package.json'], { encoding: 'utf8' })) as { scripts?: Record<string, string> };
    expect(Object.keys(manifest.scripts ?? {}).filter((k) => /^(pre|post)?(install|prepare)$|^preuninstall$/.test(k))).toEqual([]);
    console.log(`npm pack: ${(packed.size / 1024).toFixed(0)} kB packed, ${(packed.unpackedSize / 1024).toFixed(0)} kB unpacked, ${paths.length} files`);
  });

  it('installs for a constructs-only JavaScript project without onnxruntime, tsx or the CLI, and synthesizes a ModelDeployment', async () => {
    // GIVEN a plain CommonJS JavaScript project with slipway and its peers
    const dir = project(join(work, 'js'), {
      'package.json': JSON.stringify({ name: 'js-app', version: '1.0.0', private: true }),
      'main.js': `const { App } = require('cdk8s');
const { ModelDeployment } = require('slipway');
const app = new App();
new ModelDeployment(app, 'churn', { ...${MODEL}, namespace: 'ml' });
app.synth();
`,
    });
    await npm(dir, ['install', tarball, ...PEERS]);
    // THEN nothing for serving or compiling came along, and constructs exists once
    const modules = readdirSync(join(dir, 'node_modules'));
    for (const absent of ['onnxruntime-node', 'tsx', 'esbuild', 'typescript']) expect(modules).not.toContain(absent);
    expect(existsSync(join(dir, 'node_modules/slipway/node_modules/constructs'))).toBe(false);
    console.log(`constructs-only install (slipway + cdk8s, cdk8s-plus-28, constructs): ${(duBytes(join(dir, 'node_modules')) / 1024 / 1024).toFixed(1)} MB in node_modules`);
    // WHEN it runs with plain Node THEN the model's manifests come out
    await ok(dir, ['main.js']);
    expect(deploymentIn(dir)).toMatch(/kind: Deployment[\s\S]*image: ghcr\.io\/example\/churn-runtime@sha256:b{64}/);
    // AND the constructs entry point reaches no CLI, runtime or onnxruntime module
    expect(importsOf(join(dir, 'node_modules/slipway/build/constructs/index.js')).filter((m) => /lib\/(cli|runtime|compiler)\/|^(onnxruntime-node|commander|isomorphic-git|tsx)$/.test(m))).toEqual([]);
  }, 300_000);

  describe('TypeScript projects with strict flags', () => {
    const tools = join(work, 'ts');
    beforeAll(async () => {
      project(tools, { 'package.json': JSON.stringify({ name: 'ts-apps', version: '1.0.0', private: true }) });
      await npm(tools, ['install', tarball, ...PEERS, `typescript@${installed('typescript')}`, `tsx@${installed('tsx')}`, `@types/node@${installed('@types/node')}`, 'ts-node@^10']);
    }, 300_000);

    it('type-checks and synthesizes in a CommonJS + ts-node project shaped like cdk8s init typescript-app', async () => {
      // GIVEN cdk8s's typescript-app tsconfig (module CommonJS, lib es2016) made stricter
      const dir = project(join(tools, 'cjs'), {
        'package.json': JSON.stringify({ name: 'cjs-app', version: '1.0.0', main: 'main.js', types: 'main.ts', private: true }),
        'tsconfig.json': JSON.stringify({
          compilerOptions: { alwaysStrict: true, declaration: true, experimentalDecorators: true, inlineSourceMap: true, lib: ['es2016'], module: 'CommonJS', noFallthroughCasesInSwitch: true, noImplicitReturns: true, noUnusedLocals: true, noUnusedParameters: true, resolveJsonModule: true, stripInternal: true, target: 'ES2017', ...STRICT },
          include: ['**/*.ts'],
          exclude: ['node_modules'],
        }),
        'main.ts': `import { Construct } from 'constructs';
import { App, Chart, ChartProps } from 'cdk8s';
import { ModelDeployment } from 'slipway';

export class MyChart extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, props);
    new ModelDeployment(this, 'churn', { ...${MODEL}, namespace: 'ml' });
  }
}

const app = new App();
new MyChart(app, 'cdk8s-app');
app.synth();
`,
      });
      // WHEN it is type-checked and run the way cdk8s.yaml does (npx ts-node main.ts)
      await typeCheck(tools, dir);
      await ok(dir, [join(tools, 'node_modules/ts-node/dist/bin.js'), 'main.ts']);
      // THEN the manifests are written
      expect(synthesized(dir).length).toBeGreaterThan(0);
      expect(readdirSync(join(dir, 'dist')).map((f) => readFileSync(join(dir, 'dist', f), 'utf8')).join('\n')).toMatch(/kind: Deployment/);

      // WHEN slipway synth compiles a CommonJS app (type-checked with TypeScript 5's compiler API)
      // THEN it commits it, and an app with a misspelled prop fails at its line before it runs
      const cli = join(tools, 'node_modules/slipway/bin/slipway.mjs');
      const platformApp = `import { App } from 'cdk8s';
import { Environment, ModelDeployment, Platform } from 'slipway';

const app = new App();
const platform = new Platform(app, 'cjs', { repoURL: 'https://git.example.com/cjs/config.git' });
new ModelDeployment(new Environment(platform, 'staging', { namespace: 'ml' }), 'churn', { ...${MODEL} });
app.synth();
`;
      writeFileSync(join(dir, 'platform.ts'), platformApp);
      expect(await ok(dir, [cli, 'synth', '--app', 'platform.ts', '--repo', 'config-repo'])).toMatch(/commit [0-9a-f]{40}/);
      writeFileSync(join(dir, 'typo.ts'), platformApp.replace("{ ...{", "{ maxReplica: 8, ...{"));
      const typo = await run(dir, [cli, 'synth', '--app', 'typo.ts', '--repo', 'config-repo']);
      expect(typo.status).toBe(1);
      expect(typo.stderr).toMatch(/typo\.ts:6:\d+ - error TS2561: .*'maxReplica' does not exist/);
      expect(installed('typescript')).toMatch(/^5\./);
    }, 120_000);

    it('type-checks and synthesizes in an ESM + tsx project, and slipway synth runs its script, refusing a misspelled prop', async () => {
      // GIVEN an ESM project (NodeNext) whose app is a script like the README's
      const app = `import { App } from 'cdk8s';
import { Environment, ModelDeployment, Platform } from 'slipway';

const app = new App();
const platform = new Platform(app, 'shop', { repoURL: 'https://git.example.com/shop/config.git' });
const staging = new Environment(platform, 'staging', { namespace: 'shop-staging' });
new ModelDeployment(staging, 'churn', ${MODEL});
app.synth();
`;
      const dir = project(join(tools, 'esm'), {
        'package.json': JSON.stringify({ name: 'esm-app', version: '1.0.0', type: 'module', private: true }),
        'tsconfig.json': JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', types: ['node'], ...STRICT }, include: ['*.ts'] }),
        'main.ts': app,
        'typo.ts.txt': app.replace("image: 'ghcr", "maxReplica: 8,\n  image: 'ghcr"),
      });
      // WHEN it is type-checked and run with tsx THEN cdk8s's output appears
      await typeCheck(tools, dir);
      await ok(dir, [join(tools, 'node_modules/tsx/dist/cli.mjs'), 'main.ts']);
      expect(deploymentIn(dir)).toMatch(/namespace: shop-staging/);

      // WHEN the installed CLI compiles the same script into a config repository
      const cli = join(tools, 'node_modules/slipway/bin/slipway.mjs');
      expect((await ok(dir, [cli, '--version'])).trim()).toBe(ours.version);
      expect(await ok(dir, [cli, '--help'])).toMatch(/synth \[options\]\s+Compile the app/);
      const synth = await ok(dir, [cli, 'synth', '--app', 'main.ts', '--repo', 'config-repo']);
      // THEN it commits the environment's application
      expect(synth).toMatch(/commit [0-9a-f]{40}/);
      expect(existsSync(join(dir, 'config-repo/environments/staging/churn'))).toBe(true);

      // WHEN the app misspells a prop THEN slipway synth fails at its line before running it
      writeFileSync(join(dir, 'typo.ts'), readFileSync(join(dir, 'typo.ts.txt'), 'utf8'));
      const typo = await run(dir, [cli, 'synth', '--app', 'typo.ts', '--repo', 'config-repo']);
      expect(typo.status).toBe(1);
      expect(typo.stderr).toMatch(/typo\.ts:\d+:\d+ - error TS2561: .*'maxReplica' does not exist/);
      expect(typo.stderr).toContain('error SLIPWAY_E0104 (APP_TYPE_ERRORS)');
      // AND serving says what to install instead of crashing
      const serve = await run(dir, [cli, 'serve', '--model', 'm=model.onnx']);
      expect(serve.status).toBe(1);
      expect(serve.stderr).toContain('error SLIPWAY_E0601 (RUNTIME_NOT_INSTALLED)');
    }, 180_000);
  });
});

describe("the README's install section, word for word", () => {
  /** The ```sh and ```ts blocks of README.md's "Install in your project", in order. */
  function readmeBlocks(): { lang: string; text: string }[] {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Install in your project'));
    const body = section.slice(0, section.indexOf('\n## ', 1));
    return [...body.matchAll(/```(sh|ts)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, text: m[2]! }));
  }

  async function shell(cwd: string, script: string): Promise<{ stdout: string; stderr: string }> {
    // npm's own defaults, but quiet about audits and funding; the registry is npm's.
    const quiet = { ...env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', CI: 'true' };
    return promisify(execFile)('sh', ['-ec', script], { cwd, env: quiet, encoding: 'utf8', maxBuffer: 64 << 20 });
  }

  it('installs with the latest TypeScript and no install-script warning, synthesizes the first app and rejects a misspelled prop at its line', async () => {
    const blocks = readmeBlocks();
    const [install, app, synth] = [blocks[0]!, blocks[1]!, blocks[2]!];
    expect([install.lang, app.lang, synth.lang]).toEqual(['sh', 'ts', 'sh']);
    // GIVEN an empty folder and the README's commands, with the packed tarball standing in for slipway
    const dir = join(work, 'readme');
    mkdirSync(dir);
    const commands = install.text.replace(/^npm install slipway /m, `npm install ${tarball} `);
    expect(commands).toContain(tarball);
    // WHEN they run
    const installing = await shell(dir, commands);
    // THEN npm installs npm's latest TypeScript and says nothing about slipway's scripts
    const latest = (await shell(dir, 'npm view typescript version')).stdout.trim();
    expect((JSON.parse(readFileSync(join(dir, 'node_modules/typescript/package.json'), 'utf8')) as { version: string }).version).toBe(latest);
    expect(installing.stderr).not.toMatch(/slipway@/);
    console.log(`README install: typescript ${latest}`);
    // WHEN the README's first app is compiled with the README's command THEN it is committed
    writeFileSync(join(dir, 'main.ts'), app.text);
    const synthesizing = await shell(dir, synth.text);
    expect(synthesizing.stdout).toMatch(/commit [0-9a-f]{40}/);
    expect(existsSync(join(dir, 'config-repo/environments/staging/churn'))).toBe(true);
    // WHEN the app misspells a prop THEN synth fails at its line, before running it
    writeFileSync(join(dir, 'main.ts'), app.text.replace("  image: 'ghcr", "  maxReplica: 8,\n  image: 'ghcr"));
    const typo = await shell(dir, synth.text).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/main\.ts:15:3 - error TS2561: Object literal may only specify known properties, but 'maxReplica' does not exist in type 'ModelDeploymentProps'/);
    expect(typo.stderr).toContain('error SLIPWAY_E0104 (APP_TYPE_ERRORS)');
  }, 300_000);
});

/** The modules `entry` imports, transitively through relative imports: bare names and package paths. */
function importsOf(entry: string, seen = new Set<string>()): string[] {
  if (seen.has(entry)) return [];
  seen.add(entry);
  const found: string[] = [];
  for (const [, spec] of readFileSync(entry, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
    if (spec!.startsWith('.')) {
      const target = resolve(dirname(entry), spec!);
      found.push(target.replace(/.*\/build\//, ''));
      if (target.endsWith('.js')) found.push(...importsOf(target, seen));
    } else {
      found.push(spec!);
    }
  }
  return found;
}
