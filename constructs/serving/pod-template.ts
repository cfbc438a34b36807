import { k8s } from 'cdk8s-plus-28';
import { BASELINE_FILE, IMAGE_MODEL_REPOSITORY, MODEL_FILE } from '../../lib/vocabulary/build.js';
import { EXPECTED_SHA256_ENV, type ExpectedSha256 } from '../../lib/vocabulary/integrity.js';
import { MODEL_SIGNATURE_FILE, TRUSTED_KEYS_ENV } from '../../lib/vocabulary/supply-chain.js';
import { OCI_SCHEME } from '../../lib/vocabulary/oci-model.js';
import { GRPC_PORT, HTTP_PORT, METRICS_PORT } from '../../lib/vocabulary/ports.js';
import type { GpuOptions } from '../../lib/vocabulary/gpu.js';
import { gpuPlacement } from '../../lib/vocabulary/gpu.js';
import type { Model } from '../model.js';
import { RESTRICTED_CONTAINER_SECURITY, RESTRICTED_POD_SECURITY } from '../private/security.js';

const FETCHED_MODEL_ROOT = '/mnt/models';
const STAGING_ROOT = '/mnt/staging';
const PVC_ROOT = '/mnt/pvc';
const REGISTRY_AUTH_ROOT = '/var/run/secrets/slipway/registry';
const REGISTRY_AUTH_KEY = '.dockerconfigjson';
/**
 * The kubernetes.io/dockerconfigjson Secret an oci:// model is pulled with, in the serving
 * namespace. Optional: a registry that allows anonymous pulls needs none.
 */
export const MODEL_REGISTRY_SECRET = 'slipway-model-registry';
const ARTIFACT_FILE = { model: MODEL_FILE, baseline: BASELINE_FILE } as const;
const TMP_VOLUME: k8s.Volume = { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } };

/** What the pod template is rendered from: the resolved serving props and the build of its model. */
export interface PodTemplateInput {
  readonly model: Model;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccountName: string;
  readonly cpu: string;
  readonly memory: string;
  readonly cpuLimit: string;
  readonly memoryLimit: string;
  readonly gpu?: GpuOptions;
  readonly storageInitializerImage: string;
  readonly modelStorageSize: string;
  readonly driftWebhookUrl?: string;
  readonly mirrorUrl?: string;
  readonly trustedKeys?: string;
}

/**
 * Verifies the fetched artifact (and baseline) against their sha256 and lays them out as the
 * runtime's model repository. A mismatch fails the init container early; the runtime checks the
 * same hashes again when it loads (SLIPWAY_EXPECTED_SHA256), so an image-located build is
 * verified too.
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

/** Appended for an oci:// artifact: its model signature travels with it, and the runtime verifies it against the trusted keys. */
const INSTALL_SIGNATURE_SCRIPT = `if [ -f "$SIGNATURE_SOURCE" ]; then
  cp "$SIGNATURE_SOURCE" "$MODEL_DIR/model.sig"
fi
`;

/** The sha256 of each file the runtime must load, as the pod hands them to it. */
export function expectedSha256(model: Model): ExpectedSha256 {
  return {
    [model.name]: {
      [MODEL_FILE]: model.artifactSha256,
      ...(model.baselineSha256 ? { [BASELINE_FILE]: model.baselineSha256 } : {}),
    },
  };
}

interface Fetched {
  readonly initContainers: k8s.Container[];
  readonly volumes: k8s.Volume[];
}

/** Init containers that bring a store-located build into an emptyDir, verified. */
function fetchArtifacts(input: PodTemplateInput): Fetched {
  const { model } = input;
  const modelDir = `${FETCHED_MODEL_ROOT}/${model.name}/${model.version}`;
  const volumes: k8s.Volume[] = [
    { name: 'models', emptyDir: { sizeLimit: k8s.Quantity.fromString(input.modelStorageSize) } },
    TMP_VOLUME,
  ];
  const initContainers: k8s.Container[] = [];
  const verifyMounts: k8s.VolumeMount[] = [{ name: 'models', mountPath: FETCHED_MODEL_ROOT }];
  const fetches = [
    { what: 'model' as const, uri: model.artifactUri, sha256: model.artifactSha256 },
    ...(model.baselineUri && model.baselineSha256 ? [{ what: 'baseline' as const, uri: model.baselineUri, sha256: model.baselineSha256 }] : []),
  ];
  const sources: Record<string, string> = {};
  const needsStaging = fetches.some((f) => !f.uri.startsWith('pvc://'));
  if (needsStaging) volumes.push({ name: 'staging', emptyDir: { sizeLimit: k8s.Quantity.fromString(input.modelStorageSize) } });
  const pvcClaims = new Set<string>();
  const ociFolders = new Map<string, string>();
  let signatureSource: string | undefined;
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
    } else if (fetch.uri.startsWith(OCI_SCHEME)) {
      // A ModelPack artifact holding model and baseline is pulled once, by the runtime image's own command.
      const fetched = ociFolders.get(fetch.uri);
      if (fetched) {
        sources[fetch.what] = `${fetched}/${ARTIFACT_FILE[fetch.what]}`;
        continue;
      }
      ociFolders.set(fetch.uri, stagingDir);
      initContainers.push({
        name: `fetch-${fetch.what}`,
        image: input.image,
        args: ['pipeline', 'fetch-model', fetch.uri, '--out', stagingDir],
        env: [{ name: 'REGISTRY_AUTH_FILE', value: `${REGISTRY_AUTH_ROOT}/${REGISTRY_AUTH_KEY}` }],
        resources,
        securityContext: RESTRICTED_CONTAINER_SECURITY,
        volumeMounts: [{ name: 'staging', mountPath: STAGING_ROOT }, { name: 'registry-auth', mountPath: REGISTRY_AUTH_ROOT, readOnly: true }],
      });
      if (!volumes.some((v) => v.name === 'registry-auth')) volumes.push({ name: 'registry-auth', secret: { secretName: MODEL_REGISTRY_SECRET, optional: true } });
      sources[fetch.what] = `${stagingDir}/${ARTIFACT_FILE[fetch.what]}`;
      if (fetch.what === 'model') signatureSource = `${stagingDir}/${MODEL_SIGNATURE_FILE}`;
    } else {
      initContainers.push({
        name: `fetch-${fetch.what}`,
        image: input.storageInitializerImage,
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
    image: input.image,
    command: ['sh', '-c', signatureSource ? VERIFY_ARTIFACT_SCRIPT + INSTALL_SIGNATURE_SCRIPT : VERIFY_ARTIFACT_SCRIPT],
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
      ...(signatureSource ? [{ name: 'SIGNATURE_SOURCE', value: signatureSource }] : []),
    ],
    resources: { requests: { cpu: k8s.Quantity.fromString('100m'), memory: k8s.Quantity.fromString('64Mi') }, limits: { memory: k8s.Quantity.fromString('256Mi') } },
    securityContext: RESTRICTED_CONTAINER_SECURITY,
    volumeMounts: verifyMounts,
  });
  return { initContainers, volumes };
}

/**
 * The serving pod of one build. `image`-located builds load model and baseline from the runtime
 * image with no init container; store-located ones fetch exactly the build's URIs. Either way the
 * runtime verifies the sha256 of every file it loads and stays unready on a mismatch.
 */
export function renderPodTemplate(input: PodTemplateInput): k8s.PodTemplateSpec {
  const { model, gpu } = input;
  const inImage = model.artifactScheme === 'image';
  const repository = inImage ? IMAGE_MODEL_REPOSITORY : FETCHED_MODEL_ROOT;
  const fetched: Fetched = inImage ? { initContainers: [], volumes: [] } : fetchArtifacts(input);
  const volumes: k8s.Volume[] = inImage ? [TMP_VOLUME] : fetched.volumes;

  const limits: Record<string, k8s.Quantity> = {
    cpu: k8s.Quantity.fromString(input.cpuLimit),
    memory: k8s.Quantity.fromString(input.memoryLimit),
  };
  if (gpu) limits[gpu.resource ?? 'nvidia.com/gpu'] = k8s.Quantity.fromNumber(gpu.count);

  const env: k8s.EnvVar[] = [
    { name: 'SLIPWAY_MODEL_REPOSITORY', value: repository },
    { name: 'SLIPWAY_EXECUTION_PROVIDER', value: gpu ? 'cuda' : 'cpu' },
    { name: EXPECTED_SHA256_ENV, value: JSON.stringify(expectedSha256(model)) },
    ...(input.driftWebhookUrl ? [{ name: 'SLIPWAY_DRIFT_WEBHOOK_URL', value: input.driftWebhookUrl }] : []),
    ...(input.mirrorUrl ? [{ name: 'SLIPWAY_MIRROR_URL', value: input.mirrorUrl }] : []),
    ...(input.trustedKeys ? [{ name: TRUSTED_KEYS_ENV, value: input.trustedKeys }] : []),
  ];

  const probe = (path: string, periodSeconds: number, failureThreshold: number): k8s.Probe => ({
    httpGet: { path, port: k8s.IntOrString.fromString('http') },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 2,
  });

  return {
    metadata: {
      labels: { ...input.labels },
      annotations: {
        'slipway.dev/owner': model.owner,
        'slipway.dev/model-location': model.artifactUri,
        'slipway.dev/model-sha256': model.artifactSha256,
        ...(model.baselineSha256 ? { 'slipway.dev/baseline-sha256': model.baselineSha256 } : {}),
      },
    },
    spec: {
      serviceAccountName: input.serviceAccountName,
      automountServiceAccountToken: false,
      securityContext: RESTRICTED_POD_SECURITY,
      terminationGracePeriodSeconds: 30,
      ...gpuPlacement(gpu),
      ...(fetched.initContainers.length > 0 ? { initContainers: fetched.initContainers } : {}),
      containers: [
        {
          name: 'runtime',
          image: input.image,
          args: ['serve', '--model-repository', repository, '--host', '0.0.0.0', '--port', String(HTTP_PORT), '--metrics-port', String(METRICS_PORT)],
          env,
          ports: [
            { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
            { name: 'grpc', containerPort: GRPC_PORT, protocol: 'TCP' },
            { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
          ],
          resources: {
            requests: { cpu: k8s.Quantity.fromString(input.cpu), memory: k8s.Quantity.fromString(input.memory) },
            limits,
          },
          startupProbe: probe('/v2/health/ready', 5, 60),
          livenessProbe: probe('/v2/health/live', 10, 3),
          readinessProbe: probe('/v2/health/ready', 5, 2),
          securityContext: RESTRICTED_CONTAINER_SECURITY,
          volumeMounts: [
            ...(inImage ? [] : [{ name: 'models', mountPath: FETCHED_MODEL_ROOT, readOnly: true }]),
            { name: 'tmp', mountPath: '/tmp' },
          ],
        },
      ],
      volumes,
    },
  };
}
