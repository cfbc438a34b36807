import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Environment, Platform, PlatformDashboard } from '../../constructs/index.js';
import { type Manifest, synth } from '../support/synth.js';
import { upstreamProblem } from '../support/upstream-schemas.js';

const work = mkdtempSync(join(tmpdir(), 'slipway-platform-dashboard-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function givenPlatform() {
  const platform = new Platform(Testing.app(), 'acme-ml', { repoURL: 'https://github.com/acme/ml-config.git' });
  const staging = new Environment(platform, 'staging', { namespace: 'ml-staging' });
  const prod = new Environment(platform, 'prod', { namespace: 'ml-prod', monitoringNamespace: 'observability' });
  return { platform, staging, prod };
}

describe('PlatformDashboard', () => {
  it('synthesizes one Grafana dashboard ConfigMap covering every environment of the platform', () => {
    // GIVEN staging and prod WHEN the dashboard is added to prod
    const { prod } = givenPlatform();
    const chart = new PlatformDashboard(prod, 'platform-dashboard');
    const [configMap, ...rest] = synth(chart) as Manifest[];
    // THEN one ConfigMap in prod's monitoring namespace, labelled for Grafana's sidecar
    expect(rest).toEqual([]);
    expect(configMap).toMatchSnapshot();
    expect(upstreamProblem(configMap!)).toBeUndefined();
    expect(configMap!.metadata).toMatchObject({ name: 'acme-ml-platform-dashboard', namespace: 'observability', labels: { grafana_dashboard: '1' } });
    const dashboard = JSON.parse(configMap!.data!['acme-ml-platform-dashboard.json']!) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
    expect(dashboard.panels.map((p) => p.title)).toEqual([
      'Serving versions (ready replicas by model and version)',
      'Error ratio by model (5xx / all)',
      'Latency p99 by model',
      'Drift state by model',
      'Accuracy by model (from feedback)',
      'Delivery KPIs (slipway kpis --format openmetrics)',
      'Estimated accuracy by model (CBPE, before labels)',
    ]);
    expect(dashboard.panels[1]!.targets[0]!.expr).toContain('namespace=~"ml-prod|ml-staging"');
  });

  it('has only PromQL that promtool parses', () => {
    const { staging } = givenPlatform();
    const [configMap] = synth(new PlatformDashboard(staging, 'dash', { environments: ['prod'] })) as Manifest[];
    const dashboard = JSON.parse(Object.values(configMap!.data!)[0]!) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs[1]).toContain('namespace=~"ml-prod"');
    const file = join(work, 'exprs.yaml');
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `slipway:dashboard_expr_${i}`, expr })) }] }));
    const check = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
  });

  it('fails when an environment it should show does not exist, naming the known ones', () => {
    const { prod } = givenPlatform();
    expect(() => new PlatformDashboard(prod, 'dash', { environments: ['qa'] })).toThrow(/environments.*unknown environment "qa"; the platform has "staging", "prod"/);
  });
});
