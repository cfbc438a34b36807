/**
 * Verify before serving (docs/supply-chain.md): with trusted keys (SLIPWAY_TRUSTED_KEYS), every
 * model must carry a model signature (`model.sig` beside model.onnx, an OpenSSF model_signing
 * manifest in a Sigstore bundle) made by one of those keys and covering the exact bytes about to
 * be served; otherwise the model gets `problem` set, never loads, and the runtime stays unready
 * naming what failed. Runs after the sha256 check, off the request path.
 */
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SlipwayError } from '../errors.js';
import { MODEL_SIGNING_PREDICATE, modelSignatureProblems, type ModelSigningPredicate } from '../supply-chain/statements.js';
import { BASELINE_FILE, MODEL_FILE } from '../vocabulary/build.js';
import { MODEL_SIGNATURE_FILE } from '../vocabulary/supply-chain.js';
import { FileHashes } from './integrity.js';
import type { Logger } from './logger.js';
import type { ModelSource } from './repository.js';

type Verify = (sources: ModelSource[]) => Promise<void>;
/** A check run before the signature check in the same pass, sharing its file hashes. */
type VerifyWith = (sources: ModelSource[], hashes: FileHashes) => Promise<void>;

async function check(source: ModelSource, trusted: ReadonlyMap<string, KeyObject>, hashes: FileHashes): Promise<{ keyId: string; files: Record<string, string> }> {
  const path = join(dirname(source.modelPath), MODEL_SIGNATURE_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SlipwayError('SUPPLY_CHAIN_UNSIGNED', `${path} is missing (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): the model is unsigned`);
  }
  let bundle: unknown;
  try {
    bundle = JSON.parse(text);
  } catch (err) {
    throw new SlipwayError('SUPPLY_CHAIN_SIGNATURE_INVALID', `${path}: not JSON: ${(err as Error).message}`);
  }
  // Imported here: Sigstore's verifier is start-up that servers without trusted keys need not pay.
  const { verifyStatement } = await import('../supply-chain/dsse.js');
  const { statement, keyId } = verifyStatement<ModelSigningPredicate>(bundle, trusted, MODEL_SIGNING_PREDICATE, `the model signature ${path}`);
  const files: Record<string, string> = { [MODEL_FILE]: await hashes.of(source.modelPath) };
  if (source.baselinePath) files[BASELINE_FILE] = await hashes.of(source.baselinePath);
  const problems = modelSignatureProblems(statement, files);
  if (problems.length > 0) throw new SlipwayError('SUPPLY_CHAIN_MISMATCH', `the model signature ${path}: ${problems.join('; ')}`);
  return { keyId, files };
}

/** Checks each model's signature; a model that fails is refused (problem set), with the reason logged. */
export async function verifySignatures(sources: readonly ModelSource[], trusted: ReadonlyMap<string, KeyObject>, logger: Logger, hashes = new FileHashes()): Promise<void> {
  for (const source of sources) {
    if (source.problem) continue;
    try {
      const { keyId, files } = await check(source, trusted, hashes);
      logger.log('info', 'signature_verified', { model: source.name, version: source.version, keyId, files: Object.entries(files).map(([f, sha]) => `${f}=${sha}`) });
    } catch (err) {
      const code = err instanceof SlipwayError ? err.code : 'SUPPLY_CHAIN_SIGNATURE_INVALID';
      logger.log('error', 'signature_refused', { model: source.name, version: source.version, code, reason: (err as Error).message });
      source.problem = `refused: ${(err as Error).message}`;
    }
  }
}

/**
 * The runtime's verify hook: `verify` (the sha256 check) then, when keys are trusted, the signature
 * check, one pass reading each file once.
 */
export function withSignatureCheck(verify: VerifyWith | undefined, trusted: ReadonlyMap<string, KeyObject> | undefined, logger: Logger): Verify | undefined {
  if (!trusted) return verify && ((sources) => verify(sources, new FileHashes()));
  return async (sources) => {
    const hashes = new FileHashes();
    if (verify) await verify(sources, hashes);
    await verifySignatures(sources, trusted, logger, hashes);
  };
}
