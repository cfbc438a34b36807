import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConstructValidationError, Environment, ModelDeployment, Platform, SpecFileError } from '../../constructs/index.js';
import { SlipwayError } from '../../lib/errors.js';
import { deploymentProps } from '../support/fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'slipway-spec-file-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function specFile(name: string, spec: Record<string, unknown>): string {
  const file = join(work, name);
  writeFileSync(file, stringify(spec));
  return file;
}

function givenPlatform(...environments: string[]): { app: ReturnType<typeof Testing.app>; envs: Environment[] } {
  const app = Testing.app();
  const platform = new Platform(app, 'acme-ml', { repoURL: 'https://github.com/acme/ml-config.git' });
  return { app, envs: environments.map((name) => new Environment(platform, name, { namespace: `ml-${name}` })) };
}

function validationMessages(app: ReturnType<typeof Testing.app>): string[] {
  return app.node.findAll().flatMap((c) => c.node.validate());
}

describe('spec files', () => {
  it('fails with the schema problems and the construct rules in one report, in file order', () => {
    // GIVEN a spec with two schema problems (unknown field, wrong type) and three rule problems
    const file = specFile('five-problems.yaml', {
      ...deploymentProps(),
      artifactSha256: 'abc123',
      maxReplica: 8,
      targetInFlightRequests: 'many',
      gpu: { count: 0 },
      minReplicas: 4,
      maxReplicas: 2,
    });
    const { envs } = givenPlatform('staging');
    // WHEN it is loaded
    let error: unknown;
    try {
      ModelDeployment.fromFile(envs[0]!, file);
    } catch (err) {
      error = err;
    }
    // THEN all five come at once, each at its line
    expect(error).toBeInstanceOf(SpecFileError);
    const problems = (error as SpecFileError).problems;
    expect(problems.map((p) => p.pointer).sort()).toEqual(['/artifactSha256', '/gpu/count', '/maxReplica', '/maxReplicas', '/targetInFlightRequests']);
    expect(problems.every((p) => typeof p.line === 'number')).toBe(true);
    expect(problems.map((p) => p.line)).toEqual([...problems.map((p) => p.line)].sort((a, b) => a! - b!));
    expect((error as SpecFileError).message).toMatch(/five-problems\.yaml: 5 problems:/);
    expect((error as SpecFileError).message).toMatch(/five-problems\.yaml:\d+:1 \/maxReplica: unknown field "maxReplica"/);
    expect((error as SpecFileError).message).toMatch(/\/artifactSha256: expected 64 lower-case hex digits/);
  });

  it('fails when environments: names an environment the app does not define, listing those it defines', () => {
    // GIVEN a spec with overrides for a misspelt environment, loaded in both environments of the app
    const file = specFile('typo-env.yaml', { ...deploymentProps(), environments: { prod: { minReplicas: 2 }, prdo: { maxReplicas: 9 } } });
    const { app, envs } = givenPlatform('staging', 'prod');
    for (const env of envs) ModelDeployment.fromFile(env, file);
    // WHEN the app is validated (as slipway synth and cdk8s synth do)
    const messages = validationMessages(app);
    // THEN the typo is named with its line and the environments that exist
    expect(messages.length).toBeGreaterThan(0);
    for (const message of messages) {
      expect(message).toMatch(/typo-env\.yaml:\d+:3 \/environments\/prdo: unknown environment "prdo"; the app defines 'staging', 'prod'$/);
    }
  });

  it('accepts environments the app creates after loading the spec', () => {
    const file = specFile('later-env.yaml', { ...deploymentProps(), environments: { prod: { minReplicas: 2, maxReplicas: 4 } } });
    const { app, envs } = givenPlatform('staging');
    ModelDeployment.fromFile(envs[0]!, file);
    new Environment(Platform.of(envs[0]!), 'prod', { namespace: 'ml-prod' });
    expect(validationMessages(app)).toEqual([]);
  });

  it('fails with SlipwayErrors that carry stable codes and ids', () => {
    const { envs } = givenPlatform('staging');
    const spec = (() => {
      try {
        ModelDeployment.fromFile(envs[0]!, join(work, 'missing.yaml'));
      } catch (err) {
        return err;
      }
    })();
    const props = (() => {
      try {
        new ModelDeployment(envs[0]!, 'bad', deploymentProps({ name: 'Bad Name' }));
      } catch (err) {
        return err;
      }
    })();
    expect(spec).toBeInstanceOf(SlipwayError);
    expect(spec).toMatchObject({ code: 'INVALID_SPEC', id: 'SLIPWAY_E0112' });
    expect(props).toBeInstanceOf(ConstructValidationError);
    expect(props).toBeInstanceOf(SlipwayError);
    expect(props).toMatchObject({ code: 'INVALID_PROPS', id: 'SLIPWAY_E0110' });
  });
});
