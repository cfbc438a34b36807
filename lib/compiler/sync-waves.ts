import type { KubeObject } from './model.js';

export const SYNC_WAVE_ANNOTATION = 'argocd.argoproj.io/sync-wave';

/**
 * Argo CD applies lower waves first and waits for them to be healthy. The table (also in
 * docs/config-repo.md): what others depend on first, workloads next, what watches or scales
 * workloads after them, monitoring last so alerts never fire on a half-applied release.
 */
const WAVE_BY_KIND: Readonly<Record<string, number>> = {
  Namespace: -1,
  CustomResourceDefinition: -1,
  PriorityClass: -1,
  StorageClass: -1,

  ServiceAccount: 0,
  Role: 0,
  ClusterRole: 0,
  RoleBinding: 0,
  ClusterRoleBinding: 0,
  ConfigMap: 0,
  Secret: 0,
  PersistentVolumeClaim: 0,
  NetworkPolicy: 0,
  ResourceQuota: 0,
  LimitRange: 0,
  // Rollouts refuse to start without their stable/canary Services and analysis templates.
  Service: 0,
  AnalysisTemplate: 0,
  ClusterAnalysisTemplate: 0,
  TriggerAuthentication: 0,
  ClusterTriggerAuthentication: 0,
  // Tekton resolves Tasks and trigger templates by name when a run starts: definitions first.
  Task: 0,
  Pipeline: 0,
  TriggerBinding: 0,
  ClusterTriggerBinding: 0,
  TriggerTemplate: 0,

  Deployment: 1,
  StatefulSet: 1,
  DaemonSet: 1,
  Rollout: 1,
  Job: 1,
  CronJob: 1,
  Ingress: 1,
  EventListener: 1,

  // KEDA and the HPA look up their scale target when created.
  HorizontalPodAutoscaler: 2,
  ScaledObject: 2,
  ScaledJob: 2,
  PodDisruptionBudget: 2,

  ServiceMonitor: 3,
  PodMonitor: 3,
  PrometheusRule: 3,
};

export const DEFAULT_WAVE = 1;
export const MONITORING_WAVE = 3;

/** Grafana's sidecar loads ConfigMaps with this label as dashboards: monitoring, not config. */
const DASHBOARD_LABEL = 'grafana_dashboard';

export function syncWaveFor(obj: KubeObject): number {
  if (obj.kind === 'ConfigMap' && obj.metadata.labels?.[DASHBOARD_LABEL] !== undefined) return MONITORING_WAVE;
  return WAVE_BY_KIND[obj.kind] ?? DEFAULT_WAVE;
}

/** Returns `obj` with its sync wave annotation; a wave the construct set itself wins. */
export function withSyncWave(obj: KubeObject): KubeObject {
  const annotations = obj.metadata.annotations ?? {};
  if (annotations[SYNC_WAVE_ANNOTATION] !== undefined) return obj;
  return {
    ...obj,
    metadata: { ...obj.metadata, annotations: { ...annotations, [SYNC_WAVE_ANNOTATION]: String(syncWaveFor(obj)) } },
  };
}

/** Kinds that live outside namespaces: an AppProject must whitelist them explicitly. */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  'Namespace',
  'CustomResourceDefinition',
  'PriorityClass',
  'StorageClass',
  'PersistentVolume',
  'ClusterRole',
  'ClusterRoleBinding',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'IngressClass',
  'ClusterTriggerAuthentication',
  'ClusterAnalysisTemplate',
  'APIService',
  'ClusterServingRuntime',
  'ClusterTrainingRuntime',
]);
