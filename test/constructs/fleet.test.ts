import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Testing } from 'cdk8s';
import { afterEach, describe, expect, it } from 'vitest';
import { Fleet, Platform } from '../../constructs/index.js';
import { planWaves } from '../../constructs/fleet/plan.js';
import { compileApps } from '../../lib/compiler/app-loader.js';
import { renderRepo } from '../../lib/compiler/layout.js';
import { ObjectValidator } from '../../lib/compiler/validate.js';
import { toYaml } from '../../lib/compiler/yaml.js';
import build, { EDGE_SITES } from '../fleet/fixtures/edge-fleet.js';
import { deploymentProps } from '../support/fixtures.js';
import { type Manifest, podTemplates } from '../support/synth.js';

function rendered() {
  const app = new App();
  build(app);
  return renderRepo(compileApps([app], 'edge-fleet.ts'));
}

describe('Fleet', () => {
  afterEach(() => {
    delete process.env.SLIPWAY_FLEET_BROKEN;
  });

  it('compiles to one ApplicationSet joining the sites of every wave with the selected clusters of those names, times the models', () => {
    // GIVEN the 12-site fleet WHEN it is rendered
    const repo = rendered();
    const sets = [...repo.objects.entries()].filter(([, o]) => o.kind === 'ApplicationSet');
    // THEN there is one ApplicationSet, on the hub, with the clusters generator's selector
    expect(sets.map(([p]) => p)).toEqual(['fleets/stores/argocd/applicationset-stores.yaml']);
    const set = sets[0]![1] as Manifest;
    expect(set).toMatchSnapshot();
    const matrix = set.spec.generators[0].matrix.generators;
    expect(matrix[0].matrix.generators[1]).toEqual({ clusters: { selector: { matchLabels: { fleet: 'retail' } } }, selector: { matchLabels: { name: '{{.site}}' } } });
    expect(set.spec.template.spec.source.kustomize).toEqual({ commonLabels: { site: '{{.site}}' } });
    expect(set.spec.template.spec.destination).toEqual({ name: '{{.name}}', namespace: 'retail-stores' });
  });

  it('passes the upstream schemas (ApplicationSet included) and the restricted pod security profile', async () => {
    const repo = rendered();
    const validator = new ObjectValidator();
    const problems = (await Promise.all([...repo.objects].map(([path, obj]) => validator.problemsOf(path, obj)))).flat();
    expect(problems).toEqual([]);
    const templates = podTemplates([...repo.objects.values()] as Manifest[]);
    expect(templates.length).toBe(5);
    for (const { owner, template } of templates) {
      expect(template.spec.securityContext, owner).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of template.spec.containers) {
        expect(c.securityContext, owner).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true });
      }
    }
  });

  it('writes one folder per wave, group and model, plus one sites file per wave, deterministically', () => {
    const repo = rendered();
    const folders = new Set([...repo.objects.keys()].filter((p) => p.startsWith('fleets/stores/waves/')).map((p) => p.split('/').slice(0, 5).join('/')));
    // The 25% wave has only an edge site: no GPU folder for it.
    expect([...folders].sort()).toEqual([
      'fleets/stores/waves/all/edge-scorer',
      'fleets/stores/waves/all/gpu-scorer',
      'fleets/stores/waves/canary/edge-scorer',
      'fleets/stores/waves/canary/gpu-scorer',
      'fleets/stores/waves/w25/edge-scorer',
    ]);
    const siteFiles = [...repo.documents.keys()].filter((p) => p.endsWith('/sites.yaml'));
    expect(siteFiles).toEqual(['fleets/stores/waves/canary/sites.yaml', 'fleets/stores/waves/w25/sites.yaml', 'fleets/stores/waves/all/sites.yaml']);
    expect(repo.documents.get('fleets/stores/waves/canary/sites.yaml')).toEqual([
      { fleet: 'stores', group: 'gpu', site: 'dc-01', wave: 'canary' },
      { fleet: 'stores', group: 'edge', site: 'edge-01', wave: 'canary' },
    ]);
    const everySite = siteFiles.flatMap((p) => (repo.documents.get(p) as Array<{ site: string }>).map((e) => e.site));
    expect(everySite).toHaveLength(12);
    expect(everySite).not.toContain('lab-01');
    const again = rendered();
    expect([...again.documents].map(([p, d]) => [p, toYaml(d)])).toEqual([...repo.documents].map(([p, d]) => [p, toYaml(d)]));
  });

  it('stamps the wave on every object and copies site and wave onto every series', () => {
    const repo = rendered();
    for (const [path, obj] of repo.objects) {
      if (!path.startsWith('fleets/stores/waves/')) continue;
      expect(obj.metadata.labels?.wave, path).toBe(path.split('/')[3]);
      if (obj.kind === 'ServiceMonitor') expect((obj.spec as { targetLabels: string[] }).targetLabels).toEqual(['site', 'wave']);
    }
    // Groups override serving: edge boxes get one small replica, data centres a GPU.
    const edge = repo.objects.get('fleets/stores/waves/all/edge-scorer/deployment-scorer.yaml') as Manifest;
    const gpu = repo.objects.get('fleets/stores/waves/all/gpu-scorer/deployment-scorer.yaml') as Manifest;
    expect(edge.spec.template.spec.containers[0].resources.requests).toEqual({ cpu: '100m', memory: '128Mi' });
    expect(gpu.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu']).toBe(1);
  });

  it('schedules the gate on the hub: a restricted CronJob whose scripts pass shellcheck', () => {
    const repo = rendered();
    const job = repo.objects.get('fleets/stores/argocd/cronjob-stores-advance.yaml') as Manifest;
    expect(repo.kustomizations.get('fleets/stores/argocd/kustomization.yaml')).toContain('cronjob-stores-advance.yaml');
    expect(job.metadata.namespace).toBe('argocd');
    expect(job.spec.concurrencyPolicy).toBe('Forbid');
    const pod = job.spec.jobTemplate.spec.template.spec;
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of [...pod.initContainers, ...pod.containers]) {
      expect(c.securityContext, c.name).toEqual({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
      expect(c.image, c.name).toMatch(/@sha256:[0-9a-f]{64}$/);
      // The token only ever comes from the Secret.
      expect(JSON.stringify(c.env)).not.toMatch(/"value":"[^"]*token/i);
    }
    const advance = pod.containers[0];
    expect(Object.fromEntries(advance.env.filter((e: { value?: string }) => e.value).map((e: { name: string; value: string }) => [e.name, e.value]))).toMatchObject({
      FLEET: 'stores',
      MODELS: 'scorer',
      PROMETHEUS_URL: 'http://thanos-query.monitoring.svc:9090',
    });
    const dir = mkdtempSync(join(tmpdir(), 'slipway-fleet-sh-'));
    try {
      for (const c of [...pod.initContainers, ...pod.containers]) {
        const file = join(dir, `${c.name}.sh`);
        writeFileSync(file, `#!/bin/sh\n${c.command[2]}`);
        expect(() => execFileSync('shellcheck', ['--shell=sh', '--severity=style', file], { encoding: 'utf8' })).not.toThrow();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('fromFile', () => {
    const FILE = join(import.meta.dirname, '../fleet/fixtures/stores.fleet.yaml');
    const platform = () => new Platform(Testing.app(), 'retail', { repoURL: 'https://git.example.com/retail/config.git' });

    it('builds the fleet a YAML spec describes', () => {
      const fleet = Fleet.fromFile(platform(), FILE);
      expect(fleet.plan.bakeTime).toBe('15m');
      expect(fleet.plan.waves.map((w) => [w.name, w.sites.map((s) => `${s.name}:${s.group}`)])).toEqual([
        ['canary', ['edge-01:edge']],
        ['rest', ['dc-01:gpu', 'edge-02:edge', 'edge-03:edge']],
      ]);
    });

    it('fails when the spec has an unknown field or a site in two waves, naming file:line', () => {
      const dir = mkdtempSync(join(tmpdir(), 'slipway-fleet-spec-'));
      try {
        const text = readFileSync(FILE, 'utf8');
        const typo = join(dir, 'typo.yaml');
        writeFileSync(typo, text.replace('bakeTime: 15m', 'bakeTme: 15m'));
        expect(() => Fleet.fromFile(platform(), typo)).toThrow(expect.objectContaining({ code: 'INVALID_SPEC', message: expect.stringMatching(/typo\.yaml:29:1 \/bakeTme: unknown field "bakeTme"/) }));
        const twice = join(dir, 'twice.yaml');
        writeFileSync(twice, text.replace('{ name: rest, percent: 100 }', '{ name: more, sites: [edge-01] }\n  - { name: rest, percent: 100 }'));
        expect(() => Fleet.fromFile(platform(), twice)).toThrow(
          expect.objectContaining({ code: 'FLEET_SITE_IN_TWO_WAVES', message: expect.stringMatching(/twice\.yaml:28:26 \/waves\/1\/sites: site 'edge-01' is already in wave 'canary'/) }),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  it('plans percentages cumulatively over a spread order, the same for the same inventory', () => {
    const sites = Array.from({ length: 1000 }, (_, i) => ({ name: `s-${i}` }));
    const plan = planWaves('f', sites, [{ name: 'canary', sites: ['s-1'] }, { name: 'p10', percent: 10 }, { name: 'all', percent: 100 }]);
    expect(plan.problems).toEqual([]);
    expect(plan.waves.map((w) => w.sites.length)).toEqual([1, 99, 900]);
    expect(planWaves('f', sites, [{ name: 'canary', sites: ['s-1'] }, { name: 'p10', percent: 10 }, { name: 'all', percent: 100 }]).waves).toEqual(plan.waves);
    // Not the first 10% by name: spread over the inventory.
    expect(plan.waves[1]!.sites.filter((s) => Number(s.slice(2)) < 100).length).toBeLessThan(30);
  });

  for (const [broken, code, message] of [
    ['two-waves', 'FLEET_SITE_IN_TWO_WAVES', /waves\[1\]\.sites: site 'edge-01' is already in wave 'canary'/],
    ['empty', 'FLEET_WAVE_EMPTY', /waves\[1\]: wave 'mars' selects no site/],
    ['no-canary', 'FLEET_NO_CANARY', /waves\[0\]: expected a canary wave first that names its sites/],
  ] as const) {
    it(`fails when the plan has ${broken}`, () => {
      process.env.SLIPWAY_FLEET_BROKEN = broken;
      expect(() => build(new App())).toThrow(expect.objectContaining({ code, message: expect.stringMatching(message) }));
    });
  }

  it('fails when a site matches no group, and names every problem at once', () => {
    const attempt = () =>
      new Fleet(new Platform(Testing.app(), 'p', { repoURL: 'https://git.example.com/c.git' }), 'f', {
        selector: { fleet: 'x' },
        sites: [...EDGE_SITES.map((s) => ({ ...s, labels: { ...s.labels, fleet: 'x' } }))],
        groups: [{ name: 'edge', selector: { 'site-type': 'edge' } }],
        models: [deploymentProps()],
        waves: [{ name: 'canary', sites: ['edge-01', 'nowhere'] }, { name: 'all', percent: 100 }],
      });
    expect(attempt).toThrow(expect.objectContaining({ code: 'FLEET_INVALID_GROUPS' }));
    expect(attempt).toThrow(/site 'dc-01' .* matches no group[\s\S]*site 'lab-01'[\s\S]*site 'nowhere' is not in the fleet .*\(FLEET_UNKNOWN_SITE\)/);
  });
});
