import type { Construct } from 'constructs';
import { type GpuOptions, gpuProblems } from '../../lib/vocabulary/gpu.js';
import { SIMPLE_DURATION } from '../../lib/vocabulary/durations.js';
import { doubleQuantity, quantityProblem } from '../../lib/vocabulary/quantities.js';
import { Environment } from '../environment.js';
import type { Model } from '../model.js';
import { imageProblem } from '../private/image.js';
import { PropValidator, dnsLabelProblem, isDns1123Label } from '../private/validation.js';
import { type KServeOptions, type ResolvedKServe, resolveKServe } from './kserve/options.js';
import { trustedKeysProblem } from '../../lib/vocabulary/supply-chain.js';

/** One step of a canary rollout: exactly one of `setWeight` or `pause`. */
export interface CanaryStep {
  /**
   * Percentage of replicas that run the new version.
   * @default - not a weight step
   */
  readonly setWeight?: number;
  /**
   * How long to wait before the next step (`30s`, `5m`, `1h`), or `manual` to wait for
   * `kubectl argo rollouts promote`.
   * @default - not a pause step
   */
  readonly pause?: string;
}

export interface CanaryOptions {
  /**
   * Steps of the rollout.
   * @default - 20% for 2m, 50% for 5m, then 100%
   */
  readonly steps?: readonly CanaryStep[];
  /**
   * Highest acceptable ratio of 5xx responses of the model during the rollout; above it the
   * analysis fails and Argo Rollouts aborts.
   * @default 0.05
   */
  readonly maxErrorRatio?: number;
  /**
   * How often the analysis queries Prometheus.
   * @default '1m'
   */
  readonly analysisInterval?: string;
}

export interface ModelServingProps {
  /** The model to serve. */
  readonly model: Model;
  /**
   * slipway runtime image, pinned by digest (`registry/repo@sha256:<64 hex>`); the packaging
   * pipeline builds it and `slipway release` records its digest.
   */
  readonly image: string;
  /**
   * Name of the Kubernetes objects.
   * @default - the model's name
   */
  readonly name?: string;
  /**
   * Fewest replicas. 0 is allowed for GPU models only (KEDA scales to zero).
   * @default 1
   */
  readonly minReplicas?: number;
  /**
   * Most replicas the autoscaler may run.
   * @default - the larger of 3 and `minReplicas`
   */
  readonly maxReplicas?: number;
  /**
   * CPU request per replica.
   * @default - '500m' for CPU models, '2' for GPU models
   */
  readonly cpu?: string;
  /**
   * Memory request per replica.
   * @default - '512Mi' for CPU models, '8Gi' for GPU models
   */
  readonly memory?: string;
  /**
   * CPU limit per replica.
   * @default - twice the request
   */
  readonly cpuLimit?: string;
  /**
   * Memory limit per replica.
   * @default - twice the request
   */
  readonly memoryLimit?: string;
  /**
   * Serve on GPUs. Switches autoscaling from CPU utilisation (HPA) to the in-flight request
   * metric (KEDA), and the runtime to the CUDA execution provider.
   * @default - CPU only
   */
  readonly gpu?: GpuOptions;
  /**
   * Roll new versions out as a canary with Argo Rollouts, checked against the error ratio.
   * @default - a plain rolling update of a Deployment
   */
  readonly canary?: CanaryOptions;
  /**
   * Average CPU utilisation (percent of the request) the HPA keeps CPU models at.
   * @default 70
   */
  readonly targetCpuUtilization?: number;
  /**
   * In-flight requests per replica KEDA keeps GPU models at.
   * @default 8
   */
  readonly targetInFlightRequests?: number;
  /**
   * Namespaces whose pods may call the inference ports (HTTP and gRPC).
   * @default - only pods in the model's own namespace
   */
  readonly allowedNamespaces?: readonly string[];
  /**
   * Labels of the pods (in the allowed namespaces) that may call the inference ports.
   * @default - any pod of the allowed namespaces
   */
  readonly allowedPodLabels?: Readonly<Record<string, string>>;
  /**
   * Namespace of Prometheus: the only one that may scrape the metrics port.
   * @default - the environment's monitoring namespace, else 'monitoring'
   */
  readonly monitoringNamespace?: string;
  /**
   * Prometheus URL that KEDA and canary analysis query.
   * @default - `http://prometheus-operated.<monitoringNamespace>.svc:9090`
   */
  readonly prometheusUrl?: string;
  /**
   * URL the runtime POSTs an Alertmanager-format payload to when drift is sustained (the
   * Tekton EventListener that starts retraining).
   * @default - no webhook; drift is only exported as metrics
   */
  readonly driftWebhookUrl?: string;
  /**
   * Base URL of a challenger's runtime: every inference and its feedback are mirrored there,
   * answers discarded (`SLIPWAY_MIRROR_URL`). ModelDeployment sets it when its release carries a
   * challenger.
   * @default - no mirroring
   */
  readonly mirrorUrl?: string;
  /**
   * PEM public key(s) the runtime verifies the model signature (`model.sig`, written by a
   * signing TrainingPipeline) with before it becomes ready; it stays unready, naming what
   * failed, when the signature is missing, by another key or does not cover the files.
   * @default - no signature check (the sha256 check still runs)
   */
  readonly trustedKeys?: string;
  /**
   * Size limit of the emptyDir that holds fetched model files (unused for `image` builds).
   * @default '10Gi'
   */
  readonly modelStorageSize?: string;
  /**
   * Image that downloads `s3://`, `gs://` and `https://` artifacts (KServe's storage
   * initializer), pinned by digest. Credentials come from the service account, as in KServe.
   * @default - kserve/storage-initializer pinned by digest
   */
  readonly storageInitializerImage?: string;
  /**
   * Serve through KServe: an InferenceService (RawDeployment by default) with slipway's runtime
   * as its ServingRuntime, or KServe's own ONNX runtime. See docs/kserve.md.
   * @default - plain Kubernetes: a Deployment (or Argo Rollout), Service and autoscaler
   */
  readonly kserve?: KServeOptions;
}

/** The default storage initializer: KServe's, so S3/GCS credentials work as KServe users expect. */
export const DEFAULT_STORAGE_INITIALIZER_IMAGE =
  'docker.io/kserve/storage-initializer@sha256:5159e12ea3506ceb54265e907a503087d6d9cab68d23c3536ac2deadb6d49b53';

const DEFAULT_CANARY_STEPS: readonly CanaryStep[] = [{ setWeight: 20 }, { pause: '2m' }, { setWeight: 50 }, { pause: '5m' }];

/** {@link ModelServingProps} with every default applied and every rule checked. */
export interface ResolvedServingProps {
  readonly model: Model;
  readonly image: string;
  readonly name: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly cpu: string;
  readonly memory: string;
  readonly cpuLimit: string;
  readonly memoryLimit: string;
  readonly gpu?: GpuOptions;
  readonly canary?: { readonly steps: readonly CanaryStep[]; readonly maxErrorRatio: number; readonly analysisInterval: string };
  readonly targetCpuUtilization: number;
  readonly targetInFlightRequests: number;
  readonly allowedNamespaces?: readonly string[];
  readonly allowedPodLabels?: Readonly<Record<string, string>>;
  readonly monitoringNamespace: string;
  readonly prometheusUrl: string;
  readonly driftWebhookUrl?: string;
  readonly mirrorUrl?: string;
  readonly trustedKeys?: string;
  readonly modelStorageSize: string;
  readonly storageInitializerImage: string;
  readonly kserve?: ResolvedKServe;
}

/** Applies defaults and checks every prop, reporting all problems at once; the result is frozen. */
export function resolveServingProps(scope: Construct, props: ModelServingProps): ResolvedServingProps {
  const { gpu } = props;
  const environment = Environment.tryOf(scope);
  const minReplicas = props.minReplicas ?? 1;
  const monitoringNamespace = props.monitoringNamespace ?? environment?.monitoringNamespace ?? 'monitoring';
  const cpu = props.cpu ?? (gpu ? '2' : '500m');
  const memory = props.memory ?? (gpu ? '8Gi' : '512Mi');
  const v = new PropValidator(scope, 'ModelServing');
  const canaryFirstWeight = (props.canary?.steps ?? DEFAULT_CANARY_STEPS).find((s) => s.setWeight !== undefined)?.setWeight;
  const kserve = props.kserve
    ? resolveKServe(v, props.kserve, { model: props.model, canary: props.canary !== undefined, ...(props.canary && canaryFirstWeight !== undefined ? { canaryFirstWeight } : {}) })
    : undefined;
  const resolved: ResolvedServingProps = {
    model: props.model,
    image: props.image,
    name: props.name ?? props.model.name,
    minReplicas,
    maxReplicas: props.maxReplicas ?? Math.max(3, minReplicas),
    cpu,
    memory,
    cpuLimit: props.cpuLimit ?? doubleQuantity(cpu),
    memoryLimit: props.memoryLimit ?? doubleQuantity(memory),
    ...(gpu ? { gpu } : {}),
    ...(props.canary
      ? {
          canary: {
            steps: props.canary.steps ?? DEFAULT_CANARY_STEPS,
            maxErrorRatio: props.canary.maxErrorRatio ?? 0.05,
            analysisInterval: props.canary.analysisInterval ?? '1m',
          },
        }
      : {}),
    targetCpuUtilization: props.targetCpuUtilization ?? 70,
    targetInFlightRequests: props.targetInFlightRequests ?? 8,
    ...(props.allowedNamespaces ? { allowedNamespaces: props.allowedNamespaces } : {}),
    ...(props.allowedPodLabels ? { allowedPodLabels: props.allowedPodLabels } : {}),
    monitoringNamespace,
    prometheusUrl: props.prometheusUrl ?? `http://prometheus-operated.${monitoringNamespace}.svc:9090`,
    ...(props.driftWebhookUrl !== undefined ? { driftWebhookUrl: props.driftWebhookUrl } : {}),
    ...(props.mirrorUrl !== undefined ? { mirrorUrl: props.mirrorUrl } : {}),
    ...(props.trustedKeys !== undefined ? { trustedKeys: props.trustedKeys } : {}),
    modelStorageSize: props.modelStorageSize ?? '10Gi',
    storageInitializerImage: props.storageInitializerImage ?? DEFAULT_STORAGE_INITIALIZER_IMAGE,
    ...(kserve ? { kserve } : {}),
  };
  check(v, resolved, props);
  return Object.freeze(resolved);
}

function check(v: PropValidator, r: ResolvedServingProps, props: ModelServingProps): void {
  v.check(isDns1123Label(r.name), 'name', dnsLabelProblem(r.name));
  const imageIssue = imageProblem(r.image);
  if (imageIssue) v.report('image', imageIssue);
  const storageIssue = imageProblem(r.storageInitializerImage);
  if (storageIssue) v.report('storageInitializerImage', storageIssue);
  const minAllowed = r.gpu ? 0 : 1;
  v.check(
    Number.isInteger(r.minReplicas) && r.minReplicas >= minAllowed,
    'minReplicas',
    `expected an integer >= ${minAllowed}${r.gpu ? '' : ' (the HPA cannot scale CPU models to zero)'}, got ${r.minReplicas}`,
  );
  v.check(
    Number.isInteger(r.maxReplicas) && r.maxReplicas >= 1 && r.maxReplicas >= r.minReplicas,
    'maxReplicas',
    `expected an integer >= 1 and >= minReplicas (${r.minReplicas}), got ${r.maxReplicas}`,
  );
  for (const [field, value] of [
    ['cpu', r.cpu],
    ['memory', r.memory],
    ['cpuLimit', props.cpuLimit],
    ['memoryLimit', props.memoryLimit],
    ['modelStorageSize', props.modelStorageSize],
  ] as const) {
    const problem = value === undefined ? undefined : quantityProblem(value);
    if (problem) v.report(field, problem);
  }
  if (r.gpu) {
    for (const [field, message] of gpuProblems(r.gpu)) v.report(field, message);
    if (r.gpu.runtimeClassName !== undefined) {
      v.check(isDns1123Label(r.gpu.runtimeClassName), 'gpu.runtimeClassName', dnsLabelProblem(r.gpu.runtimeClassName));
    }
  }
  for (const [i, ns] of (r.allowedNamespaces ?? []).entries()) {
    v.check(isDns1123Label(ns), `allowedNamespaces[${i}]`, dnsLabelProblem(ns));
  }
  v.check(isDns1123Label(r.monitoringNamespace), 'monitoringNamespace', dnsLabelProblem(r.monitoringNamespace));
  v.check(
    Number.isInteger(r.targetCpuUtilization) && r.targetCpuUtilization >= 1 && r.targetCpuUtilization <= 100,
    'targetCpuUtilization',
    `expected an integer percentage from 1 to 100, got ${r.targetCpuUtilization}`,
  );
  v.check(r.targetInFlightRequests > 0, 'targetInFlightRequests', `expected a number > 0, got ${r.targetInFlightRequests}`);
  if (r.driftWebhookUrl !== undefined) {
    v.check(/^https?:\/\/\S+$/.test(r.driftWebhookUrl), 'driftWebhookUrl', `expected an http(s) URL, got ${JSON.stringify(r.driftWebhookUrl)}`);
  }
  if (r.mirrorUrl !== undefined) {
    v.check(/^https?:\/\/\S+$/.test(r.mirrorUrl), 'mirrorUrl', `expected an http(s) URL, got ${JSON.stringify(r.mirrorUrl)}`);
  }
  if (r.trustedKeys !== undefined) {
    const problem = trustedKeysProblem(r.trustedKeys);
    v.check(problem === undefined, 'trustedKeys', problem ?? '');
  }
  if (r.canary) {
    v.check(r.canary.steps.length > 0, 'canary.steps', 'expected at least one step, got none');
    r.canary.steps.forEach((step, i) => checkCanaryStep(v, `canary.steps[${i}]`, step));
    v.check(r.canary.maxErrorRatio >= 0 && r.canary.maxErrorRatio <= 1, 'canary.maxErrorRatio', `expected a ratio from 0 to 1, got ${r.canary.maxErrorRatio}`);
    v.check(
      SIMPLE_DURATION.test(r.canary.analysisInterval),
      'canary.analysisInterval',
      `expected a duration such as "30s" or "1m", got ${JSON.stringify(r.canary.analysisInterval)}`,
    );
  }
  v.throwIfInvalid();
}

function checkCanaryStep(v: PropValidator, field: string, step: CanaryStep): void {
  const kinds = [step.setWeight !== undefined, step.pause !== undefined].filter(Boolean).length;
  v.check(kinds === 1, field, `expected exactly one of setWeight or pause, got ${JSON.stringify(step)}`);
  if (step.setWeight !== undefined) {
    v.check(
      Number.isInteger(step.setWeight) && step.setWeight >= 0 && step.setWeight <= 100,
      `${field}.setWeight`,
      `expected an integer percentage from 0 to 100, got ${step.setWeight}`,
    );
  }
  if (step.pause !== undefined) {
    v.check(
      step.pause === 'manual' || SIMPLE_DURATION.test(step.pause),
      `${field}.pause`,
      `expected a duration such as "30s", "5m" or "1h", or "manual", got ${JSON.stringify(step.pause)}`,
    );
  }
}
