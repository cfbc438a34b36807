import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { SlipwayError } from '../errors.js';
import { HTTP_PORT } from '../vocabulary/ports.js';

/**
 * Runs a serving image under podman the way the cluster runs it: read-only root filesystem,
 * an arbitrary non-root UID, no capabilities, no privilege escalation, and only the inference
 * port published (on loopback). podman reads its runtime settings from CONTAINERS_CONF when
 * set (containers/containers.conf on CI runners), never from flags here.
 */

/** Debian package of each external tool the pipeline runs locally. */
export const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  podman: 'podman',
  buildah: 'buildah',
  mmdebstrap: 'mmdebstrap',
  runc: 'runc',
};

export interface Exec {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a tool; a missing one is PIPELINE_TOOL_MISSING naming its Debian package, a failing one CONTAINER_FAILED. */
export function exec(tool: string, args: readonly string[], timeoutMs = 120_000): Promise<Exec> {
  return new Promise((resolve, reject) => {
    execFile(tool, [...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, stderr });
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new SlipwayError('PIPELINE_TOOL_MISSING', `${tool} is not installed; install the Debian package ${DEBIAN_PACKAGES[tool] ?? tool}`));
      }
      const why = stderr.trim() || err.message;
      reject(new SlipwayError('CONTAINER_FAILED', `${tool} ${args.join(' ')} failed: ${why}`));
    });
  });
}

export interface RunLikeClusterOptions {
  /** The port the image serves inference on. @default 8080 */
  readonly port?: number;
  /** Host directories mounted read-only: container path -> host path. @default {} */
  readonly mounts?: Readonly<Record<string, string>>;
  /** Environment variables for the container. @default {} */
  readonly env?: Readonly<Record<string, string>>;
  /** The UID (and GID) it runs as. @default a random one from 10000 to 59999 */
  readonly uid?: number;
  /** Longest wait for /v2/health/ready. @default 60000 */
  readonly readyTimeoutMs?: number;
  /** The container's name. @default slipway-<random> */
  readonly name?: string;
  /** Arguments after the image (a pod's `args`: the entry point stays). @default the image's CMD */
  readonly args?: readonly string[];
  /** Further container ports to publish on loopback (metrics), each to a host port (0: any free one). @default {} */
  readonly publish?: Readonly<Record<number, number>>;
}

export interface RunningContainer {
  readonly name: string;
  readonly uid: number;
  /** http://127.0.0.1:<host port> */
  readonly url: string;
  /** The container's output so far. */
  logs(): Promise<string>;
  /** SIGTERM, then waits for the exit (podman's stop timeout kills it after `graceSeconds`) and removes it. */
  stop(graceSeconds?: number): Promise<{ exitCode: number; logs: string }>;
  /** Removes it at once, whatever its state. */
  remove(): Promise<void>;
}

async function waitForReady(url: string, timeoutMs: number, running: () => Promise<boolean>): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/v2/health/ready`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return undefined;
      last = `HTTP ${response.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (!(await running())) return 'the container exited';
    await new Promise((r) => setTimeout(r, 200));
  }
  return `not ready after ${timeoutMs} ms (last: ${last})`;
}

export async function runLikeCluster(image: string, options: RunLikeClusterOptions = {}): Promise<RunningContainer> {
  const port = options.port ?? HTTP_PORT;
  const uid = options.uid ?? randomInt(10_000, 60_000);
  const name = options.name ?? `slipway-${randomInt(1e9).toString(36)}`;
  const args = [
    'run', '--detach', '--name', name,
    '--read-only', '--read-only-tmpfs=false',
    '--user', `${uid}:${uid}`,
    '--cap-drop=all', '--security-opt=no-new-privileges',
    '--publish', `127.0.0.1::${port}`,
  ];
  for (const [containerPort, hostPort] of Object.entries(options.publish ?? {})) args.push('--publish', `127.0.0.1:${hostPort || ''}:${containerPort}`);
  for (const [target, source] of Object.entries(options.mounts ?? {})) args.push('--volume', `${source}:${target}:ro`);
  for (const [key, value] of Object.entries(options.env ?? {})) args.push('--env', `${key}=${value}`);
  await exec('podman', [...args, image, ...(options.args ?? [])]);

  const remove = async () => {
    await exec('podman', ['rm', '--force', '--ignore', name]).catch(() => undefined);
  };
  const logs = async () => {
    const { stdout, stderr } = await exec('podman', ['logs', name]);
    return stdout + stderr;
  };
  try {
    const published = (await exec('podman', ['port', name, `${port}/tcp`])).stdout.trim();
    const hostPort = /:(\d+)$/.exec(published)?.[1];
    if (!hostPort) throw new SlipwayError('CONTAINER_FAILED', `podman port ${name}: expected 127.0.0.1:<port>, got ${JSON.stringify(published)}`);
    const url = `http://127.0.0.1:${hostPort}`;
    const running = async () => (await exec('podman', ['inspect', '--format', '{{.State.Running}}', name])).stdout.trim() === 'true';
    const problem = await waitForReady(url, options.readyTimeoutMs ?? 60_000, running);
    if (problem) {
      const tail = (await logs().catch(() => '')).trim().split('\n').slice(-20).join('\n');
      throw new SlipwayError('CONTAINER_NOT_READY', `${image} (container ${name}, UID ${uid}, read-only root, no capabilities): ${problem}\n${tail}`);
    }
    return {
      name,
      uid,
      url,
      logs,
      remove,
      async stop(graceSeconds = 30) {
        await exec('podman', ['kill', '--signal', 'TERM', name]);
        const exited = await Promise.race([
          exec('podman', ['wait', name], (graceSeconds + 30) * 1000),
          new Promise<undefined>((r) => setTimeout(r, graceSeconds * 1000, undefined)),
        ]);
        if (exited === undefined) await exec('podman', ['kill', '--signal', 'KILL', name]).catch(() => undefined);
        const exitCode = Number((await exec('podman', ['inspect', '--format', '{{.State.ExitCode}}', name])).stdout.trim());
        const output = await logs();
        await remove();
        return { exitCode, logs: output };
      },
    };
  } catch (err) {
    await remove();
    throw err;
  }
}
