/**
 * The in-toto vocabulary statements and their envelopes share: kept apart from dsse.ts so that
 * building a statement does not load Sigstore's signer and verifier.
 */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const SIGSTORE_BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export interface ResourceDescriptor {
  readonly name: string;
  readonly digest: Readonly<Record<string, string>>;
}

export interface Statement<P = unknown> {
  readonly _type: typeof IN_TOTO_STATEMENT_V1;
  readonly subject: readonly ResourceDescriptor[];
  readonly predicateType: string;
  readonly predicate: P;
}
