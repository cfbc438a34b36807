import { type ResolvedTrainJob, type TrainJobOptions, resolveTrainJob } from './train-job.js';
import type { Construct } from 'constructs';
import { COMPOUND_DURATION, durationSeconds } from '../../lib/vocabulary/durations.js';
import { GATE_METRIC, GATE_OPS, metricResultName, type QualityGate } from '../../lib/vocabulary/gates.js';
import { gpuProblems, type GpuOptions } from '../../lib/vocabulary/gpu.js';
import { quantityProblem } from '../../lib/vocabulary/quantities.js';
import { OCI_SCHEME, ociModelReferenceProblem } from '../../lib/vocabulary/oci-model.js';
import { trustedKeysProblem } from '../../lib/vocabulary/supply-chain.js';
import type { TensorSpec } from '../../lib/vocabulary/tensors.js';
import { Environment } from '../environment.js';
import { Platform } from '../platform.js';
import { parseImage } from '../private/image.js';
import { PropValidator, dnsLabelProblem, isDns1123Label } from '../private/validation.js';

export type { QualityGate } from '../../lib/vocabulary/gates.js';

export interface TrainingPipelineProps {
  /** Name of the model the pipeline trains: a DNS-1123 label, as in its ModelDeployment. */
  readonly name: string;
  /** Inputs of the model's signature: the test task builds its request from them. */
  readonly inputs: readonly TensorSpec[];
  /** Outputs of the model's signature: the test task checks the answer against them. */
  readonly outputs: readonly TensorSpec[];
  /** Git URL (https) of the repository holding the model's training code. */
  readonly sourceRepository: string;
  /**
   * Branch that is trained: pushes to it start the pipeline, and drift alerts retrain from it.
   * @default 'main'
   */
  readonly sourceBranch?: string;
  /**
   * Folder of the model in the source repository: training runs there, and only pushes that
   * change a file below it start the pipeline.
   * @default '.' (the whole repository)
   */
  readonly modelPath?: string;
  /**
   * Image that trains, pinned by digest; with `notebook` it must provide papermill and the kernel.
   */
  readonly trainingImage: string;
  /**
   * Command (and arguments) that trains, run in `modelPath`. It must write `model.onnx` and
   * `metrics.json` into `$OUTPUT_DIR`; the training data path is in `$TRAINING_DATA` and each
   * training parameter in an upper-case environment variable (`learning_rate` → `LEARNING_RATE`).
   * Exactly one of `trainingCommand` and `notebook`.
   * @default - none; `notebook` is used
   */
  readonly trainingCommand?: readonly string[];
  /**
   * Jupyter notebook (relative to `modelPath`) run headless with papermill. It receives the
   * parameters `output_dir`, `training_data` and each training parameter, and must write
   * `model.onnx` and `metrics.json` into `output_dir`. The executed notebook is kept beside them.
   * @default - none; `trainingCommand` is used
   */
  readonly notebook?: string;
  /**
   * Training parameters (Python identifiers) with their defaults; each is a pipeline parameter
   * (`train-<name>`, `_` as `-`) that a run may override.
   * @default - none
   */
  readonly trainingParameters?: Readonly<Record<string, string>>;
  /**
   * Training data file (CSV or JSONL) relative to `modelPath`; `slipway baseline` profiles it.
   * @default 'data/train.csv'
   */
  readonly trainingData?: string;
  /**
   * Columns of the training data that feed the first input tensor, in tensor order: the profile
   * step profiles only these into the drift baseline (named after that tensor), so the runtime's
   * drift monitor reads the same features the model receives.
   * @default - every column of the training data (a label column then drifts too)
   */
  readonly features?: readonly string[];
  /**
   * Train on GPUs: the limit on the train step, the `nvidia.com/gpu` toleration, and node
   * selection by product, as the serving construct does.
   * @default - CPU only
   */
  readonly gpu?: GpuOptions;
  /**
   * CPU request of the train step (the limit is twice as much).
   * @default '2'
   */
  readonly trainingCpu?: string;
  /**
   * Memory request and limit of the train step.
   * @default '8Gi'
   */
  readonly trainingMemory?: string;
  /**
   * Longest the train task may run.
   * @default '2h'
   */
  readonly trainingTimeout?: string;
  /**
   * Quality gates checked against `metrics.json` after training.
   * @default - none: metrics are recorded, nothing is gated
   */
  readonly gates?: readonly QualityGate[];
  /**
   * The slipway runtime image, pinned by digest: the base of the packaged image, and the image
   * of the steps that run the slipway CLI or node.
   */
  readonly runtimeImage: string;
  /** Repository the packaged image is pushed to, without tag or digest (`ghcr.io/acme/fraud-detector`). */
  readonly imageRepository: string;
  /**
   * Also push each build's model folder (model.onnx, baseline.json and, when signed, model.sig)
   * to this registry repository as a CNCF ModelPack OCI artifact (docs/supply-chain.md), after
   * it is signed: build.json then records `modelLocation` and `baselineLocation` as the pushed
   * `oci://<modelRepository>@sha256:…`, and serving pods fetch and verify the model from there
   * while the image carries the runtime. Without tag or digest; `registrySecret` must be able to
   * push to it (`registry.example.com/models/fraud-detector`).
   * @default - the model ships inside the image only (`modelLocation: image`)
   */
  readonly modelRepository?: string;
  /**
   * Secret of type `kubernetes.io/dockerconfigjson` that may push to `imageRepository`.
   * @default 'registry-credentials'
   */
  readonly registrySecret?: string;
  /**
   * Signs every build (docs/supply-chain.md): the package task signs the model files
   * (model_signing `model.sig`, shipped in the image), the pushed image digest and its SLSA
   * provenance with the ECDSA P-256 key in this Secret's `signing.key`, and attaches the
   * signatures to the image in the registry; the release task refuses a build that does not
   * verify with `trustedKeys`. Requires `trustedKeys`.
   * @default - builds are not signed
   */
  readonly signingKeySecret?: string;
  /**
   * PEM public key(s) the release task verifies a build's signatures with (the public half of
   * `signingKeySecret`'s key). Public: it may live in Git.
   * @default - none (required with signingKeySecret)
   */
  readonly trustedKeys?: string;
  /**
   * Secret of type `kubernetes.io/basic-auth` (`username`, `password` = token) that may read the
   * source repositories and push to the config repository.
   * @default 'git-credentials'
   */
  readonly gitCredentialsSecret?: string;
  /**
   * Environment a successful run releases to with `slipway release`.
   * @default - the platform's first environment other than the pipeline's own
   */
  readonly releaseEnvironment?: string;
  /**
   * Git URL of the config repository that `slipway release` commits to.
   * @default - the platform's `repoURL`
   */
  readonly configRepository?: string;
  /**
   * Git URL of the repository holding the slipway app (`apps/main.ts`) that `slipway release` re-synthesizes.
   * @default - `sourceRepository`
   */
  readonly platformRepository?: string;
  /**
   * Branch of `platformRepository`.
   * @default 'main'
   */
  readonly platformRevision?: string;
  /**
   * The app module in `platformRepository`.
   * @default 'apps/main.ts'
   */
  readonly appFile?: string;
  /**
   * Namespace of the pipeline's objects and runs.
   * @default - the environment's namespace, else 'slipway-ci'
   */
  readonly namespace?: string;
  /**
   * Size of the volume each run claims for its workspace.
   * @default '10Gi'
   */
  readonly workspaceSize?: string;
  /**
   * StorageClass of the workspace volume.
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;
  /**
   * Longest a whole run may take.
   * @default - the training timeout plus 2h for the other tasks
   */
  readonly pipelineTimeout?: string;
  /**
   * Image with git and a POSIX shell for the fetch and checkout steps, pinned by digest.
   * @default - alpine/git pinned by digest
   */
  readonly gitImage?: string;
  /**
   * buildah image that builds and pushes the packaged image without a daemon or a privileged
   * container (see docs/pipelines.md for the capabilities it needs), pinned by digest.
   * @default - quay.io/buildah/stable pinned by digest
   */
  readonly buildahImage?: string;
  /**
   * Train as a Kubeflow Trainer v2 TrainJob (runtime, nodes, Kueue queue) that the train step
   * creates and waits for, instead of inside the Tekton pod. See docs/training.md.
   * @default - the train step trains in its own pod
   */
  readonly trainJob?: TrainJobOptions;
}

export const DEFAULT_GIT_IMAGE = 'docker.io/alpine/git:2.45.1@sha256:d73869d3c6615a1a0c9616b0532c81e8fe1f536af7a774c87b647d4edcc8e4a7';
/** buildah's multi-architecture image index, as the Tekton catalog's buildah task uses it; pinned so a reviewed pipeline cannot change under it. */
export const DEFAULT_BUILDAH_IMAGE = 'quay.io/buildah/stable@sha256:56e6ebc9bb71c8303b1968fb51304d3512e14a1b8c730bd0b27ebdf772a34ceb';

const PYTHON_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const RELATIVE_PATH = /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._\-/]+$/;

/** {@link TrainingPipelineProps} with every default applied and every rule checked. */
export interface ResolvedPipelineProps {
  readonly name: string;
  readonly namespace: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly sourceRepository: string;
  readonly sourceBranch: string;
  readonly modelPath: string;
  /** Where the model's folder is inside the source workspace. */
  readonly modelDir: string;
  readonly trainingImage: string;
  readonly trainingCommand?: readonly string[];
  readonly notebook?: string;
  readonly trainingParameters: Readonly<Record<string, string>>;
  readonly trainingData: string;
  readonly features?: readonly string[];
  readonly gpu?: GpuOptions;
  readonly trainingCpu: string;
  readonly trainingMemory: string;
  readonly trainingTimeout: string;
  readonly pipelineTimeout: string;
  readonly gates: readonly QualityGate[];
  readonly runtimeImage: string;
  readonly imageRepository: string;
  readonly modelRepository?: string;
  readonly registrySecret: string;
  readonly signingKeySecret?: string;
  readonly trustedKeys?: string;
  readonly gitCredentialsSecret: string;
  readonly releaseEnvironment: string;
  readonly configRepository: string;
  readonly platformRepository: string;
  readonly platformRevision: string;
  readonly appFile: string;
  readonly workspaceSize: string;
  readonly storageClassName?: string;
  readonly gitImage: string;
  readonly buildahImage: string;
  /** The environment the pipeline runs in, for labels. */
  readonly environment?: string;
  readonly partOf: string;
  readonly trainJob?: ResolvedTrainJob;
}

/**
 * Applies defaults and checks every prop, reporting all problems at once (with those `more` finds
 * in what is rendered from them); the result is frozen. `scope` is the pipeline's chart.
 */
export function resolvePipelineProps(scope: Construct, props: TrainingPipelineProps, more?: (r: ResolvedPipelineProps, v: PropValidator) => void): ResolvedPipelineProps {
  const environment = Environment.tryOf(scope);
  const platform = Platform.tryOf(scope);
  const namespace = props.namespace ?? environment?.namespace ?? 'slipway-ci';
  const modelPath = normalizePath(props.modelPath ?? '.');
  const trainingTimeout = props.trainingTimeout ?? '2h';
  const firstOtherEnvironment = platform?.node.findAll().find((c): c is Environment => c instanceof Environment && c !== environment)?.name;
  const configRepository = props.configRepository ?? platform?.repoURL;
  const releaseEnvironment = props.releaseEnvironment ?? firstOtherEnvironment;
  const resolved = {
    name: props.name,
    namespace,
    inputs: props.inputs,
    outputs: props.outputs,
    sourceRepository: props.sourceRepository,
    sourceBranch: props.sourceBranch ?? 'main',
    modelPath,
    modelDir: modelPath === '.' ? '$(workspaces.source.path)' : `$(workspaces.source.path)/${modelPath}`,
    trainingImage: props.trainingImage,
    ...(props.trainingCommand !== undefined ? { trainingCommand: props.trainingCommand } : {}),
    ...(props.notebook !== undefined ? { notebook: props.notebook } : {}),
    trainingParameters: props.trainingParameters ?? {},
    trainingData: props.trainingData ?? 'data/train.csv',
    ...(props.features !== undefined ? { features: props.features } : {}),
    ...(props.gpu ? { gpu: props.gpu } : {}),
    trainingCpu: props.trainingCpu ?? '2',
    trainingMemory: props.trainingMemory ?? '8Gi',
    trainingTimeout,
    pipelineTimeout: props.pipelineTimeout ?? addHours(trainingTimeout, 2),
    gates: props.gates ?? [],
    runtimeImage: props.runtimeImage,
    imageRepository: props.imageRepository,
    ...(props.modelRepository !== undefined ? { modelRepository: props.modelRepository } : {}),
    registrySecret: props.registrySecret ?? 'registry-credentials',
    ...(props.signingKeySecret !== undefined ? { signingKeySecret: props.signingKeySecret } : {}),
    ...(props.trustedKeys !== undefined ? { trustedKeys: props.trustedKeys } : {}),
    gitCredentialsSecret: props.gitCredentialsSecret ?? 'git-credentials',
    releaseEnvironment: releaseEnvironment ?? '',
    configRepository: configRepository ?? '',
    platformRepository: props.platformRepository ?? props.sourceRepository,
    platformRevision: props.platformRevision ?? 'main',
    appFile: props.appFile ?? 'apps/main.ts',
    workspaceSize: props.workspaceSize ?? '10Gi',
    ...(props.storageClassName ? { storageClassName: props.storageClassName } : {}),
    gitImage: props.gitImage ?? DEFAULT_GIT_IMAGE,
    buildahImage: props.buildahImage ?? DEFAULT_BUILDAH_IMAGE,
    ...(environment ? { environment: environment.name } : {}),
    partOf: platform?.name ?? 'slipway',
  } satisfies ResolvedPipelineProps;
  const v = new PropValidator(scope, 'TrainingPipeline');
  if (props.trainJob) Object.assign(resolved, { trainJob: resolveTrainJob(v, props.trainJob) });
  check(v, resolved, props, { releaseEnvironment, configRepository });
  more?.(resolved, v);
  v.throwIfInvalid();
  return Object.freeze(resolved);
}

function check(
  v: PropValidator,
  r: ResolvedPipelineProps,
  props: TrainingPipelineProps,
  found: { releaseEnvironment: string | undefined; configRepository: string | undefined },
): void {
  const { name, namespace } = r;
  v.check(isDns1123Label(name) && name.length <= 40, 'name', `${dnsLabelProblem(name)} of at most 40 characters (object names add suffixes)`);
  v.check(isDns1123Label(namespace), 'namespace', dnsLabelProblem(namespace));
  v.check(r.inputs.length > 0, 'inputs', 'expected at least one input tensor (the test task sends a request built from them), got none');
  v.check(r.outputs.length > 0, 'outputs', 'expected at least one output tensor (the test task checks the answer against them), got none');
  for (const [field, tensors] of [['inputs', r.inputs], ['outputs', r.outputs]] as const) {
    tensors.forEach((t, i) =>
      v.check(
        t.shape.every((d) => Number.isInteger(d) && (d >= 1 || d === -1)),
        `${field}[${i}].shape`,
        `expected dimensions >= 1 or -1 (dynamic), got ${JSON.stringify(t.shape)}`,
      ),
    );
  }
  for (const [field, url] of [
    ['sourceRepository', props.sourceRepository],
    ['platformRepository', props.platformRepository],
    ['configRepository', found.configRepository],
  ] as const) {
    if (url === undefined) continue;
    v.check(/^https?:\/\/\S+$/.test(url), field, `expected an http(s) Git URL (webhooks and tokens work over HTTPS), got ${JSON.stringify(url)}`);
  }
  v.check(found.configRepository !== undefined, 'configRepository', 'expected the config repository URL: set it, or create the pipeline inside a Platform');
  v.check(
    found.releaseEnvironment !== undefined,
    'releaseEnvironment',
    'expected the environment to release to: set it, or create the pipeline in a Platform with another Environment',
  );
  if (found.releaseEnvironment !== undefined) v.check(isDns1123Label(found.releaseEnvironment), 'releaseEnvironment', dnsLabelProblem(found.releaseEnvironment));
  v.check(/^[A-Za-z0-9._\-/]+$/.test(r.sourceBranch) && !r.sourceBranch.startsWith('refs/'), 'sourceBranch', `expected a branch name such as "main", got ${JSON.stringify(r.sourceBranch)}`);
  v.check(r.modelPath === '.' || RELATIVE_PATH.test(r.modelPath), 'modelPath', `expected a folder relative to the repository root, without "..", got ${JSON.stringify(props.modelPath)}`);
  v.check(RELATIVE_PATH.test(r.trainingData), 'trainingData', `expected a file path relative to modelPath, without "..", got ${JSON.stringify(r.trainingData)}`);
  if (r.features !== undefined) {
    v.check(
      r.features.length > 0 && r.features.every((f) => f !== '' && !f.includes(',')) && new Set(r.features).size === r.features.length,
      'features',
      `expected distinct training data column names without commas, got ${JSON.stringify(r.features)}`,
    );
    const width = r.inputs[0]?.shape.at(-1);
    if (width !== undefined && width > 0) {
      v.check(r.features.length === width, 'features', `expected ${width} columns (the last dimension of input "${r.inputs[0]!.name}"), got ${r.features.length}`);
    }
  }
  const modes = [r.trainingCommand !== undefined, r.notebook !== undefined].filter(Boolean).length;
  v.check(
    modes === 1,
    'trainingCommand',
    `expected exactly one of trainingCommand (a command in trainingImage) or notebook (run with papermill), got ${modes === 0 ? 'neither' : 'both'}`,
  );
  if (r.trainingCommand !== undefined) v.check(r.trainingCommand.length > 0, 'trainingCommand', 'expected a command such as ["python", "train.py"], got an empty list');
  if (r.notebook !== undefined) {
    v.check(RELATIVE_PATH.test(r.notebook) && r.notebook.endsWith('.ipynb'), 'notebook', `expected a .ipynb path relative to modelPath, got ${JSON.stringify(r.notebook)}`);
  }
  for (const key of Object.keys(r.trainingParameters)) {
    v.check(
      PYTHON_IDENTIFIER.test(key) && !['output_dir', 'training_data'].includes(key),
      `trainingParameters.${key}`,
      `expected a lower-case Python identifier other than output_dir and training_data, got ${JSON.stringify(key)}`,
    );
  }
  for (const [field, value] of [['trainingCpu', r.trainingCpu], ['trainingMemory', r.trainingMemory], ['workspaceSize', props.workspaceSize]] as const) {
    const problem = value === undefined ? undefined : quantityProblem(value);
    if (problem) v.report(field, problem);
  }
  for (const [field, value] of [['trainingTimeout', r.trainingTimeout], ['pipelineTimeout', r.pipelineTimeout]] as const) {
    v.check(value !== '' && COMPOUND_DURATION.test(value), field, `expected a duration such as "90m" or "2h30m", got ${JSON.stringify(value)}`);
  }
  const training = durationSeconds(r.trainingTimeout);
  const pipeline = durationSeconds(r.pipelineTimeout);
  if (training !== undefined && pipeline !== undefined) {
    v.check(pipeline > training, 'pipelineTimeout', `expected more than trainingTimeout (${r.trainingTimeout}), got ${JSON.stringify(r.pipelineTimeout)}`);
  }
  r.gates.forEach((gate, i) => {
    v.check(GATE_METRIC.test(gate.metric), `gates[${i}].metric`, `expected a metric name such as "auc", got ${JSON.stringify(gate.metric)}`);
    v.check(GATE_OPS.includes(gate.op), `gates[${i}].op`, `expected one of ${GATE_OPS.join(', ')}, got ${JSON.stringify(gate.op)}`);
    v.check(Number.isFinite(gate.value), `gates[${i}].value`, `expected a finite number, got ${gate.value}`);
  });
  const gateResults = new Set(r.gates.map((g) => metricResultName(g.metric)));
  v.check(gateResults.size === new Set(r.gates.map((g) => g.metric)).size, 'gates', 'expected metric names that stay distinct in lower-case kebab form (they name task results)');
  const repoRef = parseImage(r.imageRepository);
  v.check(
    repoRef !== undefined && !repoRef.tag && !repoRef.digest,
    'imageRepository',
    `expected an image repository without tag or digest, such as "ghcr.io/acme/${name}", got ${JSON.stringify(r.imageRepository)}`,
  );
  if (r.modelRepository !== undefined) {
    // Checked as the location it will become, so every push yields a location the records accept.
    v.check(
      ociModelReferenceProblem(`${OCI_SCHEME}${r.modelRepository}@sha256:${'0'.repeat(64)}`) === undefined,
      'modelRepository',
      `expected a registry repository without scheme, tag or digest, in lower case, such as "registry.example.com/models/${name}", got ${JSON.stringify(r.modelRepository)}`,
    );
  }
  for (const [field, secret] of [['registrySecret', r.registrySecret], ['gitCredentialsSecret', r.gitCredentialsSecret]] as const) {
    v.check(isDns1123Label(secret), field, dnsLabelProblem(secret));
  }
  if (r.signingKeySecret !== undefined) {
    v.check(isDns1123Label(r.signingKeySecret), 'signingKeySecret', dnsLabelProblem(r.signingKeySecret));
    v.check(r.trustedKeys !== undefined, 'trustedKeys', 'expected the PEM public key(s) the release verifies signatures with, since signingKeySecret signs builds; got none');
  }
  if (r.trustedKeys !== undefined) {
    v.check(trustedKeysProblem(r.trustedKeys) === undefined, 'trustedKeys', trustedKeysProblem(r.trustedKeys) ?? '');
    v.check(r.signingKeySecret !== undefined, 'signingKeySecret', 'expected the Secret holding signing.key, since trustedKeys verifies signed builds; got none');
  }
  if (r.gpu) {
    for (const [field, message] of gpuProblems(r.gpu)) v.report(field, message);
    if (r.gpu.runtimeClassName !== undefined) v.check(isDns1123Label(r.gpu.runtimeClassName), 'gpu.runtimeClassName', dnsLabelProblem(r.gpu.runtimeClassName));
  }
}

function normalizePath(path: string): string {
  const trimmed = path.replace(/^\.\//, '').replace(/\/+$/, '');
  return trimmed === '' ? '.' : trimmed;
}

function addHours(duration: string, hours: number): string {
  const total = durationSeconds(duration);
  if (total === undefined) return duration;
  const sum = total + hours * 3600;
  const h = Math.floor(sum / 3600);
  const m = Math.floor((sum % 3600) / 60);
  const s = sum % 60;
  return `${h}h${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}
