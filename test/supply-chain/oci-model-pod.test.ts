import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Model, ModelServing } from '../../constructs/index.js';
import { RUNTIME_IMAGE, SHA_A, SHA_B, modelProps } from '../support/fixtures.js';
import { find, givenChart, synth, type Manifest } from '../support/synth.js';
import { upstreamProblem } from '../support/upstream-schemas.js';

const LOCATION = `oci://registry.acme.example/ml/fraud-model@sha256:${SHA_B}`;

function podSpec(model = modelProps({ artifactUri: LOCATION })): { manifests: Manifest[]; spec: Record<string, any> } {
  const chart = givenChart();
  new ModelServing(chart, 'Serving', { model: new Model(chart, 'Model', model), image: RUNTIME_IMAGE });
  const manifests = synth(chart);
  return { manifests, spec: find(manifests, 'Deployment').spec.template.spec };
}

// Pod Security Standard "restricted": the volume types it allows.
const RESTRICTED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

describe('serving pod: a model stored as an oci:// ModelPack artifact', () => {
  it('pulls it with the runtime image\'s fetch-model, then verifies and lays it out with model.sig', () => {
    // WHEN a model and its baseline live in one oci:// artifact
    const { manifests, spec } = podSpec(modelProps({ artifactUri: LOCATION, baselineUri: LOCATION, baselineSha256: SHA_A }));
    // THEN one init container pulls it once, with the optional registry Secret as its auth file
    expect({ initContainers: spec.initContainers, volumes: spec.volumes }).toMatchSnapshot();
    expect(spec.initContainers.map((c: { name: string }) => c.name)).toEqual(['fetch-model', 'verify-model']);
    const [fetch, verify] = spec.initContainers;
    expect(fetch).toMatchObject({ image: RUNTIME_IMAGE, args: ['pipeline', 'fetch-model', LOCATION, '--out', '/mnt/staging/model'], env: [{ name: 'REGISTRY_AUTH_FILE', value: '/var/run/secrets/slipway/registry/.dockerconfigjson' }] });
    expect(spec.volumes).toContainEqual({ name: 'registry-auth', secret: { secretName: 'slipway-model-registry', optional: true } });
    expect(verify.env).toEqual(
      expect.arrayContaining([
        { name: 'MODEL_SOURCE', value: '/mnt/staging/model/model.onnx' },
        { name: 'BASELINE_SOURCE', value: '/mnt/staging/model/baseline.json' },
        { name: 'SIGNATURE_SOURCE', value: '/mnt/staging/model/model.sig' },
      ]),
    );
    // AND the pod holds to the restricted profile and the upstream schemas
    expect(spec.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of [...spec.initContainers, ...spec.containers]) {
      expect(c.securityContext, c.name).toEqual({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
    }
    for (const v of spec.volumes) expect(RESTRICTED_VOLUMES, v.name).toContain(Object.keys(v).find((k) => k !== 'name'));
    for (const m of manifests) expect(upstreamProblem(m)).toBeUndefined();
  });

  describe('the verify script on what fetch-model wrote', () => {
    const work = mkdtempSync(join(tmpdir(), 'slipway-oci-pod-'));
    afterAll(() => rmSync(work, { recursive: true, force: true }));
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');

    function run(staged: Record<string, string>, modelSha: string) {
      const staging = join(work, `staging-${Object.keys(staged).length}-${modelSha.slice(0, 6)}`);
      mkdirSync(join(staging, 'model'), { recursive: true });
      for (const [file, text] of Object.entries(staged)) writeFileSync(join(staging, 'model', file), text);
      const { spec } = podSpec(modelProps({ artifactUri: LOCATION, artifactSha256: modelSha, baselineUri: LOCATION, baselineSha256: sha('{}') }));
      const env = Object.fromEntries((spec.initContainers[1].env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value.replace('/mnt/staging', staging).replace('/mnt/models', join(staging, 'out'))]));
      return { ran: spawnSync('sh', ['-c', spec.initContainers[1].command[2]], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' }), out: join(staging, 'out', 'fraud-detector') };
    }

    it('installs model.onnx, baseline.json and model.sig when the sha256 match', () => {
      const { ran, out } = run({ 'model.onnx': 'onnx', 'baseline.json': '{}', 'model.sig': '{"bundle":1}' }, sha('onnx'));
      expect(ran.status, ran.stderr).toBe(0);
      expect(readdirSync(join(out, readdirSync(out)[0]!)).sort()).toEqual(['baseline.json', 'model.onnx', 'model.sig']);
    });

    it('passes shellcheck', () => {
      const { spec } = podSpec();
      const file = join(work, 'verify.sh');
      writeFileSync(file, `#!/bin/sh\n${spec.initContainers[1].command[2]}`);
      const checked = spawnSync('shellcheck', ['--shell=sh', '--severity=style', file], { encoding: 'utf8' });
      expect(checked.status, checked.stdout).toBe(0);
    });

    it('fails when the fetched model.onnx is not the released one', () => {
      const { ran } = run({ 'model.onnx': 'other', 'baseline.json': '{}' }, sha('onnx'));
      expect(ran.status).toBe(1);
      expect(ran.stderr).toContain(`verify: sha256 mismatch for`);
      expect(ran.stderr).toContain(`expected ${sha('onnx')}, got ${sha('other')}`);
    });
  });
});
