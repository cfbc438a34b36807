import type { TektonPipelineRunManifest, TektonPipelineSpec, TektonPipelineTask, TektonPodTemplate } from '../imports/tekton.js';
import { gpuPlacement } from '../../lib/vocabulary/gpu.js';
import type { ResolvedPipelineProps } from './props.js';
import { taskName, trainParam } from './steps.js';

/** The pipeline's tasks in run order; `report` runs `finally`. */
export const TRAINING_TASKS = ['fetch', 'train', 'evaluate', 'profile', 'package', 'test', 'release'] as const;

const ws = (taskWorkspace: string, subPath?: string, workspace = 'workspace') => ({ name: taskWorkspace, workspace, ...(subPath ? { subPath } : {}) });

/** fetch → train → evaluate → profile → package → test → release, `finally` report. */
export function renderPipelineSpec(r: ResolvedPipelineProps): TektonPipelineSpec {
  const version = '$(tasks.fetch.results.version)';
  const ref = (task: string) => ({ name: taskName(r, task), kind: 'Task' as const });
  const tasks: TektonPipelineTask[] = [
    {
      name: 'fetch',
      taskRef: ref('fetch'),
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
      taskRef: ref('train'),
      params: Object.keys(r.trainingParameters).map((key) => ({ name: trainParam(key), value: `$(params.${trainParam(key)})` })),
      workspaces: [ws('source', 'source'), ws('model', 'model')],
      runAfter: ['fetch'],
      timeout: r.trainingTimeout,
    },
    { name: 'evaluate', taskRef: ref('evaluate'), workspaces: [ws('model', 'model')], runAfter: ['train'], timeout: '10m' },
    { name: 'profile', taskRef: ref('profile'), workspaces: [ws('source', 'source'), ws('model', 'model')], runAfter: ['evaluate'], timeout: '30m' },
    {
      name: 'package',
      taskRef: ref('package'),
      params: [
        { name: 'version', value: version },
        { name: 'source-url', value: '$(params.source-url)' },
        { name: 'commit', value: '$(tasks.fetch.results.commit)' },
        { name: 'trigger', value: '$(params.trigger)' },
      ],
      workspaces: [ws('source', 'source'), ws('model', 'model'), ws('docker-config', undefined, 'docker-config')],
      runAfter: ['profile'],
      timeout: '30m',
      retries: 1,
    },
    {
      name: 'test',
      taskRef: ref('test'),
      params: [
        { name: 'image', value: `${r.imageRepository}@$(tasks.package.results.image-digest)` },
        { name: 'expected-sha256', value: '$(tasks.package.results.expected-sha256)' },
      ],
      runAfter: ['package'],
      timeout: '15m',
    },
    {
      name: 'release',
      taskRef: ref('release'),
      workspaces: [ws('scratch', 'release'), ws('model', 'model')],
      runAfter: ['test'],
      timeout: '15m',
      retries: 1,
    },
  ];
  return {
    description: `Trains ${r.name}, gates it on its metrics, packages it into the slipway runtime image with its build record, tests that image and releases it to ${r.releaseEnvironment}.`,
    params: [
      { name: 'source-url', type: 'string', description: 'Git URL of the source repository.', default: r.sourceRepository },
      { name: 'revision', type: 'string', description: 'Branch, tag or commit to train.', default: r.sourceBranch },
      { name: 'version', type: 'string', description: 'Model version; empty derives it from the commit.', default: '' },
      { name: 'trigger', type: 'string', description: 'What started the run (push, drift, performance or manual), recorded in the build.', default: 'manual' },
      ...Object.entries(r.trainingParameters).map(([key, value]) => ({ name: trainParam(key), type: 'string' as const, description: `Training parameter ${key}.`, default: value })),
    ],
    workspaces: [
      { name: 'workspace', description: 'Scratch volume of the run: checkout, model files, build context, build.json.' },
      { name: 'docker-config', description: `config.json that may push to ${r.imageRepository}.` },
    ],
    tasks,
    finally: [
      {
        name: 'report',
        taskRef: ref('report'),
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
  };
}

/** The PipelineRun a TriggerTemplate creates, with `$(tt.params.…)` in place of event values. */
export function renderPipelineRun(r: ResolvedPipelineProps, pipelineName: string, serviceAccountName: string, labels: Record<string, string>): TektonPipelineRunManifest {
  const trainPod: TektonPodTemplate | undefined = r.gpu ? gpuPlacement(r.gpu) : undefined;
  return {
    apiVersion: 'tekton.dev/v1',
    kind: 'PipelineRun',
    metadata: {
      generateName: `${pipelineName}-`,
      labels: { ...labels, 'slipway.dev/model': r.name, 'slipway.dev/trigger': '$(tt.params.reason)' },
    },
    spec: {
      pipelineRef: { name: pipelineName },
      params: [
        { name: 'source-url', value: '$(tt.params.source-url)' },
        { name: 'revision', value: '$(tt.params.revision)' },
        { name: 'version', value: '$(tt.params.version)' },
        { name: 'trigger', value: '$(tt.params.reason)' },
      ],
      workspaces: [
        {
          name: 'workspace',
          volumeClaimTemplate: {
            spec: {
              accessModes: ['ReadWriteOnce'],
              resources: { requests: { storage: r.workspaceSize } },
              ...(r.storageClassName ? { storageClassName: r.storageClassName } : {}),
            },
          },
        },
        { name: 'docker-config', secret: { secretName: r.registrySecret, items: [{ key: '.dockerconfigjson', path: 'config.json' }] } },
      ],
      taskRunTemplate: { serviceAccountName },
      ...(trainPod ? { taskRunSpecs: [{ pipelineTaskName: 'train', podTemplate: trainPod }] } : {}),
      timeouts: { pipeline: r.pipelineTimeout, finally: '10m' },
    },
  };
}

/** Parameters of the TriggerTemplate: what a push, a drift alert or a person decides about a run. */
export function triggerTemplateParams(r: ResolvedPipelineProps) {
  return [
    { name: 'revision', description: 'Branch, tag or commit to train.', default: r.sourceBranch },
    { name: 'source-url', description: 'Git URL of the source repository.', default: r.sourceRepository },
    { name: 'version', description: 'Model version; empty derives it from the commit.', default: '' },
    { name: 'reason', description: 'Why the run started: push, drift, performance or manual.', default: 'manual' },
  ];
}
