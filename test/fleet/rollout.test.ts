import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { promote, release } from '../../lib/compiler/release-ops.js';
import { synth } from '../../lib/compiler/synth.js';
import { abort, advance, setPhase, status } from '../../lib/fleet/rollout.js';
import type { Release } from '../../lib/vocabulary/build.js';

/*
 * The rollout commands that need no Prometheus, on a real config repository: pause, resume and
 * abort are commits of the rollout state (abort also of the records), and every refusal leaves
 * main where it was. The gate itself runs against real sites in test/e2e/fleet-rollout.test.ts.
 */

const APP = resolve(import.meta.dirname, 'fixtures/edge-fleet.ts');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const record = (version: string, wave: string): Release =>
  ({ model: 'scorer', version, environment: `stores-${wave}`, modelSha256: sha(version), modelLocation: 'image', imageDigest: `sha256:${sha(`img ${version}`)}` }) as Release;

describe('fleet rollout commands', () => {
  const work = mkdtempSync(join(tmpdir(), 'slipway-fleet-ops-'));
  const repo = join(work, 'config-repo');
  const options = { app: APP, repo, typeCheck: false };
  const head = () => execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  const state = () => parse(readFileSync(join(repo, 'rollouts/stores/scorer.yaml'), 'utf8')) as Record<string, unknown>;

  beforeAll(async () => {
    process.env.SLIPWAY_FLEET_PROMETHEUS = 'none';
    await synth({ ...options, releases: ['canary', 'w25', 'all'].map((w) => record('1.0.0', w)) });
    await release(record('2.0.0', 'canary'), options);
    await promote('scorer', 'stores-canary', 'stores-w25', options);
  }, 120_000);

  afterAll(() => {
    delete process.env.SLIPWAY_FLEET_PROMETHEUS;
    rmSync(work, { recursive: true, force: true });
  });

  it('fails when the fleet has no Prometheus to ask, and commits nothing', async () => {
    const before = head();
    await expect(advance({ fleet: 'stores', model: 'scorer' }, options)).rejects.toMatchObject({ code: 'FLEET_PROMETHEUS_UNREACHABLE', message: expect.stringContaining('pass --prometheus URL') });
    expect(head()).toBe(before);
  });

  it('fails when the fleet or the model is unknown', async () => {
    await expect(advance({ fleet: 'shops', model: 'scorer' }, options)).rejects.toMatchObject({ code: 'FLEET_NOT_FOUND', message: expect.stringContaining("fleets there: 'stores'") });
    await expect(advance({ fleet: 'stores', model: 'ranker' }, options)).rejects.toMatchObject({ code: 'FLEET_UNKNOWN_MODEL' });
  });

  it('reports where the rollout stands without Prometheus', async () => {
    const s = await status('stores', 'scorer', { repo });
    expect(s).toMatchObject({ version: '2.0.0', phase: 'running' });
    expect(s.waves.map((w) => [w.wave, w.version, w.targeted])).toEqual([['canary', '2.0.0', 2], ['w25', '2.0.0', 1], ['all', '1.0.0', 9]]);
  });

  it('pauses (a commit; advance then does nothing) and resumes', async () => {
    const paused = await setPhase('stores', 'scorer', 'paused', options);
    expect(paused.commit).toBeDefined();
    expect(state()).toEqual({ fleet: 'stores', model: 'scorer', phase: 'paused', version: '2.0.0', wave: 'w25' });
    expect(execFileSync('git', ['-C', repo, 'log', '-1', '--format=%s'], { encoding: 'utf8' }).trim()).toBe('fleet: pause scorer 2.0.0 in stores at wave w25');
    expect((await advance({ fleet: 'stores', model: 'scorer' }, options)).action).toBe('paused');
    expect(head()).toBe(paused.commit);
    await setPhase('stores', 'scorer', 'running', options);
    expect(state().phase).toBe('running');
  }, 60_000);

  it('aborts: every wave that runs the build gets its previous one back, in one commit', async () => {
    const before = head();
    const result = await abort('stores', 'scorer', options);
    expect(result.restored).toEqual([{ wave: 'canary', to: '1.0.0' }, { wave: 'w25', to: '1.0.0' }]);
    expect(execFileSync('git', ['-C', repo, 'rev-list', '--count', `${before}..HEAD`], { encoding: 'utf8' }).trim()).toBe('1');
    for (const wave of ['canary', 'w25']) {
      expect(parse(readFileSync(join(repo, `releases/stores-${wave}/scorer.yaml`), 'utf8')).version).toBe('1.0.0');
      expect(readFileSync(join(repo, `fleets/stores/waves/${wave}/edge-scorer/deployment-scorer.yaml`), 'utf8')).toContain('app.kubernetes.io/version: 1.0.0');
    }
    execFileSync('git', ['-C', repo, 'fsck', '--strict'], { stdio: 'pipe' });
  }, 60_000);
});
