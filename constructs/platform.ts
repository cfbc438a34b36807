import { Construct, type IConstruct } from 'constructs';
import { PropValidator, dnsLabelProblem, isDns1123Label } from './private/validation.js';
import { SlipwayError } from '../lib/errors.js';

/** Argo CD automated sync settings shared by every Application of a platform or environment. */
export interface SyncPolicyOptions {
  /**
   * Let Argo CD sync changes from Git without a human pressing "Sync".
   * @default true
   */
  readonly automated?: boolean;
  /**
   * Delete objects that disappeared from Git.
   * @default true
   */
  readonly prune?: boolean;
  /**
   * Revert changes made to the cluster by hand.
   * @default true
   */
  readonly selfHeal?: boolean;
}

export interface PlatformProps {
  /**
   * Git URL of the config repository that Argo CD syncs (what `slipway synth` writes).
   */
  readonly repoURL: string;
  /**
   * Name of the platform: the Argo CD AppProject name and the `app.kubernetes.io/part-of` label.
   * @default - the construct id
   */
  readonly name?: string;
  /**
   * Branch, tag or commit of the config repository that Argo CD follows.
   * @default 'main'
   */
  readonly targetRevision?: string;
  /**
   * Namespace where Argo CD runs and where AppProjects and Applications live.
   * @default 'argocd'
   */
  readonly argocdNamespace?: string;
  /**
   * Extra Git repositories Applications of this platform may use, besides `repoURL`.
   * @default - only `repoURL`
   */
  readonly extraSourceRepos?: readonly string[];
  /**
   * Sync policy for every Application; environments may override it.
   * @default - automated, with prune and selfHeal
   */
  readonly syncPolicy?: SyncPolicyOptions;
}

/**
 * The root of a slipway platform: the models of one organisation or team, deployed to one
 * or more {@link Environment}s. It becomes an Argo CD AppProject, and each environment
 * below it a folder of Applications in the config repository.
 */
export class Platform extends Construct {
  /** Finds the Platform that `scope` belongs to, or throws with a fix. */
  static of(scope: IConstruct): Platform {
    const found = Platform.tryOf(scope);
    if (!found) {
      throw new SlipwayError(
        'NOT_IN_PLATFORM',
        `'${scope.node.path}' is not inside a Platform: create it under ` +
          `new Platform(app, 'name', { repoURL }) → new Environment(platform, 'staging').`,
      );
    }
    return found;
  }

  static tryOf(scope: IConstruct): Platform | undefined {
    return scope.node.scopes.find((s): s is Platform => s instanceof Platform);
  }

  static isPlatform(x: unknown): x is Platform {
    return x instanceof Platform;
  }

  readonly name: string;
  readonly repoURL: string;
  readonly targetRevision: string;
  readonly argocdNamespace: string;
  readonly sourceRepos: readonly string[];
  readonly syncPolicy: Required<SyncPolicyOptions>;

  constructor(scope: Construct, id: string, props: PlatformProps) {
    super(scope, id);
    this.name = props.name ?? id;
    this.repoURL = props.repoURL;
    this.targetRevision = props.targetRevision ?? 'main';
    this.argocdNamespace = props.argocdNamespace ?? 'argocd';
    this.sourceRepos = [props.repoURL, ...(props.extraSourceRepos ?? [])];
    this.syncPolicy = resolveSyncPolicy(props.syncPolicy);

    const v = new PropValidator(this, 'Platform');
    v.check(isDns1123Label(this.name), 'name', dnsLabelProblem(this.name));
    v.check(isDns1123Label(this.argocdNamespace), 'argocdNamespace', dnsLabelProblem(this.argocdNamespace));
    for (const [i, repo] of this.sourceRepos.entries()) {
      v.check(
        /^(https?:\/\/|ssh:\/\/|git@|file:\/\/)\S+$/.test(repo),
        i === 0 ? 'repoURL' : `extraSourceRepos[${i - 1}]`,
        `expected a Git URL (https://, ssh://, git@host:path or file://), got ${JSON.stringify(repo)}`,
      );
    }
    v.throwIfInvalid();
  }
}

export function resolveSyncPolicy(
  options: SyncPolicyOptions | undefined,
  base: Required<SyncPolicyOptions> = { automated: true, prune: true, selfHeal: true },
): Required<SyncPolicyOptions> {
  return {
    automated: options?.automated ?? base.automated,
    prune: options?.prune ?? base.prune,
    selfHeal: options?.selfHeal ?? base.selfHeal,
  };
}
