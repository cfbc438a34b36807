/** onnxruntime session options shared by session workers and the pool's inline session. */
import type * as ort from 'onnxruntime-node';
import type { ExecutionProviderName } from './model-config.js';
import type { LoadRequest } from './session-worker.js';

export function sessionOptions(load: LoadRequest, provider: ExecutionProviderName): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider === 'cuda' ? { name: 'cuda', deviceId: load.cudaDeviceId } : 'cpu'],
    graphOptimizationLevel: 'all',
    logId: load.logId,
    logSeverityLevel: 4,
    // Spinning thread pools burn the cores that parse and answer HTTP between batches; with it
    // off, tabular throughput under load roughly doubled in bench/serve.ts on a 2-core machine.
    ...(load.cpuMemArena === false ? { enableCpuMemArena: false } : {}),
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    ...(load.intraOpThreads ? { intraOpNumThreads: load.intraOpThreads } : {}),
    ...(load.interOpThreads ? { interOpNumThreads: load.interOpThreads, executionMode: 'parallel' as const } : {}),
  };
}
