import { ApiObject, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { Environment } from './environment.js';
import { renderImagePolicy } from './pipeline/image-policy.js';
import { Platform } from './platform.js';
import { TektonPipeline, TektonTask, TektonTriggerTemplate, type TektonPipelineRunManifest, type TektonTaskSpec } from './imports/tekton.js';
import { renderPipelineRun, renderPipelineSpec, triggerTemplateParams, TRAINING_TASKS } from './pipeline/pipeline-spec.js';
import { type ResolvedPipelineProps, type TrainingPipelineProps, resolvePipelineProps } from './pipeline/props.js';
import { taskName } from './pipeline/steps.js';
import { evaluateTask } from './pipeline/tasks/evaluate.js';
import { fetchTask } from './pipeline/tasks/fetch.js';
import { packageTask } from './pipeline/tasks/package.js';
import { profileTask } from './pipeline/tasks/profile.js';
import { releaseTask } from './pipeline/tasks/release.js';
import { reportTask } from './pipeline/tasks/report.js';
import { testTask } from './pipeline/tasks/test.js';
import { trainTask } from './pipeline/tasks/train.js';
import { imageProblem } from './private/image.js';
import { recommendedLabels } from './private/labels.js';
import type { PropValidator } from './private/validation.js';

export { metricResultName } from '../lib/vocabulary/gates.js';
export { BUILDAH_SECURITY_CONTEXT } from './pipeline/tasks/package.js';
export { TRAINING_TASKS } from './pipeline/pipeline-spec.js';
export type { TrainJobOptions } from './pipeline/train-job.js';
export { DEFAULT_BUILDAH_IMAGE, DEFAULT_GIT_IMAGE, type QualityGate, type TrainingPipelineProps } from './pipeline/props.js';

// Bumped when the tasks change shape, so `app.kubernetes.io/version` tells pipeline revisions apart.
const PIPELINE_REVISION = 'pipeline-2';

/** Each task's spec, rendered from the resolved props by its own unit (constructs/pipeline/tasks). */
const TASKS: Readonly<Record<(typeof TRAINING_TASKS)[number] | 'report', (r: ResolvedPipelineProps) => TektonTaskSpec>> = {
  fetch: fetchTask,
  train: trainTask,
  evaluate: evaluateTask,
  profile: profileTask,
  package: packageTask,
  test: testTask,
  release: releaseTask,
  report: reportTask,
};

/**
 * Trains, gates, packages, tests and releases one model with Tekton (`tekton.dev/v1`): Tasks, a
 * Pipeline (fetch → train → evaluate → profile → package → test → release, `finally` report), a
 * ServiceAccount with least-privilege RBAC, and a TriggerTemplate whose PipelineRun is what
 * triggers and people start. Steps run `slipway pipeline <step>` from the runtime image; the
 * package task writes build.json, which the release task records. One cdk8s Chart: in a slipway
 * platform, one Argo CD Application.
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
  /** The props with defaults applied and checked. */
  readonly resolved: ResolvedPipelineProps;
  /** Labels on every object of the pipeline, recommended `app.kubernetes.io/*` ones included. */
  readonly objectLabels: Record<string, string>;
  /** The PipelineRun the TriggerTemplate creates, with `$(tt.params.…)` in place of event values. */
  readonly pipelineRun: TektonPipelineRunManifest;

  constructor(scope: Construct, id: string, props: TrainingPipelineProps) {
    super(scope, id, { namespace: props.namespace ?? Environment.tryOf(scope)?.namespace ?? 'slipway-ci', disableResourceNameHashes: true });
    const renderTasks = (resolved: ResolvedPipelineProps) => Object.entries(TASKS).map(([task, render]) => [task, render(resolved)] as const);
    const r = resolvePipelineProps(this, props, (resolved, v) => checkStepImages(v, renderTasks(resolved)));
    const tasks = renderTasks(r);

    this.resolved = r;
    this.modelName = r.name;
    this.pipelineNamespace = r.namespace;
    this.sourceRepository = r.sourceRepository;
    this.sourceBranch = r.sourceBranch;
    this.modelPath = r.modelPath;
    this.serviceAccountName = `${r.name}-pipeline`;
    this.pipelineName = `${r.name}-training`;
    this.triggerTemplateName = `${r.name}-training`;
    this.releaseEnvironment = r.releaseEnvironment;
    this.objectLabels = recommendedLabels(
      { name: r.name, instance: r.environment ? `${r.name}-${r.environment}` : r.name, version: PIPELINE_REVISION, partOf: r.partOf },
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
      rules: [
        { apiGroups: [''], resources: ['events'], verbs: ['create'] },
        // The train step creates the run's TrainJob and reads its status (docs/training.md).
        ...(r.trainJob ? [{ apiGroups: ['trainer.kubeflow.org'], resources: ['trainjobs'], verbs: ['create', 'get'] }] : []),
      ],
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name: this.serviceAccountName, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: this.serviceAccountName },
      subjects: [{ kind: 'ServiceAccount', name: this.serviceAccountName, namespace: r.namespace }],
    });
    for (const [task, spec] of tasks) {
      new TektonTask(this, `Task-${task}`, { metadata: { name: taskName(r, task), labels }, spec });
    }
    new TektonPipeline(this, 'Pipeline', { metadata: { name: this.pipelineName, labels }, spec: renderPipelineSpec(r) });
    this.pipelineRun = renderPipelineRun(r, this.pipelineName, this.serviceAccountName, labels);
    new TektonTriggerTemplate(this, 'TriggerTemplate', {
      metadata: { name: this.triggerTemplateName, labels },
      spec: { params: triggerTemplateParams(r), resourcetemplates: [this.pipelineRun] },
    });
    if (r.signingKeySecret) {
      // Signed builds: every environment the image may be released or promoted to admits it only signed.
      const environments = Platform.tryOf(this)?.node.findAll().filter((c): c is Environment => c instanceof Environment && c.name !== r.environment) ?? [];
      for (const environment of environments) {
        new ApiObject(this, `ImagePolicy-${environment.name}`, renderImagePolicy(r, environment.namespace, labels));
      }
    }
  }
}

/** Every step image is pinned: a tag can move under a pipeline that was reviewed. */
function checkStepImages(v: PropValidator, tasks: ReadonlyArray<readonly [string, TektonTaskSpec]>): void {
  for (const [task, spec] of tasks) {
    for (const step of [...spec.steps, ...(spec.sidecars ?? [])]) {
      if (step.image.startsWith('$(params.')) continue;
      const problem = imageProblem(step.image);
      if (problem) v.report(`tasks.${task}.steps.${step.name}.image`, `task "${task}" step "${step.name}": ${problem}`);
    }
  }
}
