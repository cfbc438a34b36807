import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Environment, Model, ModelServing, TrainingPipeline, type TrainingPipelineProps } from '../../constructs/index.js';
import { crdValidator } from '../support/crd-schema.js';
import { RUNTIME_IMAGE, modelProps, pipelineProps } from '../support/fixtures.js';
import { find, givenChart, givenEnvironment, synth, type Manifest } from '../support/synth.js';
import { tektonLint, tektonReferenceProblems } from '../support/tekton.js';

const TRUSTED = readFileSync('apps/keys/acme-ml-signing.pub', 'utf8');
const KYVERNO_CRD = 'test/fixtures/crds/policies.kyverno.io_namespacedimagevalidatingpolicies.yaml';

function props(overrides: Partial<TrainingPipelineProps> = {}): TrainingPipelineProps {
  return pipelineProps({ signingKeySecret: 'fraud-detector-signing-key', trustedKeys: TRUSTED, ...overrides });
}

/** A signing pipeline in `ci`, on a platform with staging and prod. */
function givenSigningPipeline(overrides: Partial<TrainingPipelineProps> = {}): Manifest[] {
  const { platform } = givenEnvironment('staging');
  new Environment(platform, 'prod', { namespace: 'ml-prod' });
  const ci = new Environment(platform, 'ci', { namespace: 'ml-ci' });
  return synth(new TrainingPipeline(ci, 'fraud-detector-pipeline', props(overrides)));
}

const steps = (manifests: Manifest[], task: string) => find(manifests, 'Task', `fraud-detector-${task}`).spec.steps as Array<{ name: string; args?: string[]; env?: Array<{ name: string; value?: string; valueFrom?: unknown }> }>;

function failure(overrides: Partial<TrainingPipelineProps>): string {
  try {
    givenSigningPipeline(overrides);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the construct to reject its props');
}

describe('TrainingPipeline: signed builds', () => {
  it('signs the model before the build and the pushed image after it, with the key from the Secret only', () => {
    const manifests = givenSigningPipeline();
    const pkg = steps(manifests, 'package');
    expect(pkg.map((s) => s.name)).toEqual(['layout', 'sign-model', 'build', 'push', 'record', 'attest']);
    const signModel = pkg.find((s) => s.name === 'sign-model')!;
    expect(signModel.args).toEqual(['pipeline', 'sign-model', '--model', 'fraud-detector', '--folder', '$(workspaces.model.path)/image/models/fraud-detector/$(params.version)', '--copy-to', '$(workspaces.model.path)']);
    const attest = pkg.find((s) => s.name === 'attest')!;
    expect(attest.args).toEqual(expect.arrayContaining(['pipeline', 'attest', '--image-repository', 'ghcr.io/acme/fraud-detector', '--attach']));
    // The private key reaches the two signing steps from the Secret, never as a value
    for (const s of [signModel, attest]) {
      expect(s.env).toContainEqual({ name: 'SLIPWAY_SIGNING_KEY', valueFrom: { secretKeyRef: { name: 'fraud-detector-signing-key', key: 'signing.key' } } });
    }
    expect(pkg.filter((s) => s.env?.some((e) => e.name === 'SLIPWAY_SIGNING_KEY')).map((s) => s.name)).toEqual(['sign-model', 'attest']);
    // Tekton Chains type hints
    expect(find(manifests, 'Task', 'fraud-detector-package').spec.results.map((r: { name: string }) => r.name)).toEqual(expect.arrayContaining(['IMAGE_URL', 'IMAGE_DIGEST']));
    // The test sidecar and the release step verify with the trusted key
    expect(find(manifests, 'Task', 'fraud-detector-test').spec.sidecars[0].env).toContainEqual({ name: 'SLIPWAY_TRUSTED_KEYS', value: TRUSTED });
    expect(steps(manifests, 'release').find((s) => s.name === 'release')!.env).toContainEqual({ name: 'SLIPWAY_TRUSTED_KEYS', value: TRUSTED });
  });

  it('lints clean with tekton-lint and resolves every reference', () => {
    const manifests = givenSigningPipeline();
    expect(tektonLint(manifests.filter((m) => m.apiVersion.startsWith('tekton.dev/'))).filter((p) => p.level === 'error')).toEqual([]);
    expect(tektonReferenceProblems(manifests)).toEqual([]);
  });

  it('emits a Kyverno image policy in each environment namespace it may release to, valid against the upstream CRD', () => {
    const manifests = givenSigningPipeline();
    const policies = manifests.filter((m) => m.kind === 'NamespacedImageValidatingPolicy');
    expect(policies.map((p) => [p.apiVersion, p.metadata.namespace, p.metadata.name])).toEqual([
      ['policies.kyverno.io/v1', 'ml-staging', 'fraud-detector-signed-images'],
      ['policies.kyverno.io/v1', 'ml-prod', 'fraud-detector-signed-images'],
    ]);
    const validate = crdValidator(KYVERNO_CRD, 'v1');
    for (const policy of policies) expect(validate(policy) ? [] : validate.errors).toEqual([]);
    const spec = policies[0]!.spec;
    expect(spec.matchImageReferences).toEqual([{ glob: 'ghcr.io/acme/fraud-detector*' }]);
    expect(spec.attestors).toEqual([{ name: 'key0', cosign: { key: { data: `${TRUSTED.trim()}\n` }, ctlog: { insecureIgnoreTlog: true, insecureIgnoreSCT: true } } }]);
    expect(spec.attestations).toEqual([{ name: 'provenance', intoto: { type: 'https://slsa.dev/provenance/v1' } }]);
    expect(spec.validations.map((v: { expression: string }) => v.expression)).toEqual([
      'images.containers.map(image, verifyImageSignatures(image, [attestors.key0])).all(e, e > 0)',
      'images.containers.map(image, verifyAttestationSignatures(image, attestations.provenance, [attestors.key0])).all(e, e > 0)',
    ]);
  });

  it('fails validation of the CRD schema when a policy field is misspelt (the check can fail)', () => {
    const policy = givenSigningPipeline().find((m) => m.kind === 'NamespacedImageValidatingPolicy')!;
    const validate = crdValidator(KYVERNO_CRD, 'v1');
    expect(validate({ ...policy, spec: { ...policy.spec, matchImageReference: policy.spec.matchImageReferences } })).toBe(false);
  });

  it('signs nothing and emits no policy by default', () => {
    const manifests = givenSigningPipeline({ signingKeySecret: undefined, trustedKeys: undefined });
    expect(steps(manifests, 'package').map((s) => s.name)).toEqual(['layout', 'build', 'push', 'record']);
    expect(manifests.filter((m) => m.kind === 'NamespacedImageValidatingPolicy')).toEqual([]);
  });

  it('fails when signing has no trusted keys, or the trusted keys are not P-256 PEM public keys', () => {
    expect(failure({ trustedKeys: undefined })).toMatch(/trustedKeys: expected the PEM public key\(s\) the release verifies signatures with/);
    expect(failure({ signingKeySecret: undefined })).toMatch(/signingKeySecret: expected the Secret holding signing.key/);
    expect(failure({ trustedKeys: 'ssh-ed25519 AAAA' })).toMatch(/trustedKeys: expected one or more PEM public keys/);
    expect(failure({ signingKeySecret: 'Signing_Key' })).toMatch(/signingKeySecret/);
  });
});

describe('ModelServing: trustedKeys', () => {
  const serve = (trustedKeys: string) => {
    const chart = givenChart();
    new ModelServing(chart, 'Serving', { model: new Model(chart, 'Model', modelProps()), image: RUNTIME_IMAGE, trustedKeys });
    return synth(chart);
  };

  it('hands the runtime the trusted keys, so it verifies the model signature before it is ready', () => {
    const deployment = find(serve(TRUSTED), 'Deployment');
    expect(deployment.spec.template.spec.containers[0].env).toContainEqual({ name: 'SLIPWAY_TRUSTED_KEYS', value: TRUSTED });
  });

  it('fails when trustedKeys is not a PEM public key', () => {
    expect(() => serve('not a key')).toThrow(/trustedKeys: expected one or more PEM public keys/);
  });
});
