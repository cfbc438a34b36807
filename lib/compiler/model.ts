// What the compiler knows about a cdk8s app once it is built: plain data, no constructs.
import type { FleetPlan } from '../../constructs/fleet.js';

export type { FleetPlan } from '../../constructs/fleet.js';

export type SyncPolicy = { readonly automated: boolean; readonly prune: boolean; readonly selfHeal: boolean };

/** A Kubernetes object as synthesized by a chart. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    readonly [field: string]: unknown;
  };
  readonly [field: string]: unknown;
}

export interface CompiledApplication {
  /** The chart id: folder name and part of the Argo CD Application name. */
  readonly name: string;
  readonly constructPath: string;
  readonly objects: readonly KubeObject[];
}

export interface CompiledEnvironment {
  readonly name: string;
  readonly namespace: string;
  readonly clusterServer: string;
  readonly monitoringNamespace: string;
  readonly syncPolicy: SyncPolicy;
  readonly applications: readonly CompiledApplication[];
  /** Set when the environment is a wave of a fleet: rendered under fleets/, synced by the fleet's ApplicationSet. */
  readonly fleetWave?: { readonly fleet: string; readonly wave: string };
}

/** A fleet's plan (written to fleet.yaml) and the objects it adds on the hub. */
export type CompiledFleet = FleetPlan & { readonly hubObjects?: readonly KubeObject[] };

export interface CompiledPlatform {
  readonly name: string;
  readonly repoURL: string;
  readonly targetRevision: string;
  readonly argocdNamespace: string;
  readonly sourceRepos: readonly string[];
  readonly syncPolicy: SyncPolicy;
  readonly environments: readonly CompiledEnvironment[];
  /** The platform's fleets (docs/fleets.md). */
  readonly fleets?: readonly CompiledFleet[];
}
