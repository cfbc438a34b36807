import { Chart } from 'cdk8s';
import { Construct, type IConstruct } from 'constructs';
import { Platform, resolveSyncPolicy, type SyncPolicyOptions } from './platform.js';
import { PropValidator, dnsLabelProblem, isDns1123Label } from './private/validation.js';
import { SlipwayError } from '../lib/errors.js';

export interface EnvironmentProps {
  /**
   * Name of the environment: its folder in the config repository and part of its Argo CD names.
   * @default - the construct id
   */
  readonly name?: string;
  /**
   * Namespace the environment's applications deploy into.
   * @default - `<platform>-<environment>`
   */
  readonly namespace?: string;
  /**
   * API server URL of the cluster this environment runs on, as Argo CD knows it.
   * @default 'https://kubernetes.default.svc' (the cluster Argo CD runs in)
   */
  readonly clusterServer?: string;
  /**
   * Namespace where Prometheus runs: it may scrape metrics ports and owns ServiceMonitors.
   * @default 'monitoring'
   */
  readonly monitoringNamespace?: string;
  /**
   * Overrides the platform's sync policy for this environment (e.g. manual sync for prod).
   * @default - the platform's sync policy
   */
  readonly syncPolicy?: SyncPolicyOptions;
  /**
   * Releases and promotions into this environment need a person's approval: `slipway release`
   * and `promote` then require `--approved-by NAME` (recorded in the commit and the record) or
   * `--review` (a commit on a review branch for a pull request, main untouched).
   * @default false
   */
  readonly requireApproval?: boolean;
  /**
   * Who may approve, when `requireApproval` is set.
   * @default - anyone
   */
  readonly approvers?: readonly string[];
}

/**
 * One deployment target (staging, prod, an edge site): a folder in the config repository
 * with one Argo CD Application per chart (application) below it.
 */
export class Environment extends Construct {
  /** Finds the Environment that `scope` belongs to, or throws with a fix. */
  static of(scope: IConstruct): Environment {
    const found = Environment.tryOf(scope);
    if (!found) {
      throw new SlipwayError(
        'NOT_IN_ENVIRONMENT',
        `'${scope.node.path}' is not inside an Environment: create it under ` +
          `new Environment(platform, 'staging').`,
      );
    }
    return found;
  }

  static tryOf(scope: IConstruct): Environment | undefined {
    return scope.node.scopes.find((s): s is Environment => s instanceof Environment);
  }

  readonly name: string;
  readonly namespace: string;
  readonly clusterServer: string;
  readonly monitoringNamespace: string;
  readonly platform: Platform;
  readonly syncPolicy: Required<SyncPolicyOptions>;
  readonly requireApproval: boolean;
  readonly approvers?: readonly string[];

  // Usually directly below the Platform; a Fleet's waves are environments below the Fleet.
  constructor(scope: Construct, id: string, props: EnvironmentProps = {}) {
    super(scope, id);
    const platform = Platform.of(scope);
    this.platform = platform;
    this.name = props.name ?? id;
    this.namespace = props.namespace ?? `${platform.name}-${this.name}`;
    this.clusterServer = props.clusterServer ?? 'https://kubernetes.default.svc';
    this.monitoringNamespace = props.monitoringNamespace ?? 'monitoring';
    this.syncPolicy = resolveSyncPolicy(props.syncPolicy, platform.syncPolicy);
    this.requireApproval = props.requireApproval ?? false;
    if (props.approvers !== undefined) this.approvers = Object.freeze([...props.approvers]);

    const v = new PropValidator(this, 'Environment');
    v.check(isDns1123Label(this.name), 'name', dnsLabelProblem(this.name));
    v.check(isDns1123Label(this.namespace), 'namespace', dnsLabelProblem(this.namespace));
    v.check(isDns1123Label(this.monitoringNamespace), 'monitoringNamespace', dnsLabelProblem(this.monitoringNamespace));
    v.check(
      /^https:\/\/\S+$/.test(this.clusterServer),
      'clusterServer',
      `expected the cluster's API server URL (https://…), got ${JSON.stringify(this.clusterServer)}`,
    );
    if (props.approvers !== undefined) {
      v.check(
        this.requireApproval,
        'approvers',
        `approvers only apply when requireApproval is true: set requireApproval: true or remove approvers, got ${JSON.stringify(props.approvers)}`,
      );
      v.check(
        props.approvers.length > 0 && props.approvers.every((a) => typeof a === 'string' && /^\S(.*\S)?$/.test(a) && !a.includes('\n')),
        'approvers',
        `expected a non-empty list of names without surrounding spaces, got ${JSON.stringify(props.approvers)}`,
      );
    }
    v.throwIfInvalid();
  }

  /** The applications of this environment: every chart below it, in construct order. */
  get applications(): Chart[] {
    return this.node.findAll().filter((c): c is Chart => Chart.isChart(c));
  }
}
