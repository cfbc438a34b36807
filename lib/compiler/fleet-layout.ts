import type { CompiledPlatform, FleetPlan, KubeObject, SyncPolicy } from './model.js';
import { SITE_LABEL } from '../vocabulary/fleet.js';
import { SYNC_WAVE_ANNOTATION } from './sync-waves.js';

// A fleet in the config repository (docs/fleets.md):
//   bootstrap/<fleet>.yaml                          root Application of the fleet (on the hub)
//   fleets/<fleet>/argocd/kustomization.yaml        the platform's AppProject + the ApplicationSet
//   fleets/<fleet>/argocd/applicationset-<fleet>.yaml
//   fleets/<fleet>/fleet.yaml                       the plan: waves and their sites, gates (read by slipway fleet)
//   fleets/<fleet>/waves/<wave>/sites.yaml          [{ site, group, wave }]: the wave's sites, read by the ApplicationSet
//   fleets/<fleet>/waves/<wave>/<group>-<model>/    the objects of one model for one kind of site in one wave
//   releases/<fleet>-<wave>/<model>.yaml            which build the wave runs (not generated)

export const FLEETS_DIR = 'fleets';
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'slipway' };
const RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';
const IN_CLUSTER = 'https://kubernetes.default.svc';

export const fleetDir = (fleet: string): string => `${FLEETS_DIR}/${fleet}`;
export const fleetPlanPath = (fleet: string): string => `${fleetDir(fleet)}/fleet.yaml`;
export const waveDir = (fleet: string, wave: string): string => `${fleetDir(fleet)}/waves/${wave}`;
export const waveSitesPath = (fleet: string, wave: string): string => `${waveDir(fleet, wave)}/sites.yaml`;

/** The wave's sites file: one element per site, so the repository grows with waves × models, not sites × models. */
export function waveSites(fleet: FleetPlan, wave: FleetPlan['waves'][number]): Array<Record<string, string>> {
  return wave.sites.map((s) => ({ fleet: fleet.name, group: s.group, site: s.name, wave: wave.name }));
}

function syncPolicy(policy: SyncPolicy): Record<string, unknown> {
  return {
    ...(policy.automated ? { automated: { prune: policy.prune, selfHeal: policy.selfHeal } } : {}),
    syncOptions: ['CreateNamespace=true', 'PrunePropagationPolicy=foreground'],
    retry: { limit: 5, backoff: { duration: '5s', factor: 2, maxDuration: '3m' } },
  };
}

/**
 * One ApplicationSet for the whole fleet: every site of every wave (the git files generator reads
 * the waves' sites files, one parameter set per site), joined with the cluster of that name among
 * those whose secret labels match the fleet's selector (a post selector on the cluster generator,
 * templated per site), times the fleet's models. A cluster that no wave names, or whose labels do
 * not match, gets nothing. Every Application syncs its wave's folder for its group and stamps
 * `site` on every object with kustomize.
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
                    { git: { repoURL: platform.repoURL, revision: platform.targetRevision, files: [{ path: `${fleetDir(fleet.name)}/waves/*/sites.yaml` }] } },
                    { clusters: { selector: { matchLabels: { ...fleet.selector } } }, selector: { matchLabels: { name: '{{.site}}' } } },
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
