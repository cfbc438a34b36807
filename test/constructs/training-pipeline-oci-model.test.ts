import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Testing } from 'cdk8s';
import { Environment, ModelDeployment, Platform, RELEASES_CONTEXT_KEY, TrainingPipeline, type TrainingPipelineProps } from '../../constructs/index.js';
import { readBuildFile } from '../../lib/compiler/releases.js';
import { verifyModelSignature } from '../../lib/supply-chain/attest.js';
import type { SlipwayError } from '../../lib/errors.js';
import { generateKeyPair, readTrustedKeys } from '../../lib/supply-chain/keys.js';
import { startLocalRegistry } from '../../lib/supply-chain/local-registry.js';
import { onPath } from '../image/support.js';
import { deploymentProps, pipelineProps } from '../support/fixtures.js';
import { find, givenEnvironment, synth, type Manifest } from '../support/synth.js';
import { tektonLint } from '../support/tekton.js';
import { describeWithTools } from '../support/tools.js';

const work = mkdtempSync(join(tmpdir(), 'slipway-pipeline-oci-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const key = generateKeyPair(join(work, 'signing.key'), join(work, 'signing.pub'));
const TRUSTED = readFileSync(join(work, 'signing.pub'), 'utf8');
const MODEL_REPOSITORY = 'registry.example.com/models/fraud-detector';

function props(overrides: Partial<TrainingPipelineProps> = {}): TrainingPipelineProps {
  return pipelineProps({
    modelPath: 'fraud-detector',
    signingKeySecret: 'fraud-detector-signing-key',
    trustedKeys: TRUSTED,
    modelRepository: MODEL_REPOSITORY,
    ...overrides,
  });
}

function givenPipeline(overrides: Partial<TrainingPipelineProps> = {}): TrainingPipeline {
  const { platform } = givenEnvironment('staging');
  return new TrainingPipeline(new Environment(platform, 'ci', { namespace: 'ml-ci' }), 'fraud-detector-pipeline', props(overrides));
}

function failure(overrides: Partial<TrainingPipelineProps>): string {
  try {
    givenPipeline(overrides);
  } catch (err) {
    return `${(err as SlipwayError).code}: ${(err as Error).message}`;
  }
  throw new Error('expected the construct to reject its props');
}

type Step = { name: string; args: string[]; env?: Array<{ name: string; value?: string; valueFrom?: unknown }> };
const packageSteps = (manifests: Manifest[]): Step[] => find(manifests, 'Task', 'fraud-detector-package').spec.steps;
const stepOf = (manifests: Manifest[], name: string) => packageSteps(manifests).find((s) => s.name === name)!;

describe('TrainingPipeline modelRepository: the model also travels as an OCI artifact', () => {
  it('pushes the signed model folder after the image and records its location, and lints clean', () => {
    // GIVEN a signing pipeline with a model repository
    const manifests = synth(givenPipeline());
    // THEN the package task pushes the model once it is signed, before build.json is written
    expect(packageSteps(manifests).map((s) => s.name)).toEqual(['layout', 'sign-model', 'build', 'push', 'push-model', 'record', 'attest']);
    const push = stepOf(manifests, 'push-model');
    expect(push.args).toEqual([
      'pipeline', 'push-model',
      '--folder', '$(workspaces.model.path)/image/models/fraud-detector/$(params.version)',
      '--repository', MODEL_REPOSITORY,
      '--model', 'fraud-detector',
      '--version', '$(params.version)',
      '--location-file', '$(results.model-location.path)',
    ]);
    // AND the registry credentials come from the docker-config workspace, never a value in the spec
    expect(push.env).toEqual([{ name: 'REGISTRY_AUTH_FILE', value: '$(workspaces.docker-config.path)/config.json' }]);
    expect(stepOf(manifests, 'record').args.slice(-2)).toEqual(['--model-location-file', '$(results.model-location.path)']);
    expect(find(manifests, 'Task', 'fraud-detector-package').spec.results.map((r: { name: string }) => r.name)).toContain('model-location');
    expect(tektonLint(manifests)).toEqual([]);
  });

  it('renders nothing of it without the prop: the model ships inside the image only', () => {
    const manifests = synth(givenPipeline({ modelRepository: undefined }));
    expect(packageSteps(manifests).map((s) => s.name)).toEqual(['layout', 'sign-model', 'build', 'push', 'record', 'attest']);
    expect(stepOf(manifests, 'record').args).not.toContain('--model-location-file');
    expect(JSON.stringify(manifests)).not.toContain('model-location');
  });

  it('fails when modelRepository is not a registry repository without tag or digest, naming the prop', () => {
    for (const bad of [`${MODEL_REPOSITORY}:1.4.0`, `oci://${MODEL_REPOSITORY}`, 'registry.example.com/Models/Fraud', `${MODEL_REPOSITORY}@sha256:${'a'.repeat(64)}`, 'fraud-detector']) {
      const message = failure({ modelRepository: bad });
      expect(message).toMatch(/^INVALID_PROPS: TrainingPipeline at '[^']*fraud-detector-pipeline' has invalid props/);
      expect(message).toContain(`modelRepository: expected a registry repository without scheme, tag or digest, in lower case, such as "registry.example.com/models/fraud-detector", got ${JSON.stringify(bad)}`);
    }
  });
});

const missing = () => {
  const tools = ['docker-registry', 'openssl', 'htpasswd'].filter((t) => !onPath(t));
  return tools.length > 0 ? `not installed: ${tools.join(', ')} (Debian packages docker-registry openssl apache2-utils)` : undefined;
};

describeWithTools('package task with modelRepository, run for real against a registry (TLS, htpasswd)', missing(), () => {
  it('pushes the signed model as a ModelPack artifact and build.json records the digest-pinned oci:// location whose fetch yields the recorded bytes', async () => {
    const registry = await startLocalRegistry({ dir: join(work, 'registry') });
    try {
      // GIVEN the rendered package task pushing to the registry, and a workspace as train and profile leave it
      const repository = `${registry.host}/models/fraud-detector`;
      const manifests = synth(givenPipeline({ modelRepository: repository }));
      const root = mkdtempSync(join(work, 'package-'));
      const model = join(root, 'model');
      mkdirSync(model);
      mkdirSync(join(root, 'source', 'fraud-detector', 'data'), { recursive: true });
      copyFileSync('examples/model-repository/fraud-detector/1/model.onnx', join(model, 'model.onnx'));
      copyFileSync('examples/model-repository/fraud-detector/1/baseline.json', join(model, 'baseline.json'));
      writeFileSync(join(model, 'metrics.json'), '{"auc":0.95}');
      writeFileSync(join(root, 'source', 'fraud-detector', 'data', 'train.csv'), 'amount,hour\n1,2\n');
      copyFileSync(registry.authFile, join(root, 'config.json'));
      // The image build and push are exercised by training-pipeline.test.ts; here the image digest is buildah's file.
      const imageDigest = `sha256:${'a'.repeat(64)}`;
      writeFileSync(join(root, 'image-digest'), `${imageDigest}\n`);
      const values: Record<string, string> = {
        'workspaces.model.path': model,
        'workspaces.source.path': join(root, 'source'),
        'workspaces.docker-config.path': root,
        'results.image-digest.path': join(root, 'image-digest'),
        'results.expected-sha256.path': join(root, 'expected-sha256'),
        'results.IMAGE_URL.path': join(root, 'IMAGE_URL'),
        'results.IMAGE_DIGEST.path': join(root, 'IMAGE_DIGEST'),
        'results.model-location.path': join(root, 'model-location'),
        'params.version': '1.4.0',
        'params.source-url': 'https://github.com/acme/models.git',
        'params.commit': 'c'.repeat(40),
        'params.trigger': 'push',
        'context.pipelineRun.name': 'fraud-detector-training-x2',
      };
      const resolve = (arg: string) =>
        arg.replace(/\$\(([^)]+)\)/g, (_, name: string) => {
          if (values[name] === undefined) throw new Error(`the test does not resolve $(${name})`);
          return values[name];
        });
      // Each step's own args and env, resolved as Tekton would; the Secret's key is the one Secret value.
      const run = (name: string, extra: string[] = []) => {
        const s = stepOf(manifests, name);
        const env = Object.fromEntries((s.env ?? []).map((e) => [e.name, e.value !== undefined ? resolve(e.value) : readFileSync(join(work, 'signing.key'), 'utf8')]));
        return spawnSync(process.execPath, ['bin/slipway.mjs', ...s.args.map(resolve), ...extra], { encoding: 'utf8', env: { PATH: process.env.PATH!, ...env } });
      };
      // WHEN layout, sign-model, push-model and record run in order (the cluster trusts the registry's CA; here it is passed)
      for (const [name, extra] of [['layout', []], ['sign-model', []], ['push-model', ['--registry-cert-dir', registry.certDir]], ['record', []]] as const) {
        const result = run(name, [...extra]);
        expect(result.status, `${name}: ${result.stderr}`).toBe(0);
        expect(result.stdout + result.stderr).not.toContain(Buffer.from(JSON.parse(readFileSync(registry.authFile, 'utf8')).auths[registry.host].auth, 'base64').toString().split(':')[1]);
      }
      // THEN build.json records the pushed artifact, pinned by digest, for model and baseline alike
      const build = JSON.parse(readFileSync(join(model, 'build.json'), 'utf8'));
      const location = readFileSync(join(root, 'model-location'), 'utf8');
      expect(location).toMatch(new RegExp(`^oci://${repository.replaceAll('.', '\\.')}@sha256:[0-9a-f]{64}$`));
      expect(build).toMatchObject({ model: 'fraud-detector', version: '1.4.0', modelLocation: location, baselineLocation: location, imageDigest });
      // AND fetching that location (the serving pod's init container) yields exactly the recorded bytes, signature included
      const out = join(root, 'fetched');
      const fetched = spawnSync(process.execPath, ['bin/slipway.mjs', 'pipeline', 'fetch-model', location, '--out', out, '--registry-auth-file', registry.authFile, '--registry-cert-dir', registry.certDir], { encoding: 'utf8' });
      expect(fetched.status, fetched.stderr).toBe(0);
      expect(readdirSync(out).sort()).toEqual(['baseline.json', 'model.onnx', 'model.sig']);
      const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
      expect(sha(join(out, 'model.onnx'))).toBe(build.modelSha256);
      expect(sha(join(out, 'baseline.json'))).toBe(build.baselineSha256);
      expect(build.modelSha256).toBe(sha('examples/model-repository/fraud-detector/1/model.onnx'));
      const files = { 'model.onnx': build.modelSha256, 'baseline.json': build.baselineSha256 };
      expect(verifyModelSignature(join(out, 'model.sig'), files, readTrustedKeys(join(work, 'signing.pub')))).toEqual({ keyId: key.keyId });
      // AND the image still carries the same files, so the test task's smoke test serves the recorded bytes
      expect(JSON.parse(readFileSync(join(root, 'expected-sha256'), 'utf8'))).toEqual({ 'fraud-detector': { 'model.onnx': build.modelSha256, 'baseline.json': build.baselineSha256 } });
      expect(sha(join(model, 'image', 'models', 'fraud-detector', '1.4.0', 'model.onnx'))).toBe(build.modelSha256);
      // AND released (as the release step reads build.json), the serving pod runs the built image and fetches the artifact
      const app = Testing.app();
      app.node.setContext(RELEASES_CONTEXT_KEY, [{ ...readBuildFile(join(model, 'build.json'), { model: 'fraud-detector' }), environment: 'staging' }]);
      const staging = new Environment(new Platform(app, 'acme-ml', { repoURL: 'https://github.com/acme/ml-config.git' }), 'staging');
      const pod = find(synth(new ModelDeployment(staging, 'fraud-detector', deploymentProps())), 'Deployment').spec.template;
      expect(pod.spec.containers[0].image).toBe(`ghcr.io/acme/runtime@${imageDigest}`);
      expect(pod.metadata.annotations['slipway.dev/model-location']).toBe(location);
      expect(pod.spec.initContainers.map((c: { name: string; args?: string[] }) => [c.name, c.args?.slice(0, 3)])).toEqual([
        ['fetch-model', ['pipeline', 'fetch-model', location]],
        ['verify-model', undefined],
      ]);
    } finally {
      await registry.stop();
    }
  }, 120_000);
});
