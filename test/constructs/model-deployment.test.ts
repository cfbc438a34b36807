import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Environment, ModelDeployment, Platform, RELEASES_CONTEXT_KEY, SpecFileError, type Release } from '../../constructs/index.js';
import { RUNTIME_IMAGE, SHA_A, SHA_B, deploymentProps } from '../support/fixtures.js';
import { find, givenEnvironment, synth } from '../support/synth.js';
import { upstreamProblem } from '../support/upstream-schemas.js';

const work = mkdtempSync(join(tmpdir(), 'slipway-spec-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function specFile(name: string, text: string): string {
  const file = join(work, name);
  writeFileSync(file, text);
  return file;
}

function loadError(file: string, environment = 'staging'): SpecFileError {
  const { environment: env } = givenEnvironment(environment);
  try {
    ModelDeployment.fromFile(env, file);
  } catch (err) {
    if (err instanceof SpecFileError) return err;
    throw err;
  }
  throw new Error('expected the spec file to be rejected');
}

const VALID_SPEC = stringify({
  ...deploymentProps(),
  environments: { prod: { minReplicas: 3, maxReplicas: 9, driftThresholds: { psi: 0.1 } } },
});

describe('ModelDeployment', () => {
  it('composes model, serving and monitor into one chart in the environment namespace', () => {
    // GIVEN an environment
    const { environment } = givenEnvironment();
    // WHEN a model is deployed with only the required props
    const deployment = new ModelDeployment(environment, 'fraud-detector', deploymentProps());
    const manifests = synth(deployment);
    // THEN serving and monitoring objects are there, valid upstream, in the namespace
    expect(manifests).toMatchSnapshot();
    expect(manifests.map((m) => m.kind)).toEqual([
      'ServiceAccount',
      'Deployment',
      'Service',
      'PodDisruptionBudget',
      'NetworkPolicy',
      'HorizontalPodAutoscaler',
      'ServiceMonitor',
      'PrometheusRule',
      'ConfigMap',
    ]);
    expect(manifests.every((m) => m.metadata.namespace === 'ml-staging')).toBe(true);
    expect(manifests.map(upstreamProblem).filter(Boolean)).toEqual([]);
  });

  it('leaves monitoring out on request', () => {
    const { environment } = givenEnvironment();
    const manifests = synth(new ModelDeployment(environment, 'fraud-detector', deploymentProps({ monitoring: false })));
    expect(manifests.some((m) => m.kind === 'PrometheusRule' || m.kind === 'ServiceMonitor')).toBe(false);
  });

  it('takes the whole build (version, model, baseline, image digest) from the release record of its environment', () => {
    // GIVEN release records for staging and prod in the app context, as `slipway synth` sets them
    const app = Testing.app();
    const releases: Release[] = [
      { environment: 'staging', model: 'fraud-detector', version: '1.4.0', modelSha256: SHA_B, modelLocation: 'image', imageDigest: `sha256:${'d'.repeat(64)}` },
      { environment: 'prod', model: 'fraud-detector', version: '1.2.0', modelSha256: SHA_A, modelLocation: 'image', imageDigest: `sha256:${'e'.repeat(64)}` },
    ];
    app.node.setContext(RELEASES_CONTEXT_KEY, releases);
    const platform = new Platform(app, 'acme-ml', { repoURL: 'https://github.com/acme/ml-config.git' });
    const staging = new Environment(platform, 'staging');
    // WHEN the model is deployed to staging
    const manifests = synth(new ModelDeployment(staging, 'fraud-detector', deploymentProps()));
    // THEN the staging release decides the build
    const deployment = find(manifests, 'Deployment');
    expect(deployment.metadata.labels?.['app.kubernetes.io/version']).toBe('1.4.0');
    expect(deployment.spec.template.spec.containers[0].image).toBe(`ghcr.io/acme/runtime@sha256:${'d'.repeat(64)}`);
    expect(deployment.spec.template.metadata.annotations['slipway.dev/model-sha256']).toBe(SHA_B);
    expect(deployment.spec.template.metadata.annotations['slipway.dev/model-location']).toBe('image');
    expect(deployment.spec.template.spec.initContainers).toBeUndefined();
  });

  it('serves a challenger build beside the champion: mirrored traffic, reachable by the champion only, scraped apart, left out of the alerts', () => {
    // GIVEN a staging release with a challenger build, gated on accuracy
    const app = Testing.app();
    app.node.setContext(RELEASES_CONTEXT_KEY, [{
      environment: 'staging', model: 'fraud-detector', version: '1.4.0', modelSha256: SHA_B, modelLocation: 'image', imageDigest: `sha256:${'d'.repeat(64)}`, metrics: { accuracy: 0.9 },
      challenger: { model: 'fraud-detector', version: '1.5.0', modelSha256: SHA_A, modelLocation: 'image', imageDigest: `sha256:${'f'.repeat(64)}` },
    }] satisfies Release[]);
    const staging = new Environment(new Platform(app, 'acme-ml', { repoURL: 'https://github.com/acme/ml-config.git' }), 'staging');
    // WHEN the model is deployed
    const deployment = new ModelDeployment(staging, 'fraud-detector', deploymentProps({ driftWebhookUrl: 'http://el.ml-ci.svc:8080' }));
    const manifests = synth(deployment);
    // THEN every object passes its upstream schema
    expect(manifests.map(upstreamProblem).filter(Boolean)).toEqual([]);
    // AND the champion mirrors to the challenger's Service, which serves the challenger's build under the same model name
    const champion = find(manifests, 'Deployment', 'fraud-detector');
    const challenger = find(manifests, 'Deployment', 'fraud-detector-challenger');
    expect(champion.spec.template.spec.containers[0].env).toContainEqual({ name: 'SLIPWAY_MIRROR_URL', value: `http://fraud-detector-challenger.${deployment.namespace}.svc:8080` });
    expect(challenger.spec.template.spec.containers[0].image).toBe(`ghcr.io/acme/runtime@sha256:${'f'.repeat(64)}`);
    expect(challenger.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name)).not.toContain('SLIPWAY_MIRROR_URL');
    expect(challenger.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name)).not.toContain('SLIPWAY_DRIFT_WEBHOOK_URL');
    expect(challenger.spec.template.metadata.annotations['slipway.dev/model-sha256']).toBe(SHA_A);
    expect(JSON.parse(challenger.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'SLIPWAY_EXPECTED_SHA256').value)).toEqual({ 'fraud-detector': { 'model.onnx': SHA_A } });
    // AND only the champion's pods may call it
    const policy = find(manifests, 'NetworkPolicy', 'fraud-detector-challenger');
    expect(policy.spec.ingress[0].from).toEqual([{ podSelector: { matchLabels: deployment.serving.selector } }]);
    // AND its ServiceMonitor marks its series as the challenger's, which the model's alerts leave out
    const monitor = find(manifests, 'ServiceMonitor', 'fraud-detector-challenger');
    expect(monitor.spec.endpoints[0].relabelings).toEqual([{ targetLabel: 'slipway_role', replacement: 'challenger' }]);
    const rules = find(manifests, 'PrometheusRule').spec.groups.flatMap((g: { rules: Array<{ alert: string; expr: string }> }) => g.rules);
    expect(rules.every((r: { expr: string }) => r.expr.includes('slipway_role!="challenger"'))).toBe(true);
    expect(rules.map((r: { alert: string }) => r.alert)).toContain('SlipwayModelPerformance');
    expect(deployment.challenger?.model.version).toBe('1.5.0');
  });

  it("never falls back to the props' baseline when the released build has none", () => {
    const app = Testing.app();
    app.node.setContext(RELEASES_CONTEXT_KEY, [
      { environment: 'staging', model: 'fraud-detector', version: '1.4.0', modelSha256: SHA_B, modelLocation: 's3://acme-ml-models/fraud/1.4.0/model.onnx', imageDigest: `sha256:${'d'.repeat(64)}` },
    ] satisfies Release[]);
    const staging = new Environment(new Platform(app, 'acme-ml', { repoURL: 'https://github.com/acme/ml-config.git' }), 'staging');
    const manifests = synth(
      new ModelDeployment(staging, 'fraud-detector', deploymentProps({ baselineUri: 's3://acme-ml-models/fraud/1.3.0/baseline.json', baselineSha256: SHA_A })),
    );
    const text = JSON.stringify(manifests);
    expect(text).not.toContain('1.3.0/baseline.json');
    expect(find(manifests, 'Deployment').spec.template.spec.initContainers.map((c: { name: string }) => c.name)).toEqual(['fetch-model', 'verify-model']);
  });

  it('fails when a release record carries a malformed digest', () => {
    const app = Testing.app();
    app.node.setContext(RELEASES_CONTEXT_KEY, [{ environment: 'staging', model: 'fraud-detector', version: '1.4.0', modelSha256: SHA_B, modelLocation: 'image', imageDigest: 'latest' }]);
    const staging = new Environment(new Platform(app, 'acme-ml', { repoURL: 'https://github.com/acme/ml-config.git' }), 'staging');
    expect(() => new ModelDeployment(staging, 'fraud-detector', deploymentProps())).toThrow(
      /Release at 'acme-ml\/staging\/fraud-detector' has invalid props:\n  - imageDigest: expected "sha256:" and 64 lower-case hex digits, got "latest"/,
    );
  });

  it('fails when props break several constructs, grouping the problems by construct path', () => {
    const { environment } = givenEnvironment();
    const attempt = () =>
      new ModelDeployment(environment, 'fraud-detector', deploymentProps({ artifactSha256: 'abc', image: 'ghcr.io/acme/runtime:1.0', driftFor: 'soon' }));
    expect(attempt).toThrow(
      new RegExp(
        [
          "Model at 'acme-ml/staging/fraud-detector/Model' has invalid props:",
          '  - artifactSha256: expected 64 lower-case hex digits \\(the output of sha256sum\\), got "abc"',
          "ModelServing at 'acme-ml/staging/fraud-detector/Serving' has invalid props:",
          '  - image: expected an image pinned by digest, got "ghcr.io/acme/runtime:1.0" without "@sha256:<digest>".*',
          "DriftMonitor at 'acme-ml/staging/fraud-detector/Monitor' has invalid props:",
          '  - driftFor: expected a duration such as "30s", "15m" or "1h", got "soon"',
        ].join('\\n'),
      ),
    );
  });

  describe('fromFile', () => {
    it('loads a YAML spec and applies the overrides of its environment', () => {
      // GIVEN a spec with prod overrides
      const file = specFile('valid.yaml', VALID_SPEC);
      const { environment: prod } = givenEnvironment('prod');
      // WHEN it is loaded in prod
      const manifests = synth(ModelDeployment.fromFile(prod, file));
      // THEN the prod replicas and thresholds apply
      expect(find(manifests, 'HorizontalPodAutoscaler').spec).toMatchObject({ minReplicas: 3, maxReplicas: 9 });
      expect(find(manifests, 'PrometheusRule').spec.groups[0].rules[0].expr).toMatch(/>= 0\.1$/);
    });

    it('loads the same spec without overrides in another environment', () => {
      const { platform, environment } = givenEnvironment('staging');
      // The spec's prod overrides need a prod environment: unknown environment keys are rejected.
      new Environment(platform, 'prod', { namespace: 'ml-prod' });
      const manifests = synth(ModelDeployment.fromFile(environment, specFile('valid-staging.yaml', VALID_SPEC)));
      expect(find(manifests, 'HorizontalPodAutoscaler').spec).toMatchObject({ minReplicas: 1, maxReplicas: 3 });
    });

    it('loads JSON spec files too', () => {
      const { environment } = givenEnvironment();
      const json = JSON.stringify(deploymentProps({ name: 'churn' }));
      expect(ModelDeployment.fromFile(environment, specFile('churn.json', json)).model.name).toBe('churn');
    });

    it('fails when fields are missing, unknown or of the wrong type, reporting all with line and column', () => {
      // GIVEN a spec with three schema problems
      const file = specFile(
        'schema-errors.yaml',
        ['name: fraud-detector', 'version: 1.3.0', 'artifactUri: s3://acme-ml-models/m.onnx', `artifactSha256: ${SHA_A}`, 'inputs: []', 'outputs: []', `image: ${RUNTIME_IMAGE}`, 'minReplicas: two', 'replicaz: 3', ''].join('\n'),
      );
      // WHEN it is loaded
      const error = loadError(file);
      // THEN each problem names the file, line, column and pointer
      expect(error.message).toMatch(/schema-errors\.yaml: 3 problems:/);
      expect(error.message).toContain('schema-errors.yaml:1:1 /owner: required field "owner" is missing');
      expect(error.message).toContain('schema-errors.yaml:8:14 /minReplicas: expected a number, got "two"');
      expect(error.message).toContain('schema-errors.yaml:9:1 /replicaz: unknown field "replicaz"');
    });

    it('fails when values break construct rules, reporting every one with its line', () => {
      // GIVEN a schema-valid spec whose sha256 and GPU count are wrong and whose prod bounds invert
      const file = specFile(
        'rule-errors.yaml',
        VALID_SPEC.replace(SHA_A, 'abc123').replace('image:', 'gpu:\n  count: 0\nimage:').replace('maxReplicas: 9', 'maxReplicas: 2'),
      );
      // WHEN it is loaded in prod
      const error = loadError(file, 'prod');
      // THEN the model's and the serving's problems come together, each at its line
      expect(error.problems).toHaveLength(3);
      expect(error.message).toMatch(/rule-errors\.yaml:5:17 \/artifactSha256: expected 64 lower-case hex digits .* got "abc123"/);
      expect(error.message).toMatch(/rule-errors\.yaml:\d+:10 \/gpu\/count: expected an integer >= 1 .* got 0/);
      expect(error.message).toMatch(/rule-errors\.yaml:\d+:18 \/environments\/prod\/maxReplicas: expected an integer >= 1 and >= minReplicas \(3\), got 2/);
    });

    it('fails once for a field that several constructs check', () => {
      const error = loadError(specFile('bad-name.yaml', VALID_SPEC.replace('name: fraud-detector', 'name: Fraud')));
      expect(error.problems.map((p) => p.pointer)).toEqual(['/name']);
    });

    it('fails when a hash reads as a YAML number, telling to quote it', () => {
      const error = loadError(specFile('numeric-sha.yaml', VALID_SPEC.replace(SHA_A, '1'.repeat(64))));
      expect(error.message).toMatch(/numeric-sha\.yaml:\d+:17 \/artifactSha256: expected a string, got 1\.1+2e\+63 \(quote it: YAML reads it as a number\)/);
    });

    it('fails when the YAML does not parse, naming the line', () => {
      const error = loadError(specFile('broken.yaml', 'name: fraud\ninputs: [\n'));
      expect(error.message).toMatch(/broken\.yaml:\d+:\d+ \/: invalid YAML/);
    });

    it('fails when the file does not exist', () => {
      expect(loadError(join(work, 'missing.yaml')).message).toMatch(/missing\.yaml: 1 problem:\n .* cannot read the spec file: ENOENT/);
    });
  });
});

