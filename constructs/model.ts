import { Construct } from 'constructs';
import { locationCredentialProblem } from '../lib/vocabulary/build.js';
import { TENSOR_DATATYPES, type TensorSpec } from '../lib/vocabulary/tensors.js';
import { PropValidator, dnsLabelProblem, isDns1123Label } from './private/validation.js';

export { TENSOR_DATATYPES, type TensorDatatype, type TensorSpec } from '../lib/vocabulary/tensors.js';

/** Serialisation formats the slipway runtime serves. */
export type ModelFormat = 'onnx';

export interface ModelProps {
  /** Model name: a DNS-1123 label, used for Kubernetes object names and metric labels. */
  readonly name: string;
  /** Version of this build, e.g. `1.4.0`. */
  readonly version: string;
  /** Team or person accountable for the model (recorded as an annotation). */
  readonly owner: string;
  /**
   * Where the model file lives: `s3://`, `gs://`, `https://`, `oci://` (pinned by digest),
   * `pvc://<claim>/<path>`, or `image` (inside the runtime image, as the packaging pipeline
   * builds it). A release record's `modelLocation` wins over it.
   */
  readonly artifactUri: string;
  /** sha256 of the model file, 64 lower-case hex digits; the pod refuses other bytes. */
  readonly artifactSha256: string;
  /** Inputs of the model's signature. */
  readonly inputs: readonly TensorSpec[];
  /** Outputs of the model's signature. */
  readonly outputs: readonly TensorSpec[];
  /**
   * Serialisation format.
   * @default 'onnx'
   */
  readonly format?: ModelFormat;
  /**
   * Free-form labels added to every object of the model (e.g. `team`, `domain`).
   * @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Human description, recorded as an annotation.
   * @default - none
   */
  readonly description?: string;
  /**
   * Drift baseline profile (`slipway baseline` output) shipped beside the model; same schemes
   * as `artifactUri`. Enables live drift in the runtime.
   * @default - no baseline: the runtime measures no drift
   */
  readonly baselineUri?: string;
  /**
   * sha256 of the baseline profile file. Required with `baselineUri`.
   * @default - none
   */
  readonly baselineSha256?: string;
}

/** How the artifact gets into the pod, derived from the location: `image` needs no fetch. */
export type ArtifactScheme = 'image' | 's3' | 'gs' | 'https' | 'oci' | 'pvc';

const SCHEMES: Readonly<Record<ArtifactScheme, RegExp>> = {
  image: /^image$/,
  s3: /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/\S*)?$/,
  gs: /^gs:\/\/[a-z0-9][a-z0-9._-]{1,61}[a-z0-9](\/\S*)?$/,
  https: /^https:\/\/[^\s/]+\/\S+$/,
  oci: /^oci:\/\/[^\s@]+@sha256:[0-9a-f]{64}$/,
  pvc: /^pvc:\/\/[a-z0-9]([-a-z0-9]*[a-z0-9])?\/\S+$/,
};

export const SHA256_HEX = /^[0-9a-f]{64}$/;
// A version doubles as the app.kubernetes.io/version label, so it obeys label-value rules.
const VERSION = /^[0-9A-Za-z]([0-9A-Za-z._-]{0,61}[0-9A-Za-z])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

export function artifactScheme(uri: string): ArtifactScheme | undefined {
  if (locationCredentialProblem(uri)) return undefined;
  return (Object.keys(SCHEMES) as ArtifactScheme[]).find((s) => SCHEMES[s].test(uri));
}

/**
 * A trained model: what it is (name, version, signature), where its bytes are and how to
 * check them, and who owns it. It emits no Kubernetes objects; {@link ModelServing} and
 * {@link DriftMonitor} read it.
 */
export class Model extends Construct {
  readonly name: string;
  readonly version: string;
  readonly owner: string;
  readonly format: ModelFormat;
  readonly artifactUri: string;
  readonly artifactSha256: string;
  readonly artifactScheme: ArtifactScheme;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly labels: Readonly<Record<string, string>>;
  readonly description?: string;
  readonly baselineUri?: string;
  readonly baselineSha256?: string;

  constructor(scope: Construct, id: string, props: ModelProps) {
    super(scope, id);
    this.name = props.name;
    this.version = props.version;
    this.owner = props.owner;
    this.format = props.format ?? 'onnx';
    this.artifactUri = props.artifactUri;
    this.artifactSha256 = props.artifactSha256;
    this.inputs = props.inputs;
    this.outputs = props.outputs;
    this.labels = props.labels ?? {};
    this.description = props.description;
    this.baselineUri = props.baselineUri;
    this.baselineSha256 = props.baselineSha256;

    const v = new PropValidator(this, 'Model');
    v.check(isDns1123Label(props.name), 'name', dnsLabelProblem(props.name));
    v.check(
      VERSION.test(props.version),
      'version',
      `expected a version such as "1.4.0" (letters, digits, '.', '_', '-'; at most 63 characters, usable as a label value), got ${JSON.stringify(props.version)}`,
    );
    v.check(props.owner.trim().length > 0, 'owner', 'expected the owning team or person, got an empty string');
    v.check(this.format === 'onnx', 'format', `expected "onnx" (the only format the runtime serves), got ${JSON.stringify(this.format)}`);
    const scheme = artifactScheme(props.artifactUri);
    v.check(scheme !== undefined, 'artifactUri', uriProblem(props.artifactUri));
    this.artifactScheme = scheme ?? 'https';
    v.check(SHA256_HEX.test(props.artifactSha256), 'artifactSha256', sha256Problem(props.artifactSha256));
    if (props.baselineUri !== undefined || props.baselineSha256 !== undefined) {
      v.check(props.baselineUri !== undefined, 'baselineUri', 'expected the baseline URI, since baselineSha256 is set');
      v.check(props.baselineSha256 !== undefined, 'baselineSha256', 'expected the sha256 of the baseline file, since baselineUri is set');
      if (props.baselineUri !== undefined) {
        const baselineScheme = artifactScheme(props.baselineUri);
        v.check(baselineScheme !== undefined, 'baselineUri', uriProblem(props.baselineUri));
        v.check(
          (baselineScheme === 'image') === (scheme === 'image'),
          'baselineUri',
          `expected the baseline where the model is (both 'image', or both store URIs), got ${JSON.stringify(props.baselineUri)} with artifactUri ${JSON.stringify(props.artifactUri)}`,
        );
      }
      if (props.baselineSha256 !== undefined) {
        v.check(SHA256_HEX.test(props.baselineSha256), 'baselineSha256', sha256Problem(props.baselineSha256));
      }
    }
    checkTensors(v, 'inputs', props.inputs);
    checkTensors(v, 'outputs', props.outputs);
    for (const [key, value] of Object.entries(this.labels)) {
      v.check(LABEL_KEY.test(key), `labels.${key}`, `expected a Kubernetes label key, got ${JSON.stringify(key)}`);
      v.check(LABEL_VALUE.test(value), `labels.${key}`, `expected a Kubernetes label value (at most 63 characters of letters, digits, '-', '_', '.'), got ${JSON.stringify(value)}`);
    }
    v.throwIfInvalid();
  }
}

function uriProblem(uri: string): string {
  return (
    locationCredentialProblem(uri) ??
    `expected s3://bucket/key, gs://bucket/key, https://host/path, oci://registry/repo@sha256:<64 hex>, ` +
      `pvc://claim/path or 'image', got ${JSON.stringify(uri)}`
  );
}

export function sha256Problem(value: unknown): string {
  return `expected 64 lower-case hex digits (the output of sha256sum), got ${JSON.stringify(value)}`;
}

function checkTensors(v: PropValidator, field: 'inputs' | 'outputs', tensors: readonly TensorSpec[]): void {
  v.check(tensors.length > 0, field, `expected at least one tensor, got none`);
  const seen = new Set<string>();
  tensors.forEach((t, i) => {
    const at = `${field}[${i}]`;
    v.check(/^\S+$/.test(t.name), `${at}.name`, `expected a tensor name without spaces, got ${JSON.stringify(t.name)}`);
    v.check(!seen.has(t.name), `${at}.name`, `expected unique tensor names, got ${JSON.stringify(t.name)} twice`);
    seen.add(t.name);
    v.check(
      TENSOR_DATATYPES.includes(t.datatype),
      `${at}.datatype`,
      `expected one of ${TENSOR_DATATYPES.join(', ')}, got ${JSON.stringify(t.datatype)}`,
    );
    v.check(
      t.shape.every((d) => Number.isInteger(d) && (d === -1 || d >= 1)),
      `${at}.shape`,
      `expected dimensions that are positive integers or -1 (dynamic), got ${JSON.stringify(t.shape)}`,
    );
  });
}
