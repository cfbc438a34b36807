import type { IResourceRequirements } from 'kubernetes-models/v1';
import { DEFAULT_GPU_RESOURCE } from '../../../lib/vocabulary/gpu.js';
import { doubleQuantity } from '../../../lib/vocabulary/quantities.js';
import type { TektonStep, TektonTaskSpec } from '../../imports/tekton.js';
import { NOTEBOOK_SCRIPT } from '../../private/pipeline-scripts.js';
import type { ResolvedPipelineProps } from '../props.js';
import { SMALL, env, slipwayStep, trainParam } from '../steps.js';
import { trainJobStep } from '../train-job.js';

/** train: the notebook (papermill) or the training command, then a check that it left its outputs. */
export function trainTask(r: ResolvedPipelineProps): TektonTaskSpec {
  const trainingData = `${r.modelDir}/${r.trainingData}`;
  const computeResources = trainingResources(r);
  const trainStep: TektonStep = r.trainJob
    ? trainJobStep({ ...r, trainJob: r.trainJob }, computeResources, {
        'app.kubernetes.io/name': r.name,
        'app.kubernetes.io/component': 'training',
        'app.kubernetes.io/part-of': r.partOf,
        'app.kubernetes.io/managed-by': 'slipway',
      })
    : r.notebook
    ? {
        name: 'train',
        image: r.trainingImage,
        workingDir: r.modelDir,
        script: NOTEBOOK_SCRIPT,
        args: Object.keys(r.trainingParameters).flatMap((key) => ['-p', key, `$(params.${trainParam(key)})`]),
        env: env({ NOTEBOOK: r.notebook, OUTPUT_DIR: '$(workspaces.model.path)', TRAINING_DATA: trainingData }),
        computeResources,
      }
    : {
        name: 'train',
        image: r.trainingImage,
        workingDir: r.modelDir,
        command: r.trainingCommand,
        env: [
          ...env({ OUTPUT_DIR: '$(workspaces.model.path)', TRAINING_DATA: trainingData }),
          ...Object.keys(r.trainingParameters).map((key) => ({ name: key.toUpperCase(), value: `$(params.${trainParam(key)})` })),
        ],
        computeResources,
      };
  return {
    description: r.trainJob
      ? `Trains ${r.name} as a Kubeflow Trainer TrainJob (${r.trainJob.runtime}, ${r.trainJob.numNodes} node${r.trainJob.numNodes === 1 ? '' : 's'}) and waits for it.`
      : r.notebook
        ? `Runs ${r.notebook} headless with papermill.`
        : `Runs the training command of ${r.name}.`,
    params: Object.entries(r.trainingParameters).map(([key, value]) => ({ name: trainParam(key), type: 'string', description: `Training parameter ${key}.`, default: value })),
    workspaces: [
      { name: 'source', description: 'The checkout.', readOnly: true },
      { name: 'model', description: 'Receives model.onnx and metrics.json.' },
    ],
    steps: [trainStep, slipwayStep(r, 'check-outputs', ['pipeline', 'check-outputs', '--output-dir', '$(workspaces.model.path)'], SMALL)],
  };
}

function trainingResources(r: ResolvedPipelineProps): IResourceRequirements {
  const limits: Record<string, string | number> = { cpu: doubleQuantity(r.trainingCpu), memory: r.trainingMemory };
  if (r.gpu) limits[r.gpu.resource ?? DEFAULT_GPU_RESOURCE] = r.gpu.count;
  return { requests: { cpu: r.trainingCpu, memory: r.trainingMemory }, limits };
}
