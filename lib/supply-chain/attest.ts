/**
 * The pipeline's signing steps and the release's check. Signing happens twice: the model
 * folder before the image is built (its `model.sig` ships inside the image, beside the files it
 * covers, so the runtime can check it), then the pushed image digest and its provenance once the
 * registry has named the digest. Verification is the mirror: each bundle by a trusted key, then
 * bound to the build record (same image digest, same files, same lineage).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { SlipwayError } from '../errors.js';
import { sha256File } from '../runtime/integrity.js';
import { BASELINE_FILE, MODEL_FILE, type BuildRecord } from '../vocabulary/build.js';
import { bundleDigest, signStatement, verifyStatement, type Bundle } from './dsse.js';
import type { SigningKey } from './keys.js';
import { CYCLONEDX_PREDICATE, ML_BOM_BUNDLE, ML_BOM_FILE, mlBom, mlBomStatement, type MlBomOptions } from './ml-bom.js';
import {
  IMAGE_SIGNATURE_PREDICATE,
  MODEL_SIGNATURE_FILE,
  MODEL_SIGNING_PREDICATE,
  SLSA_PROVENANCE_PREDICATE,
  failIfProblems,
  imageSignatureStatement,
  imageSubjectProblems,
  modelSignatureProblems,
  modelSigningStatement,
  provenanceProblems,
  provenanceStatement,
  type ModelSigningPredicate,
  type ProvenanceOptions,
  type ProvenancePredicate,
} from './statements.js';

/** Bundles the attest step writes beside build.json. */
export const IMAGE_SIGNATURE_BUNDLE = 'image.sigstore.json';
export const PROVENANCE_BUNDLE = 'provenance.sigstore.json';

const writeBundle = (path: string, bundle: Bundle) => writeFileSync(path, `${JSON.stringify(bundle)}\n`);

/** The files of a model folder a signature covers, with their sha256. */
export async function modelFiles(folder: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const file of [MODEL_FILE, BASELINE_FILE]) {
    const path = join(folder, file);
    if (existsSync(path)) files[file] = await sha256File(path);
  }
  if (!files[MODEL_FILE]) throw new SlipwayError('PIPELINE_OUTPUT_MISSING', `${join(folder, MODEL_FILE)} is missing: nothing to sign`);
  return files;
}

/** Signs model.onnx and baseline.json of the folder; writes model.sig into it. */
export async function signModelFolder(model: string, folder: string, key: SigningKey): Promise<{ readonly path: string; readonly files: Readonly<Record<string, string>> }> {
  const files = await modelFiles(folder);
  const path = join(folder, MODEL_SIGNATURE_FILE);
  writeBundle(path, await signStatement(modelSigningStatement(model, files), key));
  return { path, files };
}

export interface AttestOptions extends Omit<ProvenanceOptions, 'build'> {
  readonly build: BuildRecord;
  readonly key: SigningKey;
  /** Folder receiving image.sigstore.json, provenance.sigstore.json and the ML-BOM. */
  readonly outDir: string;
  /** The model's signature, described in the ML-BOM's model card. @default not described */
  readonly signature?: MlBomOptions['signature'];
}

export interface Attestations {
  readonly imageSignature: { readonly path: string; readonly digest: string };
  readonly provenance: { readonly path: string; readonly digest: string };
  readonly mlBom: { readonly path: string; readonly bundle: string; readonly digest: string };
}

/** Signs the pushed image digest, its SLSA provenance and its CycloneDX ML-BOM. */
export async function attestBuild(options: AttestOptions): Promise<Attestations> {
  const { build, key, outDir, signature, ...provenance } = options;
  const image = await signStatement(imageSignatureStatement(options.imageRepository, build.imageDigest), key);
  const attestation = await signStatement(provenanceStatement({ ...provenance, build }), key);
  const bom = mlBom({ build, imageRepository: options.imageRepository, ...(signature ? { signature } : {}) });
  const bomBundle = await signStatement(mlBomStatement(bom, options.imageRepository, build.imageDigest), key);
  const imagePath = join(outDir, IMAGE_SIGNATURE_BUNDLE);
  const provenancePath = join(outDir, PROVENANCE_BUNDLE);
  writeBundle(imagePath, image);
  writeBundle(provenancePath, attestation);
  writeFileSync(join(outDir, ML_BOM_FILE), `${JSON.stringify(bom, null, 2)}\n`);
  writeBundle(join(outDir, ML_BOM_BUNDLE), bomBundle);
  return {
    imageSignature: { path: imagePath, digest: bundleDigest(image) },
    provenance: { path: provenancePath, digest: bundleDigest(attestation) },
    mlBom: { path: join(outDir, ML_BOM_FILE), bundle: join(outDir, ML_BOM_BUNDLE), digest: bundleDigest(bomBundle) },
  };
}

function readBundle(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SlipwayError('SUPPLY_CHAIN_UNSIGNED', `${what} ${path} is missing (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): the build is unsigned`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SlipwayError('SUPPLY_CHAIN_SIGNATURE_INVALID', `${what} ${path}: not JSON: ${(err as Error).message}`);
  }
}

/** Verifies a folder's model.sig with a trusted key against the files found there (name → sha256). */
export function verifyModelSignature(path: string, files: Readonly<Record<string, string>>, trusted: ReadonlyMap<string, KeyObject>): { readonly keyId: string } {
  const what = `the model signature ${path}`;
  const { statement, keyId } = verifyStatement<ModelSigningPredicate>(readBundle(path, 'the model signature'), trusted, MODEL_SIGNING_PREDICATE, what);
  failIfProblems(modelSignatureProblems(statement, files), what);
  return { keyId };
}

export interface VerifyBuildOptions {
  readonly build: BuildRecord;
  /** Folder holding build.json's bundles (image.sigstore.json, provenance.sigstore.json, model.sig). */
  readonly dir: string;
  readonly trusted: ReadonlyMap<string, KeyObject>;
}

/**
 * Verifies every signature of a build before it may be released: the image signature and the
 * provenance name the build's image digest, the provenance attests the recorded lineage and
 * files, the model signature covers the recorded model and baseline sha256.
 */
export function verifyBuild(options: VerifyBuildOptions): { readonly keyIds: readonly string[] } {
  const { build, dir, trusted } = options;
  const image = verifyStatement(readBundle(join(dir, IMAGE_SIGNATURE_BUNDLE), 'the image signature'), trusted, IMAGE_SIGNATURE_PREDICATE, `the image signature ${join(dir, IMAGE_SIGNATURE_BUNDLE)}`);
  failIfProblems(imageSubjectProblems(image.statement, build, 'the image signature'), `the image signature ${join(dir, IMAGE_SIGNATURE_BUNDLE)}`);
  const provenancePath = join(dir, PROVENANCE_BUNDLE);
  const provenance = verifyStatement<ProvenancePredicate>(readBundle(provenancePath, 'the provenance'), trusted, SLSA_PROVENANCE_PREDICATE, `the provenance ${provenancePath}`);
  failIfProblems(provenanceProblems(provenance.statement, build), `the provenance ${provenancePath}`);
  const files = { [MODEL_FILE]: build.modelSha256, ...(build.baselineSha256 ? { [BASELINE_FILE]: build.baselineSha256 } : {}) };
  const model = verifyModelSignature(join(dir, MODEL_SIGNATURE_FILE), files, trusted);
  const bomPath = join(dir, ML_BOM_BUNDLE);
  const bom = verifyStatement<{ components?: Array<{ type: string; hashes?: Array<{ content: string }> }> }>(readBundle(bomPath, 'the ML-BOM attestation'), trusted, CYCLONEDX_PREDICATE, `the ML-BOM attestation ${bomPath}`);
  const bomModel = bom.statement.predicate?.components?.find((c) => c.type === 'machine-learning-model')?.hashes?.[0]?.content;
  failIfProblems(
    [...imageSubjectProblems(bom.statement, build, 'the ML-BOM'), ...(bomModel === build.modelSha256 ? [] : [`the ML-BOM lists model sha256 ${bomModel ?? 'none'}, the build records ${build.modelSha256}`])],
    `the ML-BOM attestation ${bomPath}`,
  );
  return { keyIds: [...new Set([image.keyId, provenance.keyId, model.keyId, bom.keyId])] };
}
