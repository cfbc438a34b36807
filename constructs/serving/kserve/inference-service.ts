import { ApiObject, JsonPatch } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { METRICS_PORT } from '../../../lib/vocabulary/ports.js';
import type { ScaleTarget } from '../autoscaler.js';
import type { ResolvedServingProps } from '../props.js';
import type { ResolvedKServe } from './options.js';

export const KSERVE_API_VERSION = 'serving.kserve.io/v1beta1';
export const KSERVE_RUNTIME_API_VERSION = 'serving.kserve.io/v1alpha1';

/** What KServe names the predictor's Deployment (and Service) of an InferenceService. */
export function predictorName(isvc: string): string {
  return `${isvc}-predictor`;
}

/**
 * The KServe rendering of one serving: the same pod as the plain rendering (restricted security,
 * fetch-and-verify init containers, SLIPWAY_EXPECTED_SHA256, GPU placement), split the way KServe
 * composes pods: the runtime container in a ServingRuntime, the model's container fields and the
 * pod fields in the InferenceService's predictor.
 */
export function renderKServe(
  scope: Construct,
  metadata: k8s.ObjectMeta,
  template: k8s.PodTemplateSpec,
  props: ResolvedServingProps & { readonly kserve: ResolvedKServe },
): { workload: ApiObject; scaleTarget?: ScaleTarget } {
  const { kserve } = props;
  const pod = k8s.toJson_PodTemplateSpec(template) as { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: Record<string, any> };
  const { containers, ...podFields } = pod.spec as { containers: Record<string, any>[] } & Record<string, unknown>;
  const runtime = containers[0]!;
  const raw = kserve.deploymentMode === 'RawDeployment';

  let model: Record<string, unknown>;
  if (kserve.runtime === 'slipway') {
    const runtimeName = `${props.name}-slipway`;
    const { env, resources, volumeMounts, name: _name, ...runtimeContainer } = runtime;
    const servingRuntime = new ApiObject(scope, 'ServingRuntime', {
      apiVersion: KSERVE_RUNTIME_API_VERSION,
      kind: kserve.clusterServingRuntime ? 'ClusterServingRuntime' : 'ServingRuntime',
      metadata: { ...metadata, name: runtimeName },
      spec: {
        // Only this InferenceService names it: the image carries (or verifies) exactly one build.
        supportedModelFormats: [{ name: 'onnx', version: '1', autoSelect: false }],
        protocolVersions: ['v2', 'grpc-v2'],
        multiModel: false,
        annotations: { 'prometheus.kserve.io/port': String(METRICS_PORT), 'prometheus.kserve.io/path': '/metrics' },
        containers: [{ name: 'kserve-container', ...runtimeContainer }],
      },
    });
    // Cluster-scoped: the chart's namespace must not land on it.
    if (kserve.clusterServingRuntime) servingRuntime.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
    model = {
      modelFormat: { name: 'onnx', version: '1' },
      runtime: runtimeName,
      protocolVersion: 'v2',
      env,
      resources,
      volumeMounts,
    };
  } else {
    model = {
      modelFormat: { name: 'onnx' },
      ...(kserve.runtimeName ? { runtime: kserve.runtimeName } : {}),
      protocolVersion: 'v2',
      storageUri: props.model.artifactUri,
      resources: runtime.resources,
      securityContext: runtime.securityContext,
    };
  }
  // KServe's storage initializer fetches storageUri for its own runtime; slipway's runtime keeps
  // its fetch-and-verify init containers.
  const { initContainers, volumes, ...podSpec } = podFields as Record<string, unknown>;
  const ownFetch = kserve.runtime === 'slipway' ? { ...(initContainers ? { initContainers } : {}), ...(volumes ? { volumes } : {}) } : {};

  // Autoscaling: KServe's HPA on CPU in RawDeployment; KEDA (slipway's, on in-flight requests) for
  // GPUs, with KServe told to leave scaling alone; Knative's concurrency in Serverless mode.
  const externalScaling = raw && props.gpu !== undefined;
  const scaling = raw
    ? externalScaling
      ? {}
      : { scaleMetric: 'cpu', scaleTarget: props.targetCpuUtilization }
    : { scaleMetric: 'concurrency', scaleTarget: props.targetInFlightRequests };
  const workload = new ApiObject(scope, 'Resource', {
    apiVersion: KSERVE_API_VERSION,
    kind: 'InferenceService',
    metadata: {
      ...metadata,
      annotations: {
        'serving.kserve.io/deploymentMode': kserve.deploymentMode,
        ...(raw ? { 'serving.kserve.io/autoscalerClass': externalScaling ? 'external' : 'hpa' } : {}),
      },
    },
    spec: {
      predictor: {
        minReplicas: props.minReplicas,
        maxReplicas: props.maxReplicas,
        ...scaling,
        ...(kserve.canaryTrafficPercent !== undefined ? { canaryTrafficPercent: kserve.canaryTrafficPercent } : {}),
        labels: pod.metadata.labels,
        annotations: pod.metadata.annotations,
        ...podSpec,
        ...ownFetch,
        model,
      },
    },
  });
  return {
    workload,
    ...(externalScaling ? { scaleTarget: { apiVersion: 'apps/v1', kind: 'Deployment', name: predictorName(props.name) } } : {}),
  };
}

/** The metrics port of the predictor pods, for the DriftMonitor's ServiceMonitor (KServe's own Service exposes inference only). */
export function renderMetricsService(scope: Construct, metadata: k8s.ObjectMeta, selector: Record<string, string>): k8s.KubeService {
  return new k8s.KubeService(scope, 'Service', {
    metadata: { ...metadata, name: `${metadata.name}-metrics` },
    spec: {
      type: 'ClusterIP',
      selector,
      ports: [{ name: 'metrics', port: METRICS_PORT, targetPort: k8s.IntOrString.fromString('metrics'), protocol: 'TCP', appProtocol: 'http' }],
    },
  });
}
