/**
 * The three statements a build is signed with, and the checks that bind each to the build record:
 *
 * - the model signature: an OpenSSF model_signing v1.0 manifest of the model folder's files
 *   (model.onnx, baseline.json) and their sha256, shipped beside the model as `model.sig`;
 * - the image signature: cosign's `https://sigstore.dev/cosign/sign/v1` statement on the image digest;
 * - the provenance: SLSA v1 on the image digest (builder, source repo and commit, training data,
 *   parameters, PipelineRun), what Tekton Chains writes for a TaskRun on a cluster.
 */
import { createHash } from 'node:crypto';
import { SlipwayError } from '../errors.js';
import { BASELINE_FILE, MODEL_FILE, type BuildRecord } from '../vocabulary/build.js';
import { IN_TOTO_STATEMENT_V1, type Statement } from './in-toto.js';

export const MODEL_SIGNING_PREDICATE = 'https://model_signing/signature/v1.0';
export const IMAGE_SIGNATURE_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
export const SLSA_PROVENANCE_PREDICATE = 'https://slsa.dev/provenance/v1';
export const SLIPWAY_BUILD_TYPE = 'https://slipway.dev/TrainingPipeline/v1';
export { MODEL_SIGNATURE_FILE } from '../vocabulary/supply-chain.js';

export interface ModelSigningPredicate {
  readonly serialization: { readonly method: 'files'; readonly hash_type: 'sha256'; readonly allow_symlinks: false };
  readonly resources: ReadonlyArray<{ readonly name: string; readonly algorithm: 'sha256'; readonly digest: string }>;
}

/** model_signing's manifest digest: sha256 over the resources' digests in name order. */
function manifestDigest(resources: ModelSigningPredicate['resources']): string {
  const hash = createHash('sha256');
  for (const r of [...resources].sort((a, b) => a.name.localeCompare(b.name))) hash.update(Buffer.from(r.digest, 'hex'));
  return hash.digest('hex');
}

/** The model_signing statement of a model folder's files (name → sha256 hex). */
export function modelSigningStatement(model: string, files: Readonly<Record<string, string>>): Statement<ModelSigningPredicate> {
  const resources = Object.entries(files)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, digest]) => ({ name, algorithm: 'sha256' as const, digest }));
  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: model, digest: { sha256: manifestDigest(resources) } }],
    predicateType: MODEL_SIGNING_PREDICATE,
    predicate: { serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false }, resources },
  };
}

/**
 * Problems of a verified model_signing statement against the files found (name → sha256): every
 * file must be signed with its digest, and the subject must be the manifest's digest.
 */
export function modelSignatureProblems(statement: Statement<ModelSigningPredicate>, found: Readonly<Record<string, string>>): string[] {
  const resources = Array.isArray(statement.predicate?.resources) ? statement.predicate.resources : [];
  const problems: string[] = [];
  if (statement.subject[0]?.digest.sha256 !== manifestDigest(resources)) problems.push('the manifest digest in the subject does not match its resources');
  for (const [name, digest] of Object.entries(found)) {
    const signed = resources.find((r) => r.name === name);
    if (!signed) problems.push(`${name} is not in the signed manifest`);
    else if (signed.digest !== digest) problems.push(`${name}: signed sha256 ${signed.digest}, found ${digest}`);
  }
  return problems;
}

/** The image as a statement subject: repository (no tag) and its digest. */
function imageSubject(imageRepository: string, imageDigest: string) {
  return [{ name: imageRepository, digest: { sha256: imageDigest.replace(/^sha256:/, '') } }];
}

export function imageSignatureStatement(imageRepository: string, imageDigest: string): Statement<Record<string, never>> {
  return { _type: IN_TOTO_STATEMENT_V1, subject: imageSubject(imageRepository, imageDigest), predicateType: IMAGE_SIGNATURE_PREDICATE, predicate: {} };
}

export interface ProvenancePredicate {
  readonly buildDefinition: {
    readonly buildType: string;
    readonly externalParameters: Readonly<Record<string, unknown>>;
    readonly internalParameters?: Readonly<Record<string, unknown>>;
    readonly resolvedDependencies: ReadonlyArray<{ readonly name?: string; readonly uri?: string; readonly digest: Readonly<Record<string, string>> }>;
  };
  readonly runDetails: {
    readonly builder: { readonly id: string };
    readonly metadata?: { readonly invocationId?: string; readonly finishedOn?: string };
    readonly byproducts?: ReadonlyArray<{ readonly name: string; readonly digest: Readonly<Record<string, string>> }>;
  };
}

export interface ProvenanceOptions {
  readonly build: BuildRecord;
  readonly imageRepository: string;
  /** Who ran the build: the Tekton Pipeline's URI on a cluster, the local runner here. */
  readonly builderId: string;
  /** The runtime image the model image was built FROM. */
  readonly runtimeImage?: string;
  readonly parameters?: Readonly<Record<string, string>>;
}

/** SLSA v1 provenance of the image, from the build record (lineage, files) and the run. */
export function provenanceStatement(options: ProvenanceOptions): Statement<ProvenancePredicate> {
  const { build } = options;
  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: imageSubject(options.imageRepository, build.imageDigest),
    predicateType: SLSA_PROVENANCE_PREDICATE,
    predicate: {
      buildDefinition: {
        buildType: SLIPWAY_BUILD_TYPE,
        externalParameters: {
          model: build.model,
          version: build.version,
          ...(build.source ? { source: { repository: build.source.repository, commit: build.source.commit } } : {}),
          ...(build.trigger ? { trigger: build.trigger } : {}),
          ...(options.parameters && Object.keys(options.parameters).length > 0 ? { parameters: options.parameters } : {}),
        },
        ...(options.runtimeImage ? { internalParameters: { runtimeImage: options.runtimeImage } } : {}),
        resolvedDependencies: [
          ...(build.source ? [{ uri: `git+${build.source.repository}@${build.source.commit}`, digest: { gitCommit: build.source.commit } }] : []),
          ...(build.trainingDataSha256 ? [{ name: 'training-data', digest: { sha256: build.trainingDataSha256 } }] : []),
          { name: MODEL_FILE, digest: { sha256: build.modelSha256 } },
          ...(build.baselineSha256 ? [{ name: BASELINE_FILE, digest: { sha256: build.baselineSha256 } }] : []),
        ],
      },
      runDetails: {
        builder: { id: options.builderId },
        ...(build.pipelineRun || build.builtAt ? { metadata: { ...(build.pipelineRun ? { invocationId: build.pipelineRun } : {}), ...(build.builtAt ? { finishedOn: build.builtAt } : {}) } } : {}),
      },
    },
  };
}

/** Problems of a verified statement whose subject must be the build's image. */
export function imageSubjectProblems(statement: Statement, build: BuildRecord, what: string): string[] {
  const digests = statement.subject.map((s) => `sha256:${s.digest?.sha256 ?? ''}`);
  return digests.includes(build.imageDigest) ? [] : [`${what} is for image ${digests.join(', ') || 'none'}, not the build's ${build.imageDigest}`];
}

/** Problems of verified provenance against the build record: the lineage it attests must be the recorded one. */
export function provenanceProblems(statement: Statement<ProvenancePredicate>, build: BuildRecord): string[] {
  const problems = imageSubjectProblems(statement, build, 'the provenance');
  const deps = statement.predicate?.buildDefinition?.resolvedDependencies ?? [];
  const dep = (name: string) => deps.find((d) => d.name === name)?.digest.sha256;
  if (dep(MODEL_FILE) !== build.modelSha256) problems.push(`the provenance attests model.onnx sha256 ${dep(MODEL_FILE) ?? 'none'}, the build records ${build.modelSha256}`);
  if (build.baselineSha256 && dep(BASELINE_FILE) !== build.baselineSha256) problems.push(`the provenance attests baseline.json sha256 ${dep(BASELINE_FILE) ?? 'none'}, the build records ${build.baselineSha256}`);
  if (build.trainingDataSha256 && dep('training-data') !== build.trainingDataSha256) problems.push(`the provenance attests training data sha256 ${dep('training-data') ?? 'none'}, the build records ${build.trainingDataSha256}`);
  const source = statement.predicate?.buildDefinition?.externalParameters?.source as { commit?: string } | undefined;
  if (build.source && source?.commit !== build.source.commit) problems.push(`the provenance attests commit ${source?.commit ?? 'none'}, the build records ${build.source.commit}`);
  const invocation = statement.predicate?.runDetails?.metadata?.invocationId;
  if (build.pipelineRun && invocation !== build.pipelineRun) problems.push(`the provenance attests PipelineRun ${invocation ?? 'none'}, the build records ${build.pipelineRun}`);
  return problems;
}

export function failIfProblems(problems: readonly string[], what: string): void {
  if (problems.length > 0) throw new SlipwayError('SUPPLY_CHAIN_MISMATCH', `${what}: ${problems.join('; ')}`);
}
