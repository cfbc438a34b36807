/**
 * Names the pipeline, the constructs and the runtime share for signing and verifying builds
 * (docs/supply-chain.md).
 */
import { createPublicKey } from 'node:crypto';

/** PEM public key(s) a runtime (or release) verifies model signatures with. */
export const TRUSTED_KEYS_ENV = 'SLIPWAY_TRUSTED_KEYS';
/** PEM private key a signing step signs with (from a Secret, never a literal). */
export const SIGNING_KEY_ENV = 'SLIPWAY_SIGNING_KEY';
/** A file holding the signing key, for local runs. */
export const SIGNING_KEY_FILE_ENV = 'SLIPWAY_SIGNING_KEY_FILE';
/** The key of the signing Secret that holds the PEM private key. */
export const SIGNING_KEY_SECRET_KEY = 'signing.key';
/** The model signature beside model.onnx (OpenSSF model_signing's default name). */
export const MODEL_SIGNATURE_FILE = 'model.sig';

const PUBLIC_KEY_BLOCK = /-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g;

/** Why `pem` is not one or more ECDSA P-256 public keys in PEM, or undefined. */
export function trustedKeysProblem(pem: string): string | undefined {
  const blocks = pem.match(PUBLIC_KEY_BLOCK) ?? [];
  if (blocks.length === 0) return 'expected one or more PEM public keys (-----BEGIN PUBLIC KEY-----), such as the .pub file `slipway pipeline keygen` writes';
  for (const block of blocks) {
    try {
      const key = createPublicKey({ key: block, format: 'pem' });
      if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return `expected ECDSA P-256 public keys, got a ${key.asymmetricKeyType} key`;
    } catch (err) {
      return `a public key does not parse: ${(err as Error).message}`;
    }
  }
  return undefined;
}

export const publicKeyBlocks = (pem: string): string[] => pem.match(PUBLIC_KEY_BLOCK) ?? [];
