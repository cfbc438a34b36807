import type { FleetPlan } from './model.js';
import type { ConfigRepo } from './config-repo.js';
import { fleetPlanPath, FLEETS_DIR } from './fleet-layout.js';
import type { ReleaseEvent } from './history.js';
import { formatTable } from './report.js';
import { parseSingleDocument } from './yaml.js';

/** One rollout: a build released into a fleet's first wave, and how far it got. */
export interface FleetRollout {
  readonly fleet: string;
  readonly model: string;
  readonly version: string;
  /** Commit time of the release into the first wave (ISO 8601). */
  readonly startedAt: string;
  /** The furthest wave that ran the build. */
  readonly reachedWave: string;
  /** First wave to every site, when the build reached the last wave. */
  readonly secondsToAllSites?: number;
  /** A wave of it was rolled back (a failed gate, or an abort) before it reached every site. */
  readonly halted: boolean;
}

export interface FleetKpis {
  readonly fleet: string;
  readonly rollouts: readonly FleetRollout[];
  /** At main's head: how many sites run each version of each model. */
  readonly sitesByVersion: ReadonlyArray<{ readonly model: string; readonly version: string; readonly sites: number }>;
}

const sameBuild = (a: ReleaseEvent['release'], b: ReleaseEvent['release']) =>
  a !== undefined && b !== undefined && a.version === b.version && a.modelSha256 === b.modelSha256 && a.imageDigest === b.imageDigest;

/** Fleet rollout KPIs from the release history (`slipway kpis`), for rollouts started after `from`. */
export async function computeFleetKpis(repo: ConfigRepo, events: readonly ReleaseEvent[], from: number, wantModel: (m: string) => boolean): Promise<FleetKpis[]> {
  const head = await repo.head();
  const tree = await repo.treeOf(head);
  const fleetsDir = await repo.entryAt(tree, FLEETS_DIR);
  if (fleetsDir?.type !== 'tree') return [];
  const out: FleetKpis[] = [];
  for (const name of [...(await repo.readTree(fleetsDir.oid)).keys()].sort()) {
    const entry = await repo.entryAt(tree, fleetPlanPath(name));
    if (entry?.type !== 'blob') continue;
    const plan = parseSingleDocument((await repo.readBlob(entry.oid)).toString('utf8'), fleetPlanPath(name)) as FleetPlan;
    const waveOf = new Map(plan.waves.map((w, i) => [w.environment, i]));
    const rollouts: FleetRollout[] = [];
    const sitesByVersion: Array<{ model: string; version: string; sites: number }> = [];
    for (const { model } of plan.models) {
      if (!wantModel(model)) continue;
      const mine = events.filter((e) => e.model === model && waveOf.has(e.environment));
      const first = plan.waves[0]!.environment;
      const last = plan.waves[plan.waves.length - 1]!.environment;
      let previous: ReleaseEvent['release'];
      for (const [i, start] of mine.entries()) {
        if (start.environment !== first) continue;
        const before = previous;
        previous = start.release;
        if (!start.release || start.kind === 'rollback' || sameBuild(start.release, before) || start.time <= from) continue;
        const next = mine.slice(i + 1).findIndex((e) => e.environment === first && e.kind !== 'rollback' && e.release && !sameBuild(e.release, start.release));
        // Events of one commit come in path order, so later waves of the same commit may precede it.
        const later = next < 0 ? mine.slice(i + 1) : mine.slice(i + 1, i + 1 + next);
        const span = [...mine.slice(0, i).filter((e) => e.commit === start.commit), ...later];
        let reached = 0;
        let done: ReleaseEvent | undefined;
        let halted = false;
        for (const e of span) {
          const w = waveOf.get(e.environment)!;
          if (sameBuild(e.release, start.release) && e.kind !== 'rollback') {
            reached = Math.max(reached, w);
            if (e.environment === last) done ??= e;
          }
          if (e.kind === 'rollback' && !done && e.trailers.some((t) => t.key === 'Rollback-from' && t.value.split(' ')[0] === start.release!.version)) halted = true;
        }
        rollouts.push({
          fleet: name,
          model,
          version: start.release.version,
          startedAt: start.date,
          reachedWave: plan.waves[reached]!.name,
          ...(done ? { secondsToAllSites: done.time - start.time } : {}),
          halted,
        });
      }
      // Sites per version now: each wave's current record times its sites.
      const now = new Map<string, number>();
      for (const w of plan.waves) {
        const latest = [...mine].reverse().find((e) => e.environment === w.environment);
        const version = latest?.release?.version ?? '(none)';
        now.set(version, (now.get(version) ?? 0) + w.sites.length);
      }
      for (const [version, sites] of [...now].sort()) sitesByVersion.push({ model, version, sites });
    }
    out.push({ fleet: name, rollouts, sitesByVersion });
  }
  return out;
}

const duration = (s: number | undefined): string => (s === undefined ? '-' : s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${(s / 3600).toFixed(1)}h`);

/** The fleet section of `slipway kpis`' table. */
export function renderFleetKpiTable(fleets: readonly FleetKpis[] | undefined): string {
  if (!fleets || fleets.length === 0) return '';
  const rollouts = fleets.flatMap((f) => f.rollouts);
  const out = [
    'Fleet rollouts',
    formatTable(
      ['FLEET', 'MODEL', 'VERSION', 'STARTED', 'REACHED', 'FIRST WAVE → 100%', 'HALTED'],
      rollouts.map((r) => [r.fleet, r.model, r.version, r.startedAt, r.reachedWave, duration(r.secondsToAllSites), r.halted ? 'yes' : 'no']),
    ),
    '',
    'Sites per version',
    formatTable(['FLEET', 'MODEL', 'VERSION', 'SITES'], fleets.flatMap((f) => f.sitesByVersion.map((s) => [f.fleet, s.model, s.version, String(s.sites)]))),
    '',
  ];
  return `${out.join('\n')}\n`;
}

/** Gauges for the textfile collector. */
export function fleetOpenMetrics(fleets: readonly FleetKpis[] | undefined): Array<[name: string, help: string, samples: Array<[Record<string, string>, number]>]> {
  if (!fleets || fleets.length === 0) return [];
  const rollouts = fleets.flatMap((f) => f.rollouts);
  return [
    ['slipway_kpi_fleet_rollout_seconds', 'Seconds from the first wave to every site, per completed rollout.', rollouts.filter((r) => r.secondsToAllSites !== undefined).map((r) => [{ fleet: r.fleet, model: r.model, version: r.version }, r.secondsToAllSites!])],
    ['slipway_kpi_fleet_rollouts_halted', 'Rollouts halted (a wave rolled back before every site ran them) in the window.', fleets.flatMap((f) => [...new Set(f.rollouts.map((r) => r.model))].map((m) => [{ fleet: f.fleet, model: m }, f.rollouts.filter((r) => r.model === m && r.halted).length] as [Record<string, string>, number]))],
    ['slipway_kpi_fleet_sites', "Sites running each version at main's head.", fleets.flatMap((f) => f.sitesByVersion.map((s) => [{ fleet: f.fleet, model: s.model, version: s.version }, s.sites] as [Record<string, string>, number]))],
  ];
}
