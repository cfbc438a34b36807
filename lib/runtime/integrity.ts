/**
 * The runtime checks the bytes it is about to serve against the sha256 the pod was rendered
 * with (SLIPWAY_EXPECTED_SHA256), so a model or baseline other than the released build never
 * becomes ready, whichever way it reached the pod (image layer, store fetch, volume).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { SlipwayError } from '../errors.js';
import { BASELINE_FILE, MODEL_FILE } from '../vocabulary/build.js';
import type { ExpectedSha256 } from '../vocabulary/integrity.js';
import type { Logger } from './logger.js';
import type { ModelSource } from './repository.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;
const VERIFIED_FILES = [MODEL_FILE, BASELINE_FILE] as const;

/** Parses the expected hashes (`{"<model>": {"model.onnx": "<hex>", "baseline.json": "<hex>"}}`), naming every problem. */
export function parseExpectedSha256(text: string, where: string): ExpectedSha256 {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SlipwayError('RUNTIME_INTEGRITY_INVALID', `${where}: expected JSON such as {"fraud-detector":{"model.onnx":"<64 hex>"}}: ${(err as Error).message}`, 2);
  }
  const problems: string[] = [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`expected an object of model names, got ${JSON.stringify(value)}`);
  } else {
    for (const [model, files] of Object.entries(value)) {
      if (files === null || typeof files !== 'object' || Array.isArray(files)) {
        problems.push(`/${model}: expected an object of file names to sha256, got ${JSON.stringify(files)}`);
        continue;
      }
      for (const [file, sha] of Object.entries(files as Record<string, unknown>)) {
        if (!(VERIFIED_FILES as readonly string[]).includes(file)) problems.push(`/${model}/${file}: expected one of ${VERIFIED_FILES.join(', ')}`);
        else if (typeof sha !== 'string' || !SHA256_HEX.test(sha)) problems.push(`/${model}/${file}: expected 64 lower-case hex digits, got ${JSON.stringify(sha)}`);
      }
    }
  }
  if (problems.length > 0) throw new SlipwayError('RUNTIME_INTEGRITY_INVALID', `${where}: ${problems.join('; ')}`, 2);
  return value as ExpectedSha256;
}

/** sha256 of a file, streamed: models can be gigabytes, and hashing must not block health checks. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/**
 * The sha256 of each file one verification pass reads: the sha256 check and the signature check
 * hash the same model files, and a model can be gigabytes. A new pass (a reload) starts afresh,
 * since the file may have changed since.
 */
export class FileHashes {
  private readonly hashes = new Map<string, Promise<string>>();

  of(path: string): Promise<string> {
    let hash = this.hashes.get(path);
    if (!hash) this.hashes.set(path, (hash = sha256File(path)));
    return hash;
  }
}

/** Refuses to start when a model with expected hashes is not in the repository at all. */
export function checkExpectedModels(sources: readonly ModelSource[], expected: ExpectedSha256): void {
  const missing = Object.keys(expected).filter((name) => !sources.some((s) => s.name === name));
  if (missing.length > 0) {
    throw new SlipwayError(
      'RUNTIME_INTEGRITY_MODEL_MISSING',
      `expected sha256 for ${missing.map((m) => `"${m}"`).join(', ')}, but the repository serves ${sources.map((s) => `"${s.name}"`).join(', ') || 'no model'}`,
      2,
    );
  }
}

/**
 * Hashes every file with an expectation; a model whose model.onnx or baseline.json differs (or
 * is missing) gets `problem` set, so it fails to load and the runtime never becomes ready.
 */
export async function verifySources(sources: readonly ModelSource[], expected: ExpectedSha256, logger: Logger, hashes = new FileHashes()): Promise<void> {
  for (const source of sources) {
    const files = expected[source.name];
    if (!files || source.problem) continue;
    const problems: string[] = [];
    for (const file of VERIFIED_FILES) {
      const want = files[file];
      if (want === undefined) continue;
      const path = file === MODEL_FILE ? source.modelPath : source.baselinePath;
      if (path === undefined) {
        problems.push(`${file} is missing beside ${source.modelPath} (expected sha256 ${want})`);
        continue;
      }
      let got: string;
      try {
        got = await hashes.of(path);
      } catch (err) {
        problems.push(`${path}: cannot read it to check its sha256: ${(err as Error).message}`);
        continue;
      }
      if (got === want) {
        logger.log('info', 'integrity_verified', { model: source.name, version: source.version, file: path, sha256: got });
      } else {
        problems.push(`${path}: sha256 mismatch: expected ${want}, got ${got}`);
        logger.log('error', 'integrity_mismatch', { model: source.name, version: source.version, file: path, expected: want, actual: got });
      }
    }
    if (problems.length > 0) source.problem = `refused: not the released build: ${problems.join('; ')}`;
  }
}
