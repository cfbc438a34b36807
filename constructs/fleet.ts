import { ApiObject, JsonPatch } from 'cdk8s';
import { Construct, type IConstruct } from 'constructs';
import { SlipwayError } from '../lib/errors.js';
import { SIMPLE_DURATION } from '../lib/vocabulary/durations.js';
import { SITE_LABEL, WAVE_LABEL } from '../lib/vocabulary/fleet.js';
import { type FleetAdvanceJobOptions, advanceCronJob } from './fleet/advance-job.js';
import { buildFleetFromFile } from './fleet/spec-file.js';
import { FleetWave } from './fleet/wave.js';
import { type FleetSite, type FleetWaveSpec, type Labels, matches, planWaves } from './fleet/plan.js';
import { ModelDeployment, type ModelDeploymentOverrides, type ModelDeploymentProps } from './model-deployment.js';
import { Platform, resolveSyncPolicy, type SyncPolicyOptions } from './platform.js';
import { PropValidator, dnsLabelProblem, isDns1123Label } from './private/validation.js';

export type { FleetSite, FleetWaveSpec, Labels } from './fleet/plan.js';
export { FleetWave } from './fleet/wave.js';
export type { FleetAdvanceJobOptions } from './fleet/advance-job.js';

export { SITE_LABEL, WAVE_LABEL } from '../lib/vocabulary/fleet.js';

/** A kind of site (edge CPU boxes, GPU data centres) and how its serving differs. */
export interface FleetGroup {
  /** Group name: part of the folder of its manifests. */
  readonly name: string;
  /** Sites whose cluster-secret labels match belong to the group. */
  readonly selector: Labels;
  /**
   * Overrides over every model's props on these sites (replicas, cpu, memory, gpu, …).
   * @default - none
   */
  readonly overrides?: ModelDeploymentOverrides;
}

export interface FleetProps {
  /**
   * Fleet name: the folder `fleets/<name>`, the ApplicationSet and the prefix of its wave environments.
   * @default - the construct id
   */
  readonly name?: string;
  /** Argo CD cluster-secret labels that choose the fleet's clusters (the ApplicationSet's cluster generator selector). */
  readonly selector: Labels;
  /**
   * The inventory: Argo CD clusters with their secret labels (`argocd cluster list`). Those matching
   * `selector` form the fleet; waves and groups are planned over them.
   */
  readonly sites: readonly FleetSite[];
  /** The models every site serves, as for a {@link ModelDeployment}. */
  readonly models: readonly ModelDeploymentProps[];
  /**
   * Kinds of site with their serving overrides; every site must match exactly one.
   * @default - one group 'default' with every site and no overrides
   */
  readonly groups?: readonly FleetGroup[];
  /** The rollout plan: a canary wave naming its sites, then percentages or selectors up to every site. */
  readonly waves: readonly FleetWaveSpec[];
  /**
   * How long a wave runs the new version before `slipway fleet advance` may take the next one.
   * @default '10m'
   */
  readonly bakeTime?: string;
  /**
   * Share of a wave's sites that must be healthy to advance, in (0, 1].
   * @default 1
   */
  readonly successThreshold?: number;
  /**
   * Roll the wave back (a commit) when its gate fails, besides halting the rollout.
   * @default true
   */
  readonly autoRollback?: boolean;
  /**
   * Prometheus (or Thanos) query URL that sees every site's metrics, for the gate.
   * @default - none: pass `--prometheus` to slipway fleet advance
   */
  readonly prometheusUrl?: string;
  /**
   * Run `slipway fleet advance` on a schedule: a CronJob on the hub (needs `prometheusUrl`).
   * @default - none: run it by hand or from a pipeline
   */
  readonly advanceJob?: FleetAdvanceJobOptions;
  /**
   * Namespace of the models on every site.
   * @default - `<platform>-<fleet>`
   */
  readonly namespace?: string;
  /**
   * Sync policy of the generated Applications.
   * @default - the platform's sync policy
   */
  readonly syncPolicy?: SyncPolicyOptions;
}

/** A fleet spec file (YAML or JSON): {@link FleetProps} with a required name. */
export interface FleetSpec extends FleetProps {
  /** JSON Schema reference for editors; ignored by slipway. */
  readonly $schema?: string;
  /** Fleet name: the folder `fleets/<name>`, the ApplicationSet and the prefix of its wave environments. */
  readonly name: string;
}

/** Gate thresholds of one model, from its own serving alert thresholds. */
export interface FleetModelGate {
  readonly model: string;
  readonly maxErrorRatio: number;
  readonly maxLatencyP99Seconds: number;
}

/** Everything the compiler and `slipway fleet` need, resolved once. */
export interface FleetPlan {
  readonly name: string;
  readonly platform: string;
  readonly namespace: string;
  readonly selector: Labels;
  readonly groups: ReadonlyArray<{ readonly name: string; readonly selector: Labels }>;
  readonly models: readonly FleetModelGate[];
  readonly waves: ReadonlyArray<{ readonly name: string; readonly environment: string; readonly sites: ReadonlyArray<{ readonly name: string; readonly group: string }> }>;
  readonly bakeTime: string;
  readonly successThreshold: number;
  readonly autoRollback: boolean;
  readonly prometheusUrl?: string;
  readonly syncPolicy: Required<SyncPolicyOptions>;
}

/**
 * Many clusters and edge sites, chosen by Argo CD cluster-secret labels and rolled out in waves.
 * Each wave is an environment (`<fleet>-<wave>`) rendered once per group and model, so the
 * config repository grows with waves × groups × models, not sites × models; one ApplicationSet
 * sends every site the folder of its wave and group, and stamps the `site` label on what it deploys.
 */
export class Fleet extends Construct {
  static isFleet(x: unknown): x is Fleet {
    return x instanceof Fleet;
  }

  /**
   * Loads a fleet spec file (YAML or JSON), checks it against `schemas/fleet.schema.json` and
   * builds the Fleet; every problem, the plan's included, is reported with file:line:column.
   */
  static fromFile(scope: Platform, file: string): Fleet {
    return buildFleetFromFile(file, (props) => new Fleet(scope, props.name, props));
  }

  static tryOf(scope: IConstruct): Fleet | undefined {
    return scope.node.scopes.find((s): s is Fleet => s instanceof Fleet);
  }

  readonly plan: FleetPlan;
  readonly waves: readonly FleetWave[];
  /** Objects for the hub, beside the ApplicationSet (the advance CronJob). */
  readonly hubObjects: ReadonlyArray<Record<string, unknown>>;

  constructor(scope: Platform, id: string, props: FleetProps) {
    super(scope, id);
    const platform = Platform.of(scope);
    const name = props.name ?? id;
    const v = new PropValidator(this, 'Fleet');
    v.check(isDns1123Label(name), 'name', dnsLabelProblem(name));
    const namespace = props.namespace ?? `${platform.name}-${name}`;
    v.check(isDns1123Label(namespace), 'namespace', dnsLabelProblem(namespace));
    const bakeTime = props.bakeTime ?? '10m';
    v.check(SIMPLE_DURATION.test(bakeTime), 'bakeTime', `expected a duration such as '30s', '10m' or '1h', got ${JSON.stringify(bakeTime)}`);
    const successThreshold = props.successThreshold ?? 1;
    v.check(successThreshold > 0 && successThreshold <= 1, 'successThreshold', `expected a share of a wave's sites in (0, 1], got ${successThreshold}`);
    v.check(Object.keys(props.selector).length > 0, 'selector', 'expected at least one cluster-secret label (e.g. { "site-type": "edge" }); an empty selector would take every cluster Argo CD knows');
    v.check(props.models.length > 0, 'models', 'expected at least one model');
    if (props.advanceJob) {
      v.check(props.prometheusUrl !== undefined, 'advanceJob', 'the scheduled gate asks Prometheus: set prometheusUrl too');
      v.check(/@sha256:[0-9a-f]{64}$/.test(props.advanceJob.image), 'advanceJob.image', `expected an image pinned by digest (…@sha256:<64 hex>), got ${JSON.stringify(props.advanceJob.image)}`);
      v.check(isDns1123Label(props.advanceJob.gitCredentialsSecret), 'advanceJob.gitCredentialsSecret', dnsLabelProblem(props.advanceJob.gitCredentialsSecret));
    }
    if (props.prometheusUrl !== undefined) v.check(/^https?:\/\/\S+$/.test(props.prometheusUrl), 'prometheusUrl', `expected an http(s) URL, got ${JSON.stringify(props.prometheusUrl)}`);
    const seenSites = new Set<string>();
    for (const [i, site] of props.sites.entries()) {
      v.check(isDns1123Label(site.name), `sites[${i}].name`, dnsLabelProblem(site.name));
      v.check(!seenSites.has(site.name), `sites[${i}].name`, `site '${site.name}' is listed twice`);
      seenSites.add(site.name);
    }
    const groups = props.groups ?? [{ name: 'default', selector: {} }];
    for (const [i, g] of groups.entries()) v.check(isDns1123Label(g.name), `groups[${i}].name`, dnsLabelProblem(g.name));
    for (const [i, w] of props.waves.entries()) {
      v.check(isDns1123Label(w.name) && isDns1123Label(`${name}-${w.name}`), `waves[${i}].name`, dnsLabelProblem(`${name}-${w.name}`));
    }
    v.throwIfInvalid();

    const sites = props.sites.filter((s) => matches(s.labels, props.selector));
    const problems: Array<{ code: string; field: string; message: string }> = [];
    const groupOf = new Map<string, string>();
    for (const site of sites) {
      const found = groups.filter((g) => matches(site.labels, g.selector));
      if (found.length !== 1) {
        problems.push({
          code: 'FLEET_INVALID_GROUPS',
          field: 'groups',
          message: `site '${site.name}' (labels ${JSON.stringify(site.labels ?? {})}) matches ${found.length === 0 ? 'no group' : `groups ${found.map((g) => `'${g.name}'`).join(' and ')}`}: every site needs exactly one`,
        });
      } else {
        groupOf.set(site.name, found[0]!.name);
      }
    }
    const planned = planWaves(name, sites, props.waves);
    problems.push(...planned.problems);
    if (problems.length > 0) {
      const code = problems[0]!.code;
      throw new SlipwayError(
        code,
        `Fleet at '${this.node.path}' has an invalid plan:\n${problems.map((p) => `  - ${p.field}: ${p.message} (${p.code})`).join('\n')}`,
      );
    }

    this.plan = Object.freeze({
      name,
      platform: platform.name,
      namespace,
      selector: { ...props.selector },
      groups: groups.map((g) => ({ name: g.name, selector: { ...g.selector } })),
      models: props.models.map((m) => ({ model: m.name, maxErrorRatio: m.errorRatioThreshold ?? 0.05, maxLatencyP99Seconds: m.latencyP99Seconds ?? 0.5 })),
      waves: planned.waves.map((w) => ({ name: w.name, environment: `${name}-${w.name}`, sites: w.sites.map((s) => ({ name: s, group: groupOf.get(s)! })) })),
      bakeTime,
      successThreshold,
      autoRollback: props.autoRollback ?? true,
      ...(props.prometheusUrl ? { prometheusUrl: props.prometheusUrl } : {}),
      syncPolicy: resolveSyncPolicy(props.syncPolicy, platform.syncPolicy),
    });

    this.hubObjects = props.advanceJob
      ? [
          advanceCronJob({
            fleet: name,
            platform: platform.name,
            namespace: platform.argocdNamespace,
            configRepository: platform.repoURL,
            prometheusUrl: props.prometheusUrl!,
            models: this.plan.models.map((m) => m.model),
            options: props.advanceJob,
          }),
        ]
      : [];

    this.waves = this.plan.waves.map((w) => {
      const wave = new FleetWave(this, w.name, { name: w.environment, namespace, syncPolicy: this.plan.syncPolicy }, name, w.name);
      // Only the groups that have sites in this wave get manifests.
      const used = new Set(w.sites.map((s) => s.group));
      for (const group of groups.filter((g) => used.has(g.name))) {
        for (const model of props.models) {
          const deployment = new ModelDeployment(wave, `${group.name}-${model.name}`, { ...model, ...group.overrides, namespace });
          stampWave(deployment, w.name);
        }
      }
      return wave;
    });
  }
}

/**
 * Every object of a wave carries `wave: <name>` (a folder is one wave); the ApplicationSet adds
 * `site` per cluster. The ServiceMonitor copies both from the Service onto every series, so the
 * gate can ask Prometheus per site.
 */
function stampWave(deployment: ModelDeployment, wave: string): void {
  for (const c of deployment.node.findAll()) {
    if (!(c instanceof ApiObject)) continue;
    c.metadata.addLabel(WAVE_LABEL, wave);
    if (c.kind === 'ServiceMonitor') c.addJsonPatch(JsonPatch.add('/spec/targetLabels', [SITE_LABEL, WAVE_LABEL]));
  }
}
