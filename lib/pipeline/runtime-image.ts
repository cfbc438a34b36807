import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

/** `localhost/slipway/runtime:<inputs hash>`, built unless this machine has it already. */
export async function localRuntimeImage(options: LocalRuntimeImageOptions): Promise<string> {
  const image = `${LOCAL_RUNTIME_REPOSITORY}:${runtimeImageInputsHash(options.root)}`;
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
  return image;
}
