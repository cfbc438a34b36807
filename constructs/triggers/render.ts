import { JsonPatch } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { RETRAIN_ALERTS } from '../../lib/vocabulary/metrics.js';
import { TektonTriggerBinding, type EventListenerTrigger, type TriggerInterceptor } from '../imports/tekton.js';
import type { TrainingPipeline } from '../training-pipeline.js';
import type { GitProvider, ResolvedTriggersProps } from './props.js';

const PUSH_EVENT = { github: 'push', gitlab: 'Push Hook' } as const;

/** Where each host's push payload keeps the commit and the clone URL. */
const PUSH_FIELDS = {
  github: { id: 'GithubPush', revision: '$(body.after)', sourceUrl: '$(body.repository.clone_url)' },
  gitlab: { id: 'GitlabPush', revision: '$(body.checkout_sha)', sourceUrl: '$(body.project.git_http_url)' },
} as const;

export const pushBindingName = (r: ResolvedTriggersProps, provider: GitProvider) => `${r.name}-${provider}-push`;

/**
 * The listener's ServiceAccount bound to the ClusterRoles that the Tekton Triggers release
 * installs for listeners: read triggers objects and create runs in the namespace, read cluster
 * interceptors and bindings.
 */
export function renderListenerRbac(scope: Construct, r: ResolvedTriggersProps, labels: Record<string, string>): void {
  const { name, namespace } = r;
  new k8s.KubeServiceAccount(scope, 'ServiceAccount', { metadata: { name, labels } });
  new k8s.KubeRoleBinding(scope, 'RoleBinding', {
    metadata: { name, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'tekton-triggers-eventlistener-roles' },
    subjects: [{ kind: 'ServiceAccount', name, namespace }],
  });
  const clusterBinding = new k8s.KubeClusterRoleBinding(scope, 'ClusterRoleBinding', {
    metadata: { name: `${namespace}-${name}`, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'tekton-triggers-eventlistener-clusterroles' },
    subjects: [{ kind: 'ServiceAccount', name, namespace }],
  });
  // The chart gives every object its namespace; a cluster-scoped one must not carry it.
  clusterBinding.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
}

/** One TriggerBinding per Git host: the pushed commit, the clone URL, reason `push`. */
export function renderPushBindings(scope: Construct, r: ResolvedTriggersProps, labels: Record<string, string>): void {
  for (const provider of ['github', 'gitlab'] as const) {
    if (!r.providers.includes(provider)) continue;
    const fields = PUSH_FIELDS[provider];
    new TektonTriggerBinding(scope, fields.id, {
      metadata: { name: pushBindingName(r, provider), labels },
      spec: {
        params: [
          { name: 'revision', value: fields.revision },
          { name: 'source-url', value: fields.sourceUrl },
          { name: 'reason', value: 'push' },
        ],
      },
    });
  }
}

/** A push trigger: the host's interceptor checks the webhook secret, then CEL the branch and path. */
export function pushTrigger(r: ResolvedTriggersProps, pipeline: TrainingPipeline, provider: GitProvider): EventListenerTrigger {
  const hostInterceptor: TriggerInterceptor = {
    name: `verify-${provider}-webhook`,
    ref: { name: provider, kind: 'ClusterInterceptor' },
    params: [
      { name: 'secretRef', value: { secretName: r.secrets[provider], secretKey: r.secretKey } },
      { name: 'eventTypes', value: [PUSH_EVENT[provider]] },
    ],
  };
  return {
    name: `${pipeline.modelName}-${provider}-push`,
    interceptors: [
      hostInterceptor,
      { name: 'filter-branch-and-path', ref: { name: 'cel', kind: 'ClusterInterceptor' }, params: [{ name: 'filter', value: pushFilter(pipeline, provider) }] },
    ],
    bindings: [{ ref: pushBindingName(r, provider), kind: 'TriggerBinding' }],
    template: { ref: pipeline.triggerTemplateName },
  };
}

/** A retraining trigger: a firing alert of that name for the pipeline's model, recorded as the run's reason. */
export function alertTrigger(pipeline: TrainingPipeline, reason: 'drift' | 'performance'): EventListenerTrigger {
  return {
    name: `${pipeline.modelName}-${reason}`,
    interceptors: [{ name: `filter-firing-${reason}`, ref: { name: 'cel', kind: 'ClusterInterceptor' }, params: [{ name: 'filter', value: alertFilter(pipeline.modelName, RETRAIN_ALERTS[reason]) }] }],
    // The alert names the model, not a commit: retrain from the head of the branch.
    bindings: [
      { name: 'revision', value: pipeline.sourceBranch },
      { name: 'source-url', value: pipeline.sourceRepository },
      { name: 'reason', value: reason },
    ],
    template: { ref: pipeline.triggerTemplateName },
  };
}

/** CEL string literal: single-quoted, with quotes and backslashes escaped. */
function celString(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** Both hosts send the URL with `.git`; people often write it without. */
function withGitSuffix(url: string): string {
  return url.endsWith('.git') ? url : `${url}.git`;
}

/**
 * Push filter: the pipeline's repository and branch, and (unless the model is the whole
 * repository) at least one added, modified or removed file below its folder. GitHub and GitLab
 * both list the files of each commit under `commits[].added/modified/removed`.
 */
export function pushFilter(pipeline: TrainingPipeline, provider: GitProvider): string {
  const repoField = provider === 'github' ? 'body.repository.clone_url' : 'body.project.git_http_url';
  const clauses = [
    `body.ref == ${celString(`refs/heads/${pipeline.sourceBranch}`)}`,
    `${repoField} == ${celString(withGitSuffix(pipeline.sourceRepository))}`,
  ];
  if (pipeline.modelPath !== '.') {
    const prefix = celString(`${pipeline.modelPath}/`);
    clauses.push(
      `body.commits.exists(c, c.added.exists(f, f.startsWith(${prefix})) || c.modified.exists(f, f.startsWith(${prefix})) || c.removed.exists(f, f.startsWith(${prefix})))`,
    );
  }
  return clauses.join(' && ');
}

/**
 * Alert filter: a firing Alertmanager notification with a firing `alertname` alert for this
 * model. Other alerts of the model (latency, errors) never start a retrain.
 */
export function alertFilter(model: string, alertname: string): string {
  return (
    `body.status == 'firing' && body.alerts.exists(a, a.status == 'firing' && has(a.labels.alertname) && a.labels.alertname == ${celString(alertname)}` +
    ` && has(a.labels.model) && a.labels.model == ${celString(model)})`
  );
}

/** Drift filter: a firing SlipwayModelDrift alert for this model (Alertmanager's or the runtime's own). */
export function driftFilter(model: string): string {
  return alertFilter(model, RETRAIN_ALERTS.drift);
}
