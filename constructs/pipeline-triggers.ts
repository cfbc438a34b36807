import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { TektonEventListener } from './imports/tekton.js';
import { Platform } from './platform.js';
import { recommendedLabels } from './private/labels.js';
import { type PipelineTriggersProps, resolveTriggersProps, triggersNamespace } from './triggers/props.js';
import { alertTrigger, pushTrigger, renderListenerRbac, renderPushBindings } from './triggers/render.js';

export type { GitProvider, PipelineTriggersProps } from './triggers/props.js';
export { alertFilter, driftFilter, pushFilter } from './triggers/render.js';

/**
 * Starts {@link TrainingPipeline}s from events with Tekton Triggers (`triggers.tekton.dev`): an
 * EventListener with its ServiceAccount and the standard tekton-triggers RBAC, TriggerBindings for
 * GitHub and GitLab push payloads, and per pipeline one trigger per Git host (webhook secret
 * checked by the host's interceptor, then a CEL filter on repository, branch and changed model
 * path) plus one per retraining alert (drift, performance). Webhook Secrets are referenced by name.
 */
export class PipelineTriggers extends Chart {
  readonly listenerName: string;
  readonly listenerNamespace: string;
  /** In-cluster URL of the listener: the target of Git webhooks (through an Ingress) and of retraining alerts. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: PipelineTriggersProps) {
    const namespace = triggersNamespace(scope, props);
    super(scope, id, { namespace, disableResourceNameHashes: true });
    const r = resolveTriggersProps(this, props, namespace);
    this.listenerName = r.name;
    this.listenerNamespace = r.namespace;
    this.url = `http://el-${r.name}.${r.namespace}.svc.cluster.local:8080`;

    const labels = recommendedLabels(
      { name: r.name, instance: r.environment ? `${r.name}-${r.environment.name}` : r.name, version: 'triggers-1', partOf: Platform.tryOf(this)?.name ?? 'slipway' },
      'pipeline',
    );
    renderListenerRbac(this, r, labels);
    renderPushBindings(this, r, labels);
    const triggers = r.pipelines.flatMap((pipeline) => [
      ...r.providers.map((provider) => pushTrigger(r, pipeline, provider)),
      ...r.retrainReasons.map((reason) => alertTrigger(pipeline, reason)),
    ]);
    new TektonEventListener(this, 'EventListener', {
      metadata: { name: r.name, labels },
      spec: { serviceAccountName: r.name, triggers },
    });
  }
}
