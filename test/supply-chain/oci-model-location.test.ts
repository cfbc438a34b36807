import { describe, expect, it } from 'vitest';
import { buildProblems, checkRelease } from '../../lib/compiler/releases.js';
import { parseOciModelReference } from '../../lib/vocabulary/oci-model.js';

const DIGEST = `sha256:${'e'.repeat(64)}`;
const build = (modelLocation: string) => ({ model: 'fraud-detector', version: '7', modelSha256: 'a'.repeat(64), modelLocation, imageDigest: `sha256:${'c'.repeat(64)}` });

describe('oci:// model locations in build and release records', () => {
  it('accepts a digest-pinned ModelPack location and parses it', () => {
    const location = `oci://127.0.0.1:5000/acme/fraud-model@${DIGEST}`;
    expect(buildProblems(build(location))).toEqual([]);
    expect(checkRelease({ ...build(location), baselineSha256: 'b'.repeat(64), baselineLocation: location, environment: 'prod' }, 'releases/prod/fraud-detector.yaml').modelLocation).toBe(location);
    expect(parseOciModelReference(location)).toEqual({ host: '127.0.0.1:5000', name: 'acme/fraud-model', digest: DIGEST });
  });

  it('fails when the location is a tag, naming the field and the fix', () => {
    expect(buildProblems(build('oci://registry.acme.example/ml/fraud-model:7'))).toEqual([
      { pointer: '/modelLocation', message: 'expected oci://registry/repository@sha256:<64 hex> pinned by digest, got "oci://registry.acme.example/ml/fraud-model:7" (a tag can move; record the digest push-model printed)' },
    ]);
    expect(() => parseOciModelReference('oci://registry.acme.example/ml/fraud-model:7')).toThrow(expect.objectContaining({ code: 'MODEL_OCI_REFERENCE_INVALID', exitCode: 2 }));
  });

  it('fails when the location carries credentials, never repeating them', () => {
    const problems = buildProblems(build(`oci://robot:hunter2@registry.acme.example/ml/fraud-model@${DIGEST}`));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.pointer).toBe('/modelLocation');
    expect(problems[0]!.message).not.toContain('hunter2');
    expect(() => parseOciModelReference(`oci://robot:hunter2@registry.acme.example/ml/fraud-model@${DIGEST}`)).toThrow(/no credentials in an oci:\/\/ location/);
    expect(buildProblems(build(`oci://registry.acme.example/Fraud@sha256:${'e'.repeat(63)}`))[0]!.message).toMatch(/^expected oci:\/\/registry\/repository@sha256:<64 hex> \(lower-case repository, 64 hex digits\)/);
  });
});
