import { type FleetKpis, computeFleetKpis } from './fleet-kpis.js';
import { SlipwayError } from '../errors.js';
import { ConfigRepo } from './config-repo.js';
import { type ReleaseEvent, releaseLog } from './history.js';
import { type RecordView, sameBuild } from './record-view.js';

// Delivery KPIs (DORA's five keys, adapted to models) computed only from the config
// repository: its first-parent history on main and the release records at each commit.
// A deployment failed when it was rolled back or when a later version marked as its fix
// (`slipway release --fixes <version>`: a `Fixes: <version>` trailer) replaced it; a deployment
// of such a fix is rework.
// "Now" is the commit time of main's head, so the same repository always gives the same
// figures. Definitions: docs/config-repo.md#delivery-kpis.

export interface KpiOptions {
  readonly repo: string;
  /** How far back from main's head commit, e.g. '90d', '12w', '36h'. @default '90d' */
  readonly since?: string;
  readonly environments?: readonly string[];
  readonly models?: readonly string[];
  /** The environment that counts as production. @default 'prod' */
  readonly prodEnvironment?: string;
}

/** Trailer of a release commit naming a version the released one fixes (repeatable). */
export const FIXES_TRAILER = 'Fixes';

export interface Deployment {
  readonly environment: string;
  readonly model: string;
  readonly version: string;
  readonly commit: string;
  /** Commit time, RFC 3339 UTC. */
  readonly at: string;
  readonly kind: 'release' | 'promotion' | 'change';
  /** Source commit time to this release commit, when the record names the source commit time. */
  readonly leadTimeSeconds?: number;
  /** Rolled back, or replaced by a version released as its fix. */
  readonly failed: boolean;
  readonly failure?: { readonly reason: 'rolled back' | 'fixed'; readonly restoredAt: string; readonly timeToRestoreSeconds: number; readonly by: string };
  /** This version was released as the fix of these versions: unplanned work (rework). */
  readonly fixes?: readonly string[];
}

export interface Summary {
  readonly count: number;
  readonly median?: number;
  readonly max?: number;
}

export interface SeriesKpis {
  readonly environment: string;
  readonly model: string;
  readonly deployments: number;
  readonly deploymentsPerWeek: number;
  readonly leadTimeSeconds: Summary;
  readonly failures: number;
  readonly changeFailureRate?: number;
  readonly timeToRestoreSeconds: Summary;
  /** Deployments of fixes. */
  readonly reworkDeployments: number;
  /** DORA's rework rate: deployments of fixes over deployments. */
  readonly reworkRate?: number;
}

export interface KpiReport {
  /** main's head commit and its time: the end of the window. */
  readonly head?: string;
  readonly from: string;
  readonly to: string;
  readonly windowSeconds: number;
  readonly prodEnvironment: string;
  readonly series: readonly SeriesKpis[];
  readonly deployments: readonly Deployment[];
  /** Source commit time to the first deployment of that version in production. */
  readonly leadTimeToProd: ReadonlyArray<{ readonly model: string; readonly version: string; readonly seconds: number }>;
  /** New versions (first seen in the window) by the trigger of their build. */
  readonly retrains: ReadonlyArray<{ readonly model: string; readonly trigger: string; readonly count: number }>;
  /** Drift-triggered builds: build (or first release) to the first production deployment. */
  readonly driftToProd: ReadonlyArray<{ readonly model: string; readonly version: string; readonly seconds: number }>;
  /** Gate metrics of each version, in the order versions first appeared. */
  readonly gateMetrics: ReadonlyArray<{ readonly model: string; readonly version: string; readonly at: string; readonly metrics: Readonly<Record<string, number>> }>;
  /** Fleet rollouts: first wave to every site, halted rollouts, sites per version. */
  readonly fleets?: readonly FleetKpis[];
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** '90d', '12w', '36h', '30m', '45s' in seconds. */
export function parseDurationSeconds(value: string, flag: string): number {
  const m = /^([0-9]+)(s|m|h|d|w)$/.exec(value.trim());
  if (!m || Number(m[1]) === 0) {
    throw new SlipwayError('INVALID_ARGUMENT', `${flag}: expected a duration such as 90d, 12w or 24h, got ${JSON.stringify(value)}`);
  }
  return Number(m[1]) * UNIT_SECONDS[m[2]!]!;
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

function timeOf(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { count: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { count: sorted.length, median, max: sorted[sorted.length - 1]! };
}

/** Computes the KPIs of `options.repo`; reads only Git. */
export async function computeKpis(options: KpiOptions): Promise<KpiReport> {
  const windowSeconds = parseDurationSeconds(options.since ?? '90d', '--since');
  const prod = options.prodEnvironment ?? 'prod';
  const repo = await ConfigRepo.open(options.repo);
  const events = await releaseLog(repo);
  const head = await repo.head();
  const to = head ? await repo.commitTime(head) : 0;
  const from = to - windowSeconds;
  const inWindow = (t: number) => t > from && t <= to;
  const wantModel = (m: string) => !options.models?.length || options.models.includes(m);
  const wantEnv = (e: string) => !options.environments?.length || options.environments.includes(e);

  // Per environment and model: the deployments (a record whose build differs from the one
  // before it) and rollbacks, in commit order.
  const series = new Map<string, ReleaseEvent[]>();
  for (const e of events) {
    if (!wantModel(e.model)) continue;
    const key = `${e.environment}/${e.model}`;
    series.set(key, [...(series.get(key) ?? []), e]);
  }

  // What each version was released to fix, from the trailers of the commits that released it.
  const fixesOf = new Map<string, Set<string>>();
  for (const e of events) {
    if (!e.record || e.kind === 'rollback') continue;
    const fixed = e.trailers.filter((t) => t.key.toLowerCase() === FIXES_TRAILER.toLowerCase()).flatMap((t) => t.value.split(/[\s,]+/).filter(Boolean));
    if (fixed.length === 0) continue;
    const key = `${e.model}\0${e.record.version}`;
    fixesOf.set(key, new Set([...(fixesOf.get(key) ?? []), ...fixed]));
  }
  const fixesFor = (model: string, version: string) => [...(fixesOf.get(`${model}\0${version}`) ?? [])].sort();

  const deployments: Deployment[] = [];
  const perSeries: SeriesKpis[] = [];
  for (const key of [...series.keys()].sort()) {
    const [environment, model] = key.split('/') as [string, string];
    const list = series.get(key)!;
    const changes: Array<{ event: ReleaseEvent; record: RecordView }> = [];
    let running: RecordView | undefined;
    for (const event of list) {
      if (!event.record) {
        running = undefined;
        continue;
      }
      if (running && sameBuild(running, event.record)) {
        running = event.record;
        continue;
      }
      changes.push({ event, record: event.record });
      running = event.record;
    }
    const mine: Deployment[] = [];
    for (const [i, { event, record }] of changes.entries()) {
      if (event.kind === 'rollback') continue;
      const next = changes[i + 1];
      const committedAt = timeOf(record.source?.committedAt);
      let failure: Deployment['failure'];
      // Rolled back at once, or replaced later by a version released as this one's fix.
      const restoredBy =
        next?.event.kind === 'rollback'
          ? next
          : changes.slice(i + 1).find((c) => c.event.kind !== 'rollback' && fixesFor(model, c.record.version).includes(record.version));
      if (restoredBy) {
        const rolledBack = restoredBy.event.kind === 'rollback';
        failure = {
          reason: rolledBack ? 'rolled back' : 'fixed',
          restoredAt: iso(restoredBy.event.time),
          timeToRestoreSeconds: restoredBy.event.time - event.time,
          by: `${restoredBy.event.kind} to ${restoredBy.record.version}`,
        };
      }
      const fixes = fixesFor(model, record.version);
      mine.push({
        environment,
        model,
        version: record.version,
        commit: event.commit,
        at: iso(event.time),
        kind: event.kind === 'promotion' ? 'promotion' : event.kind === 'release' ? 'release' : 'change',
        ...(committedAt !== undefined ? { leadTimeSeconds: event.time - committedAt } : {}),
        failed: failure !== undefined,
        ...(failure ? { failure } : {}),
        ...(fixes.length > 0 ? { fixes } : {}),
      });
    }
    const counted = mine.filter((d) => inWindow(timeOf(d.at)!));
    if (!wantEnv(environment)) continue;
    deployments.push(...counted);
    if (counted.length === 0) continue;
    const failures = counted.filter((d) => d.failed);
    perSeries.push({
      environment,
      model,
      deployments: counted.length,
      deploymentsPerWeek: round((counted.length * UNIT_SECONDS.w!) / windowSeconds),
      leadTimeSeconds: summarize(counted.flatMap((d) => (d.leadTimeSeconds !== undefined ? [d.leadTimeSeconds] : []))),
      failures: failures.length,
      changeFailureRate: round(failures.length / counted.length),
      timeToRestoreSeconds: summarize(failures.map((d) => d.failure!.timeToRestoreSeconds)),
      reworkDeployments: counted.filter((d) => d.fixes).length,
      reworkRate: round(counted.filter((d) => d.fixes).length / counted.length),
    });
  }

  // Versions: first appearance anywhere, first production deployment.
  const versions = new Map<string, { model: string; version: string; first: number; record: RecordView; prodAt?: number }>();
  for (const e of events) {
    if (!e.record || !wantModel(e.model)) continue;
    const key = `${e.model}\0${e.record.version}`;
    let v = versions.get(key);
    if (!v) {
      v = { model: e.model, version: e.record.version, first: e.time, record: e.record };
      versions.set(key, v);
    }
    if (e.environment === prod && e.kind !== 'rollback' && v.prodAt === undefined) v.prodAt = e.time;
  }
  const fresh = [...versions.values()].filter((v) => inWindow(v.first));
  const leadTimeToProd = fresh
    .flatMap((v) => {
      const committedAt = timeOf(v.record.source?.committedAt);
      return v.prodAt !== undefined && committedAt !== undefined && inWindow(v.prodAt) ? [{ model: v.model, version: v.version, seconds: v.prodAt - committedAt }] : [];
    });
  const retrainCounts = new Map<string, number>();
  for (const v of fresh) {
    const key = `${v.model}\0${v.record.trigger ?? 'unknown'}`;
    retrainCounts.set(key, (retrainCounts.get(key) ?? 0) + 1);
  }
  const retrains = [...retrainCounts.entries()]
    .map(([key, count]) => {
      const [model, trigger] = key.split('\0') as [string, string];
      return { model, trigger, count };
    })
    .sort((a, b) => (a.model === b.model ? (a.trigger < b.trigger ? -1 : 1) : a.model < b.model ? -1 : 1));
  const driftToProd = fresh.flatMap((v) =>
    v.record.trigger === 'drift' && v.prodAt !== undefined ? [{ model: v.model, version: v.version, seconds: v.prodAt - (timeOf(v.record.builtAt) ?? v.first) }] : [],
  );
  const gateMetrics = fresh
    .filter((v) => Object.keys(v.record.metrics).length > 0)
    .map((v) => ({ model: v.model, version: v.version, at: iso(v.first), metrics: v.record.metrics }));

  const fleets = await computeFleetKpis(repo, events, from, wantModel);
  return {
    ...(head ? { head } : {}),
    from: iso(from),
    to: iso(to),
    windowSeconds,
    prodEnvironment: prod,
    series: perSeries,
    deployments,
    leadTimeToProd,
    retrains,
    driftToProd,
    gateMetrics,
    // Fleet rollouts: lib/compiler/fleet-kpis.ts.
    ...(fleets.length > 0 ? { fleets } : {}),
  };
}

function round(n: number): number {
  return Math.round(n * 1e4) / 1e4;
}
