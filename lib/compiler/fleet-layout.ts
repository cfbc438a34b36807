import type { CompiledPlatform, FleetPlan, KubeObject, SyncPolicy } from './model.js';
import { SYNC_WAVE_ANNOTATION } from './sync-waves.js';

// A fleet in the config repository (docs/fleets.md):
//   bootstrap/<fleet>.yaml                          root Application of the fleet (on the hub)
//   fleets/<fleet>/argocd/kustomization.yaml        the platform's AppProject + the ApplicationSet
//   fleets/<fleet>/argocd/applicationset-<fleet>.yaml
//   fleets/<fleet>/fleet.yaml                       the plan: waves and their sites, gates (read by slipway fleet)
//   fleets/<fleet>/sites/<site>.yaml                { site, wave, group }: what the ApplicationSet reads per cluster
//   fleets/<fleet>/waves/<wave>/<group>-<model>/    the objects of one model for one kind of site in one wave
//   releases/<fleet>-<wave>/<model>.yaml            which build the wave runs (not generated)

export const FLEETS_DIR = 'fleets';
export const SITE_LABEL = 'site';
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'slipway' };
const RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';
const IN_CLUSTER = 'https://kubernetes.default.svc';

export const fleetDir = (fleet: string): string => `${FLEETS_DIR}/${fleet}`;
export const fleetPlanPath = (fleet: string): string => `${fleetDir(fleet)}/fleet.yaml`;
export const waveDir = (fleet: string, wave: string): string => `${fleetDir(fleet)}/waves/${wave}`;
export const siteFilePath = (fleet: string, site: string): string => `${fleetDir(fleet)}/sites/${site}.yaml`;

/** The site file: one small record per cluster, so the repository grows with sites + waves × models. */
export function siteRecord(fleet: FleetPlan, wave: string, site: { name: string; group: string }): Record<string, string> {
  return { fleet: fleet.name, group: site.group, site: site.name, wave };
}

function syncPolicy(policy: SyncPolicy): Record<string, unknown> {
  return {
    ...(policy.automated ? { automated: { prune: policy.prune, selfHeal: policy.selfHeal } } : {}),
    syncOptions: ['CreateNamespace=true', 'PrunePropagationPolicy=foreground'],
    retry: { limit: 5, backoff: { duration: '5s', factor: 2, maxDuration: '3m' } },
  };
}

/**
 * One ApplicationSet for the whole fleet: clusters chosen by their secret labels, each joined
 * with its site file (the git generator's path names the cluster, so a cluster without one gets
 * nothing), times the fleet's models. Every Application syncs its wave's folder for its group and
 * stamps `site` on every object with kustomize.
 */
export function fleetApplicationSet(platform: CompiledPlatform, fleet: FleetPlan): KubeObject {
  const labels = { ...MANAGED_BY, 'app.kubernetes.io/part-of': platform.name, 'slipway.dev/fleet': fleet.name };
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'ApplicationSet',
    metadata: { name: `${platform.name}-${fleet.name}`, namespace: platform.argocdNamespace, labels, annotations: { [SYNC_WAVE_ANNOTATION]: '0' } },
    spec: {
      goTemplate: true,
      goTemplateOptions: ['missingkey=error'],
      generators: [
        {
          matrix: {
            generators: [
              {
                matrix: {
                  generators: [
                    { clusters: { selector: { matchLabels: { ...fleet.selector } } } },
                    { git: { repoURL: platform.repoURL, revision: platform.targetRevision, files: [{ path: `${fleetDir(fleet.name)}/sites/{{.name}}.yaml` }] } },
                  ],
                },
              },
              { list: { elements: fleet.models.map((m) => ({ model: m.model })) } },
            ],
          },
        },
      ],
      template: {
        metadata: {
          name: `${fleet.name}-{{.site}}-{{.model}}`,
          labels: { ...labels, 'slipway.dev/site': '{{.site}}', 'slipway.dev/wave': '{{.wave}}', 'slipway.dev/model': '{{.model}}' },
          // Removing a site or model from Git deletes its objects from the cluster, not just the Application.
          finalizers: [RESOURCES_FINALIZER],
        },
        spec: {
          project: platform.name,
          source: {
            repoURL: platform.repoURL,
            targetRevision: platform.targetRevision,
            path: `${fleetDir(fleet.name)}/waves/{{.wave}}/{{.group}}-{{.model}}`,
            kustomize: { commonLabels: { [SITE_LABEL]: '{{.site}}' } },
          },
          destination: { name: '{{.name}}', namespace: fleet.namespace },
          syncPolicy: syncPolicy(fleet.syncPolicy),
        },
      },
    },
  };
}

/** `kubectl apply -n argocd -f bootstrap/<fleet>.yaml` on the hub, once. */
export function fleetRootApplication(platform: CompiledPlatform, fleet: FleetPlan): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: {
      name: `${platform.name}-${fleet.name}`,
      namespace: platform.argocdNamespace,
      labels: { ...MANAGED_BY, 'app.kubernetes.io/part-of': platform.name, 'slipway.dev/fleet': fleet.name },
    },
    spec: {
      project: 'default',
      source: { repoURL: platform.repoURL, targetRevision: platform.targetRevision, path: `${fleetDir(fleet.name)}/argocd` },
      destination: { server: IN_CLUSTER, namespace: platform.argocdNamespace },
      syncPolicy: syncPolicy(fleet.syncPolicy),
    },
  };
}

/** AppProject destinations of a fleet: every site by its Argo CD cluster name, in each namespace its objects use. */
export function fleetDestinations(platform: CompiledPlatform, fleet: FleetPlan): Array<{ name: string; namespace: string }> {
  const namespaces = new Set([fleet.namespace]);
  for (const env of platform.environments) {
    if (env.fleetWave?.fleet !== fleet.name) continue;
    for (const app of env.applications) for (const obj of app.objects) if (obj.metadata.namespace) namespaces.add(obj.metadata.namespace);
  }
  return fleet.waves.flatMap((w) => w.sites.flatMap((s) => [...namespaces].map((namespace) => ({ name: s.name, namespace }))));
}
