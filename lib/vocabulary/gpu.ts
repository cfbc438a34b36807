/** GPU a workload runs on (serving replicas and training steps alike). */
export interface GpuOptions {
  /** Number of GPUs (or MIG slices) per replica, at least 1. */
  readonly count: number;
  /**
   * Extended resource to request: `nvidia.com/gpu` for whole GPUs, or a MIG profile such as
   * `nvidia.com/mig-1g.10gb`.
   * @default 'nvidia.com/gpu'
   */
  readonly resource?: string;
  /**
   * GPU model to schedule on, matched against GPU feature discovery's `nvidia.com/gpu.product`
   * node label (e.g. `NVIDIA-A100-SXM4-80GB`).
   * @default - any GPU node
   */
  readonly product?: string;
  /**
   * RuntimeClass that exposes GPUs to containers (e.g. `nvidia` with the GPU operator's
   * containerd handler).
   * @default - the cluster's default runtime
   */
  readonly runtimeClassName?: string;
}

export const DEFAULT_GPU_RESOURCE = 'nvidia.com/gpu';
export const MIG_RESOURCE = /^nvidia\.com\/mig-[1-7]g\.[0-9]+gb$/;
const NODE_LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** Problems of GPU options as [field under `prefix`, message] pairs (runtimeClassName is a DNS label, checked by the caller). */
export function gpuProblems(gpu: GpuOptions, prefix = 'gpu'): Array<[string, string]> {
  const problems: Array<[string, string]> = [];
  const resource = gpu.resource ?? DEFAULT_GPU_RESOURCE;
  if (!(Number.isInteger(gpu.count) && gpu.count >= 1)) {
    problems.push([`${prefix}.count`, `expected an integer >= 1 (GPUs or MIG slices per replica), got ${gpu.count}`]);
  }
  if (!(resource === DEFAULT_GPU_RESOURCE || MIG_RESOURCE.test(resource))) {
    problems.push([`${prefix}.resource`, `expected "nvidia.com/gpu" or a MIG resource such as "nvidia.com/mig-1g.10gb", got ${JSON.stringify(resource)}`]);
  }
  if (gpu.product !== undefined && !NODE_LABEL_VALUE.test(gpu.product)) {
    problems.push([`${prefix}.product`, `expected a node label value such as "NVIDIA-A100-SXM4-80GB", got ${JSON.stringify(gpu.product)}`]);
  }
  return problems;
}

/** Pod spec fields that put a pod on a GPU node: runtime class, the GPU taint's toleration, product selector. */
export function gpuPlacement(gpu: GpuOptions | undefined): {
  runtimeClassName?: string;
  tolerations?: Array<{ key: string; operator: 'Exists'; effect: 'NoSchedule' }>;
  nodeSelector?: Record<string, string>;
} {
  if (!gpu) return {};
  return {
    ...(gpu.runtimeClassName ? { runtimeClassName: gpu.runtimeClassName } : {}),
    tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists' as const, effect: 'NoSchedule' as const }],
    ...(gpu.product ? { nodeSelector: { 'nvidia.com/gpu.product': gpu.product } } : {}),
  };
}
