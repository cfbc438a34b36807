import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { Environment, TrainingPipeline, type TrainingPipelineProps } from '../../../constructs/index.js';
import { crdProblems } from '../../../lib/compiler/crd-schemas.js';
import { RUNTIME_IMAGE } from '../../support/fixtures.js';
import { find, givenEnvironment, type Manifest } from '../../support/synth.js';
import { tektonLint, tektonReferenceProblems } from '../../support/tekton.js';

const TRAINING_IMAGE = `ghcr.io/acme/fraud-training@sha256:${'d'.repeat(64)}`;

function pipeline(overrides: Partial<TrainingPipelineProps> = {}): Manifest[] {
  const { platform } = givenEnvironment('staging');
  const ci = new Environment(platform, 'ci', { namespace: 'ml-ci' });
  const chart = new TrainingPipeline(ci, 'fraud-detector-pipeline', {
    name: 'fraud-detector',
    inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 6] }],
    outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 2] }],
    sourceRepository: 'https://github.com/acme/models.git',
    modelPath: 'fraud-detector',
    trainingImage: TRAINING_IMAGE,
    notebook: 'notebooks/train.ipynb',
    trainingParameters: { n_estimators: '300' },
    runtimeImage: RUNTIME_IMAGE,
    imageRepository: 'ghcr.io/acme/fraud-detector',
    trainJob: { numNodes: 2, queueName: 'ml-training' },
    gpu: { count: 1, product: 'NVIDIA-A100-SXM4-80GB' },
    storageClassName: 'cephfs',
    ...overrides,
  });
  return Testing.synth(chart) as Manifest[];
}

/** The TrainJob the train step would create, with Tekton's values for run name and claim. */
function trainJobOf(manifests: Manifest[]): any {
  const step = find(manifests, 'Task', 'fraud-detector-train').spec.steps.find((s: { name: string }) => s.name === 'train');
  const manifest = step.args[step.args.indexOf('--manifest') + 1] as string;
  return JSON.parse(manifest.replaceAll('$(context.taskRun.name)', 'fraud-detector-training-abc12-train').replaceAll('$(workspaces.model.claim)', 'pvc-1a2b3c').replaceAll('$(params.train-n-estimators)', '300'));
}

describe('TrainingPipeline with trainJob', () => {
  it('trains through a Kubeflow Trainer TrainJob admitted by Kueue that passes the upstream TrainJob CRD schema', () => {
    const manifests = pipeline();
    const job = trainJobOf(manifests);
    expect(crdProblems(job)).toEqual([]);
    expect(job.metadata.labels['kueue.x-k8s.io/queue-name']).toBe('ml-training');
    expect(job.spec.runtimeRef).toEqual({ apiGroup: 'trainer.kubeflow.org', kind: 'ClusterTrainingRuntime', name: 'torch-distributed' });
    expect(job.spec.trainer).toMatchObject({
      image: TRAINING_IMAGE,
      numNodes: 2,
      resourcesPerNode: { requests: { cpu: '2', memory: '8Gi' }, limits: { cpu: '4', memory: '8Gi', 'nvidia.com/gpu': 1 } },
    });
    expect(job.spec.trainer.env).toContainEqual({ name: 'OUTPUT_DIR', value: '/workspace/model' });
    expect(job.spec.trainer.args).toEqual(['-p', 'n_estimators', '300']);
    expect(job.spec.activeDeadlineSeconds).toBe(7200);
    // AND its pods mount the run's workspace claim and meet the restricted Pod Security Standard
    const pod = job.spec.runtimePatches[0].trainingRuntimeSpec.template.spec.replicatedJobs[0].template.spec.template.spec;
    expect(pod.volumes).toEqual([{ name: 'workspace', persistentVolumeClaim: { claimName: 'pvc-1a2b3c' } }]);
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers[0].securityContext).toEqual({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.nodeSelector).toEqual({ 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-80GB' });
  });

  it('runs the step as `slipway pipeline train-job` in the runtime image, allowed by its Role, and still lints as Tekton', () => {
    const manifests = pipeline();
    const step = find(manifests, 'Task', 'fraud-detector-train').spec.steps.find((s: { name: string }) => s.name === 'train');
    expect(step.image).toBe(RUNTIME_IMAGE);
    expect(step.args.slice(0, 2)).toEqual(['pipeline', 'train-job']);
    expect(find(manifests, 'Role').rules).toContainEqual({ apiGroups: ['trainer.kubeflow.org'], resources: ['trainjobs'], verbs: ['create', 'get'] });
    expect(tektonReferenceProblems(manifests)).toEqual([]);
    expect(tektonLint(manifests)).toEqual([]);
  }, 60_000);

  it('fails when the TrainJob options are out of range, naming each', () => {
    expect(() => pipeline({ trainJob: { numNodes: 0, queueName: 'Not A Queue', runtime: '' } })).toThrow(/trainJob\.runtime: [\s\S]*trainJob\.numNodes: expected an integer >= 1, got 0[\s\S]*trainJob\.queueName:/);
  });

  it('fails the schema check when the TrainJob has a field the Trainer does not declare (the check can fail)', () => {
    const job = trainJobOf(pipeline());
    job.spec.trainer.nodes = 2;
    expect(crdProblems(job)).toContainEqual('/spec/trainer must NOT have additional properties');
  });
});
