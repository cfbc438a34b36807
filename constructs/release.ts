import type { IConstruct } from 'constructs';

/**
 * Which build of a model runs in an environment. The config repository stores one per
 * environment and model (`releases/<env>/<model>.yaml`); the packaging pipeline writes it
 * with `slipway release`. TypeScript says *what* runs, the release says *which build*.
 */
export interface Release {
  readonly environment: string;
  readonly model: string;
  readonly version: string;
  /** sha256 of the model artifact, 64 lower-case hex digits. */
  readonly artifactSha256: string;
  /** Digest of the runtime image built with this model, `sha256:<64 hex>`. */
  readonly imageDigest: string;
  /**
   * Where the artifact of this build lives, when it differs from the one in the model's props.
   * @default - the artifact URI of the model's props
   */
  readonly artifactUri?: string;
  /**
   * Who approved this release into an environment with `requireApproval` (`--approved-by`).
   * @default - no approval recorded
   */
  readonly approvedBy?: readonly string[];
}

/** Context key under which `slipway synth` hands the release records to the app. */
export const RELEASES_CONTEXT_KEY = 'slipway:releases';

/** The release of `model` in `environment` recorded in the app's context, if any. */
export function findRelease(scope: IConstruct, environment: string, model: string): Release | undefined {
  const releases = scope.node.tryGetContext(RELEASES_CONTEXT_KEY) as readonly Release[] | undefined;
  return releases?.find((r) => r.environment === environment && r.model === model);
}
