import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { Model, ModelDeployment, ModelServing, type ModelServingProps } from '../../../constructs/index.js';
import { crdProblems } from '../../../lib/compiler/crd-schemas.js';
import { RUNTIME_IMAGE, SHA_B, deploymentProps, modelProps } from '../../support/fixtures.js';
import { find, givenChart, givenEnvironment, synth, type Manifest } from '../../support/synth.js';
import { upstreamProblem } from '../../support/upstream-schemas.js';

function serve(props: Partial<ModelServingProps> = {}, model = modelProps()): Manifest[] {
  const chart = givenChart();
  new ModelServing(chart, 'Serving', { model: new Model(chart, 'Model', model), image: RUNTIME_IMAGE, kserve: {}, ...props });
  return synth(chart);
}

function failure(build: () => unknown): string {
  try {
    build();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the construct to reject its props');
}

/** Each object against its upstream schema: KServe's CRDs (committed fixtures) or kubernetes-models. */
function schemaProblems(manifests: Manifest[]): string[] {
  return manifests.flatMap((m) => {
    const crd = crdProblems(m);
    if (crd) return crd.map((p) => `${m.kind}/${m.metadata.name}: ${p}`);
    const problem = upstreamProblem(m);
    return problem ? [problem] : [];
  });
}

const RESTRICTED_CONTAINER = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/** Restricted Pod Security Standard over the pod KServe composes from runtime and predictor. */
function expectRestricted(runtimeContainers: any[], predictor: any): void {
  expect(predictor.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  expect(predictor.hostNetwork ?? false).toBe(false);
  expect((predictor.volumes ?? []).every((v: Record<string, unknown>) => !('hostPath' in v))).toBe(true);
  const containers = [...runtimeContainers, ...(predictor.initContainers ?? []), ...(predictor.model.securityContext ? [predictor.model] : [])];
  expect(containers.length).toBeGreaterThan(0);
  for (const c of containers) {
    expect(c.securityContext, c.name).toEqual(RESTRICTED_CONTAINER);
    if (c.image) expect(c.image, c.name).toMatch(/@sha256:[0-9a-f]{64}$/);
  }
}

describe('ModelServing on KServe', () => {
  it("renders slipway's runtime as a ServingRuntime and the model as a RawDeployment InferenceService that pass KServe's CRD schemas", () => {
    // GIVEN a store-located build with a baseline, served through KServe with defaults
    const manifests = serve({}, modelProps({ baselineUri: 's3://acme-ml-models/fraud-detector/1.3.0/baseline.json', baselineSha256: SHA_B }));
    // THEN the objects match the snapshot, KServe owns workload and HPA, and all pass their schemas
    expect(manifests).toMatchSnapshot();
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual([
      'ServiceAccount/fraud-detector',
      'ServingRuntime/fraud-detector-slipway',
      'InferenceService/fraud-detector',
      'Service/fraud-detector-metrics',
      'PodDisruptionBudget/fraud-detector',
      'NetworkPolicy/fraud-detector',
    ]);
    expect(schemaProblems(manifests)).toEqual([]);
    const runtime = find(manifests, 'ServingRuntime');
    expect(runtime.spec).toMatchObject({ supportedModelFormats: [{ name: 'onnx', version: '1', autoSelect: false }], protocolVersions: ['v2', 'grpc-v2'], multiModel: false });
    expect(runtime.spec.containers[0].ports.map((p: { containerPort: number }) => p.containerPort)).toEqual([8080, 8081, 9091]);
    const isvc = find(manifests, 'InferenceService');
    expect(isvc.metadata.annotations).toEqual({ 'serving.kserve.io/deploymentMode': 'RawDeployment', 'serving.kserve.io/autoscalerClass': 'hpa' });
    const predictor = isvc.spec.predictor;
    expect(predictor).toMatchObject({ minReplicas: 1, maxReplicas: 3, scaleMetric: 'cpu', scaleTarget: 70, serviceAccountName: 'fraud-detector' });
    expect(predictor.model).toMatchObject({ modelFormat: { name: 'onnx', version: '1' }, runtime: 'fraud-detector-slipway', protocolVersion: 'v2' });
    // AND the build identity is the plain rendering's: verified fetch, expected sha256 in the runtime's env
    expect(predictor.initContainers.map((c: { name: string }) => c.name)).toEqual(['fetch-model', 'fetch-baseline', 'verify-model']);
    expect(predictor.model.env).toContainEqual({ name: 'SLIPWAY_EXPECTED_SHA256', value: JSON.stringify({ 'fraud-detector': { 'model.onnx': 'a'.repeat(64), 'baseline.json': SHA_B } }) });
    expect(predictor.annotations['slipway.dev/model-sha256']).toBe('a'.repeat(64));
    // AND the pods carry the labels the ServiceMonitor's Service and the NetworkPolicy select
    const selector = find(manifests, 'Service').spec.selector;
    for (const [k, v] of Object.entries(selector)) expect(predictor.labels[k]).toBe(v);
    expect(find(manifests, 'NetworkPolicy').spec.podSelector.matchLabels).toEqual(selector);
    expectRestricted(runtime.spec.containers, predictor);
  });

  it('fails the schema check when an object has a field KServe does not declare (the check can fail)', () => {
    const isvc = structuredClone(find(serve(), 'InferenceService'));
    isvc.spec.predictor.minReplica = 2;
    expect(crdProblems(isvc)).toContainEqual("/spec/predictor must NOT have additional properties");
  });

  it('serves a GPU model with KEDA on in-flight requests against the predictor Deployment, KServe told to leave scaling alone', () => {
    const manifests = serve({ gpu: { count: 1, product: 'NVIDIA-A100-SXM4-80GB' }, minReplicas: 0 }, modelProps({ artifactUri: 'image' }));
    expect(schemaProblems(manifests)).toEqual([]);
    const isvc = find(manifests, 'InferenceService');
    expect(isvc.metadata.annotations!['serving.kserve.io/autoscalerClass']).toBe('external');
    expect(isvc.spec.predictor.model.resources.limits['nvidia.com/gpu']).toBe(1);
    expect(isvc.spec.predictor.nodeSelector).toEqual({ 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-80GB' });
    expect(find(manifests, 'ScaledObject').spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'fraud-detector-predictor' });
    // AND the image-located build needs no init container
    expect(isvc.spec.predictor.initContainers).toBeUndefined();
    expect(find(manifests, 'ServingRuntime').spec.containers[0].args).toContain('/models');
  });

  it("serves from an oci:// modelcar with KServe's own ONNX runtime and storageUri, leaving fetching to KServe", () => {
    const manifests = serve({ kserve: { runtime: 'kserve', runtimeName: 'kserve-tritonserver' } }, modelProps({ artifactUri: `oci://ghcr.io/acme/fraud-model@sha256:${'d'.repeat(64)}` }));
    expect(schemaProblems(manifests)).toEqual([]);
    expect(manifests.some((m) => m.kind === 'ServingRuntime')).toBe(false);
    const predictor = find(manifests, 'InferenceService').spec.predictor;
    expect(predictor.model).toMatchObject({ modelFormat: { name: 'onnx' }, runtime: 'kserve-tritonserver', protocolVersion: 'v2', storageUri: `oci://ghcr.io/acme/fraud-model@sha256:${'d'.repeat(64)}` });
    expect(predictor.initContainers).toBeUndefined();
    expectRestricted([], predictor);
  });

  it('renders a ClusterServingRuntime without a namespace when asked', () => {
    const manifests = serve({ kserve: { clusterServingRuntime: true } });
    const runtime = find(manifests, 'ClusterServingRuntime');
    expect(runtime.metadata.namespace).toBeUndefined();
    expect(schemaProblems(manifests)).toEqual([]);
  });

  it('splits canary traffic with canaryTrafficPercent in Serverless mode, scaling on concurrency', () => {
    const manifests = serve({ kserve: { deploymentMode: 'Serverless' }, canary: { steps: [{ setWeight: 10 }, { pause: '5m' }] } });
    expect(schemaProblems(manifests)).toEqual([]);
    const isvc = find(manifests, 'InferenceService');
    expect(isvc.metadata.annotations).toEqual({ 'serving.kserve.io/deploymentMode': 'Serverless' });
    expect(isvc.spec.predictor).toMatchObject({ canaryTrafficPercent: 10, scaleMetric: 'concurrency', scaleTarget: 8 });
    expect(manifests.some((m) => m.kind === 'Rollout' || m.kind === 'HorizontalPodAutoscaler')).toBe(false);
  });

  it('fails when a canary is asked of RawDeployment, or KServe\'s runtime of an image-located build, naming each prop', () => {
    const message = failure(() => serve({ canary: {}, kserve: { runtime: 'kserve', runtimeName: 'Bad_Name' } }, modelProps({ artifactUri: 'image' })));
    expect(message).toContain("canary: KServe splits canary traffic (canaryTrafficPercent) only in Serverless (Knative) mode; set kserve.deploymentMode: 'Serverless'");
    expect(message).toContain("kserve.runtime: KServe's ONNX runtime loads the model from storageUri, but this build is inside the slipway runtime image");
    expect(message).toContain('kserve.runtimeName:');
  });

  it("fails when a ModelDeployment watches KServe's own runtime for drift it cannot export", () => {
    const { environment } = givenEnvironment();
    const props = deploymentProps({ kserve: { runtime: 'kserve' } });
    expect(failure(() => new ModelDeployment(environment, 'fraud-detector', props))).toContain("monitoring: kserve.runtime 'kserve' exports no drift metrics; set monitoring: false");
    // AND without monitoring it renders
    const chart = new ModelDeployment(givenEnvironment().environment, 'fraud-detector', { ...props, monitoring: false });
    expect(schemaProblems(Testing.synth(chart) as Manifest[])).toEqual([]);
  });

  it('keeps drift monitoring for a ModelDeployment on KServe with slipway\'s runtime: the ServiceMonitor selects the metrics Service', () => {
    const chart = new ModelDeployment(givenEnvironment().environment, 'fraud-detector', deploymentProps({ kserve: {} }));
    const manifests = Testing.synth(chart) as Manifest[];
    const service = find(manifests, 'Service');
    expect(find(manifests, 'ServiceMonitor').spec.selector.matchLabels).toEqual(Object.fromEntries(Object.entries(service.metadata.labels!).filter(([k]) => k in find(manifests, 'ServiceMonitor').spec.selector.matchLabels)));
    expect(find(manifests, 'ServiceMonitor').spec.endpoints.map((e: { port: string }) => e.port)).toContain('metrics');
    expect(schemaProblems(manifests)).toEqual([]);
  });
});
