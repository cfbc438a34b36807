import type { IEnvVar, IResourceRequirements } from 'kubernetes-models/v1';
import type { TektonStep } from '../imports/tekton.js';
import type { ResolvedPipelineProps } from './props.js';

/** The CLI of the runtime image (its entry point, spelled out: Tekton then needs no registry lookup). */
export const SLIPWAY_COMMAND = ['node', '/app/build/lib/cli/main.js'] as const;

/**
 * A step that runs `slipway <args>` in the runtime image. Parameters travel as exec arguments,
 * never through a shell, so no value can become code.
 */
export function slipwayStep(r: ResolvedPipelineProps, name: string, args: readonly string[], computeResources: IResourceRequirements, env: IEnvVar[] = []): TektonStep {
  return { name, image: r.runtimeImage, command: SLIPWAY_COMMAND, args, ...(env.length ? { env } : {}), computeResources };
}

export const env = (values: Record<string, string>): IEnvVar[] => Object.entries(values).map(([name, value]) => ({ name, value }));

/** Basic-auth credentials for git over HTTPS, optional so public repositories need no Secret. */
export function gitCredentialEnv(r: ResolvedPipelineProps): IEnvVar[] {
  return [
    { name: 'GIT_USERNAME', valueFrom: { secretKeyRef: { name: r.gitCredentialsSecret, key: 'username', optional: true } } },
    { name: 'GIT_PASSWORD', valueFrom: { secretKeyRef: { name: r.gitCredentialsSecret, key: 'password', optional: true } } },
  ];
}

// No CPU limit on the tool steps: throttling a clone or a push only makes it slower.
export function resources(cpu: string, memory: string, memoryLimit: string): IResourceRequirements {
  return { requests: { cpu, memory }, limits: { memory: memoryLimit } };
}

export const SMALL = resources('100m', '128Mi', '512Mi');
export const NODE_STEP = resources('200m', '256Mi', '1Gi');

/** Name of the Task object of one pipeline task. */
export const taskName = (r: ResolvedPipelineProps, task: string) => `${r.name}-${task}`;

/** Pipeline parameter of a training parameter (`learning_rate` → `train-learning-rate`). */
export const trainParam = (key: string) => `train-${key.replaceAll('_', '-')}`;
