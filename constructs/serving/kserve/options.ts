import type { Model } from '../../model.js';
import { type PropValidator, dnsLabelProblem, isDns1123Label } from '../../private/validation.js';

/**
 * Serve through KServe instead of plain Deployments: an `InferenceService` (v1beta1) and, for
 * slipway's runtime, a `ServingRuntime` (or `ClusterServingRuntime`) that runs it.
 */
export interface KServeOptions {
  /**
   * Who serves the model. `slipway`: this runtime as a KServe ServingRuntime (ONNX, Open Inference
   * Protocol v2 over REST and gRPC), with its drift metrics and sha256 checks of the build.
   * `kserve`: KServe's own ONNX runtime (Triton) loading `storageUri`, an `s3://`, `gs://`,
   * `https://`, `pvc://` or `oci://` (modelcar) location; it exports no drift metrics, so the
   * deployment's drift monitoring must be off.
   * @default 'slipway'
   */
  readonly runtime?: 'slipway' | 'kserve';
  /**
   * KServe's deployment mode. `RawDeployment` makes plain Deployments, Services and HPAs (what
   * OpenShift AI calls standard deployment); `Serverless` uses Knative, which KServe needs to
   * split traffic for a canary (`canaryTrafficPercent`).
   * @default 'RawDeployment'
   */
  readonly deploymentMode?: 'RawDeployment' | 'Serverless';
  /**
   * Render slipway's runtime as a cluster-scoped `ClusterServingRuntime` instead of a
   * `ServingRuntime` in the model's namespace.
   * @default false
   */
  readonly clusterServingRuntime?: boolean;
  /**
   * The KServe runtime that serves `runtime: 'kserve'` (e.g. `kserve-tritonserver`).
   * @default - KServe picks a runtime that auto-selects the onnx format
   */
  readonly runtimeName?: string;
}

export interface ResolvedKServe {
  readonly runtime: 'slipway' | 'kserve';
  readonly deploymentMode: 'RawDeployment' | 'Serverless';
  readonly clusterServingRuntime: boolean;
  readonly runtimeName?: string;
  /** Percent of traffic the newest revision gets (the canary's first weight). */
  readonly canaryTrafficPercent?: number;
}

/** Applies the KServe defaults and reports what KServe cannot do with the other serving props. */
export function resolveKServe(
  v: PropValidator,
  options: KServeOptions,
  context: { readonly model: Model; readonly canaryFirstWeight?: number; readonly canary: boolean },
): ResolvedKServe {
  const resolved: ResolvedKServe = {
    runtime: options.runtime ?? 'slipway',
    deploymentMode: options.deploymentMode ?? 'RawDeployment',
    clusterServingRuntime: options.clusterServingRuntime ?? false,
    ...(options.runtimeName !== undefined ? { runtimeName: options.runtimeName } : {}),
    ...(context.canaryFirstWeight !== undefined ? { canaryTrafficPercent: context.canaryFirstWeight } : {}),
  };
  v.check(['slipway', 'kserve'].includes(resolved.runtime), 'kserve.runtime', `expected 'slipway' or 'kserve', got ${JSON.stringify(resolved.runtime)}`);
  v.check(
    ['RawDeployment', 'Serverless'].includes(resolved.deploymentMode),
    'kserve.deploymentMode',
    `expected 'RawDeployment' or 'Serverless', got ${JSON.stringify(resolved.deploymentMode)}`,
  );
  if (resolved.runtimeName !== undefined) {
    v.check(isDns1123Label(resolved.runtimeName), 'kserve.runtimeName', dnsLabelProblem(resolved.runtimeName));
    v.check(resolved.runtime === 'kserve', 'kserve.runtimeName', "only applies to runtime: 'kserve' (slipway's runtime gets its own ServingRuntime); remove it or set runtime: 'kserve'");
  }
  if (resolved.runtime === 'kserve') {
    v.check(
      context.model.artifactScheme !== 'image',
      'kserve.runtime',
      "KServe's ONNX runtime loads the model from storageUri, but this build is inside the slipway runtime image (artifactUri 'image'); use runtime: 'slipway' or a store location (s3://, gs://, https://, pvc://, oci://)",
    );
    v.check(!resolved.clusterServingRuntime, 'kserve.clusterServingRuntime', "only applies to runtime: 'slipway'; KServe's own runtimes are installed by KServe");
  }
  if (context.canary) {
    v.check(
      resolved.deploymentMode === 'Serverless',
      'canary',
      "KServe splits canary traffic (canaryTrafficPercent) only in Serverless (Knative) mode; set kserve.deploymentMode: 'Serverless', or drop canary for RawDeployment",
    );
    v.check(
      context.canaryFirstWeight !== undefined && context.canaryFirstWeight > 0 && context.canaryFirstWeight < 100,
      'canary.steps',
      `KServe takes one canary weight (canaryTrafficPercent) from the first setWeight step, which must be from 1 to 99, got ${context.canaryFirstWeight ?? 'none'}`,
    );
  }
  return Object.freeze(resolved);
}
