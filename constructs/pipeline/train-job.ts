import type { IEnvVar, IResourceRequirements } from 'kubernetes-models/v1';
import { durationSeconds } from '../../lib/vocabulary/durations.js';
import { gpuPlacement } from '../../lib/vocabulary/gpu.js';
import type { TektonStep } from '../imports/tekton.js';
import { NOTEBOOK_SCRIPT } from '../private/pipeline-scripts.js';
import { RESTRICTED_CONTAINER_SECURITY, RESTRICTED_POD_SECURITY } from '../private/security.js';
import { type PropValidator, dnsLabelProblem, isDns1123Label } from '../private/validation.js';
import type { ResolvedPipelineProps } from './props.js';
import { SMALL, slipwayStep } from './steps.js';

/**
 * Run the train step as a Kubeflow Trainer v2 `TrainJob` instead of inside the Tekton pod: the
 * Trainer runtime (e.g. `torch-distributed`) spreads it over `numNodes` nodes, Kueue admits it
 * through a LocalQueue, and the Tekton step creates it and waits for its outcome.
 */
export interface TrainJobOptions {
  /**
   * The training runtime the TrainJob references (`runtimeRef.name`).
   * @default 'torch-distributed'
   */
  readonly runtime?: string;
  /**
   * Kind of that runtime.
   * @default 'ClusterTrainingRuntime'
   */
  readonly runtimeKind?: 'ClusterTrainingRuntime' | 'TrainingRuntime';
  /**
   * Nodes (pods) that train together. More than one needs a workspace every node can mount:
   * a `storageClassName` with ReadWriteMany access.
   * @default 1
   */
  readonly numNodes?: number;
  /**
   * Kueue LocalQueue that admits the TrainJob (label `kueue.x-k8s.io/queue-name`).
   * @default - no queue: the TrainJob starts as soon as the Trainer creates its pods
   */
  readonly queueName?: string;
  /**
   * Name of the replicated job (and of its container) that trains in the runtime's JobSet, which
   * slipway patches with the workspace volumes and restricted security.
   * @default 'node'
   */
  readonly trainerJobName?: string;
}

export interface ResolvedTrainJob {
  readonly runtime: string;
  readonly runtimeKind: 'ClusterTrainingRuntime' | 'TrainingRuntime';
  readonly numNodes: number;
  readonly queueName?: string;
  readonly trainerJobName: string;
}

/** Where the TrainJob's pods mount the run's workspace (the Tekton workspace's subPaths). */
export const TRAIN_JOB_SOURCE_PATH = '/workspace/source';
export const TRAIN_JOB_MODEL_PATH = '/workspace/model';
export const KUEUE_QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';

export function resolveTrainJob(v: PropValidator, options: TrainJobOptions): ResolvedTrainJob {
  const r: ResolvedTrainJob = {
    runtime: options.runtime ?? 'torch-distributed',
    runtimeKind: options.runtimeKind ?? 'ClusterTrainingRuntime',
    numNodes: options.numNodes ?? 1,
    ...(options.queueName !== undefined ? { queueName: options.queueName } : {}),
    trainerJobName: options.trainerJobName ?? 'node',
  };
  v.check(isDns1123Label(r.runtime), 'trainJob.runtime', dnsLabelProblem(r.runtime));
  v.check(['ClusterTrainingRuntime', 'TrainingRuntime'].includes(r.runtimeKind), 'trainJob.runtimeKind', `expected 'ClusterTrainingRuntime' or 'TrainingRuntime', got ${JSON.stringify(r.runtimeKind)}`);
  v.check(Number.isInteger(r.numNodes) && r.numNodes >= 1, 'trainJob.numNodes', `expected an integer >= 1, got ${r.numNodes}`);
  if (r.queueName !== undefined) v.check(isDns1123Label(r.queueName), 'trainJob.queueName', dnsLabelProblem(r.queueName));
  v.check(isDns1123Label(r.trainerJobName), 'trainJob.trainerJobName', dnsLabelProblem(r.trainerJobName));
  return Object.freeze(r);
}

/** What the trainer runs: the same entry point as the in-pod train step, with the TrainJob's paths. */
export function trainerEntrypoint(r: ResolvedPipelineProps): { command: string[]; args: string[]; env: IEnvVar[]; workingDir: string } {
  const modelDir = r.modelPath === '.' ? TRAIN_JOB_SOURCE_PATH : `${TRAIN_JOB_SOURCE_PATH}/${r.modelPath}`;
  const common = [
    { name: 'OUTPUT_DIR', value: TRAIN_JOB_MODEL_PATH },
    { name: 'TRAINING_DATA', value: `${modelDir}/${r.trainingData}` },
    // The trainer image's working directory is its own; the script changes into the model folder.
    { name: 'SLIPWAY_MODEL_DIR', value: modelDir },
  ];
  const params = Object.keys(r.trainingParameters);
  if (r.notebook) {
    return {
      command: ['sh', '-c', `cd "$SLIPWAY_MODEL_DIR"\n${NOTEBOOK_SCRIPT}`, 'train'],
      args: params.flatMap((key) => ['-p', key, `$(params.train-${key.replaceAll('_', '-')})`]),
      env: [...common, { name: 'NOTEBOOK', value: r.notebook }],
      workingDir: modelDir,
    };
  }
  return {
    command: ['sh', '-c', 'cd "$SLIPWAY_MODEL_DIR" && exec "$@"', 'train', ...(r.trainingCommand ?? [])],
    args: [],
    env: [...common, ...params.map((key) => ({ name: key.toUpperCase(), value: `$(params.train-${key.replaceAll('_', '-')})` }))],
    workingDir: modelDir,
  };
}

/**
 * The TrainJob of one run (trainer.kubeflow.org/v1alpha1), with the run's workspace claim mounted
 * at the TrainJob paths, restricted security and the GPU placement of the pipeline.
 */
export function renderTrainJob(
  r: ResolvedPipelineProps & { readonly trainJob: ResolvedTrainJob },
  run: { readonly name: string; readonly claim: string; readonly labels: Readonly<Record<string, string>> },
  resources: IResourceRequirements,
): Record<string, unknown> {
  const t = r.trainJob;
  const entry = trainerEntrypoint(r);
  const placement = gpuPlacement(r.gpu) as Record<string, unknown>;
  const timeout = durationSeconds(r.trainingTimeout);
  return {
    apiVersion: 'trainer.kubeflow.org/v1alpha1',
    kind: 'TrainJob',
    metadata: {
      name: run.name,
      labels: { ...run.labels, ...(t.queueName ? { [KUEUE_QUEUE_LABEL]: t.queueName } : {}) },
    },
    spec: {
      runtimeRef: { apiGroup: 'trainer.kubeflow.org', kind: t.runtimeKind, name: t.runtime },
      ...(timeout ? { activeDeadlineSeconds: timeout } : {}),
      trainer: {
        image: r.trainingImage,
        command: entry.command,
        ...(entry.args.length ? { args: entry.args } : {}),
        env: entry.env,
        numNodes: t.numNodes,
        resourcesPerNode: resources,
      },
      runtimePatches: [
        {
          manager: 'slipway.dev/training-pipeline',
          trainingRuntimeSpec: {
            template: {
              spec: {
                replicatedJobs: [
                  {
                    name: t.trainerJobName,
                    template: {
                      spec: {
                        template: {
                          spec: {
                            securityContext: RESTRICTED_POD_SECURITY,
                            ...(placement.nodeSelector ? { nodeSelector: placement.nodeSelector } : {}),
                            ...(placement.tolerations ? { tolerations: placement.tolerations } : {}),
                            volumes: [{ name: 'workspace', persistentVolumeClaim: { claimName: run.claim } }],
                            containers: [
                              {
                                name: t.trainerJobName,
                                securityContext: RESTRICTED_CONTAINER_SECURITY,
                                volumeMounts: [
                                  { name: 'workspace', mountPath: TRAIN_JOB_SOURCE_PATH, subPath: 'source', readOnly: true },
                                  { name: 'workspace', mountPath: TRAIN_JOB_MODEL_PATH, subPath: 'model' },
                                ],
                              },
                            ],
                          },
                        },
                      },
                    },
                  },
                ],
              },
            },
          },
        },
      ],
    },
  };
}

/**
 * The Tekton train step on the TrainJob path: `slipway pipeline train-job` creates the run's
 * TrainJob (its manifest rendered here, with Tekton's values for run name and claim) and waits
 * for it; `pipeline run --local` runs the trainer's entry point single-node instead.
 */
export function trainJobStep(r: ResolvedPipelineProps & { readonly trainJob: ResolvedTrainJob }, resources: IResourceRequirements, labels: Readonly<Record<string, string>>): TektonStep {
  const manifest = renderTrainJob(r, { name: '$(context.taskRun.name)', claim: '$(workspaces.model.claim)', labels }, resources);
  const step = slipwayStep(r, 'train', [
    'pipeline',
    'train-job',
    '--manifest',
    JSON.stringify(manifest),
    '--namespace',
    '$(context.taskRun.namespace)',
    '--source-dir',
    '$(workspaces.source.path)',
    '--output-dir',
    '$(workspaces.model.path)',
  ], SMALL);
  // The model folder, as on the in-pod path (the step itself does not depend on it).
  return { ...step, workingDir: r.modelDir };
}
