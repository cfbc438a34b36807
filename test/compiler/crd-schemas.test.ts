import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crdSchemaFileName, crdSchemaFiles } from '../../lib/compiler/crd-schemas.js';
import { ObjectValidator } from '../../lib/compiler/validate.js';

const ROOT = resolve(import.meta.dirname, '../..');
const FIXTURES = join(ROOT, 'test/fixtures/upstream/crds');

describe('schemas/crds', () => {
  it('holds exactly the schemas of the committed upstream CRDs (npm run schemas keeps them in step)', () => {
    const expected = readdirSync(FIXTURES)
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((f) => crdSchemaFiles(readFileSync(join(FIXTURES, f), 'utf8')));
    const shipped = readdirSync(join(ROOT, 'schemas/crds')).sort();
    expect(shipped).toEqual(expected.map((f) => crdSchemaFileName(f.apiVersion, f.kind)).sort());
    for (const file of expected) {
      expect(JSON.parse(readFileSync(join(ROOT, 'schemas/crds', crdSchemaFileName(file.apiVersion, file.kind)), 'utf8'))).toEqual(file);
    }
  });

  it('lets synth validate a TrainJob and refuse one with a misspelled field, naming it', async () => {
    const validator = new ObjectValidator();
    const job = { apiVersion: 'trainer.kubeflow.org/v1alpha1', kind: 'TrainJob', metadata: { name: 'train' }, spec: { runtimeRef: { name: 'torch-distributed' }, trainer: { numNodes: 2 } } };
    expect(await validator.problemsOf('a.yaml', job)).toEqual([]);
    const typo = structuredClone(job) as typeof job & { spec: { trainer: Record<string, unknown> } };
    typo.spec.trainer.numNode = 2;
    expect(await validator.problemsOf('a.yaml', typo)).toEqual([{ path: 'a.yaml', message: "TrainJob 'train': /spec/trainer must NOT have additional properties 'numNode'" }]);
  });
});
