import { evaluate } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import { Environment, PipelineTriggers, TrainingPipeline, type PipelineTriggersProps, type TrainingPipelineProps } from '../../constructs/index.js';
import { RUNTIME_IMAGE } from '../support/fixtures.js';
import { find, givenEnvironment, synth, type Manifest } from '../support/synth.js';
import { tektonLint, tektonReferenceProblems } from '../support/tekton.js';
import { upstreamProblem } from '../support/upstream-schemas.js';

function pipelineProps(overrides: Partial<TrainingPipelineProps> = {}): TrainingPipelineProps {
  return {
    name: 'fraud-detector',
    inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 6] }],
    outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 2] }],
    sourceRepository: 'https://github.com/acme/models',
    modelPath: 'fraud-detector',
    trainingImage: `ghcr.io/acme/fraud-training@sha256:${'d'.repeat(64)}`,
    trainingCommand: ['python', 'train.py'],
    runtimeImage: RUNTIME_IMAGE,
    imageRepository: 'ghcr.io/acme/fraud-detector',
    ...overrides,
  };
}

function givenTriggers(props: Partial<PipelineTriggersProps> = {}, pipelineOverrides: Partial<TrainingPipelineProps> = {}): { pipeline: TrainingPipeline; triggers: PipelineTriggers } {
  const { platform } = givenEnvironment('staging');
  const ci = new Environment(platform, 'ci', { namespace: 'ml-ci' });
  const pipeline = new TrainingPipeline(ci, 'fraud-detector-pipeline', pipelineProps(pipelineOverrides));
  const triggers = new PipelineTriggers(ci, 'triggers', { pipelines: [pipeline], ...props });
  return { pipeline, triggers };
}

function failure(props: Partial<PipelineTriggersProps>): string {
  try {
    givenTriggers(props);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the construct to reject its props');
}

const trigger = (manifests: Manifest[], name: string) => find(manifests, 'EventListener').spec.triggers.find((t: { name: string }) => t.name === name);
const celFilter = (t: { interceptors: Array<{ ref: { name: string }; params: Array<{ name: string; value: string }> }> }) =>
  t.interceptors.find((i) => i.ref.name === 'cel')!.params.find((p) => p.name === 'filter')!.value;

/** What a TriggerBinding extracts from a payload: `$(body.a.b)` references, literals as they are. */
function bind(params: Array<{ name: string; value: string }>, body: unknown): Record<string, unknown> {
  return Object.fromEntries(
    params.map((p) => {
      const m = /^\$\(body\.([^)]+)\)$/.exec(p.value);
      const value = m ? m[1]!.split('.').reduce<any>((node, key) => node?.[key], body) : p.value;
      return [p.name, value];
    }),
  );
}

// Payloads trimmed from the documented examples: GitHub "push" event, GitLab "Push Hook",
// Alertmanager webhook (version 4).
const githubPush = (overrides: Record<string, unknown> = {}) => ({
  ref: 'refs/heads/main',
  before: '0'.repeat(40),
  after: '1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c',
  repository: { full_name: 'acme/models', clone_url: 'https://github.com/acme/models.git' },
  commits: [{ id: '1f2e3d4c', added: [], modified: ['fraud-detector/notebooks/train.ipynb'], removed: [] }],
  ...overrides,
});
const gitlabPush = (overrides: Record<string, unknown> = {}) => ({
  object_kind: 'push',
  ref: 'refs/heads/main',
  checkout_sha: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
  project: { path_with_namespace: 'acme/models', git_http_url: 'https://github.com/acme/models.git' },
  commits: [{ id: 'da156088', added: ['fraud-detector/data/train.csv'], modified: [], removed: [] }],
  ...overrides,
});
const alert = (status: string, labels: Record<string, string>) => ({ status, labels: { alertname: 'SlipwayModelDrift', severity: 'warning', ...labels }, annotations: {} });
const alertmanager = (status: string, alerts: unknown[]) => ({ version: '4', receiver: 'retrain', status, alerts, groupLabels: {}, commonLabels: {} });

describe('PipelineTriggers', () => {
  it('synthesizes an EventListener with its RBAC, bindings and triggers', () => {
    const { triggers } = givenTriggers();
    const manifests = synth(triggers);
    expect(manifests).toMatchSnapshot();
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual([
      'ServiceAccount/slipway-training',
      'RoleBinding/slipway-training',
      'ClusterRoleBinding/ml-ci-slipway-training',
      'TriggerBinding/slipway-training-github-push',
      'TriggerBinding/slipway-training-gitlab-push',
      'EventListener/slipway-training',
    ]);
    expect(find(manifests, 'EventListener').spec.triggers.map((t: { name: string }) => t.name)).toEqual([
      'fraud-detector-github-push',
      'fraud-detector-gitlab-push',
      'fraud-detector-drift',
      'fraud-detector-performance',
    ]);
    expect(triggers.url).toBe('http://el-slipway-training.ml-ci.svc.cluster.local:8080');
  });

  it('binds the standard tekton-triggers roles, and passes upstream schemas', () => {
    const manifests = synth(givenTriggers().triggers);
    expect(find(manifests, 'RoleBinding').roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'tekton-triggers-eventlistener-roles' });
    const cluster = find(manifests, 'ClusterRoleBinding');
    expect((cluster.roleRef as { name: string }).name).toBe('tekton-triggers-eventlistener-clusterroles');
    expect(cluster.metadata.namespace).toBeUndefined();
    expect(cluster.subjects).toEqual([{ kind: 'ServiceAccount', name: 'slipway-training', namespace: 'ml-ci' }]);
    expect(manifests.filter((m) => !m.apiVersion.includes('tekton.dev')).map(upstreamProblem).filter(Boolean)).toEqual([]);
  });

  it('checks webhook secrets referenced by name, never inline', () => {
    const manifests = synth(givenTriggers({ githubWebhookSecret: 'gh-hook', webhookSecretKey: 'secret' }).triggers);
    expect(trigger(manifests, 'fraud-detector-github-push').interceptors[0]).toEqual({
      name: 'verify-github-webhook',
      ref: { name: 'github', kind: 'ClusterInterceptor' },
      params: [
        { name: 'secretRef', value: { secretName: 'gh-hook', secretKey: 'secret' } },
        { name: 'eventTypes', value: ['push'] },
      ],
    });
    expect(trigger(manifests, 'fraud-detector-gitlab-push').interceptors[0].params).toEqual([
      { name: 'secretRef', value: { secretName: 'gitlab-webhook', secretKey: 'secret' } },
      { name: 'eventTypes', value: ['Push Hook'] },
    ]);
    expect(manifests.some((m) => m.kind === 'Secret')).toBe(false);
  });

  it('lints clean and resolves every reference together with the pipeline', () => {
    const { pipeline, triggers } = givenTriggers();
    const all = [...synth(pipeline), ...synth(triggers)];
    expect(tektonLint(all)).toEqual([]);
    expect(tektonReferenceProblems(all)).toEqual([]);
  });

  describe('GitHub push filter, evaluated with CEL', () => {
    const filter = celFilter(trigger(synth(givenTriggers().triggers), 'fraud-detector-github-push'));
    const passes = (body: unknown) => evaluate(filter, { body }) as boolean;

    it('starts on a push to the branch that changes the model folder', () => {
      expect(passes(githubPush())).toBe(true);
      expect(passes(githubPush({ commits: [{ added: [], modified: [], removed: ['fraud-detector/old.py'] }] }))).toBe(true);
    });

    it('ignores other branches, repositories and folders', () => {
      expect(passes(githubPush({ ref: 'refs/heads/feature' }))).toBe(false);
      expect(passes(githubPush({ repository: { clone_url: 'https://github.com/acme/other.git' } }))).toBe(false);
      expect(passes(githubPush({ commits: [{ added: ['image-classifier/train.py'], modified: ['fraud-detector-v2/x'], removed: [] }] }))).toBe(false);
    });

    it('binds the pushed commit and the clone URL', () => {
      const binding = find(synth(givenTriggers().triggers), 'TriggerBinding', 'slipway-training-github-push');
      expect(bind(binding.spec.params, githubPush())).toEqual({ revision: '1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c', 'source-url': 'https://github.com/acme/models.git', reason: 'push' });
    });
  });

  describe('GitLab push filter, evaluated with CEL', () => {
    const filter = celFilter(trigger(synth(givenTriggers().triggers), 'fraud-detector-gitlab-push'));
    const passes = (body: unknown) => evaluate(filter, { body }) as boolean;

    it('starts on a push that changes the model folder, and ignores others', () => {
      expect(passes(gitlabPush())).toBe(true);
      expect(passes(gitlabPush({ ref: 'refs/tags/v1' }))).toBe(false);
      expect(passes(gitlabPush({ commits: [{ added: [], modified: ['README.md'], removed: [] }] }))).toBe(false);
    });

    it('binds the checkout commit and the HTTP URL', () => {
      const binding = find(synth(givenTriggers().triggers), 'TriggerBinding', 'slipway-training-gitlab-push');
      expect(bind(binding.spec.params, gitlabPush())).toMatchObject({ revision: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7', 'source-url': 'https://github.com/acme/models.git' });
    });
  });

  it('does not filter on paths when the model is the whole repository', () => {
    const filter = celFilter(trigger(synth(givenTriggers({}, { modelPath: '.' }).triggers), 'fraud-detector-github-push'));
    expect(evaluate(filter, { body: githubPush({ commits: [{ added: [], modified: ['README.md'], removed: [] }] }) })).toBe(true);
  });

  describe('drift retraining from Alertmanager, evaluated with CEL', () => {
    const manifests = synth(givenTriggers().triggers);
    const drift = trigger(manifests, 'fraud-detector-drift');
    const passes = (body: unknown) => evaluate(celFilter(drift), { body }) as boolean;

    it('starts on a firing alert for the model', () => {
      expect(passes(alertmanager('firing', [alert('firing', { model: 'fraud-detector' })]))).toBe(true);
      expect(passes(alertmanager('firing', [alert('firing', { model: 'image-classifier' }), alert('firing', { model: 'fraud-detector' })]))).toBe(true);
    });

    it('ignores resolved notifications, other models and alerts without a model', () => {
      expect(passes(alertmanager('resolved', [alert('resolved', { model: 'fraud-detector' })]))).toBe(false);
      expect(passes(alertmanager('firing', [alert('firing', { model: 'image-classifier' })]))).toBe(false);
      expect(passes(alertmanager('firing', [alert('resolved', { model: 'fraud-detector' }), alert('firing', {})]))).toBe(false);
    });

    it('ignores the model\'s other alerts (latency, errors, performance)', () => {
      expect(passes(alertmanager('firing', [alert('firing', { model: 'fraud-detector', alertname: 'SlipwayHighLatencyP99' })]))).toBe(false);
      expect(passes(alertmanager('firing', [alert('firing', { model: 'fraud-detector', alertname: 'SlipwayModelPerformance' })]))).toBe(false);
    });

    it('retrains from the head of the branch', () => {
      expect(drift.bindings).toEqual([
        { name: 'revision', value: 'main' },
        { name: 'source-url', value: 'https://github.com/acme/models' },
        { name: 'reason', value: 'drift' },
      ]);
      expect(drift.template).toEqual({ ref: 'fraud-detector-training' });
    });
  });

  describe('performance retraining from Alertmanager, evaluated with CEL', () => {
    const performance = trigger(synth(givenTriggers().triggers), 'fraud-detector-performance');
    const passes = (body: unknown) => evaluate(celFilter(performance), { body }) as boolean;

    it('starts on a firing SlipwayModelPerformance for the model, with reason performance', () => {
      expect(passes(alertmanager('firing', [alert('firing', { model: 'fraud-detector', alertname: 'SlipwayModelPerformance', metric: 'auc' })]))).toBe(true);
      expect(passes(alertmanager('firing', [alert('firing', { model: 'fraud-detector' })]))).toBe(false);
      expect(passes(alertmanager('firing', [alert('firing', { model: 'image-classifier', alertname: 'SlipwayModelPerformance' })]))).toBe(false);
      expect(performance.bindings).toContainEqual({ name: 'reason', value: 'performance' });
    });
  });

  it('accepts only the chosen Git hosts and can leave drift out', () => {
    const manifests = synth(givenTriggers({ gitProviders: ['gitlab'], retrainOnDrift: false, retrainOnPerformance: false }).triggers);
    expect(find(manifests, 'EventListener').spec.triggers.map((t: { name: string }) => t.name)).toEqual(['fraud-detector-gitlab-push']);
    expect(manifests.some((m) => m.metadata.name === 'slipway-training-github-push')).toBe(false);
  });

  it('fails when a pipeline lives in another namespace, naming it', () => {
    const { platform } = givenEnvironment('staging');
    const ci = new Environment(platform, 'ci', { namespace: 'ml-ci' });
    const pipeline = new TrainingPipeline(ci, 'p', pipelineProps({ namespace: 'other-ci' }));
    expect(() => new PipelineTriggers(ci, 'triggers', { pipelines: [pipeline] })).toThrow(
      'pipelines[0]: expected the pipeline of fraud-detector in namespace "ml-ci" (a listener starts runs in its own namespace), got "other-ci"',
    );
  });

  it('fails when nothing could start a pipeline or a secret name is invalid', () => {
    const message = failure({ gitProviders: [], retrainOnDrift: false, retrainOnPerformance: false, name: 'Triggers' });
    expect(message).toContain("PipelineTriggers at 'acme-ml/ci/triggers' has invalid props");
    expect(message).toContain('gitProviders: expected at least one Git provider, retrainOnDrift or retrainOnPerformance');
    expect(message).toContain('name: expected a DNS-1123 label');
    expect(failure({ githubWebhookSecret: 'GitHub_Secret' })).toContain('githubWebhookSecret: expected a DNS-1123 label');
  });
});
