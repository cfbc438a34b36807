import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../lib/compiler/model.js';
import { ObjectValidator, checkKustomizations } from '../../lib/compiler/validate.js';

const obj = (apiVersion: string, kind: string, rest: Record<string, unknown> = {}): KubeObject => ({ apiVersion, kind, metadata: { name: 'x' }, ...rest });

describe('ObjectValidator', () => {
  it('validates core, apps, Argo CD, Prometheus operator, KEDA and Argo Rollouts kinds against their upstream schemas', async () => {
    // GIVEN valid objects of each package
    const v = new ObjectValidator();
    const valid = [
      obj('v1', 'Service', { spec: { ports: [{ port: 80 }] } }),
      obj('apps/v1', 'Deployment', { spec: { selector: {}, template: {} } }),
      obj('argoproj.io/v1alpha1', 'Application', { spec: { project: 'p', destination: {}, source: { repoURL: 'https://x' } } }),
      obj('argoproj.io/v1alpha1', 'AppProject', { spec: {} }),
      obj('monitoring.coreos.com/v1', 'ServiceMonitor', { spec: { selector: {}, endpoints: [] } }),
      obj('keda.sh/v1alpha1', 'ScaledObject', { spec: { scaleTargetRef: { name: 'x' }, triggers: [] } }),
      obj('argoproj.io/v1alpha1', 'Rollout', { spec: {} }),
    ];
    // WHEN validated THEN none has a problem
    for (const o of valid) expect(await v.problemsOf('f.yaml', o)).toEqual([]);
  });

  it('fails when a field has the wrong type, naming the object and the field', async () => {
    const problems = await new ObjectValidator().problemsOf('d.yaml', obj('apps/v1', 'Deployment', { spec: { replicas: 'two', selector: {}, template: {} } }));
    expect(problems).toEqual([{ path: 'd.yaml', message: "Deployment 'x': data/spec/replicas must be integer" }]);
  });

  it('fails when a kind has no upstream schema unless it is allowed, and does not mistake sub-schemas for kinds', async () => {
    const v = new ObjectValidator({ allowUnvalidatedKinds: ['example.com/v1/Widget'] });
    expect(await v.problemsOf('w.yaml', obj('example.com/v1', 'Widget'))).toEqual([]);
    const [problem] = await new ObjectValidator().problemsOf('p.yaml', obj('v1', 'PodSpec'));
    expect(problem!.message).toBe('v1/PodSpec has no upstream schema in kubernetes-models or @kubernetes-models/* (is the apiVersion or kind misspelt?); allow it explicitly with --allow-kind v1/PodSpec');
    expect(await new ObjectValidator().problemsOf('d.yaml', obj('apps/v2', 'Deployment'))).toHaveLength(1);
  });
});

describe('checkKustomizations', () => {
  it('fails when a listed resource is missing, a file is not listed, or two applications write one object', () => {
    const files = new Set(['environments/a/x/kustomization.yaml', 'environments/a/x/cm.yaml', 'environments/a/x/stray.yaml', 'environments/a/y/kustomization.yaml', 'environments/a/y/cm.yaml']);
    const kustomizations = new Map([
      ['environments/a/x/kustomization.yaml', ['cm.yaml', 'gone.yaml']],
      ['environments/a/y/kustomization.yaml', ['cm.yaml']],
    ]);
    const cm = obj('v1', 'ConfigMap');
    const objects = new Map([['environments/a/x/cm.yaml', cm], ['environments/a/x/stray.yaml', obj('v1', 'Secret')], ['environments/a/y/cm.yaml', cm]]);
    expect(checkKustomizations(files, kustomizations, objects)).toEqual([
      { path: 'environments/a/x/kustomization.yaml', message: "resource 'gone.yaml' does not exist" },
      { path: 'environments/a/x/stray.yaml', message: 'not listed in the kustomization.yaml beside it' },
      { path: 'environments/a/y/cm.yaml', message: "ConfigMap 'x' is also written by environments/a/x/cm.yaml" },
    ]);
  });
});
