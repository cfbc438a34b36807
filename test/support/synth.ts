import { App, Chart, Testing } from 'cdk8s';
import { Environment, Platform } from '../../constructs/index.js';

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // Manifests are free-form JSON; assertions dig into them freely.
  spec?: any;
  data?: Record<string, string>;
  [key: string]: unknown;
};

/** A platform with one environment, as the constructs see it in the example app. */
export function givenEnvironment(name = 'staging'): { app: App; platform: Platform; environment: Environment } {
  const app = Testing.app();
  const platform = new Platform(app, 'acme-ml', { repoURL: 'https://github.com/acme/ml-config.git' });
  const environment = new Environment(platform, name, { namespace: `ml-${name}` });
  return { app, platform, environment };
}

/** A chart inside an environment, for constructs that are not charts themselves. */
export function givenChart(name = 'app'): Chart {
  const { environment } = givenEnvironment();
  return new Chart(environment, name, { namespace: 'ml-staging', disableResourceNameHashes: true });
}

export function synth(chart: Chart): Manifest[] {
  return Testing.synth(chart) as Manifest[];
}

export function find(manifests: Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (!found) throw new Error(`no ${kind}${name ? ` ${name}` : ''} among ${manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ')}`);
  return found;
}

/** Every pod template in the manifests, with where it came from. */
export function podTemplates(manifests: Manifest[]): Array<{ owner: string; template: any }> {
  return manifests
    .filter((m) => m.spec?.template?.spec?.containers)
    .map((m) => ({ owner: `${m.kind}/${m.metadata.name}`, template: m.spec.template }));
}
