import { ApiObject, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Environment } from './environment.js';
import { ArgoAnalysisTemplate, ArgoRollout } from './imports/argo-rollouts.js';
import { KedaScaledObject } from './imports/keda.js';
import type { Model } from './model.js';
import { Platform } from './platform.js';
import { imageProblem } from './private/image.js';
import { recommendedLabels, selectorLabels, type LabelSource } from './private/labels.js';
import { RESTRICTED_CONTAINER_SECURITY, RESTRICTED_POD_SECURITY } from './private/security.js';
import { PropValidator, dnsLabelProblem, isDns1123Label } from './private/validation.js';

/** GPU the model is served on. */
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
   * Namespaces whose pods may call the inference port.
   * @default - only pods in the model's own namespace
   */
  readonly allowedNamespaces?: readonly string[];
  /**
   * Labels of the pods (in the allowed namespaces) that may call the inference port.
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
   * Size limit of the emptyDir that holds the model files.
   * @default '10Gi'
   */
  readonly modelStorageSize?: string;
  /**
   * Image that downloads `s3://`, `gs://` and `https://` artifacts (KServe's storage
   * initializer), pinned by digest. Credentials come from the service account, as in KServe.
   * @default - kserve/storage-initializer pinned by digest
   */
  readonly storageInitializerImage?: string;
}

/** The default storage initializer: KServe's, so S3/GCS credentials work as KServe users expect. */
export const DEFAULT_STORAGE_INITIALIZER_IMAGE =
  'docker.io/kserve/storage-initializer@sha256:5159e12ea3506ceb54265e907a503087d6d9cab68d23c3536ac2deadb6d49b53';

const HTTP_PORT = 8080;
const METRICS_PORT = 9091;
const MODEL_ROOT = '/mnt/models';
const STAGING_ROOT = '/mnt/staging';
const PVC_ROOT = '/mnt/pvc';
const MIG_RESOURCE = /^nvidia\.com\/mig-[1-7]g\.[0-9]+gb$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/;
const DURATION = /^[0-9]+(s|m|h)$/;

const DEFAULT_CANARY_STEPS: readonly CanaryStep[] = [
  { setWeight: 20 },
  { pause: '2m' },
  { setWeight: 50 },
  { pause: '5m' },
];

/**
 * Verifies the fetched artifact (and baseline) against their sha256 and lays them out as the
 * runtime's model repository. A mismatch fails the init container, so the pod never serves
 * bytes other than the ones recorded in Git.
 */
export const VERIFY_ARTIFACT_SCRIPT = `set -eu
install_verified() {
  src=$1
  want=$2
  dest=$3
  if [ -d "$src" ]; then
    set -- "$src"/*
    if [ "$#" -ne 1 ] || [ ! -f "$1" ]; then
      echo "verify: expected exactly one file in $src" >&2
      exit 1
    fi
    src=$1
  fi
  got=$(sha256sum "$src" | cut -d ' ' -f 1)
  if [ "$got" != "$want" ]; then
    echo "verify: sha256 mismatch for $src: expected $want, got $got" >&2
    exit 1
  fi
  cp "$src" "$dest"
  echo "verify: $dest sha256 $got ok"
}
mkdir -p "$MODEL_DIR"
install_verified "$MODEL_SOURCE" "$MODEL_SHA256" "$MODEL_DIR/model.onnx"
if [ -n "\${BASELINE_SOURCE:-}" ]; then
  install_verified "$BASELINE_SOURCE" "$BASELINE_SHA256" "$MODEL_DIR/baseline.json"
fi
`;

/**
 * Serves one {@link Model} with the slipway runtime: Deployment (or Argo Rollout for canaries),
 * Service, ServiceAccount, PodDisruptionBudget, NetworkPolicy and an autoscaler (HPA on CPU,
 * KEDA on the in-flight request metric for GPUs).
 */
export class ModelServing extends Construct {
  readonly name: string;
  readonly model: Model;
  readonly image: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Labels on every object of this serving, recommended `app.kubernetes.io/*` ones included. */
  readonly labels: Record<string, string>;
  /** Labels that select the serving pods (and the Service). */
  readonly selector: Record<string, string>;
  readonly httpPort = HTTP_PORT;
  readonly metricsPort = METRICS_PORT;
  readonly monitoringNamespace: string;
  readonly prometheusUrl: string;
  /** The workload: a Deployment, or a Rollout when `canary` is set. */
  readonly workload: ApiObject;
  readonly service: k8s.KubeService;

  constructor(scope: Construct, id: string, props: ModelServingProps) {
    super(scope, id);
    const model = props.model;
    const gpu = props.gpu;
    const environment = Environment.tryOf(this);
    this.model = model;
    this.name = props.name ?? model.name;
    this.image = props.image;
    this.minReplicas = props.minReplicas ?? 1;
    this.maxReplicas = props.maxReplicas ?? Math.max(3, this.minReplicas);
    this.monitoringNamespace = props.monitoringNamespace ?? environment?.monitoringNamespace ?? 'monitoring';
    this.prometheusUrl = props.prometheusUrl ?? `http://prometheus-operated.${this.monitoringNamespace}.svc:9090`;
    const cpu = props.cpu ?? (gpu ? '2' : '500m');
    const memory = props.memory ?? (gpu ? '8Gi' : '512Mi');
    const gpuResource = gpu?.resource ?? 'nvidia.com/gpu';
    const storageInitializerImage = props.storageInitializerImage ?? DEFAULT_STORAGE_INITIALIZER_IMAGE;

    const v = new PropValidator(this, 'ModelServing');
    v.check(isDns1123Label(this.name), 'name', dnsLabelProblem(this.name));
    const imageIssue = imageProblem(this.image);
    if (imageIssue) v.report('image', imageIssue);
    const storageIssue = imageProblem(storageInitializerImage);
    if (storageIssue) v.report('storageInitializerImage', storageIssue);
    const minAllowed = gpu ? 0 : 1;
    v.check(
      Number.isInteger(this.minReplicas) && this.minReplicas >= minAllowed,
      'minReplicas',
      `expected an integer >= ${minAllowed}${gpu ? '' : ' (the HPA cannot scale CPU models to zero)'}, got ${this.minReplicas}`,
    );
    v.check(
      Number.isInteger(this.maxReplicas) && this.maxReplicas >= 1 && this.maxReplicas >= this.minReplicas,
      'maxReplicas',
      `expected an integer >= 1 and >= minReplicas (${this.minReplicas}), got ${this.maxReplicas}`,
    );
    for (const [field, value] of [
      ['cpu', cpu],
      ['memory', memory],
      ['cpuLimit', props.cpuLimit],
      ['memoryLimit', props.memoryLimit],
      ['modelStorageSize', props.modelStorageSize],
    ] as const) {
      if (value !== undefined) {
        v.check(QUANTITY.test(value), field, `expected a Kubernetes quantity such as "500m", "2" or "4Gi", got ${JSON.stringify(value)}`);
      }
    }
    if (gpu) {
      v.check(
        Number.isInteger(gpu.count) && gpu.count >= 1,
        'gpu.count',
        `expected an integer >= 1 (GPUs or MIG slices per replica), got ${gpu.count}`,
      );
      v.check(
        gpuResource === 'nvidia.com/gpu' || MIG_RESOURCE.test(gpuResource),
        'gpu.resource',
        `expected "nvidia.com/gpu" or a MIG resource such as "nvidia.com/mig-1g.10gb", got ${JSON.stringify(gpuResource)}`,
      );
      if (gpu.product !== undefined) {
        v.check(
          /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(gpu.product),
          'gpu.product',
          `expected a node label value such as "NVIDIA-A100-SXM4-80GB", got ${JSON.stringify(gpu.product)}`,
        );
      }
      if (gpu.runtimeClassName !== undefined) {
        v.check(isDns1123Label(gpu.runtimeClassName), 'gpu.runtimeClassName', dnsLabelProblem(gpu.runtimeClassName));
      }
    }
    for (const [i, ns] of (props.allowedNamespaces ?? []).entries()) {
      v.check(isDns1123Label(ns), `allowedNamespaces[${i}]`, dnsLabelProblem(ns));
    }
    v.check(isDns1123Label(this.monitoringNamespace), 'monitoringNamespace', dnsLabelProblem(this.monitoringNamespace));
    const targetCpu = props.targetCpuUtilization ?? 70;
    v.check(
      Number.isInteger(targetCpu) && targetCpu >= 1 && targetCpu <= 100,
      'targetCpuUtilization',
      `expected an integer percentage from 1 to 100, got ${targetCpu}`,
    );
    const targetInFlight = props.targetInFlightRequests ?? 8;
    v.check(targetInFlight > 0, 'targetInFlightRequests', `expected a number > 0, got ${targetInFlight}`);
    if (props.driftWebhookUrl !== undefined) {
      v.check(/^https?:\/\/\S+$/.test(props.driftWebhookUrl), 'driftWebhookUrl', `expected an http(s) URL, got ${JSON.stringify(props.driftWebhookUrl)}`);
    }
    const canarySteps = props.canary ? (props.canary.steps ?? DEFAULT_CANARY_STEPS) : [];
    const maxErrorRatio = props.canary?.maxErrorRatio ?? 0.05;
    const analysisInterval = props.canary?.analysisInterval ?? '1m';
    if (props.canary) {
      v.check(canarySteps.length > 0, 'canary.steps', 'expected at least one step, got none');
      canarySteps.forEach((step, i) => checkCanaryStep(v, `canary.steps[${i}]`, step));
      v.check(maxErrorRatio >= 0 && maxErrorRatio <= 1, 'canary.maxErrorRatio', `expected a ratio from 0 to 1, got ${maxErrorRatio}`);
      v.check(DURATION.test(analysisInterval), 'canary.analysisInterval', `expected a duration such as "30s" or "1m", got ${JSON.stringify(analysisInterval)}`);
    }
    v.throwIfInvalid();

    const labelSource: LabelSource = {
      name: this.name,
      instance: environment ? `${this.name}-${environment.name}` : this.name,
      version: model.version,
      partOf: Platform.tryOf(this)?.name ?? 'slipway',
    };
    this.selector = selectorLabels(labelSource);
    this.labels = { ...model.labels, ...recommendedLabels(labelSource, 'serving') };
    const metadata = { name: this.name, labels: this.labels };

    const serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata,
      automountServiceAccountToken: false,
    });

    const template = this.podTemplate({
      serviceAccountName: serviceAccount.name,
      cpu,
      memory,
      cpuLimit: props.cpuLimit ?? doubleQuantity(cpu),
      memoryLimit: props.memoryLimit ?? doubleQuantity(memory),
      gpu,
      gpuResource,
      storageInitializerImage,
      modelStorageSize: props.modelStorageSize ?? '10Gi',
      driftWebhookUrl: props.driftWebhookUrl,
    });

    // No `replicas` on the workload: the autoscaler owns it, and Argo CD would otherwise undo
    // every scale-out on its next sync.
    let scaleTarget: { apiVersion: string; kind: string; name: string };
    if (props.canary) {
      const analysis = new ArgoAnalysisTemplate(this, 'ErrorRatioAnalysis', {
        metadata: { name: `${this.name}-error-ratio`, labels: this.labels },
        spec: {
          args: [{ name: 'model' }, { name: 'namespace' }],
          metrics: [
            {
              name: 'error-ratio',
              interval: analysisInterval,
              failureLimit: 1,
              // No traffic yet gives NaN; that is not a failure of the new version.
              successCondition: `len(result) == 0 || isNaN(result[0]) || result[0] <= ${maxErrorRatio}`,
              provider: {
                prometheus: {
                  address: this.prometheusUrl,
                  query:
                    `sum(rate(slipway_inference_requests_total{model="{{args.model}}",namespace="{{args.namespace}}",status=~"5.."}[2m]))` +
                    ` / sum(rate(slipway_inference_requests_total{model="{{args.model}}",namespace="{{args.namespace}}"}[2m]))`,
                },
              },
            },
          ],
        },
      });
      const namespace = Chart.of(this).namespace;
      this.workload = new ArgoRollout(this, 'Resource', {
        metadata,
        spec: {
          revisionHistoryLimit: 3,
          selector: { matchLabels: this.selector },
          template: k8s.toJson_PodTemplateSpec(template),
          strategy: {
            canary: {
              steps: canarySteps.map(toRolloutStep),
              analysis: {
                templates: [{ templateName: analysis.name }],
                startingStep: 1,
                args: [
                  { name: 'model', value: model.name },
                  { name: 'namespace', value: namespace ?? 'default' },
                ],
              },
            },
          },
        },
      });
      scaleTarget = { apiVersion: ArgoRollout.GVK.apiVersion, kind: ArgoRollout.GVK.kind, name: this.workload.name };
    } else {
      this.workload = new k8s.KubeDeployment(this, 'Resource', {
        metadata,
        spec: {
          revisionHistoryLimit: 3,
          selector: { matchLabels: this.selector },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(1), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
          template,
        },
      });
      scaleTarget = { apiVersion: 'apps/v1', kind: 'Deployment', name: this.workload.name };
    }

    this.service = new k8s.KubeService(this, 'Service', {
      metadata,
      spec: {
        type: 'ClusterIP',
        selector: this.selector,
        ports: [
          { name: 'http', port: HTTP_PORT, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP', appProtocol: 'http' },
          { name: 'metrics', port: METRICS_PORT, targetPort: k8s.IntOrString.fromString('metrics'), protocol: 'TCP', appProtocol: 'http' },
        ],
      },
    });

    new k8s.KubePodDisruptionBudget(this, 'DisruptionBudget', {
      metadata,
      spec: {
        // maxUnavailable keeps node drains possible even with a single replica.
        maxUnavailable: k8s.IntOrString.fromNumber(1),
        selector: { matchLabels: this.selector },
      },
    });

    const allowedPods: k8s.LabelSelector | undefined = props.allowedPodLabels ? { matchLabels: { ...props.allowedPodLabels } } : undefined;
    const clientPeers: k8s.NetworkPolicyPeer[] = props.allowedNamespaces
      ? props.allowedNamespaces.map((ns) => ({
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
          ...(allowedPods ? { podSelector: allowedPods } : {}),
        }))
      : [{ podSelector: allowedPods ?? {} }];
    new k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
      metadata,
      spec: {
        // Selecting the pods with an Ingress policy denies everything not listed below.
        podSelector: { matchLabels: this.selector },
        policyTypes: ['Ingress'],
        ingress: [
          { from: clientPeers, ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(HTTP_PORT) }] },
          {
            from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': this.monitoringNamespace } } }],
            ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(METRICS_PORT) }],
          },
        ],
      },
    });

    if (gpu) {
      new KedaScaledObject(this, 'Autoscaler', {
        metadata,
        spec: {
          scaleTargetRef: scaleTarget,
          minReplicaCount: this.minReplicas,
          maxReplicaCount: this.maxReplicas,
          pollingInterval: 15,
          cooldownPeriod: 300,
          triggers: [
            {
              type: 'prometheus',
              metadata: {
                serverAddress: this.prometheusUrl,
                // GPU utilisation is not visible to the HPA; queued work per replica is what
                // tells a GPU server is saturated.
                query: `sum(slipway_inference_in_flight_requests{model="${model.name}",namespace="${Chart.of(this).namespace ?? 'default'}"})`,
                threshold: String(targetInFlight),
              },
            },
          ],
        },
      });
    } else {
      new k8s.KubeHorizontalPodAutoscalerV2(this, 'Autoscaler', {
        metadata,
        spec: {
          scaleTargetRef: scaleTarget,
          minReplicas: this.minReplicas,
          maxReplicas: this.maxReplicas,
          metrics: [
            { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: targetCpu } } },
          ],
          behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
        },
      });
    }
  }

  private podTemplate(opts: {
    serviceAccountName: string;
    cpu: string;
    memory: string;
    cpuLimit: string;
    memoryLimit: string;
    gpu?: GpuOptions;
    gpuResource: string;
    storageInitializerImage: string;
    modelStorageSize: string;
    driftWebhookUrl?: string;
  }): k8s.PodTemplateSpec {
    const model = this.model;
    const modelDir = `${MODEL_ROOT}/${model.name}/${model.version}`;
    const volumes: k8s.Volume[] = [
      { name: 'models', emptyDir: { sizeLimit: k8s.Quantity.fromString(opts.modelStorageSize) } },
      { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
    ];
    const initContainers: k8s.Container[] = [];
    const verifyMounts: k8s.VolumeMount[] = [{ name: 'models', mountPath: MODEL_ROOT }];
    const fetches = [
      { what: 'model', uri: model.artifactUri, sha256: model.artifactSha256 },
      ...(model.baselineUri && model.baselineSha256 ? [{ what: 'baseline', uri: model.baselineUri, sha256: model.baselineSha256 }] : []),
    ];
    const sources: Record<string, string> = {};
    const needsStaging = fetches.some((f) => !f.uri.startsWith('pvc://'));
    if (needsStaging) volumes.push({ name: 'staging', emptyDir: { sizeLimit: k8s.Quantity.fromString(opts.modelStorageSize) } });
    const pvcClaims = new Set<string>();
    for (const fetch of fetches) {
      const stagingDir = `${STAGING_ROOT}/${fetch.what}`;
      const resources = { requests: { cpu: k8s.Quantity.fromString('100m'), memory: k8s.Quantity.fromString('256Mi') }, limits: { memory: k8s.Quantity.fromString('1Gi') } };
      if (fetch.uri.startsWith('pvc://')) {
        const [claim, ...path] = fetch.uri.slice('pvc://'.length).split('/');
        if (!pvcClaims.has(claim!)) {
          pvcClaims.add(claim!);
          volumes.push({ name: `pvc-${claim}`, persistentVolumeClaim: { claimName: claim!, readOnly: true } });
          verifyMounts.push({ name: `pvc-${claim}`, mountPath: `${PVC_ROOT}/${claim}`, readOnly: true });
        }
        sources[fetch.what] = `${PVC_ROOT}/${claim}/${path.join('/')}`;
      } else if (fetch.uri.startsWith('oci://')) {
        // A "modelcar" image carries the files under /models, as KServe expects.
        initContainers.push({
          name: `fetch-${fetch.what}`,
          image: fetch.uri.slice('oci://'.length),
          command: ['sh', '-c', `mkdir -p "${stagingDir}" && cp -r /models/. "${stagingDir}/"`],
          resources,
          securityContext: RESTRICTED_CONTAINER_SECURITY,
          volumeMounts: [{ name: 'staging', mountPath: STAGING_ROOT }],
        });
        sources[fetch.what] = stagingDir;
      } else {
        initContainers.push({
          name: `fetch-${fetch.what}`,
          image: opts.storageInitializerImage,
          args: [fetch.uri, stagingDir],
          resources,
          securityContext: RESTRICTED_CONTAINER_SECURITY,
          volumeMounts: [{ name: 'staging', mountPath: STAGING_ROOT }, { name: 'tmp', mountPath: '/tmp' }],
        });
        sources[fetch.what] = stagingDir;
      }
    }
    if (needsStaging) verifyMounts.push({ name: 'staging', mountPath: STAGING_ROOT, readOnly: true });
    initContainers.push({
      name: 'verify-model',
      image: this.image,
      command: ['sh', '-c', VERIFY_ARTIFACT_SCRIPT],
      env: [
        { name: 'MODEL_DIR', value: modelDir },
        { name: 'MODEL_SOURCE', value: sources.model },
        { name: 'MODEL_SHA256', value: model.artifactSha256 },
        ...(sources.baseline
          ? [
              { name: 'BASELINE_SOURCE', value: sources.baseline },
              { name: 'BASELINE_SHA256', value: model.baselineSha256 },
            ]
          : []),
      ],
      resources: { requests: { cpu: k8s.Quantity.fromString('100m'), memory: k8s.Quantity.fromString('64Mi') }, limits: { memory: k8s.Quantity.fromString('256Mi') } },
      securityContext: RESTRICTED_CONTAINER_SECURITY,
      volumeMounts: verifyMounts,
    });

    const limits: Record<string, k8s.Quantity> = {
      cpu: k8s.Quantity.fromString(opts.cpuLimit),
      memory: k8s.Quantity.fromString(opts.memoryLimit),
    };
    if (opts.gpu) limits[opts.gpuResource] = k8s.Quantity.fromNumber(opts.gpu.count);

    const env: k8s.EnvVar[] = [
      { name: 'SLIPWAY_MODEL_REPOSITORY', value: MODEL_ROOT },
      { name: 'SLIPWAY_EXECUTION_PROVIDER', value: opts.gpu ? 'cuda' : 'cpu' },
      ...(opts.driftWebhookUrl ? [{ name: 'SLIPWAY_DRIFT_WEBHOOK_URL', value: opts.driftWebhookUrl }] : []),
    ];

    const probe = (path: string, periodSeconds: number, failureThreshold: number): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromString('http') },
      periodSeconds,
      failureThreshold,
      timeoutSeconds: 2,
    });

    return {
      metadata: {
        labels: this.labels,
        annotations: {
          'slipway.dev/owner': model.owner,
          'slipway.dev/artifact-uri': model.artifactUri,
          'slipway.dev/artifact-sha256': model.artifactSha256,
        },
      },
      spec: {
        serviceAccountName: opts.serviceAccountName,
        automountServiceAccountToken: false,
        securityContext: RESTRICTED_POD_SECURITY,
        terminationGracePeriodSeconds: 30,
        ...(opts.gpu?.runtimeClassName ? { runtimeClassName: opts.gpu.runtimeClassName } : {}),
        ...(opts.gpu
          ? {
              tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
              ...(opts.gpu.product ? { nodeSelector: { 'nvidia.com/gpu.product': opts.gpu.product } } : {}),
            }
          : {}),
        initContainers,
        containers: [
          {
            name: 'runtime',
            image: this.image,
            args: ['serve', '--model-repository', MODEL_ROOT, '--host', '0.0.0.0', '--port', String(HTTP_PORT), '--metrics-port', String(METRICS_PORT)],
            env,
            ports: [
              { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
              { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
            ],
            resources: {
              requests: { cpu: k8s.Quantity.fromString(opts.cpu), memory: k8s.Quantity.fromString(opts.memory) },
              limits,
            },
            startupProbe: probe('/v2/health/ready', 5, 60),
            livenessProbe: probe('/v2/health/live', 10, 3),
            readinessProbe: probe('/v2/health/ready', 5, 2),
            securityContext: RESTRICTED_CONTAINER_SECURITY,
            volumeMounts: [
              { name: 'models', mountPath: MODEL_ROOT, readOnly: true },
              { name: 'tmp', mountPath: '/tmp' },
            ],
          },
        ],
        volumes,
      },
    };
  }
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
      step.pause === 'manual' || DURATION.test(step.pause),
      `${field}.pause`,
      `expected a duration such as "30s", "5m" or "1h", or "manual", got ${JSON.stringify(step.pause)}`,
    );
  }
}

function toRolloutStep(step: CanaryStep): { setWeight: number } | { pause: { duration?: string } } {
  if (step.setWeight !== undefined) return { setWeight: step.setWeight };
  return { pause: step.pause === 'manual' ? {} : { duration: step.pause } };
}

/** Twice a quantity, in the same unit: the default limit leaves headroom for batching bursts. */
function doubleQuantity(quantity: string): string {
  const m = /^([0-9]+(?:\.[0-9]+)?)(.*)$/.exec(quantity);
  if (!m) return quantity;
  const doubled = Number(m[1]) * 2;
  return `${Number.isInteger(doubled) ? doubled : doubled.toFixed(3).replace(/0+$/, '')}${m[2]}`;
}

