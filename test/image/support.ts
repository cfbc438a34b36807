import { execFile, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** podman and buildah read runc, cgroupfs and the ulimits from here, not from flags. */
export const CONTAINERS_CONF = resolve('containers/containers.conf');

export function onPath(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Why the container tests cannot run on this machine, or undefined when they can. CI installs
 * everything (.ci/run); a developer machine without the tools skips with this as the reason.
 */
export function containerToolsMissing(): string | undefined {
  const missing = ['podman', 'buildah', 'mmdebstrap', 'runc'].filter((tool) => !onPath(tool));
  if (missing.length > 0) return `not installed: ${missing.join(', ')} (Debian packages of the same names; .ci/run installs them)`;
  if (process.getuid?.() !== 0) return 'podman and buildah must run as root here (runc + cgroupfs); run the tests as root';
  return undefined;
}

export interface Ran {
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a container tool with the repository's containers.conf; rejects with its stderr. */
export async function tool(command: string, args: readonly string[], timeoutMs = 300_000): Promise<Ran> {
  const started = performance.now();
  try {
    const { stdout, stderr } = await run(command, [...args], {
      env: { ...process.env, CONTAINERS_CONF },
      maxBuffer: 64 * 1024 * 1024,
      timeout: timeoutMs,
      encoding: 'utf8',
    });
    return { stdout, stderr, ms: performance.now() - started };
  } catch (err) {
    const { stderr, stdout } = err as { stderr?: string; stdout?: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${(err as Error).message}\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
}

/** Builds (or reuses, keyed by the recipe's hash) the Debian-built Node.js base image. */
export async function baseImage(): Promise<Ran & { image: string }> {
  const ran = await tool(resolve('containers/build-base-image.sh'), [], 600_000);
  return { ...ran, image: ran.stdout.trim() };
}
