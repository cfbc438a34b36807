import { SlipwayError } from '../errors.js';
import { FLEETS_DIR, fleetApplicationSet, fleetDestinations, fleetDir, fleetPlanPath, fleetRootApplication, waveDir, waveSites, waveSitesPath } from './fleet-layout.js';
import type { CompiledApplication, CompiledEnvironment, CompiledPlatform, KubeObject, SyncPolicy } from './model.js';
import { CLUSTER_SCOPED_KINDS, SYNC_WAVE_ANNOTATION, withSyncWave } from './sync-waves.js';

// The config repository layout (docs/config-repo.md):
//   platform/<platform>/{kustomization,appproject}.yaml   AppProject: allowed repos, destinations
//   bootstrap/<env>.yaml                                  root Application (kubectl apply -f, once)
//   apps/<env>/kustomization.yaml, apps/<env>/<app>.yaml  one Argo CD Application per application
//   environments/<env>/<app>/kustomization.yaml           the application's objects,
//   environments/<env>/<app>/<kind>-<name>.yaml           one object per file
//   releases/<env>/<model>.yaml                           which build runs where (not generated)
//   fleets/<fleet>/…                                      fleets and their waves (fleet-layout.ts)

export const GENERATED_ROOTS = ['platform', 'bootstrap', 'apps', 'environments', FLEETS_DIR] as const;
export const KUSTOMIZATION = 'kustomization.yaml';
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'slipway' };
const RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';
const IN_CLUSTER = 'https://kubernetes.default.svc';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** One rendered application: where it went and what the summary table shows. */
export interface ApplicationSummary {
  readonly platform: string;
  readonly environment: string;
  readonly application: string;
  readonly argoApplication: string;
  readonly path: string;
  readonly objects: number;
  readonly modelVersion?: string;
  readonly images: readonly string[];
}

export interface RenderedRepo {
  /** Generated files by repository path (forward slashes), as the data each file holds. */
  readonly documents: Map<string, unknown>;
  /** Every object file, for validation: path → object. */
  readonly objects: Map<string, KubeObject>;
  /** Every kustomization.yaml: path → its resources. */
  readonly kustomizations: Map<string, readonly string[]>;
  readonly applications: readonly ApplicationSummary[];
  /** Environments rendered, by name. */
  readonly environments: ReadonlySet<string>;
  /** Paths (files or folders) this render owns entirely: replaced, not merged, when only some environments are rendered. */
  readonly owned: readonly string[];
}

/** Renders the platforms into config repository files; `only` limits which environments. */
export function renderRepo(platforms: readonly CompiledPlatform[], only?: ReadonlySet<string>): RenderedRepo {
  const documents = new Map<string, unknown>();
  const objects = new Map<string, KubeObject>();
  const kustomizations = new Map<string, readonly string[]>();
  const put = (path: string, obj: KubeObject): void => {
    documents.set(path, obj);
    objects.set(path, obj);
  };
  const putKustomization = (dir: string, resources: readonly string[]): void => {
    const sorted = [...resources].sort();
    documents.set(`${dir}/${KUSTOMIZATION}`, { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: sorted });
    kustomizations.set(`${dir}/${KUSTOMIZATION}`, sorted);
  };
  const applications: ApplicationSummary[] = [];
  const environments = new Set<string>();
  const seenEnvs = new Map<string, string>();
  const owned: string[] = [];

  for (const platform of platforms) {
    for (const env of platform.environments) {
      const other = seenEnvs.get(env.name);
      if (other !== undefined) {
        throw new SlipwayError(
          'DUPLICATE_ENVIRONMENT',
          `environment '${env.name}' is defined by platform '${other}' and platform '${platform.name}': ` +
            `environment names must be unique in one config repository`,
        );
      }
      seenEnvs.set(env.name, platform.name);
    }
    putKustomization(`platform/${platform.name}`, ['appproject.yaml']);
    put(`platform/${platform.name}/appproject.yaml`, appProject(platform));

    for (const fleet of platform.fleets ?? []) {
      if (seenEnvs.has(fleet.name)) {
        throw new SlipwayError('DUPLICATE_ENVIRONMENT', `fleet '${fleet.name}' has the name of an environment: bootstrap/${fleet.name}.yaml would hold both`);
      }
      const dir = fleetDir(fleet.name);
      owned.push(`bootstrap/${fleet.name}.yaml`, `${dir}/argocd`, fleetPlanPath(fleet.name));
      put(`bootstrap/${fleet.name}.yaml`, fleetRootApplication(platform, fleet));
      const { hubObjects = [], ...plan } = fleet;
      put(`${dir}/argocd/applicationset-${fleet.name}.yaml`, fleetApplicationSet(platform, fleet));
      const hubFiles = hubObjects.map((o) => `${fileSafe(o.kind)}-${fileSafe(o.metadata.name)}.yaml`);
      hubObjects.forEach((o, i) => put(`${dir}/argocd/${hubFiles[i]}`, withSyncWave(o)));
      putKustomization(`${dir}/argocd`, [`../../../platform/${platform.name}`, `applicationset-${fleet.name}.yaml`, ...hubFiles]);
      documents.set(fleetPlanPath(fleet.name), plan);
      for (const wave of fleet.waves) documents.set(waveSitesPath(fleet.name, wave.name), waveSites(fleet, wave));
    }

    for (const env of platform.environments) {
      if (only && !only.has(env.name)) continue;
      environments.add(env.name);
      if (env.fleetWave) {
        const dir = waveDir(env.fleetWave.fleet, env.fleetWave.wave);
        owned.push(dir);
        for (const app of env.applications) {
          if (!DNS_LABEL.test(app.name)) checkApplicationName(platform, env, app, new Map());
          const path = `${dir}/${app.name}`;
          const objectFiles = objectFileNames(app);
          for (const [file, obj] of objectFiles) put(`${path}/${file}`, withSyncWave(obj));
          putKustomization(path, [...objectFiles.keys()]);
          applications.push(summarize(platform, env, app, path));
        }
        continue;
      }
      owned.push(`bootstrap/${env.name}.yaml`, `apps/${env.name}`, `environments/${env.name}`);
      put(`bootstrap/${env.name}.yaml`, rootApplication(platform, env));
      const appFiles: string[] = [];
      const appNames = new Map<string, string>();
      for (const app of env.applications) {
        checkApplicationName(platform, env, app, appNames);
        const path = `environments/${env.name}/${app.name}`;
        const objectFiles = objectFileNames(app);
        for (const [file, obj] of objectFiles) put(`${path}/${file}`, withSyncWave(obj));
        putKustomization(path, [...objectFiles.keys()]);
        put(`apps/${env.name}/${app.name}.yaml`, childApplication(platform, env, app.name));
        appFiles.push(`${app.name}.yaml`);
        applications.push(summarize(platform, env, app, path));
      }
      putKustomization(`apps/${env.name}`, [`../../platform/${platform.name}`, ...appFiles]);
    }
  }
  if (only) {
    const unknown = [...only].filter((e) => !seenEnvs.has(e));
    if (unknown.length > 0) {
      throw new SlipwayError(
        'UNKNOWN_ENVIRONMENT',
        `unknown environment ${unknown.map((e) => `'${e}'`).join(', ')}; the app defines ${[...seenEnvs.keys()].map((e) => `'${e}'`).join(', ') || 'none'}`,
      );
    }
  }
  return { documents, objects, kustomizations, applications, environments, owned };
}

function checkApplicationName(platform: CompiledPlatform, env: CompiledEnvironment, app: CompiledApplication, seen: Map<string, string>): void {
  if (!DNS_LABEL.test(app.name)) {
    throw new SlipwayError(
      'INVALID_APPLICATION_NAME',
      `${app.constructPath}: chart id ${JSON.stringify(app.name)} names a folder and an Argo CD Application; ` +
        `expected a DNS-1123 label (lower-case letters, digits, '-')`,
    );
  }
  const argoName = `${platform.name}-${env.name}-${app.name}`;
  if (argoName.length > 63) {
    throw new SlipwayError(
      'INVALID_APPLICATION_NAME',
      `${app.constructPath}: Argo CD Application name '${argoName}' has ${argoName.length} characters; ` +
        `Argo CD writes it into a label value, expected at most 63: shorten the chart id`,
    );
  }
  const previous = seen.get(app.name);
  if (previous !== undefined) {
    throw new SlipwayError(
      'DUPLICATE_APPLICATION',
      `${app.constructPath}: environment '${env.name}' already has an application '${app.name}' (${previous})`,
    );
  }
  seen.set(app.name, app.constructPath);
}

function fileSafe(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9.-]+/g, '-');
}

/** `<kind>-<name>.yaml`, with the namespace added only where two objects would collide. */
function objectFileNames(app: CompiledApplication): Map<string, KubeObject> {
  const byBase = new Map<string, KubeObject[]>();
  const ids = new Map<string, KubeObject>();
  for (const obj of app.objects) {
    const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : '';
    const id = `${group}/${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    if (ids.has(id)) {
      throw new SlipwayError(
        'DUPLICATE_OBJECT',
        `${app.constructPath}: two objects are ${obj.kind} '${obj.metadata.name}'` +
          `${obj.metadata.namespace ? ` in namespace '${obj.metadata.namespace}'` : ''}; kustomize and Argo CD need unique objects`,
      );
    }
    ids.set(id, obj);
    const base = `${fileSafe(obj.kind)}-${fileSafe(obj.metadata.name)}`;
    byBase.set(base, [...(byBase.get(base) ?? []), obj]);
  }
  const out = new Map<string, KubeObject>();
  for (const [base, objs] of byBase) {
    if (objs.length === 1) {
      out.set(`${base}.yaml`, objs[0]!);
      continue;
    }
    for (const obj of objs) {
      const group = obj.apiVersion.includes('/') ? `.${fileSafe(obj.apiVersion.split('/')[0]!)}` : '';
      out.set(`${base}${obj.metadata.namespace ? `.${fileSafe(obj.metadata.namespace)}` : ''}${group}.yaml`, obj);
    }
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

function syncPolicy(policy: SyncPolicy): Record<string, unknown> {
  return {
    ...(policy.automated ? { automated: { prune: policy.prune, selfHeal: policy.selfHeal } } : {}),
    syncOptions: ['CreateNamespace=true', 'PrunePropagationPolicy=foreground'],
    retry: { limit: 5, backoff: { duration: '5s', factor: 2, maxDuration: '3m' } },
  };
}

function appProject(platform: CompiledPlatform): KubeObject {
  const destinations = new Map<string, { server: string; namespace: string } | { name: string; namespace: string }>();
  const clusterKinds = new Map<string, { group: string; kind: string }>([['/Namespace', { group: '', kind: 'Namespace' }]]);
  for (const fleet of platform.fleets ?? []) {
    for (const d of fleetDestinations(platform, fleet)) destinations.set(`name:${d.name} ${d.namespace}`, d);
  }
  for (const env of platform.environments) {
    const add = (namespace: string) => {
      if (!env.fleetWave) destinations.set(`${env.clusterServer} ${namespace}`, { server: env.clusterServer, namespace });
    };
    add(env.namespace);
    for (const app of env.applications) {
      for (const obj of app.objects) {
        if (CLUSTER_SCOPED_KINDS.has(obj.kind)) {
          const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0]! : '';
          clusterKinds.set(`${group}/${obj.kind}`, { group, kind: obj.kind });
        } else if (obj.metadata.namespace) {
          add(obj.metadata.namespace);
        }
      }
    }
  }
  const byKey = <T>(m: Map<string, T>): T[] => [...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AppProject',
    metadata: {
      name: platform.name,
      namespace: platform.argocdNamespace,
      labels: { ...MANAGED_BY, 'app.kubernetes.io/part-of': platform.name },
      // Before the Applications that name it.
      annotations: { [SYNC_WAVE_ANNOTATION]: '-1' },
    },
    spec: {
      description: `slipway platform ${platform.name}: environments ${platform.environments.map((e) => e.name).join(', ')}`,
      sourceRepos: [...platform.sourceRepos],
      destinations: byKey(destinations),
      clusterResourceWhitelist: byKey(clusterKinds),
    },
  };
}

function rootApplication(platform: CompiledPlatform, env: CompiledEnvironment): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: {
      name: `${platform.name}-${env.name}`,
      namespace: platform.argocdNamespace,
      labels: { ...MANAGED_BY, 'app.kubernetes.io/part-of': platform.name, 'slipway.dev/environment': env.name },
    },
    spec: {
      // The platform's AppProject is created by this Application, so it cannot belong to it.
      project: 'default',
      source: { repoURL: platform.repoURL, targetRevision: platform.targetRevision, path: `apps/${env.name}` },
      destination: { server: IN_CLUSTER, namespace: platform.argocdNamespace },
      syncPolicy: syncPolicy(env.syncPolicy),
    },
  };
}

function childApplication(platform: CompiledPlatform, env: CompiledEnvironment, app: string): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: {
      name: `${platform.name}-${env.name}-${app}`,
      namespace: platform.argocdNamespace,
      labels: { ...MANAGED_BY, 'app.kubernetes.io/part-of': platform.name, 'slipway.dev/environment': env.name },
      annotations: { [SYNC_WAVE_ANNOTATION]: '0' },
      // Removing the application from Git deletes its objects from the cluster, not just the Application.
      finalizers: [RESOURCES_FINALIZER],
    },
    spec: {
      project: platform.name,
      source: { repoURL: platform.repoURL, targetRevision: platform.targetRevision, path: `environments/${env.name}/${app}` },
      destination: { server: env.clusterServer, namespace: env.namespace },
      syncPolicy: syncPolicy(env.syncPolicy),
    },
  };
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout', 'Job', 'CronJob']);

function summarize(platform: CompiledPlatform, env: CompiledEnvironment, app: CompiledApplication, path: string): ApplicationSummary {
  let modelVersion: string | undefined;
  const images = new Set<string>();
  // The serving workload carries the model's version; pipelines and other apps have none.
  for (const obj of app.objects) {
    if (!WORKLOAD_KINDS.has(obj.kind)) continue;
    modelVersion ??= obj.metadata.labels?.['app.kubernetes.io/version'];
    for (const image of containerImages(obj)) images.add(image);
  }
  return {
    platform: platform.name,
    environment: env.name,
    application: app.name,
    argoApplication: `${platform.name}-${env.name}-${app.name}`,
    path,
    objects: app.objects.length,
    ...(modelVersion !== undefined ? { modelVersion } : {}),
    images: [...images].sort(),
  };
}

function containerImages(obj: KubeObject): string[] {
  type PodSpec = { containers?: Array<{ image?: string }>; initContainers?: Array<{ image?: string }> };
  const spec = obj.spec as { template?: { spec?: PodSpec }; jobTemplate?: { spec?: { template?: { spec?: PodSpec } } } } | undefined;
  const pod = spec?.template?.spec ?? spec?.jobTemplate?.spec?.template?.spec;
  return (pod?.containers ?? []).map((c) => c.image).filter((i): i is string => typeof i === 'string');
}
