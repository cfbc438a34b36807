import type { Construct } from 'constructs';
import { Environment } from '../environment.js';
import { PropValidator, dnsLabelProblem, isDns1123Label } from '../private/validation.js';
import type { TrainingPipeline } from '../training-pipeline.js';

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

/** {@link PipelineTriggersProps} with every default applied and every rule checked; frozen. */
export interface ResolvedTriggersProps {
  readonly name: string;
  readonly namespace: string;
  readonly pipelines: readonly TrainingPipeline[];
  readonly providers: readonly GitProvider[];
  readonly secrets: Readonly<Record<GitProvider, string>>;
  readonly secretKey: string;
  /** The alerts that retrain, by the reason the run records. */
  readonly retrainReasons: ReadonlyArray<'drift' | 'performance'>;
  readonly environment?: Environment;
}

/** The listener's namespace, needed before the Chart exists. */
export function triggersNamespace(scope: Construct, props: PipelineTriggersProps): string {
  return props.namespace ?? Environment.tryOf(scope)?.namespace ?? props.pipelines[0]?.pipelineNamespace ?? 'slipway-ci';
}

/** Applies defaults and checks every prop, reporting all problems at once. */
export function resolveTriggersProps(chart: Construct, props: PipelineTriggersProps, namespace: string): ResolvedTriggersProps {
  const environment = Environment.tryOf(chart);
  const name = props.name ?? 'slipway-training';
  const providers = props.gitProviders ?? ['github', 'gitlab'];
  const secrets = { github: props.githubWebhookSecret ?? 'github-webhook', gitlab: props.gitlabWebhookSecret ?? 'gitlab-webhook' };
  const secretKey = props.webhookSecretKey ?? 'token';
  const retrainReasons = [...((props.retrainOnDrift ?? true) ? (['drift'] as const) : []), ...((props.retrainOnPerformance ?? true) ? (['performance'] as const) : [])];

  const v = new PropValidator(chart, 'PipelineTriggers');
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
  v.check(providers.length > 0 || retrainReasons.length > 0, 'gitProviders', 'expected at least one Git provider, retrainOnDrift or retrainOnPerformance, so that something starts the pipelines');
  providers.forEach((p, i) => v.check(p === 'github' || p === 'gitlab', `gitProviders[${i}]`, `expected "github" or "gitlab", got ${JSON.stringify(p)}`));
  for (const provider of providers) {
    const field = provider === 'github' ? 'githubWebhookSecret' : 'gitlabWebhookSecret';
    v.check(isDns1123Label(secrets[provider]), field, dnsLabelProblem(secrets[provider]));
  }
  v.check(/^[-._a-zA-Z0-9]+$/.test(secretKey), 'webhookSecretKey', `expected a Secret key such as "token", got ${JSON.stringify(secretKey)}`);
  v.throwIfInvalid();
  return Object.freeze({ name, namespace, pipelines: props.pipelines, providers, secrets, secretKey, retrainReasons, ...(environment ? { environment } : {}) });
}
