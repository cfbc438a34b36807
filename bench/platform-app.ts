import { createHash } from 'node:crypto';
import { App } from 'cdk8s';
import { Environment, ModelDeployment, type ModelDeploymentProps, Platform } from '../constructs/index.js';

/**
 * The benchmark platform: SLIPWAY_BENCH_MODELS CPU models (each a full ModelDeployment:
 * Deployment, Service, autoscaling, monitoring, drift) in staging, canary and prod.
 */
export const BENCH_ENVIRONMENTS = ['staging', 'canary', 'prod'] as const;

export function benchModelCount(): number {
  const n = Number(process.env.SLIPWAY_BENCH_MODELS ?? '10');
  if (!Number.isInteger(n) || n < 1) throw new Error(`SLIPWAY_BENCH_MODELS: expected a positive integer, got ${process.env.SLIPWAY_BENCH_MODELS}`);
  return n;
}

export function benchModelName(i: number): string {
  return `model-${String(i).padStart(4, '0')}`;
}

export function sha256Of(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The props of the i-th bench model: one small tabular model, its build pinned by digest. */
export function benchModelProps(i: number): ModelDeploymentProps {
  const name = benchModelName(i);
  return {
    name,
    version: '1.0.0',
    owner: 'bench@example.com',
    artifactUri: `s3://bench-models/${name}/1.0.0/model.onnx`,
    artifactSha256: sha256Of(`${name} artifact`),
    inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 6] }],
    outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 2] }],
    image: `ghcr.io/example/runtime@sha256:${sha256Of('runtime')}`,
    cpu: '500m',
    memory: '512Mi',
  };
}

export default function build(app: App): void {
  const platform = new Platform(app, 'bench', { repoURL: 'https://git.example.com/bench/config.git' });
  const n = benchModelCount();
  for (const envName of BENCH_ENVIRONMENTS) {
    const env = new Environment(platform, envName);
    for (let i = 0; i < n; i++) {
      new ModelDeployment(env, benchModelName(i), benchModelProps(i));
    }
  }
}
