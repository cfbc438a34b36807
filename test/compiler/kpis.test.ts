import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigRepo } from '../../lib/compiler/config-repo.js';
import { releaseLog } from '../../lib/compiler/history.js';
import { renderKpis } from '../../lib/compiler/kpi-report.js';
import { computeKpis, parseDurationSeconds, summarize } from '../../lib/compiler/kpis.js';
import { at, writeSyntheticHistory } from './support/synthetic-history.js';

const H = 3600;
let work: string;
let repo: string;
beforeAll(() => {
  // GIVEN the synthetic history (support/synthetic-history.ts): fraud-detector 1.0.0–1.3.0 through
  // staging and prod with a rollback in prod and a release in staging fixed by the next; image-classifier legacy
  work = mkdtempSync(join(tmpdir(), 'slipway-kpis-'));
  repo = join(work, 'config-repo');
  writeSyntheticHistory(repo);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('delivery KPIs', () => {
  it('computes deployment frequency, lead time, change failure rate and time to restore per environment and model', async () => {
    const r = await computeKpis({ repo });
    expect(r.to).toBe('2026-09-08T00:00:00Z');
    expect(r.from).toBe('2026-06-10T00:00:00Z');
    const series = Object.fromEntries(r.series.map((s) => [`${s.environment}/${s.model}`, s]));
    expect(Object.keys(series)).toEqual(['prod/fraud-detector', 'staging/fraud-detector', 'staging/image-classifier']);
    expect(series['prod/fraud-detector']).toEqual({
      environment: 'prod',
      model: 'fraud-detector',
      deployments: 3,
      deploymentsPerWeek: 0.2333,
      leadTimeSeconds: { count: 3, median: 26 * H, max: 42 * H },
      failures: 1,
      changeFailureRate: 0.3333,
      timeToRestoreSeconds: { count: 1, median: 2 * H, max: 2 * H },
      // 1.3.0 was released as the fix of 1.2.0: its deployment is rework here too
      reworkDeployments: 1,
      reworkRate: 0.3333,
    });
    expect(series['staging/fraud-detector']).toMatchObject({
      deployments: 4,
      deploymentsPerWeek: 0.3111,
      leadTimeSeconds: { count: 4, median: 2 * H, max: 3 * H },
      failures: 1,
      changeFailureRate: 0.25,
      timeToRestoreSeconds: { count: 1, median: 7 * H },
      reworkDeployments: 1,
      reworkRate: 0.25,
    });
    // A legacy record has no source commit time: it counts as a deployment without a lead time
    expect(series['staging/image-classifier']).toMatchObject({ deployments: 1, leadTimeSeconds: { count: 0 }, failures: 0 });
    const failed = r.deployments.filter((d) => d.failed).map((d) => [d.environment, d.version, d.failure]);
    expect(failed).toEqual([
      ['prod', '1.1.0', { reason: 'rolled back', restoredAt: '2026-09-03T04:00:00Z', timeToRestoreSeconds: 2 * H, by: 'rollback to 1.0.0' }],
      ['staging', '1.2.0', { reason: 'fixed', restoredAt: '2026-09-04T08:00:00Z', timeToRestoreSeconds: 7 * H, by: 'release to 1.3.0' }],
    ]);
    // prod 1.0.0 was replaced by 1.1.0 after 26h, and staging 1.0.0 after 48h: replacement alone is no failure
    expect(r.deployments.filter((d) => d.fixes).map((d) => [d.environment, d.version, d.fixes])).toEqual([
      ['prod', '1.3.0', ['1.2.0']],
      ['staging', '1.3.0', ['1.2.0']],
    ]);
  });

  it('computes lead time to production, retrains by trigger, drift retrain time to production and gate metrics over time', async () => {
    const r = await computeKpis({ repo });
    expect(r.leadTimeToProd).toEqual([
      { model: 'fraud-detector', version: '1.0.0', seconds: 26 * H },
      { model: 'fraud-detector', version: '1.1.0', seconds: 4 * H },
      { model: 'fraud-detector', version: '1.3.0', seconds: 42 * H },
    ]);
    expect(r.retrains).toEqual([
      { model: 'fraud-detector', trigger: 'drift', count: 2 },
      { model: 'fraud-detector', trigger: 'manual', count: 1 },
      { model: 'fraud-detector', trigger: 'push', count: 1 },
      { model: 'image-classifier', trigger: 'unknown', count: 1 },
    ]);
    // 1.1.0 was built at +47h and reached prod at +50h; 1.2.0 (drift) never reached prod
    expect(r.driftToProd).toEqual([{ model: 'fraud-detector', version: '1.1.0', seconds: 3 * H }]);
    expect(r.gateMetrics.map((g) => [g.version, g.metrics.auc])).toEqual([['1.0.0', 0.9], ['1.1.0', 0.88], ['1.2.0', 0.93], ['1.3.0', 0.94]]);
  });

  it('filters by window, environment and model', async () => {
    // --since 3d ends at main's head (+168h): only the prod deployment at +120h is inside
    const recent = await computeKpis({ repo, since: '3d' });
    expect(recent.deployments.map((d) => [d.environment, d.version])).toEqual([['prod', '1.3.0']]);
    expect(recent.retrains).toEqual([]);
    const prodOnly = await computeKpis({ repo, environments: ['prod'] });
    expect(prodOnly.series.map((s) => s.environment)).toEqual(['prod']);
    const classifier = await computeKpis({ repo, models: ['image-classifier'] });
    expect(classifier.series.map((s) => s.model)).toEqual(['image-classifier']);
    expect(classifier.gateMetrics).toEqual([]);
  });

  it('is deterministic: the same repository gives byte-identical output in every format', async () => {
    for (const format of ['table', 'json', 'html', 'openmetrics'] as const) {
      expect(renderKpis(await computeKpis({ repo }), format)).toBe(renderKpis(await computeKpis({ repo }), format));
    }
    expect(renderKpis(await computeKpis({ repo }), 'table')).toMatchSnapshot();
  });

  it('reads past a record broken by hand, reporting it in the history', async () => {
    // GIVEN a later commit that breaks a record's YAML
    const broken = join(work, 'broken');
    cpSync(repo, broken, { recursive: true });
    writeFileSync(join(broken, 'releases/staging/image-classifier.yaml'), 'model: [\n');
    execFileSync('git', ['-C', broken, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qam', 'hand edit'], {
      env: { ...process.env, GIT_AUTHOR_DATE: at(169), GIT_COMMITTER_DATE: at(169) },
    });
    // WHEN the KPIs are computed THEN they still are, and the history names the problem
    const r = await computeKpis({ repo: broken });
    expect(r.series.find((s) => s.model === 'fraud-detector' && s.environment === 'prod')?.deployments).toBe(3);
    const events = await releaseLog(await ConfigRepo.open(broken), { model: 'image-classifier' });
    expect(events.map((e) => [e.kind, e.record?.version, e.problem !== undefined])).toEqual([['release', '2.0.0', false], ['change', undefined, true]]);
  });

  it('fails when a duration is not one', async () => {
    expect(() => parseDurationSeconds('90 days', '--since')).toThrow(/--since: expected a duration such as 90d, 12w or 24h, got "90 days"/);
    await expect(computeKpis({ repo, since: '0h' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(summarize([3, 1, 2, 10])).toEqual({ count: 4, median: 2.5, max: 10 });
  });
});
