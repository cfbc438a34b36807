/**
 * Signing keys for local and offline use: an ECDSA P-256 key pair in PEM (what `cosign
 * generate-key-pair` and Kyverno's `keys.publicKeys` use). The private key comes from a file
 * or the environment, never from a flag, Git or the build record; the public key is what a
 * cluster trusts. A key is named by its id: the sha256 of its SubjectPublicKeyInfo (DER).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { SlipwayError } from '../errors.js';

import { SIGNING_KEY_ENV, SIGNING_KEY_FILE_ENV, TRUSTED_KEYS_ENV, publicKeyBlocks, trustedKeysProblem } from '../vocabulary/supply-chain.js';

export { SIGNING_KEY_ENV, SIGNING_KEY_FILE_ENV, TRUSTED_KEYS_ENV } from '../vocabulary/supply-chain.js';

export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicKeyPem: string;
  readonly keyId: string;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

function checkCurve(key: KeyObject, where: string): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new SlipwayError('SUPPLY_CHAIN_KEY_INVALID', `${where}: expected an ECDSA P-256 key (openssl ecparam -name prime256v1), got ${key.asymmetricKeyType ?? 'unknown'} ${key.asymmetricKeyDetails?.namedCurve ?? ''}`.trim(), 2);
  }
}

/** Parses a PEM private key; the message names where it came from, never its bytes. */
export function parseSigningKey(pem: string, where: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new SlipwayError('SUPPLY_CHAIN_KEY_INVALID', `${where}: expected an unencrypted PEM private key: ${(err as Error).message}`, 2);
  }
  checkCurve(privateKey, where);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string, keyId: keyIdOf(publicKey) };
}

/** The signing key from --key FILE, else $SLIPWAY_SIGNING_KEY_FILE, else $SLIPWAY_SIGNING_KEY (PEM text). */
export function loadSigningKey(file: string | undefined, env: NodeJS.ProcessEnv = process.env): SigningKey {
  const path = file ?? env[SIGNING_KEY_FILE_ENV];
  if (path) {
    let pem: string;
    try {
      pem = readFileSync(path, 'utf8');
    } catch (err) {
      throw new SlipwayError('SUPPLY_CHAIN_KEY_INVALID', `cannot read the signing key ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2);
    }
    return parseSigningKey(pem, path);
  }
  const pem = env[SIGNING_KEY_ENV];
  if (pem) return parseSigningKey(pem, `$${SIGNING_KEY_ENV}`);
  throw new SlipwayError('SUPPLY_CHAIN_KEY_INVALID', `no signing key: pass --key FILE or set ${SIGNING_KEY_FILE_ENV} (a file) or ${SIGNING_KEY_ENV} (PEM)`, 2);
}

/** Trusted public keys by key id, from PEM text holding one or more PUBLIC KEY blocks. */
export function parseTrustedKeys(pem: string, where: string): ReadonlyMap<string, KeyObject> {
  const problem = trustedKeysProblem(pem);
  if (problem) throw new SlipwayError('SUPPLY_CHAIN_KEY_INVALID', `${where}: ${problem}`, 2);
  const keys = new Map<string, KeyObject>();
  for (const block of publicKeyBlocks(pem)) {
    const key = createPublicKey({ key: block, format: 'pem' });
    keys.set(keyIdOf(key), key);
  }
  return keys;
}

export function readTrustedKeys(file: string): ReadonlyMap<string, KeyObject> {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SlipwayError('SUPPLY_CHAIN_KEY_INVALID', `cannot read the trusted key ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2);
  }
  return parseTrustedKeys(pem, file);
}

/** Writes a new key pair: the private key readable by its owner only. */
export function generateKeyPair(privateOut: string, publicOut: string): SigningKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  writeFileSync(privateOut, pem, { mode: 0o600, flag: 'wx' });
  const key = parseSigningKey(pem, privateOut);
  writeFileSync(publicOut, key.publicKeyPem, { flag: 'wx' });
  return key;
}

/** Trusted keys from a --trusted-keys file, else $SLIPWAY_TRUSTED_KEYS (PEM), else none. */
export function trustedKeysFrom(file: string | undefined, env: NodeJS.ProcessEnv = process.env): ReadonlyMap<string, KeyObject> | undefined {
  if (file) return readTrustedKeys(file);
  const pem = env[TRUSTED_KEYS_ENV];
  return pem ? parseTrustedKeys(pem, `$${TRUSTED_KEYS_ENV}`) : undefined;
}
