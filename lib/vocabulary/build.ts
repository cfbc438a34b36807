/**
 * The build: what one training run produced. It flows unchanged from the pipeline's
 * `build.json` to the release record (`releases/<env>/<model>.yaml`) to the pod that serves
 * it. Shape fixed by CONTRACTS.md; schemas/build.schema.json is its JSON Schema.
 */

/** `image`: inside the built runtime image, under {@link IMAGE_MODEL_REPOSITORY}; else a store URI without credentials. */
export type ArtifactLocation = 'image' | string;

export const IMAGE_LOCATION = 'image';

/** Where the package step puts the model repository inside the runtime image: `<root>/<model>/<version>/`. */
export const IMAGE_MODEL_REPOSITORY = '/models';

/** File names of a build's artifacts inside a model version directory. */
export const MODEL_FILE = 'model.onnx';
export const BASELINE_FILE = 'baseline.json';

/** `performance`: live accuracy from ground truth fell below the build's own gate metrics. */
export type BuildTrigger = 'push' | 'drift' | 'performance' | 'manual';
export const BUILD_TRIGGERS: readonly BuildTrigger[] = ['push', 'drift', 'performance', 'manual'];

export interface BuildSource {
  readonly repository: string;
  readonly commit: string;
  /** RFC 3339. */
  readonly committedAt?: string;
}

export interface BuildRecord {
  readonly model: string;
  readonly version: string;
  /** 64 lower-case hex digits. */
  readonly modelSha256: string;
  readonly modelLocation: ArtifactLocation;
  readonly baselineSha256?: string;
  readonly baselineLocation?: ArtifactLocation;
  /** `sha256:<64 hex>` of the runtime image built with this model. */
  readonly imageDigest: string;
  readonly source?: BuildSource;
  readonly trainingDataSha256?: string;
  /** The numeric metrics the gates read. */
  readonly metrics?: Readonly<Record<string, number>>;
  readonly trigger?: BuildTrigger;
  readonly pipelineRun?: string;
  /** RFC 3339, set by the pipeline, never by synth. */
  readonly builtAt?: string;
}

/** Why a challenger replaced the champion: both live values and the margin it had to win by. */
export interface ChallengerDecision {
  /** Version of the champion it replaced. */
  readonly replaced: string;
  readonly metric: string;
  readonly champion: number;
  readonly challenger: number;
  readonly margin: number;
  readonly samples: { readonly champion: number; readonly challenger: number };
  /** Where the numbers came from. */
  readonly source?: string;
}

/** A build recorded for one environment. */
export interface Release extends BuildRecord {
  readonly environment: string;
  /** Added by the approvals work (issue 14). */
  readonly approvedBy?: readonly string[];
  /** A challenger build served beside this one, receiving mirrored traffic. */
  readonly challenger?: BuildRecord;
  /** Present when this build was the challenger and won. */
  readonly challengerDecision?: ChallengerDecision;
}

/**
 * Why a location would leak a credential into Git, or undefined. User info and query
 * parameters that carry secrets (pre-signed URLs, tokens) are refused: credentials come from
 * the pod's service account, never from the record.
 */
export function locationCredentialProblem(location: string): string | undefined {
  if (location === IMAGE_LOCATION) return undefined;
  const authority = /^[a-z0-9]+:\/\/([^/?#]*)/i.exec(location)?.[1] ?? '';
  // The authority ends at the first '/', so an oci:// digest (`repo@sha256:…`) is not user info.
  if (authority.includes('@')) {
    return `expected a location without credentials, got user info in ${redact(location)}; let the service account authenticate`;
  }
  const query = location.indexOf('?');
  if (query !== -1) {
    const names = new URLSearchParams(location.slice(query + 1).split('#', 1)[0]).keys();
    for (const name of names) {
      if (SECRET_QUERY.test(name)) {
        return `expected a location without credentials, got the query parameter '${name}' in ${redact(location)}; pre-signed or token URLs must not be recorded`;
      }
    }
  }
  return undefined;
}

const SECRET_QUERY = /token|sig|signature|credential|secret|password|passwd|key|auth|sas|^se$|^sp$|^sv$/i;

/** The location with user info and query values replaced, so an error message never repeats a secret. */
export function redact(location: string): string {
  return location
    .replace(/^([a-z0-9]+:\/\/)[^/?#@]*@/i, '$1***@')
    .replace(/([?&][^=&#]+)=[^&#]*/g, '$1=***');
}
