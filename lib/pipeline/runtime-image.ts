import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { SlipwayError } from '../errors.js';

/**
 * The runtime image on a machine without a registry, as test/image builds it: a Debian-built
 * Node.js base (containers/build-base-image.sh), the host-prepared context
 * (containers/image-context.sh) and the Dockerfile, built by buildah. Tagged with the hash of
 * everything that goes into it, so an unchanged checkout builds it once per machine and every
 * later run (the retrain of the closed loop included) reuses it.
 */

export const LOCAL_RUNTIME_REPOSITORY = 'localhost/slipway/runtime';

/** Files whose content decides the image: the compiled sources, schemas, dependencies and recipes. */
const INPUT_DIRS = ['lib', 'constructs', 'schemas'];
const INPUT_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'Dockerfile', 'containers/build-base-image.sh', 'containers/image-context.sh'];

export function runtimeImageInputsHash(root: string): string {
  const hash = createHash('sha256');
  const add = (file: string) => {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  };
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) add(path);
    }
  };
  for (const dir of INPUT_DIRS) if (existsSync(join(root, dir))) walk(join(root, dir));
  for (const file of INPUT_FILES) if (existsSync(join(root, file))) add(join(root, file));
  return hash.digest('hex').slice(0, 16);
}

function run(command: string, args: readonly string[], log: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    const onAbort = () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* gone */
      }
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      appendFileSync(log, d);
    });
    child.stderr.on('data', (d: Buffer) => appendFileSync(log, d));
    child.on('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      reject((err as NodeJS.ErrnoException).code === 'ENOENT' ? new SlipwayError('PIPELINE_TOOL_MISSING', `${command} is not installed; install the Debian package ${command}`) : err);
    });
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(new SlipwayError('PIPELINE_INTERRUPTED', 'interrupted', 130));
      if (code === 0) return resolve(stdout);
      reject(new SlipwayError('PIPELINE_STEP_FAILED', `${command} ${args.join(' ')} exited with ${code}`));
    });
  });
}

export interface LocalRuntimeImageOptions {
  /** The slipway checkout (containers/, Dockerfile). */
  readonly root: string;
  /** Build log. */
  readonly log: string;
  readonly signal?: AbortSignal | undefined;
}

/**
 * One build per image at a time: runs started together (parallel tests, two terminals) wait for
 * the first instead of building the same image twice. A lock older than the longest build is stale.
 */
async function withLock<T>(name: string, signal: AbortSignal | undefined, body: () => Promise<T>): Promise<T> {
  const lock = join(tmpdir(), `${name}.lock`);
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 15 * 60_000) rmSync(lock, { force: true });
      if (Date.now() > deadline || signal?.aborted) throw new SlipwayError('PIPELINE_STEP_FAILED', `another run holds ${lock}; remove it if no build is running`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await body();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** `localhost/slipway/runtime:<inputs hash>`, built unless this machine has it already. */
export async function localRuntimeImage(options: LocalRuntimeImageOptions): Promise<string> {
  const tag = runtimeImageInputsHash(options.root);
  return withLock(`slipway-runtime-${tag}`, options.signal, () => buildRuntimeImage(`${LOCAL_RUNTIME_REPOSITORY}:${tag}`, options));
}

async function buildRuntimeImage(image: string, options: LocalRuntimeImageOptions): Promise<string> {
  if (spawnSync('podman', ['image', 'exists', image]).status === 0) {
    appendFileSync(options.log, `${image} exists; reused\n`);
    return image;
  }
  const base = (await run(join(options.root, 'containers', 'build-base-image.sh'), [], options.log, options.signal)).trim().split('\n').at(-1)!;
  const context = mkdtempSync(join(tmpdir(), 'slipway-runtime-context-'));
  try {
    await run(join(options.root, 'containers', 'image-context.sh'), [join(context, 'ctx')], options.log, options.signal);
    await run('buildah', ['build', '--quiet', '--format', 'docker', '--layers=false', '--build-arg', `BASE_IMAGE=${base}`, '--tag', image, '--file', join(options.root, 'Dockerfile'), join(context, 'ctx')], options.log, options.signal);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  // Images of earlier checkouts are dead weight; one still in use (a model image built FROM it) stays.
  const tags = spawnSync('podman', ['images', '--format', '{{.Repository}}:{{.Tag}}', LOCAL_RUNTIME_REPOSITORY], { encoding: 'utf8' }).stdout ?? '';
  for (const old of tags.split('\n').filter((t) => /:[0-9a-f]{16}$/.test(t) && t !== image)) spawnSync('podman', ['rmi', old], { stdio: 'ignore' });
  return image;
}
