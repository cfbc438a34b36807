import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE_DIGEST } from '../../constructs/private/image.js';
import { checkBuild } from '../compiler/releases.js';
import { SlipwayError } from '../errors.js';
import { sha256File } from '../runtime/integrity.js';
import type { ExpectedSha256 } from '../vocabulary/integrity.js';
import { BASELINE_FILE, IMAGE_LOCATION, IMAGE_MODEL_REPOSITORY, MODEL_FILE, type BuildRecord, type BuildTrigger } from '../vocabulary/build.js';
import { readMetrics } from './evaluate.js';

/** Training must leave these in the output folder. */
const REQUIRED_OUTPUTS = [MODEL_FILE, 'metrics.json'] as const;
const VERSION_FOLDER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Fails, naming every file, when training did not write model.onnx and metrics.json. */
export function checkOutputs(outputDir: string): void {
  const missing = REQUIRED_OUTPUTS.map((f) => join(outputDir, f)).filter((p) => !existsSync(p) || statSync(p).size === 0);
  if (missing.length > 0) {
    throw new SlipwayError('PIPELINE_OUTPUT_MISSING', `the training step did not write ${missing.join(', ')}`);
  }
}

export interface LayoutOptions {
  readonly model: string;
  readonly version: string;
  /** Folder training wrote model.onnx (and the profile step baseline.json) into. */
  readonly outputDir: string;
  /** Build context to (re)create. */
  readonly contextDir: string;
  /** Runtime image the packaged image is built FROM, pinned by digest. */
  readonly runtimeImage: string;
}

/** Where each file lands in the build context, and the Containerfile that copies them into the image. */
export function modelFolder(model: string, version: string): string {
  return `models/${model}/${version}`;
}

/**
 * Lays out model.onnx (and baseline.json) as the runtime's model repository in a build context
 * with a Containerfile FROM the runtime image: the image then holds the build at the `image`
 * location (/models/<model>/<version>/).
 */
export function layoutImage(options: LayoutOptions): { readonly files: readonly string[] } {
  if (!VERSION_FOLDER.test(options.version)) {
    throw new SlipwayError('PIPELINE_VERSION_INVALID', `version ${JSON.stringify(options.version)} cannot name a model repository folder (letters, digits, '.', '_', '-')`);
  }
  checkOutputs(options.outputDir);
  rmSync(options.contextDir, { recursive: true, force: true });
  const folder = modelFolder(options.model, options.version);
  const target = join(options.contextDir, folder);
  mkdirSync(target, { recursive: true });
  const files = [MODEL_FILE, ...(existsSync(join(options.outputDir, BASELINE_FILE)) ? [BASELINE_FILE] : [])];
  for (const file of files) copyFileSync(join(options.outputDir, file), join(target, file));
  writeFileSync(
    join(options.contextDir, 'Containerfile'),
    [
      `FROM ${options.runtimeImage}`,
      `COPY models/ ${IMAGE_MODEL_REPOSITORY}/`,
      `ENV SLIPWAY_MODEL_REPOSITORY=${IMAGE_MODEL_REPOSITORY}`,
      `LABEL org.opencontainers.image.version="${options.version}" dev.slipway.model="${options.model}"`,
      '',
    ].join('\n'),
  );
  return { files: files.map((f) => `${folder}/${f}`) };
}

export interface RecordBuildOptions {
  readonly model: string;
  readonly version: string;
  readonly contextDir: string;
  /** `sha256:<64 hex>`, as buildah's --digestfile writes it. */
  readonly imageDigest: string;
  readonly sourceRepository?: string;
  readonly commit?: string;
  readonly trainingData?: string;
  readonly metricsFile?: string;
  readonly trigger?: BuildTrigger;
  readonly pipelineRun?: string;
  readonly builtAt: Date;
  /** build.json to write. */
  readonly out: string;
  /** Also write the hashes the runtime must verify (SLIPWAY_EXPECTED_SHA256), for the test task's sidecar. */
  readonly expectedSha256Out?: string;
  /**
   * `oci://…@sha256:…` the model folder was pushed to (push-model): recorded as model and
   * baseline location, both being in the one artifact. @default `image`
   */
  readonly modelLocation?: string;
}

/** What a pod serving `build` hands the runtime to verify. */
export function expectedSha256Of(build: BuildRecord): ExpectedSha256 {
  return { [build.model]: { [MODEL_FILE]: build.modelSha256, ...(build.baselineSha256 ? { [BASELINE_FILE]: build.baselineSha256 } : {}) } };
}

/**
 * Writes build.json for the image just pushed: the sha256 of the files inside it (location
 * `image`, or the oci:// artifact the same folder was pushed as), its digest and the lineage of
 * the run, checked against schemas/build.schema.json.
 */
export async function recordBuild(options: RecordBuildOptions): Promise<BuildRecord> {
  const folder = join(options.contextDir, modelFolder(options.model, options.version));
  const modelPath = join(folder, MODEL_FILE);
  if (!existsSync(modelPath)) throw new SlipwayError('PIPELINE_OUTPUT_MISSING', `${modelPath} is missing: run slipway pipeline package first`);
  const baselinePath = join(folder, BASELINE_FILE);
  const digest = options.imageDigest.trim();
  if (!IMAGE_DIGEST.test(digest)) throw new SlipwayError('PIPELINE_DIGEST_INVALID', `expected the pushed image's digest as sha256:<64 hex>, got ${JSON.stringify(digest)}`);
  const location = options.modelLocation?.trim() || IMAGE_LOCATION;
  const build: BuildRecord = {
    model: options.model,
    version: options.version,
    modelSha256: await sha256File(modelPath),
    modelLocation: location,
    ...(existsSync(baselinePath) ? { baselineSha256: await sha256File(baselinePath), baselineLocation: location } : {}),
    imageDigest: digest,
    ...(options.sourceRepository && options.commit ? { source: { repository: options.sourceRepository, commit: options.commit } } : {}),
    ...(options.trainingData ? { trainingDataSha256: await hashOf(options.trainingData, 'training data') } : {}),
    ...(options.metricsFile ? { metrics: readMetrics(options.metricsFile) } : {}),
    ...(options.trigger ? { trigger: options.trigger } : {}),
    ...(options.pipelineRun ? { pipelineRun: options.pipelineRun } : {}),
    builtAt: options.builtAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  checkBuild(build, options.out);
  writeFileSync(options.out, `${JSON.stringify(build, null, 2)}\n`);
  if (options.expectedSha256Out) writeFileSync(options.expectedSha256Out, JSON.stringify(expectedSha256Of(build)));
  return build;
}

async function hashOf(path: string, what: string): Promise<string> {
  try {
    return await sha256File(path);
  } catch (err) {
    throw new SlipwayError('PIPELINE_OUTPUT_MISSING', `cannot hash the ${what} ${path}: ${(err as Error).message}`);
  }
}

/** Reads a one-line file a previous step wrote (a Tekton result, buildah's digest file). */
export function readValueFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new SlipwayError('PIPELINE_OUTPUT_MISSING', `cannot read ${path}: ${(err as Error).message}`);
  }
}
