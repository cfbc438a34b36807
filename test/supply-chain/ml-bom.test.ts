import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { afterAll, describe, expect, it } from 'vitest';
import { attestBuild } from '../../lib/supply-chain/attest.js';
import { generateKeyPair } from '../../lib/supply-chain/keys.js';
import { ML_BOM_FILE, mlBom } from '../../lib/supply-chain/ml-bom.js';
import type { BuildRecord } from '../../lib/vocabulary/build.js';

// ajv-formats is CommonJS: its default export is the plugin itself.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const SCHEMAS = 'test/fixtures/cyclonedx';
const work = mkdtempSync(join(tmpdir(), 'slipway-ml-bom-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The official CycloneDX 1.6 JSON schema (with the SPDX licence list and JSF it references). */
function cyclonedx16() {
  const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
  for (const file of ['spdx.schema.json', 'jsf-0.82.schema.json']) ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')));
  return ajv.compile(JSON.parse(readFileSync(join(SCHEMAS, 'bom-1.6.schema.json'), 'utf8')));
}

const BUILD: BuildRecord = {
  model: 'fraud-detector',
  version: '1.7.0',
  modelSha256: 'a'.repeat(64),
  modelLocation: 'image',
  baselineSha256: 'b'.repeat(64),
  baselineLocation: 'image',
  imageDigest: `sha256:${'c'.repeat(64)}`,
  source: { repository: 'https://github.com/acme/models.git', commit: 'd'.repeat(40) },
  trainingDataSha256: 'e'.repeat(64),
  metrics: { auc: 0.95, recall_at_1pct_fpr: 0.7 },
  trigger: 'drift',
  pipelineRun: 'fraud-detector-training-x1',
  builtAt: '2026-12-02T08:00:00Z',
};
const SIGNATURE = { inputs: [{ name: 'features', datatype: 'FP32' as const, shape: [-1, 6] }], outputs: [{ name: 'probability', datatype: 'FP32' as const, shape: [-1, 2] }] };

describe('ML-BOM: CycloneDX 1.6 with a machine-learning-model component', () => {
  it('describes the model, its model card, training data and image, valid against the official CycloneDX 1.6 schema', () => {
    const bom = mlBom({ build: BUILD, imageRepository: 'ghcr.io/acme/fraud-detector-runtime', signature: SIGNATURE }) as any;
    const validate = cyclonedx16();
    expect(validate(bom) ? [] : validate.errors).toEqual([]);
    const model = bom.components.find((c: { type: string }) => c.type === 'machine-learning-model');
    expect(model).toMatchObject({ name: 'fraud-detector', version: '1.7.0', hashes: [{ alg: 'SHA-256', content: 'a'.repeat(64) }] });
    expect(model.modelCard.modelParameters).toEqual({
      datasets: [{ ref: 'data:fraud-detector@1.7.0/training-data' }],
      inputs: [{ format: 'features: FP32[-1,6]' }],
      outputs: [{ format: 'probability: FP32[-1,2]' }],
    });
    expect(model.modelCard.quantitativeAnalysis.performanceMetrics).toEqual([{ type: 'auc', value: '0.95' }, { type: 'recall_at_1pct_fpr', value: '0.7' }]);
    expect(bom.metadata.component.hashes).toEqual([{ alg: 'SHA-256', content: 'c'.repeat(64) }]);
    // Deterministic: the same build, the same BOM
    expect(mlBom({ build: BUILD, imageRepository: 'ghcr.io/acme/fraud-detector-runtime', signature: SIGNATURE })).toEqual(bom);
  });

  it('fails schema validation when a component has a type CycloneDX does not know (the check can fail)', () => {
    const bom = mlBom({ build: BUILD, imageRepository: 'ghcr.io/acme/fraud-detector-runtime' }) as any;
    bom.components[0].type = 'ml-model';
    expect(cyclonedx16()(bom)).toBe(false);
  });

  it('is written and signed by the attest step beside build.json', async () => {
    const key = generateKeyPair(join(work, 'k.key'), join(work, 'k.pub'));
    const { mlBom: written } = await attestBuild({ build: BUILD, key, outDir: work, imageRepository: 'ghcr.io/acme/fraud-detector-runtime', builderId: 'https://slipway.dev/pipeline/local', signature: SIGNATURE });
    expect(written.path).toBe(join(work, ML_BOM_FILE));
    const bundle = JSON.parse(readFileSync(written.bundle, 'utf8'));
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString());
    expect(statement.predicateType).toBe('https://cyclonedx.org/bom');
    expect(statement.predicate).toEqual(JSON.parse(readFileSync(written.path, 'utf8')));
  });
});
