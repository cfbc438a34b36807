import { type ApiObject, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { HTTP_PORT, METRICS_PORT, GRPC_PORT } from '../lib/vocabulary/ports.js';
import { Environment } from './environment.js';
import type { Model } from './model.js';
import { Platform } from './platform.js';
import { recommendedLabels, selectorLabels, type LabelSource } from './private/labels.js';
import { renderAutoscaler } from './serving/autoscaler.js';
import { renderKServe, renderMetricsService } from './serving/kserve/inference-service.js';
import { renderNetworkPolicy } from './serving/network-policy.js';
import { renderPodTemplate } from './serving/pod-template.js';
import { type ModelServingProps, type ResolvedServingProps, resolveServingProps } from './serving/props.js';
import { renderService } from './serving/service.js';
import { renderWorkload } from './serving/workload.js';

export type { GpuOptions } from '../lib/vocabulary/gpu.js';
export type { KServeOptions } from './serving/kserve/options.js';
export { DEFAULT_STORAGE_INITIALIZER_IMAGE, type CanaryOptions, type CanaryStep, type ModelServingProps } from './serving/props.js';
export { VERIFY_ARTIFACT_SCRIPT, expectedSha256 } from './serving/pod-template.js';

/**
 * Serves one {@link Model} with the slipway runtime: Deployment (or Argo Rollout for canaries),
 * Service, ServiceAccount, PodDisruptionBudget, NetworkPolicy and an autoscaler (HPA on CPU,
 * KEDA on the in-flight request metric for GPUs). The pod serves exactly the model's build:
 * from the runtime image when its location is `image`, else fetched from the store; the runtime
 * verifies the sha256 of what it loads either way.
 */
export class ModelServing extends Construct {
  readonly name: string;
  readonly model: Model;
  readonly image: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Labels on every object of this serving, recommended `app.kubernetes.io/*` ones included. */
  readonly labels: Record<string, string>;
  /** Labels that select the serving pods (and the Service). */
  readonly selector: Record<string, string>;
  readonly httpPort = HTTP_PORT;
  readonly grpcPort = GRPC_PORT;
  readonly metricsPort = METRICS_PORT;
  readonly monitoringNamespace: string;
  readonly prometheusUrl: string;
  /** The props with defaults applied and checked. */
  readonly resolved: ResolvedServingProps;
  /** The workload: a Deployment, or a Rollout when `canary` is set. */
  readonly workload: ApiObject;
  readonly service: k8s.KubeService;

  constructor(scope: Construct, id: string, props: ModelServingProps) {
    super(scope, id);
    const resolved = resolveServingProps(this, props);
    this.resolved = resolved;
    this.model = resolved.model;
    this.name = resolved.name;
    this.image = resolved.image;
    this.minReplicas = resolved.minReplicas;
    this.maxReplicas = resolved.maxReplicas;
    this.monitoringNamespace = resolved.monitoringNamespace;
    this.prometheusUrl = resolved.prometheusUrl;

    const environment = Environment.tryOf(this);
    const labelSource: LabelSource = {
      name: this.name,
      instance: environment ? `${this.name}-${environment.name}` : this.name,
      version: this.model.version,
      partOf: Platform.tryOf(this)?.name ?? 'slipway',
    };
    this.selector = selectorLabels(labelSource);
    this.labels = { ...this.model.labels, ...recommendedLabels(labelSource, 'serving') };
    const metadata = { name: this.name, labels: this.labels };
    const namespace = Chart.of(this).namespace ?? 'default';

    const serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata, automountServiceAccountToken: false });
    const template = renderPodTemplate({ ...resolved, labels: this.labels, serviceAccountName: serviceAccount.name });
    // KServe target (docs/kserve.md): KServe owns the workload, its Service and (on CPUs) its HPA.
    const kserve = resolved.kserve ? renderKServe(this, metadata, template, { ...resolved, kserve: resolved.kserve }) : undefined;
    const { workload, scaleTarget } = kserve ?? renderWorkload(this, metadata, this.selector, template, resolved, namespace);
    this.workload = workload;
    this.service = kserve ? renderMetricsService(this, metadata, this.selector) : renderService(this, metadata, this.selector);
    new k8s.KubePodDisruptionBudget(this, 'DisruptionBudget', {
      metadata,
      spec: {
        // maxUnavailable keeps node drains possible even with a single replica.
        maxUnavailable: k8s.IntOrString.fromNumber(1),
        selector: { matchLabels: this.selector },
      },
    });
    renderNetworkPolicy(this, metadata, this.selector, resolved);
    if (scaleTarget) renderAutoscaler(this, metadata, scaleTarget, resolved, namespace);
  }
}
