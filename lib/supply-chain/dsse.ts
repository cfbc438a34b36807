/**
 * In-toto statements signed as DSSE envelopes inside Sigstore bundles (v0.3), the format cosign
 * (new bundle format), Tekton Chains and OpenSSF model_signing write. sigstore-js builds and
 * verifies the bundles; the signer is a local key (no Fulcio, no Rekor: offline), which
 * sigstore-js supports through its Signer interface and a public-key trust finder.
 */
import { bundleFromJSON, bundleToJSON, type SerializedBundle } from '@sigstore/bundle';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { createHash, sign, type KeyObject } from 'node:crypto';
import { SlipwayError } from '../errors.js';
import { IN_TOTO_PAYLOAD_TYPE, IN_TOTO_STATEMENT_V1, type Statement } from './in-toto.js';
import type { SigningKey } from './keys.js';

export type Bundle = SerializedBundle;

/** Signs the statement (DSSE over its canonical JSON) with the key; the bundle names the key by its id. */
export async function signStatement(statement: Statement, key: SigningKey): Promise<Bundle> {
  // Imported here: @sigstore/sign brings an HTTP client stack (~170 ms of module loading) that
  // only signing needs, and `slipway serve` verifies signatures on every start.
  const { DSSEBundleBuilder } = await import('@sigstore/sign');
  const signer = {
    sign: async (data: Buffer) => ({ signature: sign('sha256', data, key.privateKey), key: { $case: 'publicKey' as const, publicKey: key.publicKeyPem, hint: key.keyId } }),
  };
  const bundle = await new DSSEBundleBuilder({ signer, witnesses: [] }).create({ data: Buffer.from(JSON.stringify(statement)), type: IN_TOTO_PAYLOAD_TYPE });
  return bundleToJSON(bundle);
}

export interface Verified<P> {
  readonly statement: Statement<P>;
  readonly keyId: string;
}

const EMPTY_ROOT = { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] };

/**
 * Verifies the bundle's signature with one of the trusted keys and returns its statement, which
 * must have `predicateType`. `what` names the signed thing in every error (e.g. "the model signature model.sig").
 */
export function verifyStatement<P>(bundle: unknown, trusted: ReadonlyMap<string, KeyObject>, predicateType: string, what: string): Verified<P> {
  let parsed: ReturnType<typeof bundleFromJSON>;
  try {
    parsed = bundleFromJSON(bundle);
  } catch (err) {
    throw new SlipwayError('SUPPLY_CHAIN_SIGNATURE_INVALID', `${what}: not a Sigstore bundle: ${(err as Error).message}`);
  }
  if (parsed.content.$case !== 'dsseEnvelope') throw new SlipwayError('SUPPLY_CHAIN_SIGNATURE_INVALID', `${what}: expected a DSSE envelope, got a ${parsed.content.$case}`);
  const keyId = parsed.verificationMaterial.content.$case === 'publicKey' ? parsed.verificationMaterial.content.publicKey.hint : '';
  const finder = (hint: string) => {
    const key = trusted.get(hint);
    if (!key) {
      throw new SlipwayError('SUPPLY_CHAIN_UNTRUSTED_KEY', `${what}: signed by key ${hint || '(none named)'}, which is not trusted; trusted: ${[...trusted.keys()].join(', ') || 'none'}`);
    }
    return { publicKey: key, validFor: () => true };
  };
  const verifier = new Verifier(toTrustMaterial(EMPTY_ROOT as never, finder), { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  try {
    verifier.verify(toSignedEntity(parsed));
  } catch (err) {
    if (err instanceof SlipwayError) throw err;
    throw new SlipwayError('SUPPLY_CHAIN_SIGNATURE_INVALID', `${what}: the signature does not verify with key ${keyId}: ${(err as Error).message}`);
  }
  if (parsed.content.dsseEnvelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new SlipwayError('SUPPLY_CHAIN_SIGNATURE_INVALID', `${what}: expected payload type ${IN_TOTO_PAYLOAD_TYPE}, got ${parsed.content.dsseEnvelope.payloadType}`);
  }
  let statement: Statement<P>;
  try {
    statement = JSON.parse(parsed.content.dsseEnvelope.payload.toString('utf8')) as Statement<P>;
  } catch (err) {
    throw new SlipwayError('SUPPLY_CHAIN_SIGNATURE_INVALID', `${what}: the signed payload is not JSON: ${(err as Error).message}`);
  }
  if (statement._type !== IN_TOTO_STATEMENT_V1 || statement.predicateType !== predicateType || !Array.isArray(statement.subject)) {
    throw new SlipwayError('SUPPLY_CHAIN_SIGNATURE_INVALID', `${what}: expected an in-toto statement of ${predicateType}, got ${JSON.stringify({ _type: statement._type, predicateType: statement.predicateType })}`);
  }
  return { statement, keyId };
}

/** sha256 of a bundle's bytes as written: how the build record and registry tags point at it. */
export function bundleDigest(bundle: Bundle): string {
  return `sha256:${createHash('sha256').update(`${JSON.stringify(bundle)}\n`).digest('hex')}`;
}
