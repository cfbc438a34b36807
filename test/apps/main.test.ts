import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Chart } from 'cdk8s';
import { afterAll, describe, expect, it } from 'vitest';
import build, { allowUnvalidatedKinds } from '../../apps/main.js';
import { Environment, ModelDeployment } from '../../constructs/index.js';
import { podTemplates, type Manifest } from '../support/synth.js';
import { upstreamProblem } from '../support/upstream-schemas.js';

const work = mkdtempSync(join(tmpdir(), 'slipway-app-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function synthToDir(dir: string): Map<string, string> {
  const app = new App({ outdir: dir });
  build(app);
  app.synth();
  return new Map(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

function manifests(): Array<{ chart: string; manifest: Manifest }> {
  const app = new App({ outdir: join(work, 'unused') });
  build(app);
  return app.charts.flatMap((chart: Chart) => chart.toJson().map((manifest) => ({ chart: chart.node.path, manifest: manifest as Manifest })));
}

describe('example platform (apps/main.ts)', () => {
  const all = manifests();

  it('deploys the fraud detector and the image classifier to staging and prod', () => {
    const app = new App({ outdir: join(work, 'unused') });
    const platform = build(app);
    // cdk8s makes `instanceof` true for any Chart subclass, so compare prototypes.
    const deployments = platform.node.findAll().filter((c): c is ModelDeployment => ModelDeployment.prototype.isPrototypeOf(c));
    expect(deployments.map((d) => `${Environment.of(d).name}/${d.model.name}`)).toEqual([
      'staging/fraud-detector',
      'staging/image-classifier',
      'prod/fraud-detector',
      'prod/image-classifier',
    ]);
    const classifier = deployments.find((d) => d.node.path === 'acme-ml/prod/image-classifier')!;
    expect(classifier.node.findAll().some((c) => c.node.id === 'Resource' && (c as { kind?: string }).kind === 'Rollout')).toBe(true);
  });

  it('emits only objects that pass their upstream schemas, Tekton kinds aside (test/apps/ci.test.ts lints those)', () => {
    const checked = all.filter(({ manifest }) => !allowUnvalidatedKinds.includes(`${manifest.apiVersion}/${manifest.kind}`));
    expect(checked.length).toBeGreaterThan(all.length / 2);
    expect(checked.map(({ manifest }) => upstreamProblem(manifest)).filter(Boolean)).toEqual([]);
  });

  it('meets the restricted pod security profile in every pod template', () => {
    const templates = podTemplates(all.map((a) => a.manifest));
    expect(templates.length).toBe(4);
    for (const { owner, template } of templates) {
      const pod = template.spec;
      expect(pod.securityContext, owner).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.hostNetwork ?? false, owner).toBe(false);
      expect(pod.hostPID ?? false, owner).toBe(false);
      expect(pod.volumes.every((v: Record<string, unknown>) => !('hostPath' in v)), owner).toBe(true);
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const where = `${owner} container ${container.name}`;
        // OpenShift's restricted-v2 assigns the UID: a fixed one would be refused.
        expect(container.securityContext.runAsUser, where).toBeUndefined();
        expect(container.securityContext, where).toEqual({
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(container.image, where).toMatch(/@sha256:[0-9a-f]{64}$/);
        expect(container.resources?.requests, where).toBeDefined();
        expect(container.resources?.limits?.memory, where).toBeDefined();
      }
    }
  });

  it('labels every object with the recommended app.kubernetes.io labels', () => {
    for (const { chart, manifest } of all) {
      const labels = manifest.metadata.labels ?? {};
      for (const key of ['name', 'instance', 'version', 'component', 'part-of', 'managed-by']) {
        expect(labels[`app.kubernetes.io/${key}`], `${chart} ${manifest.kind}/${manifest.metadata.name} lacks app.kubernetes.io/${key}`).toBeTruthy();
      }
    }
  });

  it('names objects readably, without hash suffixes', () => {
    const serving = all.filter(({ chart }) => !chart.startsWith('acme-ml/ci/'));
    const names = new Set(serving.map(({ manifest }) => manifest.metadata.name));
    expect([...names].sort()).toEqual([
      'acme-ml-platform-dashboard',
      'fraud-detector',
      'fraud-detector-dashboard',
      'image-classifier',
      'image-classifier-dashboard',
      'image-classifier-error-ratio',
    ]);
  });

  it('synthesizes byte-identical output twice', () => {
    const first = synthToDir(join(work, 'first'));
    const second = synthToDir(join(work, 'second'));
    expect([...first.keys()].map((f) => f.replace(/-[0-9a-f]{8}\.k8s\.yaml$/, ''))).toEqual([
      'acme-ml-ci-fraud-detector-pipeline',
      'acme-ml-ci-image-classifier-pipeline',
      'acme-ml-ci-triggers',
      'acme-ml-prod-fraud-detector',
      'acme-ml-prod-image-classifier',
      'acme-ml-prod-platform-dashboard',
      'acme-ml-staging-fraud-detector',
      'acme-ml-staging-image-classifier',
    ]);
    expect(second).toEqual(first);
  });
});
