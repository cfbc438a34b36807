/**
 * Models as OCI artifacts (docs/supply-chain.md): `oci://registry/repository@sha256:<hex>`,
 * pinned by digest so the reference names exact bytes, with no credentials in it (they come
 * from the registry auth file). Shared by the release records, the CLI and the constructs.
 */
import { SlipwayError } from '../errors.js';
import { redact } from './build.js';

export const OCI_SCHEME = 'oci://';

export interface OciModelReference {
  /** `host[:port]` */
  readonly host: string;
  /** Repository path inside the registry. */
  readonly name: string;
  /** `sha256:<64 hex>` of the artifact manifest. */
  readonly digest: string;
}

const REFERENCE = /^oci:\/\/([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::\d{1,5})?)\/([a-z0-9]+(?:(?:[._]|__|-+|\/)[a-z0-9]+)*)@(sha256:[0-9a-f]{64})$/;

/** Why `location` is not a digest-pinned oci:// model reference without credentials, or undefined. */
export function ociModelReferenceProblem(location: string): string | undefined {
  if (REFERENCE.test(location)) return undefined;
  const rest = location.slice(OCI_SCHEME.length);
  const authority = rest.split('/', 1)[0] ?? '';
  if (authority.includes('@')) return 'expected no credentials in an oci:// location (they come from the registry auth file), got user info before the registry host';
  if (!rest.includes('@sha256:')) return `expected oci://registry/repository@sha256:<64 hex> pinned by digest, got ${JSON.stringify(redact(location))} (a tag can move; record the digest push-model printed)`;
  return `expected oci://registry/repository@sha256:<64 hex> (lower-case repository, 64 hex digits), got ${JSON.stringify(redact(location))}`;
}

export function parseOciModelReference(location: string): OciModelReference {
  const problem = ociModelReferenceProblem(location);
  if (problem) throw new SlipwayError('MODEL_OCI_REFERENCE_INVALID', problem, 2);
  const [, host, name, digest] = REFERENCE.exec(location)!;
  return { host: host!, name: name!, digest: digest! };
}
