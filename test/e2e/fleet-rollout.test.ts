import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { renderKpis } from '../../lib/compiler/kpi-report.js';
import { computeKpis } from '../../lib/compiler/kpis.js';
import { release } from '../../lib/compiler/release-ops.js';
import { synth } from '../../lib/compiler/synth.js';
import { type AdvanceResult, advance, status } from '../../lib/fleet/rollout.js';
import { encodeModel } from '../../lib/onnx/model.js';
import type { Release } from '../../lib/vocabulary/build.js';
import { Site } from './support/fleet-sites.js';
import { type Service, freePort, startProcess, waitFor } from './support/services.js';

/*
 * A fleet on one machine, for real: 12 sites, each a real `slipway serve` running what its wave's
 * folder in the config repository says (the Deployment's flags, environment and verified
 * sha256), scraped by a real Prometheus with the `site` and `wave` labels the fleet's
 * ServiceMonitor adds. `advance` (what `slipway fleet advance` runs) walks a build canary → 25% →
 * 100%; a second build breaks on one site's data, and the rollout halts at that site's wave,
 * rolls the wave back and names the site. The sites re-read the folder after every commit, as
 * Argo CD would sync them.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const APP = join(ROOT, 'test/fleet/fixtures/edge-fleet.ts');
const BIN = join(ROOT, 'bin/slipway.mjs');
const FLEET = 'stores';
const MODEL = 'scorer';
const exec = promisify(execFile);
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

// Three builds of the scorer: features [batch, 4] → scores [batch, 4]. 3.0.0 reshapes by its
// last feature (a width field every site sends as 4): a site whose data says otherwise makes it
// fail at inference (a 500: the model's fault, not the request's).
const io = { inputs: [{ name: 'features', elemType: 'FLOAT' as const, shape: ['batch', 4] }] };
const BUILDS = {
  '1.0.0': encodeModel({ graph: { name: 'v1', ...io, nodes: [{ opType: 'Add', inputs: ['features', 'features'], outputs: ['scores'] }], outputs: [{ name: 'scores', elemType: 'FLOAT', shape: ['batch', 4] }] } }),
  '2.0.0': encodeModel({ graph: { name: 'v2', ...io, nodes: [{ opType: 'Mul', inputs: ['features', 'features'], outputs: ['scores'] }], outputs: [{ name: 'scores', elemType: 'FLOAT', shape: ['batch', 4] }] } }),
  '3.0.0': encodeModel({
    graph: {
      name: 'v3',
      ...io,
      nodes: [
        { opType: 'Slice', inputs: ['features', 'start', 'end', 'axis'], outputs: ['last'] },
        { opType: 'Cast', inputs: ['last'], outputs: ['lastInt'], attributes: { to: { kind: 'int', value: 7 } } },
        { opType: 'Reshape', inputs: ['lastInt', 'flat'], outputs: ['width'] },
        { opType: 'Concat', inputs: ['one', 'width'], outputs: ['dims'], attributes: { axis: { kind: 'int', value: 0 } } },
        { opType: 'Reshape', inputs: ['features', 'dims'], outputs: ['scores'] },
      ],
      initializers: [
        { name: 'start', elemType: 'INT64', dims: [1], values: new BigInt64Array([3n]) },
        { name: 'end', elemType: 'INT64', dims: [1], values: new BigInt64Array([4n]) },
        { name: 'axis', elemType: 'INT64', dims: [1], values: new BigInt64Array([1n]) },
        { name: 'flat', elemType: 'INT64', dims: [1], values: new BigInt64Array([-1n]) },
        { name: 'one', elemType: 'INT64', dims: [1], values: new BigInt64Array([1n]) },
      ],
      outputs: [{ name: 'scores', elemType: 'FLOAT', shape: ['batch', 4] }],
    },
  }),
} as const;
const ROW = [0, 1, 2, 4];
const ODD_ROW = [9, 1, 2, 5];
type Version = keyof typeof BUILDS;
const ARTIFACTS = new Map(Object.values(BUILDS).map((b) => [sha256(b), b] as const));

function build(version: Version, environment: string): Release {
  return {
    model: MODEL,
    version,
    environment,
    modelSha256: sha256(BUILDS[version]),
    modelLocation: 'image',
    imageDigest: `sha256:${sha256(`runtime ${version}`)}`,
    builtAt: '2026-12-01T08:00:00Z',
    trigger: 'push',
  } as Release;
}

describe('a fleet of 12 sites rolled out in waves with health gates', () => {
  const work = mkdtempSync(join(tmpdir(), 'slipway-fleet-'));
  const repo = join(work, 'config-repo');
  const options = { app: APP, repo, typeCheck: false };
  const sites: Site[] = [];
  let prometheus: Service | undefined;
  let odd: Site;
  let traffic: NodeJS.Timeout | undefined;
  let pumping = false;

  afterAll(async () => {
    if (traffic) clearInterval(traffic);
    await Promise.all([...sites.map((s) => s.stop()), prometheus?.stop()]);
    rmSync(work, { recursive: true, force: true });
  });

  // What the fleet's ServiceMonitor does in a cluster: `site` and `wave` from the Service onto every
  // series. Runtimes pick their ports, so Prometheus discovers them from a file (file_sd), rewritten
  // after every sync like the endpoints a ServiceMonitor follows.
  const targetsFile = () => join(work, 'prometheus', 'targets.json');
  function writeTargets(): void {
    const targets = sites.map((s) => ({ targets: [`127.0.0.1:${s.metricsPort}`], labels: { site: s.name, wave: s.wave, namespace: 'retail-stores' } }));
    writeFileSync(`${targetsFile()}.tmp`, JSON.stringify(targets));
    renameSync(`${targetsFile()}.tmp`, targetsFile());
  }
  async function startFleetPrometheus(dir: string): Promise<Service> {
    const port = await freePort();
    mkdirSync(join(dir, 'data'), { recursive: true });
    writeFileSync(join(dir, 'targets.json'), '[]');
    writeFileSync(
      join(dir, 'prometheus.yaml'),
      stringify({
        global: { scrape_interval: '1s' },
        scrape_configs: [{ job_name: 'slipway-runtime', file_sd_configs: [{ files: [targetsFile()], refresh_interval: '1s' }] }],
      }),
    );
    const service = startProcess('prometheus', `http://127.0.0.1:${port}`, 'prometheus', [
      `--config.file=${join(dir, 'prometheus.yaml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ]);
    await waitFor('Prometheus to be ready', async () => {
      if (service.exited) throw new Error(`prometheus exited:\n${service.log}`);
      return (await fetch(`${service.url}/-/ready`)).ok ? true : undefined;
    }, 30_000, 250);
    return service;
  }
  const syncAll = async () => {
    const changed = (await Promise.all(sites.map((s) => s.sync(MODEL)))).filter(Boolean).length;
    if (prometheus) writeTargets();
    return changed;
  };
  const head = () => execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();

  async function promQuery(query: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const res = await fetch(`${prometheus!.url}/api/v1/query?query=${encodeURIComponent(query)}`);
    return ((await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
  }

  /** Waits until Prometheus has seen every site of `wave` serve `version` and answer requests. */
  async function scraped(wave: string, version: string): Promise<void> {
    const want = sites.filter((s) => s.wave === wave).map((s) => s.name).sort();
    await waitFor(`Prometheus to see ${want.join(', ')} serve ${version} with traffic`, async () => {
      const seen = await promQuery(`sum by (site) (slipway_inference_requests_total{model="${MODEL}",version="${version}",wave="${wave}"}) > 2`);
      const got = seen.map((s) => s.metric.site).sort();
      return want.every((w) => got.includes(w)) ? true : undefined;
    }, 30_000, 250);
  }

  async function advanceUntilDecided(): Promise<AdvanceResult> {
    return waitFor('the gate to decide', async () => {
      const r = await advance({ fleet: FLEET, model: MODEL, prometheus: prometheus!.url }, options);
      return r.action === 'baking' ? undefined : r;
    }, 30_000, 500);
  }

  it('compiles the fleet and starts every site on 1.0.0 with Prometheus scraping it', async () => {
    process.env.SLIPWAY_FLEET_BAKE = '2s';
    // No Prometheus in the plan: advance gets this test's, and status without one shows the recorded state.
    process.env.SLIPWAY_FLEET_PROMETHEUS = 'none';
    // The fleet as it stands before the story: every wave on 1.0.0, in the first commit.
    await synth({ ...options, releases: ['canary', 'w25', 'all'].map((w) => build('1.0.0', `${FLEET}-${w}`)) });

    const plan = parse(readFileSync(join(repo, 'fleets', FLEET, 'fleet.yaml'), 'utf8')) as { waves: Array<{ name: string; sites: Array<{ name: string }> }> };
    expect(plan.waves.map((w) => [w.name, w.sites.length])).toEqual([['canary', 2], ['w25', 1], ['all', 9]]);
    for (const wave of plan.waves) for (const s of wave.sites) sites.push(new Site(s.name, repo, FLEET, join(work, 'sites', s.name), ARTIFACTS));
    expect(sites).toHaveLength(12);
    // The 25% wave's only site sees feature codes the 3.0.0 table does not have.
    odd = sites.find((s) => s.name === plan.waves[1]!.sites[0]!.name)!;

    expect(await syncAll()).toBe(12);
    expect(new Set(sites.map((s) => s.version))).toEqual(new Set(['1.0.0']));
    prometheus = await startFleetPrometheus(join(work, 'prometheus'));
    writeTargets();
    traffic = setInterval(() => {
      if (pumping) return;
      pumping = true;
      void Promise.all(sites.map((s) => s.infer(MODEL, s === odd ? ODD_ROW : ROW))).finally(() => (pumping = false));
    }, 200);
    await scraped('all', '1.0.0');
  }, 180_000);

  it('walks 2.0.0 canary → 25% → 100%, each wave after its bake and gate', async () => {
    const started = await release(build('2.0.0', `${FLEET}-canary`), options);
    expect(await syncAll()).toBe(2);

    // GIVEN a canary that has not baked yet THEN advance commits nothing
    const early = await advance({ fleet: FLEET, model: MODEL, prometheus: prometheus!.url, now: () => Date.now() / 1000 - 60 }, options);
    expect(early.action).toBe('baking');
    expect(head()).toBe(started.commit);

    // AND an unreachable Prometheus is an error that commits nothing
    const closed = await freePort();
    const cli = await exec(process.execPath, [BIN, 'fleet', 'advance', FLEET, '--model', MODEL, '--app', APP, '--repo', repo, '--no-type-check', '--prometheus', `http://127.0.0.1:${closed}`], {
      cwd: ROOT,
      env: { ...process.env, CI: 'true' },
    }).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/cannot reach Prometheus at http:\/\/127\.0\.0\.1:\d+.*nothing was committed/);
    expect(cli.stderr).toContain('SLIPWAY_E1004');
    expect(head()).toBe(started.commit);

    await scraped('canary', '2.0.0');
    const first = await advanceUntilDecided();
    if (first.action !== 'advanced') console.error(JSON.stringify(first, null, 1));
    expect(first).toMatchObject({ action: 'advanced', wave: 'canary', next: 'w25', failing: [] });
    expect(first.health.map((h) => h.site).sort()).toEqual(['dc-01', 'edge-01']);
    expect(await syncAll()).toBe(1);
    expect(odd.version).toBe('2.0.0');

    await scraped('w25', '2.0.0');
    expect(await advanceUntilDecided()).toMatchObject({ action: 'advanced', wave: 'w25', next: 'all' });
    expect(await syncAll()).toBe(9);
    expect(new Set(sites.map((s) => s.version))).toEqual(new Set(['2.0.0']));

    await scraped('all', '2.0.0');
    expect((await advance({ fleet: FLEET, model: MODEL, prometheus: prometheus!.url }, options)).action).toBe('complete');
    const s = await status(FLEET, MODEL, { repo, prometheus: prometheus!.url });
    expect(s.phase).toBe('complete');
    expect(s.waves.map((w) => [w.wave, w.version, w.targeted, w.updated, w.healthy, w.failing.length])).toEqual([
      ['canary', '2.0.0', 2, 2, 2, 0],
      ['w25', '2.0.0', 1, 1, 1, 0],
      ['all', '2.0.0', 9, 9, 9, 0],
    ]);
  }, 180_000);

  it('halts 3.0.0 at the wave of the site it fails on, rolls that wave back and names the site', async () => {
    await release(build('3.0.0', `${FLEET}-canary`), options);
    await syncAll();
    await scraped('canary', '3.0.0');
    expect(await advanceUntilDecided()).toMatchObject({ action: 'advanced', wave: 'canary', next: 'w25' });
    await syncAll();
    expect(odd.version).toBe('3.0.0');
    expect(await odd.infer(MODEL, ODD_ROW)).toBe(500);
    await scraped('w25', '3.0.0');

    const halted = await advanceUntilDecided();
    expect(halted).toMatchObject({ action: 'halted', wave: 'w25', rolledBack: { from: '3.0.0', to: '2.0.0' } });
    expect(halted.failing).toEqual([{ site: odd.name, reason: expect.stringMatching(/^error ratio 1\.000 > 0\.05$/) }]);
    const subject = execFileSync('git', ['-C', repo, 'log', '-1', '--format=%s'], { encoding: 'utf8' }).trim();
    expect(subject).toBe(`rollback: ${MODEL} in ${FLEET}-w25 from 3.0.0 to 2.0.0`);

    // THEN the site syncs the rollback and serves 2.0.0 again; the last wave never saw 3.0.0
    expect(await syncAll()).toBe(1);
    expect(odd.version).toBe('2.0.0');
    expect(await odd.infer(MODEL, ODD_ROW)).toBe(200);
    expect(sites.filter((s) => s.wave === 'all').every((s) => s.version === '2.0.0')).toBe(true);

    // AND status and the CLI name the site; advancing again is refused until someone resumes
    const { stdout } = await exec(process.execPath, [BIN, 'fleet', 'status', FLEET, '--model', MODEL, '--repo', repo], { cwd: ROOT, env: { ...process.env, CI: 'true' } });
    expect(stdout).toContain(`${MODEL} 3.0.0 in fleet ${FLEET}: halted`);
    expect(stdout).toMatch(new RegExp(`^w25 +2\\.0\\.0 +1 .*${odd.name} \\(halted the rollout: error ratio`, 'm'));
    await expect(advance({ fleet: FLEET, model: MODEL, prometheus: prometheus!.url }, options)).rejects.toThrow(/halted at wave 'w25' \(failing: edge-\d\d\)/);
    execFileSync('git', ['-C', repo, 'fsck', '--strict'], { stdio: 'pipe' });
  }, 180_000);

  it('reports the rollouts in slipway kpis: first wave to 100%, halted rollouts, sites per version', async () => {
    const report = await computeKpis({ repo, since: '1d' });
    const fleet = report.fleets!.find((f) => f.fleet === FLEET)!;
    expect(fleet.rollouts.map((r) => [r.version, r.reachedWave, r.halted, r.secondsToAllSites !== undefined])).toEqual([
      ['1.0.0', 'all', false, true],
      ['2.0.0', 'all', false, true],
      ['3.0.0', 'w25', true, false],
    ]);
    expect(fleet.rollouts[1]!.secondsToAllSites).toBeGreaterThan(0);
    expect(fleet.sitesByVersion).toEqual([
      { model: MODEL, version: '2.0.0', sites: 10 },
      { model: MODEL, version: '3.0.0', sites: 2 },
    ]);
    const table = renderKpis(report, 'table');
    expect(table).toMatch(/^stores +scorer +3\.0\.0 +\S+ +w25 +- +yes$/m);
    expect(renderKpis(report, 'openmetrics')).toContain(`slipway_kpi_fleet_sites{fleet="stores",model="scorer",version="3.0.0"} 2`);
  });
});
