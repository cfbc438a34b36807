import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { Environment, Platform } from '../../constructs/index.js';

describe('Platform and Environment', () => {
  it('resolve their defaults', () => {
    // GIVEN a platform with one environment and no options
    const app = Testing.app();
    const platform = new Platform(app, 'acme-ml', { repoURL: 'https://github.com/acme/ml-config.git' });
    const staging = new Environment(platform, 'staging');
    // THEN the defaults a GitOps user expects apply
    expect(platform).toMatchObject({ name: 'acme-ml', targetRevision: 'main', argocdNamespace: 'argocd', sourceRepos: ['https://github.com/acme/ml-config.git'] });
    expect(platform.syncPolicy).toEqual({ automated: true, prune: true, selfHeal: true });
    expect(staging).toMatchObject({ name: 'staging', namespace: 'acme-ml-staging', clusterServer: 'https://kubernetes.default.svc', monitoringNamespace: 'monitoring' });
  });

  it('let an environment override part of the sync policy', () => {
    const platform = new Platform(Testing.app(), 'acme-ml', { repoURL: 'https://github.com/acme/ml-config.git', syncPolicy: { prune: false } });
    const prod = new Environment(platform, 'prod', { syncPolicy: { selfHeal: false } });
    expect(prod.syncPolicy).toEqual({ automated: true, prune: false, selfHeal: false });
  });

  it('are found from any construct below them', () => {
    const platform = new Platform(Testing.app(), 'acme-ml', { repoURL: 'https://github.com/acme/ml-config.git' });
    const prod = new Environment(platform, 'prod');
    expect(Environment.of(prod)).toBe(prod);
    expect(Platform.of(prod)).toBe(platform);
    expect(() => Environment.of(platform)).toThrow(/'acme-ml' is not inside an Environment/);
  });

  it('fails when names or URLs are invalid', () => {
    const app = Testing.app();
    expect(() => new Platform(app, 'Acme', { repoURL: 'github.com/acme/x' })).toThrow(
      /Platform at 'Acme' has invalid props:\n  - name: expected a DNS-1123 label .* got "Acme"\n  - repoURL: expected a Git URL .* got "github.com\/acme\/x"/,
    );
    const platform = new Platform(app, 'acme-ml', { repoURL: 'https://github.com/acme/ml-config.git' });
    expect(() => new Environment(platform, 'prod', { namespace: 'ML_PROD', clusterServer: 'http://10.0.0.1' })).toThrow(
      /Environment at 'acme-ml\/prod' has invalid props:\n  - namespace: .* got "ML_PROD"\n  - clusterServer: expected the cluster's API server URL \(https:\/\/…\), got "http:\/\/10.0.0.1"/,
    );
  });
});
