/**
 * Models as OCI artifacts in the CNCF ModelPack layout (github.com/modelpack/model-spec): one
 * raw layer per file of the model version folder, titled with its file name, a model config
 * whose `modelfs.diff_ids` list the layers, pushed and pulled by digest over the registry
 * client (credentials from the auth file, never logged). Pulling checks the manifest and every
 * blob against their digests and writes the folder only when all of it verified.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SlipwayError } from '../errors.js';
import { BASELINE_FILE, MODEL_FILE } from '../vocabulary/build.js';
import { OCI_SCHEME, parseOciModelReference } from '../vocabulary/oci-model.js';
import { OCI_MANIFEST, RegistryClient, sha256Digest, splitRepository, type Descriptor, type RegistryAccess } from './registry.js';

export const MODELPACK_ARTIFACT_TYPE = 'application/vnd.cncf.model.manifest.v1+json';
export const MODELPACK_CONFIG = 'application/vnd.cncf.model.config.v1+json';
export const MODELPACK_WEIGHT = 'application/vnd.cncf.model.weight.v1.raw';
/** Files the serving runtime reads beside the weights (the drift baseline). */
export const MODELPACK_WEIGHT_CONFIG = 'application/vnd.cncf.model.weight.config.v1.raw';
/** Everything else the build holds (the model signature, a model card). */
export const MODELPACK_DOC = 'application/vnd.cncf.model.doc.v1.raw';
export const TITLE_ANNOTATION = 'org.opencontainers.image.title';
export const FILEPATH_ANNOTATION = 'org.cncf.model.filepath';

const RAW_LAYERS: readonly string[] = [MODELPACK_WEIGHT, MODELPACK_WEIGHT_CONFIG, MODELPACK_DOC];
/** A plain file name: no folders, no dot-files, so a manifest cannot write outside --out. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const layerType = (file: string) => (file === MODEL_FILE ? MODELPACK_WEIGHT : file === BASELINE_FILE ? MODELPACK_WEIGHT_CONFIG : MODELPACK_DOC);

export interface PushModelOptions {
  /** The model version folder: model.onnx, baseline.json, model.sig, … */
  readonly dir: string;
  /** `host[:port]/path`, no tag, no digest. */
  readonly repository: string;
  readonly model: string;
  readonly version: string;
  readonly access: RegistryAccess;
}

export interface PushedModel {
  /** `oci://repository@sha256:…`: the modelLocation to record. */
  readonly location: string;
  readonly digest: string;
  readonly files: Readonly<Record<string, string>>;
}

/** Pushes the folder's files as a ModelPack artifact; blobs first, the manifest last, so a failed push leaves nothing referenced. */
export async function pushModel(options: PushModelOptions): Promise<PushedModel> {
  const { host, name } = splitRepository(options.repository);
  if (!existsSync(join(options.dir, MODEL_FILE))) throw new SlipwayError('MODEL_ARTIFACT_INVALID', `${join(options.dir, MODEL_FILE)} is missing: push-model pushes a model version folder`, 2);
  const files = readdirSync(options.dir)
    .filter((f) => statSync(join(options.dir, f)).isFile() && SAFE_NAME.test(f))
    .sort((a, b) => (a === MODEL_FILE ? -1 : b === MODEL_FILE ? 1 : a.localeCompare(b)));
  const client = new RegistryClient(host, options.access);
  const layers: Descriptor[] = [];
  for (const file of files) {
    const bytes = readFileSync(join(options.dir, file));
    const digest = await client.putBlob(name, bytes);
    layers.push({ mediaType: layerType(file), digest, size: bytes.length, annotations: { [TITLE_ANNOTATION]: file, [FILEPATH_ANNOTATION]: file } });
  }
  const config = Buffer.from(
    JSON.stringify({
      descriptor: { name: options.model, version: options.version },
      config: { format: 'onnx' },
      modelfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    }),
  );
  const configDigest = await client.putBlob(name, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: MODELPACK_ARTIFACT_TYPE,
      config: { mediaType: MODELPACK_CONFIG, digest: configDigest, size: config.length },
      layers,
    }),
  );
  const digest = await client.putManifest(name, sha256Digest(manifest), manifest, OCI_MANIFEST);
  return { location: `${OCI_SCHEME}${host}/${name}@${digest}`, digest, files: Object.fromEntries(layers.map((l) => [l.annotations![TITLE_ANNOTATION]!, l.digest.slice('sha256:'.length)])) };
}

interface Manifest {
  readonly artifactType?: string;
  readonly config?: Descriptor;
  readonly layers?: readonly Descriptor[];
}

/** What makes `manifest` something other than a ModelPack artifact of raw files slipway can unpack. */
function manifestProblems(manifest: Manifest): string[] {
  const problems: string[] = [];
  if (manifest.artifactType !== MODELPACK_ARTIFACT_TYPE && manifest.config?.mediaType !== MODELPACK_CONFIG) problems.push(`artifactType ${JSON.stringify(manifest.artifactType)} is not ${MODELPACK_ARTIFACT_TYPE}`);
  const layers = manifest.layers ?? [];
  const names = new Set<string>();
  for (const [i, layer] of layers.entries()) {
    const title = layer.annotations?.[FILEPATH_ANNOTATION] ?? layer.annotations?.[TITLE_ANNOTATION];
    if (!RAW_LAYERS.includes(layer.mediaType)) problems.push(`layer ${i} has media type ${layer.mediaType}; slipway unpacks the raw ones (${RAW_LAYERS.join(', ')})`);
    if (!title || !SAFE_NAME.test(title)) problems.push(`layer ${i} has the file name ${JSON.stringify(title)}; expected a plain file name`);
    else if (names.has(title)) problems.push(`layer ${i} repeats the file name ${title}`);
    else names.add(title);
  }
  if (!names.has(MODEL_FILE)) problems.push(`no layer holds ${MODEL_FILE}`);
  return problems;
}

/**
 * Pulls `oci://…@sha256:…` into `out` (absent or empty): the manifest and each blob are checked
 * against their digests (the registry client refuses a mismatch), then the folder appears whole.
 * Returns the sha256 of each file.
 */
export async function fetchModel(location: string, out: string, access: RegistryAccess): Promise<Record<string, string>> {
  const ref = parseOciModelReference(location);
  const client = new RegistryClient(ref.host, access);
  const where = `${ref.host}/${ref.name}@${ref.digest}`;
  const got = await client.getManifest(ref.name, ref.digest);
  if (!got) throw new SlipwayError('MODEL_ARTIFACT_INVALID', `${where} is not in the registry (no manifest with that digest)`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(got.bytes.toString('utf8')) as Manifest;
  } catch (err) {
    throw new SlipwayError('MODEL_ARTIFACT_INVALID', `${where}: the manifest is not JSON: ${(err as Error).message}`);
  }
  const problems = manifestProblems(manifest);
  if (problems.length > 0) throw new SlipwayError('MODEL_ARTIFACT_INVALID', `${where} is not a ModelPack model slipway can unpack:\n  ${problems.join('\n  ')}`);
  if (existsSync(out) && readdirSync(out).length > 0) throw new SlipwayError('MODEL_ARTIFACT_INVALID', `--out ${out} is not empty; fetch-model writes a fresh folder`, 2);
  mkdirSync(dirname(out), { recursive: true });
  const staging = mkdtempSync(join(dirname(out), `.${basename(out)}.partial-`));
  try {
    const files: Record<string, string> = {};
    for (const layer of manifest.layers!) {
      const file = (layer.annotations?.[FILEPATH_ANNOTATION] ?? layer.annotations?.[TITLE_ANNOTATION])!;
      const bytes = await client.getBlob(ref.name, layer.digest).catch((err: unknown) => {
        if (err instanceof SlipwayError && err.code === 'SUPPLY_CHAIN_MISMATCH') throw new SlipwayError('SUPPLY_CHAIN_MISMATCH', `${file}: ${err.message}: refusing the model`);
        throw err;
      });
      if (bytes.length !== layer.size) throw new SlipwayError('SUPPLY_CHAIN_MISMATCH', `${where}: ${file} (${layer.digest}) has ${bytes.length} bytes, the manifest says ${layer.size}`);
      writeFileSync(join(staging, file), bytes);
      files[file] = layer.digest.slice('sha256:'.length);
    }
    if (existsSync(out)) rmdirSync(out);
    renameSync(staging, out);
    return files;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
