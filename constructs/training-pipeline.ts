import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import type { IEnvVar, IResourceRequirements } from 'kubernetes-models/v1';
import { Environment } from './environment.js';
import {
  TektonPipeline,
  TektonTask,
  TektonTriggerTemplate,
  type TektonPipelineRunManifest,
  type TektonPipelineTask,
  type TektonPodTemplate,
  type TektonStep,
  type TektonTaskSpec,
} from './imports/tekton.js';
import type { TensorSpec } from './model.js';
import type { GpuOptions } from './model-serving.js';
import { Platform } from './platform.js';
import { imageProblem, parseImage } from './private/image.js';
import { recommendedLabels } from './private/labels.js';
import {
  CHECK_OUTPUTS_SCRIPT,
  EVALUATE_SCRIPT,
  FETCH_SCRIPT,
  NOTEBOOK_SCRIPT,
  PREPARE_IMAGE_SCRIPT,
  PROFILE_SCRIPT,
  RELEASE_CHECKOUT_SCRIPT,
  RELEASE_SCRIPT,
  REPORT_SCRIPT,
  SMOKE_TEST_SCRIPT,
} from './private/pipeline-scripts.js';
import { PropValidator, dnsLabelProblem, isDns1123Label } from './private/validation.js';

/** A quality gate on one metric of `metrics.json`: the run fails unless `metric op value` holds. */
export interface QualityGate {
  /** Top-level key of `metrics.json`, e.g. `auc`. */
  readonly metric: string;
  readonly op: '>=' | '>' | '<=' | '<' | '==';
  readonly value: number;
}

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
   * Secret of type `kubernetes.io/dockerconfigjson` that may push to `imageRepository`.
   * @default 'registry-credentials'
   */
  readonly registrySecret?: string;
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
   * Kaniko executor that builds and pushes the image without a Docker daemon, pinned by digest.
   * @default - gcr.io/kaniko-project/executor v1.23.2 pinned by digest
   */
  readonly kanikoImage?: string;
}

export const DEFAULT_GIT_IMAGE = 'docker.io/alpine/git:2.45.1@sha256:d73869d3c6615a1a0c9616b0532c81e8fe1f536af7a774c87b647d4edcc8e4a7';
export const DEFAULT_KANIKO_IMAGE =
  'gcr.io/kaniko-project/executor:v1.23.2@sha256:9e69fd4330ec887829c780f5126dd80edc663df6def362cd22e79bcdf00ac53f';

/** The pipeline's tasks in run order; `report` runs `finally`. */
export const TRAINING_TASKS = ['fetch', 'train', 'evaluate', 'profile', 'package', 'test', 'release'] as const;

// Bumped when the tasks change shape, so `app.kubernetes.io/version` tells pipeline revisions apart.
const PIPELINE_REVISION = 'pipeline-1';
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/;
const DURATION = /^([0-9]+h)?([0-9]+m)?([0-9]+s)?$/;
const MIG_RESOURCE = /^nvidia\.com\/mig-[1-7]g\.[0-9]+gb$/;
const PYTHON_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const RELATIVE_PATH = /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._\-/]+$/;
const GATE_OPS = ['>=', '>', '<=', '<', '=='];

/**
 * Trains, gates, packages, tests and releases one model with Tekton (`tekton.dev/v1`): Tasks, a
 * Pipeline (fetch → train → evaluate → profile → package → test → release, `finally` report), a
 * ServiceAccount with least-privilege RBAC, and a TriggerTemplate whose PipelineRun is what
 * triggers and people start. One cdk8s Chart: in a slipway platform, one Argo CD Application.
 */
export class TrainingPipeline extends Chart {
  readonly modelName: string;
  /** Namespace of the pipeline's objects (where the EventListener must run too). */
  readonly pipelineNamespace: string;
  readonly sourceRepository: string;
  readonly sourceBranch: string;
  readonly modelPath: string;
  readonly serviceAccountName: string;
  /** Name of the Pipeline. */
  readonly pipelineName: string;
  /** Name of the TriggerTemplate that starts a run. */
  readonly triggerTemplateName: string;
  readonly releaseEnvironment: string;
  /** Labels on every object of the pipeline, recommended `app.kubernetes.io/*` ones included. */
  readonly objectLabels: Record<string, string>;
  /** The PipelineRun the TriggerTemplate creates, with `$(tt.params.…)` in place of event values. */
  readonly pipelineRun: TektonPipelineRunManifest;

  constructor(scope: Construct, id: string, props: TrainingPipelineProps) {
    const environment = Environment.tryOf(scope);
    const namespace = props.namespace ?? environment?.namespace ?? 'slipway-ci';
    super(scope, id, { namespace, disableResourceNameHashes: true });
    const platform = Platform.tryOf(this);
    const name = props.name;
    this.modelName = name;
    this.pipelineNamespace = namespace;
    this.sourceRepository = props.sourceRepository;
    this.sourceBranch = props.sourceBranch ?? 'main';
    this.modelPath = normalizePath(props.modelPath ?? '.');
    this.serviceAccountName = `${name}-pipeline`;
    this.pipelineName = `${name}-training`;
    this.triggerTemplateName = `${name}-training`;
    const gitImage = props.gitImage ?? DEFAULT_GIT_IMAGE;
    const kanikoImage = props.kanikoImage ?? DEFAULT_KANIKO_IMAGE;
    const trainingData = props.trainingData ?? 'data/train.csv';
    const trainingCpu = props.trainingCpu ?? '2';
    const trainingMemory = props.trainingMemory ?? '8Gi';
    const trainingTimeout = props.trainingTimeout ?? '2h';
    const pipelineTimeout = props.pipelineTimeout ?? addHours(trainingTimeout, 2);
    const gates = props.gates ?? [];
    const parameters = props.trainingParameters ?? {};
    const registrySecret = props.registrySecret ?? 'registry-credentials';
    const gitSecret = props.gitCredentialsSecret ?? 'git-credentials';
    const configRepository = props.configRepository ?? platform?.repoURL;
    const firstOtherEnvironment = platform?.node
      .findAll()
      .find((c): c is Environment => c instanceof Environment && c !== environment)?.name;
    const releaseEnvironment = props.releaseEnvironment ?? firstOtherEnvironment;

    const v = new PropValidator(this, 'TrainingPipeline');
    v.check(isDns1123Label(name) && name.length <= 40, 'name', `${dnsLabelProblem(name)} of at most 40 characters (object names add suffixes)`);
    v.check(isDns1123Label(namespace), 'namespace', dnsLabelProblem(namespace));
    v.check(props.inputs.length > 0, 'inputs', 'expected at least one input tensor (the test task sends a request built from them), got none');
    v.check(props.outputs.length > 0, 'outputs', 'expected at least one output tensor (the test task checks the answer against them), got none');
    for (const [field, tensors] of [['inputs', props.inputs], ['outputs', props.outputs]] as const) {
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
      ['configRepository', configRepository],
    ] as const) {
      if (url === undefined) continue;
      v.check(/^https?:\/\/\S+$/.test(url), field, `expected an http(s) Git URL (webhooks and tokens work over HTTPS), got ${JSON.stringify(url)}`);
    }
    v.check(configRepository !== undefined, 'configRepository', 'expected the config repository URL: set it, or create the pipeline inside a Platform');
    v.check(
      releaseEnvironment !== undefined,
      'releaseEnvironment',
      'expected the environment to release to: set it, or create the pipeline in a Platform with another Environment',
    );
    if (releaseEnvironment !== undefined) v.check(isDns1123Label(releaseEnvironment), 'releaseEnvironment', dnsLabelProblem(releaseEnvironment));
    v.check(/^[A-Za-z0-9._\-/]+$/.test(this.sourceBranch) && !this.sourceBranch.startsWith('refs/'), 'sourceBranch', `expected a branch name such as "main", got ${JSON.stringify(this.sourceBranch)}`);
    v.check(this.modelPath === '.' || RELATIVE_PATH.test(this.modelPath), 'modelPath', `expected a folder relative to the repository root, without "..", got ${JSON.stringify(props.modelPath)}`);
    v.check(RELATIVE_PATH.test(trainingData), 'trainingData', `expected a file path relative to modelPath, without "..", got ${JSON.stringify(trainingData)}`);
    const modes = [props.trainingCommand !== undefined, props.notebook !== undefined].filter(Boolean).length;
    v.check(
      modes === 1,
      'trainingCommand',
      `expected exactly one of trainingCommand (a command in trainingImage) or notebook (run with papermill), got ${modes === 0 ? 'neither' : 'both'}`,
    );
    if (props.trainingCommand !== undefined) v.check(props.trainingCommand.length > 0, 'trainingCommand', 'expected a command such as ["python", "train.py"], got an empty list');
    if (props.notebook !== undefined) {
      v.check(RELATIVE_PATH.test(props.notebook) && props.notebook.endsWith('.ipynb'), 'notebook', `expected a .ipynb path relative to modelPath, got ${JSON.stringify(props.notebook)}`);
    }
    for (const key of Object.keys(parameters)) {
      v.check(
        PYTHON_IDENTIFIER.test(key) && !['output_dir', 'training_data'].includes(key),
        `trainingParameters.${key}`,
        `expected a lower-case Python identifier other than output_dir and training_data, got ${JSON.stringify(key)}`,
      );
    }
    for (const [field, value] of [['trainingCpu', trainingCpu], ['trainingMemory', trainingMemory], ['workspaceSize', props.workspaceSize]] as const) {
      if (value !== undefined) v.check(QUANTITY.test(value), field, `expected a Kubernetes quantity such as "2", "500m" or "8Gi", got ${JSON.stringify(value)}`);
    }
    for (const [field, value] of [['trainingTimeout', trainingTimeout], ['pipelineTimeout', pipelineTimeout]] as const) {
      v.check(value !== '' && DURATION.test(value), field, `expected a duration such as "90m" or "2h30m", got ${JSON.stringify(value)}`);
    }
    if (DURATION.test(trainingTimeout) && DURATION.test(pipelineTimeout) && trainingTimeout && pipelineTimeout) {
      v.check(
        seconds(pipelineTimeout) > seconds(trainingTimeout),
        'pipelineTimeout',
        `expected more than trainingTimeout (${trainingTimeout}), got ${JSON.stringify(pipelineTimeout)}`,
      );
    }
    gates.forEach((gate, i) => {
      v.check(/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(gate.metric), `gates[${i}].metric`, `expected a metric name such as "auc", got ${JSON.stringify(gate.metric)}`);
      v.check(GATE_OPS.includes(gate.op), `gates[${i}].op`, `expected one of ${GATE_OPS.join(', ')}, got ${JSON.stringify(gate.op)}`);
      v.check(Number.isFinite(gate.value), `gates[${i}].value`, `expected a finite number, got ${gate.value}`);
    });
    const gateResults = [...new Set(gates.map((g) => metricResultName(g.metric)))];
    v.check(gateResults.length === new Set(gates.map((g) => g.metric)).size, 'gates', 'expected metric names that stay distinct in lower-case kebab form (they name task results)');
    const repoRef = parseImage(props.imageRepository);
    v.check(
      repoRef !== undefined && !repoRef.tag && !repoRef.digest,
      'imageRepository',
      `expected an image repository without tag or digest, such as "ghcr.io/acme/${name}", got ${JSON.stringify(props.imageRepository)}`,
    );
    for (const [field, secret] of [['registrySecret', registrySecret], ['gitCredentialsSecret', gitSecret]] as const) {
      v.check(isDns1123Label(secret), field, dnsLabelProblem(secret));
    }
    const gpuResource = props.gpu?.resource ?? 'nvidia.com/gpu';
    if (props.gpu) {
      v.check(Number.isInteger(props.gpu.count) && props.gpu.count >= 1, 'gpu.count', `expected an integer >= 1, got ${props.gpu.count}`);
      v.check(
        gpuResource === 'nvidia.com/gpu' || MIG_RESOURCE.test(gpuResource),
        'gpu.resource',
        `expected "nvidia.com/gpu" or a MIG resource such as "nvidia.com/mig-1g.10gb", got ${JSON.stringify(gpuResource)}`,
      );
      if (props.gpu.runtimeClassName !== undefined) v.check(isDns1123Label(props.gpu.runtimeClassName), 'gpu.runtimeClassName', dnsLabelProblem(props.gpu.runtimeClassName));
    }

    const env = (values: Record<string, string>): IEnvVar[] => Object.entries(values).map(([n, value]) => ({ name: n, value }));
    const gitCredentialEnv: IEnvVar[] = [
      { name: 'GIT_USERNAME', valueFrom: { secretKeyRef: { name: gitSecret, key: 'username', optional: true } } },
      { name: 'GIT_PASSWORD', valueFrom: { secretKeyRef: { name: gitSecret, key: 'password', optional: true } } },
    ];
    const small = resources('100m', '128Mi', '512Mi');
    const nodeStep = resources('200m', '256Mi', '1Gi');
    const modelDir = this.modelPath === '.' ? '$(workspaces.source.path)' : `$(workspaces.source.path)/${this.modelPath}`;
    const trainParam = (key: string) => `train-${key.replaceAll('_', '-')}`;

    const trainStep: TektonStep = props.notebook
      ? {
          name: 'train',
          image: props.trainingImage,
          workingDir: modelDir,
          script: NOTEBOOK_SCRIPT,
          args: Object.keys(parameters).flatMap((key) => ['-p', key, `$(params.${trainParam(key)})`]),
          env: env({ NOTEBOOK: props.notebook, OUTPUT_DIR: '$(workspaces.model.path)', TRAINING_DATA: `${modelDir}/${trainingData}` }),
          computeResources: trainingResources(trainingCpu, trainingMemory, props.gpu, gpuResource),
        }
      : {
          name: 'train',
          image: props.trainingImage,
          workingDir: modelDir,
          command: props.trainingCommand,
          env: [
            ...env({ OUTPUT_DIR: '$(workspaces.model.path)', TRAINING_DATA: `${modelDir}/${trainingData}` }),
            ...Object.keys(parameters).map((key) => ({ name: key.toUpperCase(), value: `$(params.${trainParam(key)})` })),
          ],
          computeResources: trainingResources(trainingCpu, trainingMemory, props.gpu, gpuResource),
        };

    const tasks: Record<(typeof TRAINING_TASKS)[number] | 'report', TektonTaskSpec> = {
      fetch: {
        description: `Clones the training code of ${name} and decides the version of this build.`,
        params: [
          { name: 'url', type: 'string', description: 'Git URL of the source repository.' },
          { name: 'revision', type: 'string', description: 'Branch, tag or commit to train.' },
          { name: 'version', type: 'string', description: 'Model version; empty derives <commit date>-<short commit>.', default: '' },
        ],
        workspaces: [{ name: 'source', description: 'Receives the checkout.' }],
        results: [
          { name: 'commit', type: 'string', description: 'Commit that was trained.' },
          { name: 'version', type: 'string', description: 'Model version of this build.' },
        ],
        steps: [
          {
            name: 'clone',
            image: gitImage,
            script: FETCH_SCRIPT,
            env: [
              ...env({
                SOURCE_URL: '$(params.url)',
                REVISION: '$(params.revision)',
                VERSION: '$(params.version)',
                SOURCE_DIR: '$(workspaces.source.path)',
                RESULT_COMMIT: '$(results.commit.path)',
                RESULT_VERSION: '$(results.version.path)',
              }),
              ...gitCredentialEnv,
            ],
            computeResources: small,
          },
        ],
      },
      train: {
        description: props.notebook ? `Runs ${props.notebook} headless with papermill.` : `Runs the training command of ${name}.`,
        params: Object.entries(parameters).map(([key, value]) => ({ name: trainParam(key), type: 'string', description: `Training parameter ${key}.`, default: value })),
        workspaces: [
          { name: 'source', description: 'The checkout.', readOnly: true },
          { name: 'model', description: 'Receives model.onnx and metrics.json.' },
        ],
        steps: [
          trainStep,
          {
            name: 'check-outputs',
            image: props.runtimeImage,
            script: CHECK_OUTPUTS_SCRIPT,
            env: env({ OUTPUT_DIR: '$(workspaces.model.path)' }),
            computeResources: small,
          },
        ],
      },
      evaluate: {
        description: 'Checks the quality gates against metrics.json and records the metrics as results.',
        workspaces: [{ name: 'model', readOnly: true }],
        results: [
          { name: 'metrics', type: 'string', description: 'Numeric metrics of metrics.json, as compact JSON.' },
          ...gateResults.map((r) => ({ name: r, type: 'string' as const, description: 'Value of a gated metric.' })),
        ],
        steps: [
          {
            name: 'gates',
            image: props.runtimeImage,
            script: EVALUATE_SCRIPT,
            env: env({
              METRICS_FILE: '$(workspaces.model.path)/metrics.json',
              GATES: JSON.stringify(gates),
              RESULT_METRICS: '$(results.metrics.path)',
            }),
            computeResources: nodeStep,
          },
        ],
      },
      profile: {
        description: 'Profiles the training data into the drift baseline that ships with the model.',
        workspaces: [
          { name: 'source', readOnly: true },
          { name: 'model', description: 'Receives baseline.json.' },
        ],
        results: [{ name: 'baseline-sha256', type: 'string', description: 'sha256 of baseline.json.' }],
        steps: [
          {
            name: 'baseline',
            image: props.runtimeImage,
            script: PROFILE_SCRIPT,
            env: env({
              TRAINING_DATA: `${modelDir}/${trainingData}`,
              OUTPUT_DIR: '$(workspaces.model.path)',
              RESULT_BASELINE_SHA256: '$(results.baseline-sha256.path)',
            }),
            computeResources: resources('500m', '1Gi', '4Gi'),
          },
        ],
      },
      package: {
        description: `Builds ${props.imageRepository} FROM the runtime image with the model inside, without a Docker daemon.`,
        params: [{ name: 'version', type: 'string', description: 'Model version: the model repository folder and the image tag.' }],
        workspaces: [
          { name: 'model', description: 'Holds model.onnx and baseline.json; receives the build context.' },
          { name: 'docker-config', description: 'config.json with credentials for the image repository.', readOnly: true },
        ],
        results: [
          { name: 'artifact-sha256', type: 'string', description: 'sha256 of model.onnx.' },
          { name: 'image-digest', type: 'string', description: 'Digest of the pushed image.' },
        ],
        steps: [
          {
            name: 'prepare',
            image: props.runtimeImage,
            script: PREPARE_IMAGE_SCRIPT,
            env: env({
              MODEL_NAME: name,
              MODEL_VERSION: '$(params.version)',
              OUTPUT_DIR: '$(workspaces.model.path)',
              CONTEXT_DIR: '$(workspaces.model.path)/image',
              RUNTIME_IMAGE: props.runtimeImage,
              RESULT_ARTIFACT_SHA256: '$(results.artifact-sha256.path)',
            }),
            computeResources: small,
          },
          {
            name: 'build-and-push',
            image: kanikoImage,
            args: [
              '--dockerfile=$(workspaces.model.path)/image/Dockerfile',
              '--context=dir://$(workspaces.model.path)/image',
              `--destination=${props.imageRepository}:$(params.version)`,
              '--digest-file=$(results.image-digest.path)',
              '--reproducible',
              '--single-snapshot',
            ],
            env: env({ DOCKER_CONFIG: '$(workspaces.docker-config.path)' }),
            computeResources: resources('1', '2Gi', '4Gi'),
          },
        ],
      },
      test: {
        description: `Starts the built image and sends a request built from the signature of ${name}.`,
        params: [{ name: 'image', type: 'string', description: 'The built image, pinned by digest.' }],
        sidecars: [
          {
            name: 'runtime',
            image: '$(params.image)',
            args: ['serve', '--model-repository', '/models', '--host', '127.0.0.1', '--port', '8080'],
            env: env({ SLIPWAY_EXECUTION_PROVIDER: 'cpu' }),
            computeResources: resources('500m', '1Gi', '2Gi'),
          },
        ],
        steps: [
          {
            name: 'infer',
            image: props.runtimeImage,
            script: SMOKE_TEST_SCRIPT,
            env: env({
              SERVER_URL: 'http://127.0.0.1:8080',
              MODEL_NAME: name,
              SIGNATURE: JSON.stringify({ inputs: props.inputs, outputs: props.outputs }),
              READY_TIMEOUT_SECONDS: '180',
            }),
            computeResources: nodeStep,
          },
        ],
      },
      release: {
        description: `Records the build in the config repository for ${releaseEnvironment}.`,
        params: [
          { name: 'version', type: 'string' },
          { name: 'artifact-sha256', type: 'string' },
          { name: 'image-digest', type: 'string' },
        ],
        workspaces: [{ name: 'scratch', description: 'Receives the platform and config repository checkouts.' }],
        steps: [
          {
            name: 'checkout',
            image: gitImage,
            script: RELEASE_CHECKOUT_SCRIPT,
            env: [
              ...env({
                PLATFORM_URL: props.platformRepository ?? props.sourceRepository,
                PLATFORM_REVISION: props.platformRevision ?? 'main',
                PLATFORM_DIR: '$(workspaces.scratch.path)/platform',
                CONFIG_URL: configRepository ?? '',
                CONFIG_DIR: '$(workspaces.scratch.path)/config',
              }),
              ...gitCredentialEnv,
            ],
            computeResources: small,
          },
          {
            name: 'release',
            image: props.runtimeImage,
            script: RELEASE_SCRIPT,
            env: [
              ...env({
                PLATFORM_DIR: '$(workspaces.scratch.path)/platform',
                CONFIG_DIR: '$(workspaces.scratch.path)/config',
                APP_FILE: props.appFile ?? 'apps/main.ts',
                RELEASE_ENV: releaseEnvironment ?? '',
                MODEL_NAME: name,
                MODEL_VERSION: '$(params.version)',
                ARTIFACT_SHA256: '$(params.artifact-sha256)',
                IMAGE_DIGEST: '$(params.image-digest)',
                HOME: '$(workspaces.scratch.path)',
              }),
              { name: 'SLIPWAY_GIT_USERNAME', valueFrom: { secretKeyRef: { name: gitSecret, key: 'username' } } },
              { name: 'SLIPWAY_GIT_TOKEN', valueFrom: { secretKeyRef: { name: gitSecret, key: 'password' } } },
            ],
            computeResources: resources('500m', '1Gi', '2Gi'),
          },
        ],
      },
      report: {
        description: 'Reports the outcome of the run in its log and as an Event on the PipelineRun.',
        params: [
          { name: 'aggregate-status', type: 'string' },
          { name: 'task-statuses', type: 'string', description: 'JSON object of task name to status.' },
        ],
        steps: [
          {
            name: 'report',
            image: props.runtimeImage,
            script: REPORT_SCRIPT,
            env: env({
              MODEL_NAME: name,
              AGGREGATE_STATUS: '$(params.aggregate-status)',
              TASK_STATUSES: '$(params.task-statuses)',
              PIPELINE_RUN: '$(context.pipelineRun.name)',
              PIPELINE_RUN_UID: '$(context.pipelineRun.uid)',
              NAMESPACE: '$(context.pipelineRun.namespace)',
            }),
            computeResources: small,
          },
        ],
      },
    };

    // Every step image is pinned: a tag can move under a pipeline that was reviewed.
    for (const [task, spec] of Object.entries(tasks)) {
      for (const step of [...spec.steps, ...(spec.sidecars ?? [])]) {
        if (step.image.startsWith('$(params.')) continue;
        const problem = imageProblem(step.image);
        if (problem) v.report(`tasks.${task}.steps.${step.name}.image`, `task "${task}" step "${step.name}": ${problem}`);
      }
    }
    v.throwIfInvalid();

    this.releaseEnvironment = releaseEnvironment!;
    this.objectLabels = recommendedLabels(
      {
        name,
        instance: environment ? `${name}-${environment.name}` : name,
        version: PIPELINE_REVISION,
        partOf: platform?.name ?? 'slipway',
      },
      'pipeline',
    );
    const labels = this.objectLabels;

    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: this.serviceAccountName, labels },
      // Only the report step talks to the API (to record an Event); the others need no token, but
      // Tekton mounts it per pod, not per step.
      automountServiceAccountToken: true,
    });
    new k8s.KubeRole(this, 'Role', {
      metadata: { name: this.serviceAccountName, labels },
      rules: [{ apiGroups: [''], resources: ['events'], verbs: ['create'] }],
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name: this.serviceAccountName, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: this.serviceAccountName },
      subjects: [{ kind: 'ServiceAccount', name: this.serviceAccountName, namespace }],
    });

    const taskName = (task: string) => `${name}-${task}`;
    for (const [task, spec] of Object.entries(tasks)) {
      new TektonTask(this, `Task-${task}`, { metadata: { name: taskName(task), labels }, spec });
    }

    const ws = (taskWorkspace: string, subPath?: string, workspace = 'workspace') => ({ name: taskWorkspace, workspace, ...(subPath ? { subPath } : {}) });
    const version = '$(tasks.fetch.results.version)';
    const pipelineTasks: TektonPipelineTask[] = [
      {
        name: 'fetch',
        taskRef: { name: taskName('fetch'), kind: 'Task' },
        params: [
          { name: 'url', value: '$(params.source-url)' },
          { name: 'revision', value: '$(params.revision)' },
          { name: 'version', value: '$(params.version)' },
        ],
        workspaces: [ws('source', 'source')],
        timeout: '10m',
        retries: 2,
      },
      {
        name: 'train',
        taskRef: { name: taskName('train'), kind: 'Task' },
        params: Object.keys(parameters).map((key) => ({ name: trainParam(key), value: `$(params.${trainParam(key)})` })),
        workspaces: [ws('source', 'source'), ws('model', 'model')],
        runAfter: ['fetch'],
        timeout: trainingTimeout,
      },
      { name: 'evaluate', taskRef: { name: taskName('evaluate'), kind: 'Task' }, workspaces: [ws('model', 'model')], runAfter: ['train'], timeout: '10m' },
      {
        name: 'profile',
        taskRef: { name: taskName('profile'), kind: 'Task' },
        workspaces: [ws('source', 'source'), ws('model', 'model')],
        runAfter: ['evaluate'],
        timeout: '30m',
      },
      {
        name: 'package',
        taskRef: { name: taskName('package'), kind: 'Task' },
        params: [{ name: 'version', value: version }],
        workspaces: [ws('model', 'model'), ws('docker-config', undefined, 'docker-config')],
        runAfter: ['profile'],
        timeout: '30m',
        retries: 1,
      },
      {
        name: 'test',
        taskRef: { name: taskName('test'), kind: 'Task' },
        params: [
          { name: 'image', value: `${props.imageRepository}@$(tasks.package.results.image-digest)` },
        ],
        runAfter: ['package'],
        timeout: '15m',
      },
      {
        name: 'release',
        taskRef: { name: taskName('release'), kind: 'Task' },
        params: [
          { name: 'version', value: version },
          { name: 'artifact-sha256', value: '$(tasks.package.results.artifact-sha256)' },
          { name: 'image-digest', value: '$(tasks.package.results.image-digest)' },
        ],
        workspaces: [ws('scratch', 'release')],
        runAfter: ['test'],
        timeout: '15m',
        retries: 1,
      },
    ];
    new TektonPipeline(this, 'Pipeline', {
      metadata: { name: this.pipelineName, labels },
      spec: {
        description: `Trains ${name}, gates it on its metrics, packages it into the slipway runtime image, tests that image and releases it to ${releaseEnvironment}.`,
        params: [
          { name: 'source-url', type: 'string', description: 'Git URL of the source repository.', default: props.sourceRepository },
          { name: 'revision', type: 'string', description: 'Branch, tag or commit to train.', default: this.sourceBranch },
          { name: 'version', type: 'string', description: 'Model version; empty derives it from the commit.', default: '' },
          ...Object.entries(parameters).map(([key, value]) => ({ name: trainParam(key), type: 'string' as const, description: `Training parameter ${key}.`, default: value })),
        ],
        workspaces: [
          { name: 'workspace', description: 'Scratch volume of the run: checkout, model files, build context.' },
          { name: 'docker-config', description: `config.json that may push to ${props.imageRepository}.` },
        ],
        tasks: pipelineTasks,
        finally: [
          {
            name: 'report',
            taskRef: { name: taskName('report'), kind: 'Task' },
            params: [
              { name: 'aggregate-status', value: '$(tasks.status)' },
              { name: 'task-statuses', value: JSON.stringify(Object.fromEntries(TRAINING_TASKS.map((t) => [t, `$(tasks.${t}.status)`]))) },
            ],
            timeout: '5m',
          },
        ],
        results: [
          { name: 'commit', type: 'string', description: 'Commit that was trained.', value: '$(tasks.fetch.results.commit)' },
          { name: 'version', type: 'string', description: 'Model version of this build.', value: version },
          { name: 'image-digest', type: 'string', description: 'Digest of the released image.', value: '$(tasks.package.results.image-digest)' },
          { name: 'metrics', type: 'string', description: 'Metrics of the trained model.', value: '$(tasks.evaluate.results.metrics)' },
        ],
      },
    });

    const trainPod: TektonPodTemplate | undefined = props.gpu
      ? {
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
          ...(props.gpu.product ? { nodeSelector: { 'nvidia.com/gpu.product': props.gpu.product } } : {}),
          ...(props.gpu.runtimeClassName ? { runtimeClassName: props.gpu.runtimeClassName } : {}),
        }
      : undefined;
    const templateParams = [
      { name: 'revision', description: 'Branch, tag or commit to train.', default: this.sourceBranch },
      { name: 'source-url', description: 'Git URL of the source repository.', default: props.sourceRepository },
      { name: 'version', description: 'Model version; empty derives it from the commit.', default: '' },
      { name: 'reason', description: 'Why the run started: push, drift or manual.', default: 'manual' },
    ];
    this.pipelineRun = {
      apiVersion: 'tekton.dev/v1',
      kind: 'PipelineRun',
      metadata: {
        generateName: `${this.pipelineName}-`,
        labels: { ...labels, 'slipway.dev/model': name, 'slipway.dev/trigger': '$(tt.params.reason)' },
      },
      spec: {
        pipelineRef: { name: this.pipelineName },
        params: [
          { name: 'source-url', value: '$(tt.params.source-url)' },
          { name: 'revision', value: '$(tt.params.revision)' },
          { name: 'version', value: '$(tt.params.version)' },
        ],
        workspaces: [
          {
            name: 'workspace',
            volumeClaimTemplate: {
              spec: {
                accessModes: ['ReadWriteOnce'],
                resources: { requests: { storage: props.workspaceSize ?? '10Gi' } },
                ...(props.storageClassName ? { storageClassName: props.storageClassName } : {}),
              },
            },
          },
          { name: 'docker-config', secret: { secretName: registrySecret, items: [{ key: '.dockerconfigjson', path: 'config.json' }] } },
        ],
        taskRunTemplate: { serviceAccountName: this.serviceAccountName },
        ...(trainPod ? { taskRunSpecs: [{ pipelineTaskName: 'train', podTemplate: trainPod }] } : {}),
        timeouts: { pipeline: pipelineTimeout, finally: '10m' },
      },
    };
    new TektonTriggerTemplate(this, 'TriggerTemplate', {
      metadata: { name: this.triggerTemplateName, labels },
      spec: { params: templateParams, resourcetemplates: [this.pipelineRun] },
    });
  }
}

/** Name of the evaluate task's result that holds a gated metric. */
export function metricResultName(metric: string): string {
  return `metric-${metric.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
}

// No CPU limit on the tool steps: throttling a clone or a push only makes it slower.
function resources(cpu: string, memory: string, memoryLimit: string): IResourceRequirements {
  return { requests: { cpu, memory }, limits: { memory: memoryLimit } };
}

function trainingResources(cpu: string, memory: string, gpu: GpuOptions | undefined, gpuResource: string): IResourceRequirements {
  const limits: Record<string, string | number> = { cpu: doubleCpu(cpu), memory };
  if (gpu) limits[gpuResource] = gpu.count;
  return { requests: { cpu, memory }, limits };
}

function doubleCpu(cpu: string): string {
  const m = /^([0-9]+(?:\.[0-9]+)?)(m?)$/.exec(cpu);
  return m ? `${Number(m[1]) * 2}${m[2]}` : cpu;
}

function normalizePath(path: string): string {
  const trimmed = path.replace(/^\.\//, '').replace(/\/+$/, '');
  return trimmed === '' ? '.' : trimmed;
}

function seconds(duration: string): number {
  const m = DURATION.exec(duration);
  if (!m) return Number.NaN;
  return (parseInt(m[1] ?? '0', 10) || 0) * 3600 + (parseInt(m[2] ?? '0', 10) || 0) * 60 + (parseInt(m[3] ?? '0', 10) || 0);
}

function addHours(duration: string, hours: number): string {
  const total = seconds(duration);
  if (!Number.isFinite(total)) return duration;
  const sum = total + hours * 3600;
  const h = Math.floor(sum / 3600);
  const m = Math.floor((sum % 3600) / 60);
  const s = sum % 60;
  return `${h}h${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}
