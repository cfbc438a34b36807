import type { ModelDeploymentProps, ModelProps, TrainingPipelineProps } from '../../constructs/index.js';

export const SHA_A = 'a'.repeat(64);
export const SHA_B = 'b'.repeat(64);
export const RUNTIME_IMAGE = `ghcr.io/acme/runtime@sha256:${'c'.repeat(64)}`;

export function modelProps(overrides: Partial<ModelProps> = {}): ModelProps {
  return {
    name: 'fraud-detector',
    version: '1.3.0',
    owner: 'risk-ml@acme.example',
    artifactUri: 's3://acme-ml-models/fraud-detector/1.3.0/model.onnx',
    artifactSha256: SHA_A,
    inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 6] }],
    outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 2] }],
    ...overrides,
  };
}

export function deploymentProps(overrides: Partial<ModelDeploymentProps> = {}): ModelDeploymentProps {
  return { ...modelProps(), image: RUNTIME_IMAGE, ...overrides };
}

/** The fraud-detector training pipeline: notebook training in a pinned image, the runtime image for packaging. */
export function pipelineProps(overrides: Partial<TrainingPipelineProps> = {}): TrainingPipelineProps {
  return {
    name: 'fraud-detector',
    inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 6] }],
    outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 2] }],
    sourceRepository: 'https://github.com/acme/models.git',
    trainingImage: `ghcr.io/acme/fraud-training@sha256:${'d'.repeat(64)}`,
    notebook: 'notebooks/train.ipynb',
    runtimeImage: RUNTIME_IMAGE,
    imageRepository: 'ghcr.io/acme/fraud-detector',
    ...overrides,
  };
}
