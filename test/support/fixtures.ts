import type { ModelDeploymentProps, ModelProps } from '../../constructs/index.js';

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
