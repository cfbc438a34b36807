import { App, type Chart } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import build from '../../apps/main.js';
import { Environment, PipelineTriggers, TrainingPipeline } from '../../constructs/index.js';
import type { Manifest } from '../support/synth.js';
import { crdValidator } from '../support/crd-schema.js';
import { tektonLint, tektonReferenceProblems } from '../support/tekton.js';
import { upstreamProblem } from '../support/upstream-schemas.js';

function givenPlatformWithCi() {
  const app = new App({ outdir: '/nonexistent' });
  const platform = build(app);
  const ci = platform.node.findChild('ci') as Environment;
  const charts = ci.applications;
  const manifests = charts.flatMap((chart: Chart) => chart.toJson() as Manifest[]);
  return { platform, ci, charts, manifests };
}

describe('example CI environment (apps/ci.ts)', () => {
  const { ci, charts, manifests } = givenPlatformWithCi();

  it('holds one training pipeline per example model and the triggers, each an application', () => {
    expect(ci.namespace).toBe('ml-ci');
    expect(charts.map((c) => c.node.id)).toEqual(['fraud-detector-pipeline', 'image-classifier-pipeline', 'triggers']);
    // cdk8s makes `instanceof` true for any Chart subclass, so compare prototypes.
    const pipelines = charts.filter((c): c is TrainingPipeline => TrainingPipeline.prototype.isPrototypeOf(c));
    expect(pipelines.map((p) => [p.modelName, p.releaseEnvironment])).toEqual([
      ['fraud-detector', 'staging'],
      ['image-classifier', 'staging'],
    ]);
    expect(charts.filter((c) => PipelineTriggers.prototype.isPrototypeOf(c))).toHaveLength(1);
  });

  it('lints clean with tekton-lint and resolves every reference', () => {
    const tekton = manifests.filter((m) => m.apiVersion.includes('tekton.dev'));
    expect(tektonLint(tekton)).toEqual([]);
    expect(tektonReferenceProblems(tekton)).toEqual([]);
  });

  it('runs the fraud detector notebook on CPUs and the image classifier on a GPU', () => {
    const template = (model: string) => manifests.find((m) => m.kind === 'TriggerTemplate' && m.metadata.name === `${model}-training`)!.spec.resourcetemplates[0];
    expect(template('fraud-detector').spec.taskRunSpecs).toBeUndefined();
    expect(template('image-classifier').spec.taskRunSpecs[0].podTemplate.nodeSelector).toEqual({ 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-80GB' });
    expect(template('image-classifier').spec.timeouts.pipeline).toBe('8h');
  });

  it('emits core objects that pass upstream schemas, all labelled', () => {
    const kyverno = (m: Manifest) => m.apiVersion === 'policies.kyverno.io/v1';
    expect(manifests.filter((m) => !m.apiVersion.includes('tekton.dev') && !kyverno(m)).map(upstreamProblem).filter(Boolean)).toEqual([]);
    // The signed-image policies (fraud-detector signs its builds) against Kyverno's own CRD
    const validate = crdValidator('test/fixtures/crds/policies.kyverno.io_namespacedimagevalidatingpolicies.yaml', 'v1');
    const policies = manifests.filter(kyverno);
    expect(policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual(['ml-staging/fraud-detector-signed-images', 'ml-prod/fraud-detector-signed-images']);
    for (const policy of policies) expect(validate(policy) ? [] : validate.errors).toEqual([]);
    for (const m of manifests) {
      for (const key of ['name', 'instance', 'version', 'component', 'part-of', 'managed-by']) {
        expect(m.metadata.labels?.[`app.kubernetes.io/${key}`], `${m.kind}/${m.metadata.name}`).toBeTruthy();
      }
    }
  });

  it('synthesizes the same objects twice', () => {
    expect(givenPlatformWithCi().manifests).toEqual(manifests);
  });
});
