/** CPU budget of this process: the cgroup's CPU limit (a pod's limits.cpu) when set, else the cores Node sees. */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** cgroup v2 `cpu.max` ("quota period" or "max period"), then v1's cfs files; undefined when unlimited or unreadable. */
export function cgroupCpuLimit(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): number | undefined {
  try {
    const [quota, period] = read('/sys/fs/cgroup/cpu.max').trim().split(/\s+/);
    if (quota !== undefined && quota !== 'max' && Number(period) > 0) return Number(quota) / Number(period);
    return undefined;
  } catch {
    // cgroup v1
  }
  try {
    const quota = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us').trim());
    const period = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us').trim());
    return quota > 0 && period > 0 ? quota / period : undefined;
  } catch {
    return undefined;
  }
}

/** Whole CPUs to plan threads for: the cgroup limit rounded up, never above the visible cores, at least 1. */
export function cpuBudget(limit: number | undefined = cgroupCpuLimit(), cores: number = availableParallelism()): number {
  return Math.max(1, Math.min(cores, limit === undefined ? cores : Math.ceil(limit)));
}

/**
 * An inline run holds the event loop (health checks, every other model) for its duration, so the
 * default is far below the 100 ms a liveness probe tolerates and close to the ~0.2–0.5 ms a worker
 * round trip costs on a quiet machine: only runs the hop would at least double go inline.
 */
export const DEFAULT_INLINE_COMPUTE_BELOW_MS = 1;

export interface ThreadPlan {
  /** Sessions per model, each on a distinct session thread. */
  workersPerModel: number;
  /**
   * Worker threads shared by every model's sessions (a thread holds sessions of many models).
   * At least two, so one slow model cannot hold up every other; more only for models asking for
   * more sessions.
   */
  sessionThreads: number;
  /** onnxruntime intra-op threads per session. */
  intraOpThreads: number;
  /**
   * Runs estimated below this many milliseconds of session.run go inline on the event loop
   * instead of through a worker (InlinePolicy); 0 never does.
   */
  inlineComputeBelowMs: number;
}

/**
 * Defaults from the CPU budget: one session per model (dynamic batching already fills it under
 * load, and each extra session costs the model's memory again), and intra-op threads for all
 * cores but the one the event loop needs for HTTP, JSON and batching — all cores when there are
 * at most two, since then the event loop is mostly idle while a batch computes.
 */
export function defaultThreadPlan(cpus: number = cpuBudget()): ThreadPlan {
  return {
    workersPerModel: 1,
    sessionThreads: Math.min(8, Math.max(2, cpus)),
    intraOpThreads: cpus <= 2 ? cpus : cpus - 1,
    inlineComputeBelowMs: DEFAULT_INLINE_COMPUTE_BELOW_MS,
  };
}
