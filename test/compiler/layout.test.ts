import { describe, expect, it } from 'vitest';
import { renderRepo } from '../../lib/compiler/layout.js';
import type { CompiledPlatform, KubeObject } from '../../lib/compiler/model.js';
import { syncWaveFor } from '../../lib/compiler/sync-waves.js';

const policy = { automated: true, prune: true, selfHeal: true };
const obj = (kind: string, name: string, extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion: kind === 'ClusterRole' ? 'rbac.authorization.k8s.io/v1' : 'v1',
  kind,
  metadata: { name },
  ...extra,
});

function platform(objects: KubeObject[], app = 'web'): CompiledPlatform {
  return {
    name: 'p',
    repoURL: 'https://git.example.com/c.git',
    targetRevision: 'main',
    argocdNamespace: 'argocd',
    sourceRepos: ['https://git.example.com/c.git'],
    syncPolicy: policy,
    environments: [
      { name: 'prod', namespace: 'p-prod', clusterServer: 'https://prod.example.com', monitoringNamespace: 'monitoring', syncPolicy: { ...policy, automated: false }, applications: [{ name: app, constructPath: `p/prod/${app}`, objects }] },
    ],
  };
}

describe('renderRepo', () => {
  it('orders sync waves: namespace, config and RBAC, workloads, scaling, monitoring', () => {
    expect(['Namespace', 'ConfigMap', 'ServiceAccount', 'Service', 'Deployment', 'Rollout', 'ScaledObject', 'ServiceMonitor', 'PrometheusRule'].map((kind) => syncWaveFor(obj(kind, 'x')))).toEqual([-1, 0, 0, 0, 1, 1, 2, 3, 3]);
    expect(syncWaveFor(obj('ConfigMap', 'dash', { metadata: { name: 'dash', labels: { grafana_dashboard: '1' } } }))).toBe(3);
  });

  it('keeps a sync wave the construct set itself', () => {
    const r = renderRepo([platform([obj('ConfigMap', 'c', { metadata: { name: 'c', annotations: { 'argocd.argoproj.io/sync-wave': '7' } } })])]);
    expect(r.objects.get('environments/prod/web/configmap-c.yaml')!.metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-wave': '7' });
  });

  it('limits the AppProject to the namespaces objects use and whitelists their cluster-scoped kinds', () => {
    const r = renderRepo([platform([obj('ConfigMap', 'c', { metadata: { name: 'c', namespace: 'monitoring' } }), obj('ClusterRole', 'reader')])]);
    const spec = r.objects.get('platform/p/appproject.yaml')!.spec as Record<string, unknown>;
    expect(spec.destinations).toEqual([
      { server: 'https://prod.example.com', namespace: 'monitoring' },
      { server: 'https://prod.example.com', namespace: 'p-prod' },
    ]);
    expect(spec.clusterResourceWhitelist).toEqual([{ group: '', kind: 'Namespace' }, { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' }]);
    expect(spec.sourceRepos).toEqual(['https://git.example.com/c.git']);
  });

  it('leaves out automated sync when the environment turns it off, keeping CreateNamespace and retry', () => {
    const r = renderRepo([platform([obj('ConfigMap', 'c')])]);
    expect((r.objects.get('apps/prod/web.yaml')!.spec as { syncPolicy: unknown }).syncPolicy).toEqual({
      syncOptions: ['CreateNamespace=true', 'PrunePropagationPolicy=foreground'],
      retry: { limit: 5, backoff: { duration: '5s', factor: 2, maxDuration: '3m' } },
    });
  });

  it('adds the namespace to file names only where two objects would share one', () => {
    const r = renderRepo([platform([obj('ConfigMap', 'c', { metadata: { name: 'c', namespace: 'a' } }), obj('ConfigMap', 'c', { metadata: { name: 'c', namespace: 'b' } }), obj('Secret', 's')])]);
    expect([...r.documents.keys()].filter((p) => p.startsWith('environments/'))).toEqual([
      'environments/prod/web/configmap-c.a.yaml',
      'environments/prod/web/configmap-c.b.yaml',
      'environments/prod/web/secret-s.yaml',
      'environments/prod/web/kustomization.yaml',
    ]);
  });

  it('fails when an application has two identical objects, naming the chart', () => {
    expect(() => renderRepo([platform([obj('ConfigMap', 'c'), obj('ConfigMap', 'c')])])).toThrow("p/prod/web: two objects are ConfigMap 'c'; kustomize and Argo CD need unique objects");
  });

  it('fails when a chart id is not a DNS label or makes the Application name too long', () => {
    expect(() => renderRepo([platform([], 'Web_App')])).toThrow(/p\/prod\/Web_App: chart id "Web_App" names a folder and an Argo CD Application; expected a DNS-1123 label/);
    expect(() => renderRepo([platform([], 'a'.repeat(60))])).toThrow(/Argo CD Application name 'p-prod-a{60}' has 67 characters; .* expected at most 63/);
  });
});
