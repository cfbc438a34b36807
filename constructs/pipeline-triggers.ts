import { Chart, JsonPatch } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { RETRAIN_ALERTS } from '../lib/vocabulary/metrics.js';
import { Environment } from './environment.js';
import { TektonEventListener, TektonTriggerBinding, type EventListenerTrigger, type TriggerInterceptor } from './imports/tekton.js';
import { Platform } from './platform.js';
import { recommendedLabels } from './private/labels.js';
import { PropValidator, dnsLabelProblem, isDns1123Label } from './private/validation.js';
import { TrainingPipeline } from './training-pipeline.js';

/** Git hosting whose push webhooks start training. */
export type GitProvider = 'github' | 'gitlab';

export interface PipelineTriggersProps {
  /** The pipelines to start: each gets push triggers and a drift trigger. */
  readonly pipelines: readonly TrainingPipeline[];
  /**
   * Name of the EventListener (its Service is `el-<name>`) and of its ServiceAccount.
   * @default 'slipway-training'
   */
  readonly name?: string;
  /**
   * Git hosts whose push webhooks are accepted.
   * @default ['github', 'gitlab']
   */
  readonly gitProviders?: readonly GitProvider[];
  /**
   * Secret holding the GitHub webhook secret (the HMAC key GitHub signs payloads with).
   * @default 'github-webhook'
   */
  readonly githubWebhookSecret?: string;
  /**
   * Secret holding the GitLab webhook secret token (sent in `X-Gitlab-Token`).
   * @default 'gitlab-webhook'
   */
  readonly gitlabWebhookSecret?: string;
  /**
   * Key of the token in the webhook Secrets.
   * @default 'token'
   */
  readonly webhookSecretKey?: string;
  /**
   * Retrain on drift alerts: Alertmanager (or the runtime's drift webhook) POSTs to the
   * listener, and a firing alert whose `model` label names a pipeline's model starts it.
   * @default true
   */
  readonly retrainOnDrift?: boolean;
  /**
   * Retrain when live performance from ground truth falls below the build's gate metrics: a
   * firing SlipwayModelPerformance alert for a pipeline's model starts it with trigger `performance`.
   * @default true
   */
  readonly retrainOnPerformance?: boolean;
  /**
   * Namespace of the listener; it must be the pipelines' namespace.
   * @default - the environment's namespace, else the first pipeline's
   */
  readonly namespace?: string;
}

/** Interceptor params: Tekton expects the secret reference as an object. */
const PUSH_EVENT = { github: 'push', gitlab: 'Push Hook' } as const;

/**
 * Starts {@link TrainingPipeline}s from events with Tekton Triggers (`triggers.tekton.dev`): an
 * EventListener with its ServiceAccount and the standard tekton-triggers RBAC, TriggerBindings for
 * GitHub and GitLab push payloads and Alertmanager drift alerts, and per pipeline one trigger per
 * Git host (webhook secret checked by the host's interceptor, then a CEL filter on repository,
 * branch and changed model path) plus one for drift. Webhook Secrets are referenced by name.
 */
export class PipelineTriggers extends Chart {
  readonly listenerName: string;
  readonly listenerNamespace: string;
  /** In-cluster URL of the listener: the target of Git webhooks (through an Ingress) and of drift alerts. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: PipelineTriggersProps) {
    const environment = Environment.tryOf(scope);
    const namespace = props.namespace ?? environment?.namespace ?? props.pipelines[0]?.pipelineNamespace ?? 'slipway-ci';
    super(scope, id, { namespace, disableResourceNameHashes: true });
    const name = props.name ?? 'slipway-training';
    const providers = props.gitProviders ?? ['github', 'gitlab'];
    const secrets = { github: props.githubWebhookSecret ?? 'github-webhook', gitlab: props.gitlabWebhookSecret ?? 'gitlab-webhook' };
    const secretKey = props.webhookSecretKey ?? 'token';
    const retrainOnDrift = props.retrainOnDrift ?? true;
    const retrainOnPerformance = props.retrainOnPerformance ?? true;
    this.listenerName = name;
    this.listenerNamespace = namespace;
    this.url = `http://el-${name}.${namespace}.svc.cluster.local:8080`;

    const v = new PropValidator(this, 'PipelineTriggers');
    v.check(isDns1123Label(name) && name.length <= 60, 'name', `${dnsLabelProblem(name)} of at most 60 characters (the Service adds "el-")`);
    v.check(isDns1123Label(namespace), 'namespace', dnsLabelProblem(namespace));
    v.check(props.pipelines.length > 0, 'pipelines', 'expected at least one TrainingPipeline, got none');
    props.pipelines.forEach((p, i) =>
      v.check(
        p.pipelineNamespace === namespace,
        `pipelines[${i}]`,
        `expected the pipeline of ${p.modelName} in namespace "${namespace}" (a listener starts runs in its own namespace), got "${p.pipelineNamespace}"`,
      ),
    );
    const models = props.pipelines.map((p) => p.modelName);
    v.check(new Set(models).size === models.length, 'pipelines', `expected one pipeline per model, got ${JSON.stringify(models)}`);
    v.check(providers.length > 0 || retrainOnDrift || retrainOnPerformance, 'gitProviders', 'expected at least one Git provider, retrainOnDrift or retrainOnPerformance, so that something starts the pipelines');
    providers.forEach((p, i) => v.check(p === 'github' || p === 'gitlab', `gitProviders[${i}]`, `expected "github" or "gitlab", got ${JSON.stringify(p)}`));
    for (const provider of providers) {
      const field = provider === 'github' ? 'githubWebhookSecret' : 'gitlabWebhookSecret';
      v.check(isDns1123Label(secrets[provider]), field, dnsLabelProblem(secrets[provider]));
    }
    v.check(/^[-._a-zA-Z0-9]+$/.test(secretKey), 'webhookSecretKey', `expected a Secret key such as "token", got ${JSON.stringify(secretKey)}`);
    v.throwIfInvalid();

    const labels = recommendedLabels(
      { name, instance: environment ? `${name}-${environment.name}` : name, version: 'triggers-1', partOf: Platform.tryOf(this)?.name ?? 'slipway' },
      'pipeline',
    );

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name, labels } });
    // The ClusterRoles that the Tekton Triggers release installs for listeners: read triggers
    // objects and create runs in the namespace, read cluster interceptors and bindings.
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'tekton-triggers-eventlistener-roles' },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    });
    const clusterBinding = new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name: `${namespace}-${name}`, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'tekton-triggers-eventlistener-clusterroles' },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    });
    // The chart gives every object its namespace; a cluster-scoped one must not carry it.
    clusterBinding.addJsonPatch(JsonPatch.remove('/metadata/namespace'));

    const bindingNames = { github: `${name}-github-push`, gitlab: `${name}-gitlab-push` };
    if (providers.includes('github')) {
      new TektonTriggerBinding(this, 'GithubPush', {
        metadata: { name: bindingNames.github, labels },
        spec: {
          params: [
            { name: 'revision', value: '$(body.after)' },
            { name: 'source-url', value: '$(body.repository.clone_url)' },
            { name: 'reason', value: 'push' },
          ],
        },
      });
    }
    if (providers.includes('gitlab')) {
      new TektonTriggerBinding(this, 'GitlabPush', {
        metadata: { name: bindingNames.gitlab, labels },
        spec: {
          params: [
            { name: 'revision', value: '$(body.checkout_sha)' },
            { name: 'source-url', value: '$(body.project.git_http_url)' },
            { name: 'reason', value: 'push' },
          ],
        },
      });
    }

    const triggers: EventListenerTrigger[] = [];
    for (const pipeline of props.pipelines) {
      for (const provider of providers) {
        const hostInterceptor: TriggerInterceptor = {
          name: `verify-${provider}-webhook`,
          ref: { name: provider, kind: 'ClusterInterceptor' },
          params: [
            { name: 'secretRef', value: { secretName: secrets[provider], secretKey } },
            { name: 'eventTypes', value: [PUSH_EVENT[provider]] },
          ],
        };
        triggers.push({
          name: `${pipeline.modelName}-${provider}-push`,
          interceptors: [
            hostInterceptor,
            { name: 'filter-branch-and-path', ref: { name: 'cel', kind: 'ClusterInterceptor' }, params: [{ name: 'filter', value: pushFilter(pipeline, provider) }] },
          ],
          bindings: [{ ref: bindingNames[provider], kind: 'TriggerBinding' }],
          template: { ref: pipeline.triggerTemplateName },
        });
      }
      const reasons = [...(retrainOnDrift ? (['drift'] as const) : []), ...(retrainOnPerformance ? (['performance'] as const) : [])];
      for (const reason of reasons) {
        triggers.push({
          name: `${pipeline.modelName}-${reason}`,
          interceptors: [{ name: `filter-firing-${reason}`, ref: { name: 'cel', kind: 'ClusterInterceptor' }, params: [{ name: 'filter', value: alertFilter(pipeline.modelName, RETRAIN_ALERTS[reason]) }] }],
          // The alert names the model, not a commit: retrain from the head of the branch.
          bindings: [
            { name: 'revision', value: pipeline.sourceBranch },
            { name: 'source-url', value: pipeline.sourceRepository },
            { name: 'reason', value: reason },
          ],
          template: { ref: pipeline.triggerTemplateName },
        });
      }
    }

    new TektonEventListener(this, 'EventListener', {
      metadata: { name, labels },
      spec: { serviceAccountName: name, triggers },
    });
  }
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
