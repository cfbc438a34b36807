/**
 * The build's ML bill of materials: CycloneDX 1.6 JSON with the model as a
 * `machine-learning-model` component (its model card: inputs, outputs, training data, the
 * metrics the gates read), the training data as a `data` component, the image as the BOM's
 * subject. Derived from the build record alone, so it says nothing the build does not; signed as
 * an in-toto attestation (cosign's CycloneDX predicate type) and attached to the image.
 */
import { BASELINE_FILE, MODEL_FILE, type BuildRecord } from '../vocabulary/build.js';
import type { TensorSpec } from '../vocabulary/tensors.js';
import { IN_TOTO_STATEMENT_V1, type Statement } from './in-toto.js';

export const CYCLONEDX_PREDICATE = 'https://cyclonedx.org/bom';
export const ML_BOM_FILE = 'ml-bom.cdx.json';
export const ML_BOM_BUNDLE = 'ml-bom.sigstore.json';

export interface MlBomOptions {
  readonly build: BuildRecord;
  readonly imageRepository: string;
  /** The model's signature, for the model card's inputs and outputs. @default not described */
  readonly signature?: { readonly inputs: readonly TensorSpec[]; readonly outputs: readonly TensorSpec[] };
}

const tensor = (t: TensorSpec) => ({ format: `${t.name}: ${t.datatype}[${t.shape.join(',')}]` });

export function mlBom(options: MlBomOptions): Record<string, unknown> {
  const { build } = options;
  const image = `${options.imageRepository}@${build.imageDigest}`;
  const modelRef = `model:${build.model}@${build.version}`;
  const dataRef = `data:${build.model}@${build.version}/training-data`;
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    // Deterministic: the same build always yields the same BOM.
    serialNumber: `urn:uuid:${uuidFrom(build.imageDigest)}`,
    version: 1,
    metadata: {
      ...(build.builtAt ? { timestamp: build.builtAt } : {}),
      tools: { components: [{ type: 'application', name: 'slipway' }] },
      component: { type: 'container', 'bom-ref': image, name: options.imageRepository, version: build.version, hashes: [{ alg: 'SHA-256', content: build.imageDigest.replace(/^sha256:/, '') }] },
    },
    components: [
      {
        type: 'machine-learning-model',
        'bom-ref': modelRef,
        name: build.model,
        version: build.version,
        hashes: [{ alg: 'SHA-256', content: build.modelSha256 }],
        properties: [
          { name: 'slipway:file', value: MODEL_FILE },
          ...(build.baselineSha256 ? [{ name: `slipway:sha256:${BASELINE_FILE}`, value: build.baselineSha256 }] : []),
          ...(build.pipelineRun ? [{ name: 'slipway:pipelineRun', value: build.pipelineRun }] : []),
          ...(build.trigger ? [{ name: 'slipway:trigger', value: build.trigger }] : []),
        ],
        ...(build.source ? { externalReferences: [{ type: 'vcs', url: build.source.repository, comment: `commit ${build.source.commit}` }] } : {}),
        modelCard: {
          modelParameters: {
            ...(build.trainingDataSha256 ? { datasets: [{ ref: dataRef }] } : {}),
            ...(options.signature ? { inputs: options.signature.inputs.map(tensor), outputs: options.signature.outputs.map(tensor) } : {}),
          },
          ...(build.metrics && Object.keys(build.metrics).length > 0
            ? { quantitativeAnalysis: { performanceMetrics: Object.entries(build.metrics).sort(([a], [b]) => (a < b ? -1 : 1)).map(([type, value]) => ({ type, value: String(value) })) } }
            : {}),
        },
      },
      ...(build.trainingDataSha256
        ? [{ type: 'data', 'bom-ref': dataRef, name: 'training-data', hashes: [{ alg: 'SHA-256', content: build.trainingDataSha256 }], data: [{ type: 'dataset', name: 'training-data' }] }]
        : []),
    ],
    dependencies: [{ ref: image, dependsOn: [modelRef] }, ...(build.trainingDataSha256 ? [{ ref: modelRef, dependsOn: [dataRef] }] : [])],
  };
}

/** A version-4-shaped UUID from a digest, so the serial number is stable per build. */
function uuidFrom(digest: string): string {
  const hex = digest.replace(/^sha256:/, '').slice(0, 32).padEnd(32, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function mlBomStatement(bom: Record<string, unknown>, imageRepository: string, imageDigest: string): Statement<Record<string, unknown>> {
  return { _type: IN_TOTO_STATEMENT_V1, subject: [{ name: imageRepository, digest: { sha256: imageDigest.replace(/^sha256:/, '') } }], predicateType: CYCLONEDX_PREDICATE, predicate: bom };
}
