import type { FleetPlan } from '../../constructs/fleet.js';
import { SlipwayError } from '../errors.js';
import { ConfigRepo } from '../compiler/config-repo.js';
import { releaseLog } from '../compiler/history.js';
import { promote } from '../compiler/release-ops.js';
import { parseRelease, releasePath } from '../compiler/releases.js';
import { rollback } from '../compiler/rollback.js';
import { type SynthOptions, type SynthResult, synth } from '../compiler/synth.js';
import { durationSeconds } from '../vocabulary/durations.js';
import type { Release } from '../vocabulary/build.js';
import { PrometheusClient, type SiteHealth, failureOf, siteHealth } from './health.js';
import { type RolloutState, checkModel, readPlan, readState, rolloutPath, sameBuild, serializeState, waveRecords } from './state.js';

export type FleetOptions = Omit<SynthOptions, 'releases' | 'environments' | 'title' | 'trailers' | 'files' | 'approval' | 'approvalExempt'>;

export interface AdvanceRequest {
  readonly fleet: string;
  readonly model: string;
  /** Overrides the fleet's prometheusUrl. */
  readonly prometheus?: string;
  /** Clock, seconds since the epoch (tests pin it; the bake compares it with commit times). */
  readonly now?: () => number;
}

export type AdvanceAction = 'advanced' | 'baking' | 'halted' | 'complete' | 'paused';

export interface AdvanceResult {
  readonly action: AdvanceAction;
  readonly version: string;
  /** The wave that was judged. */
  readonly wave: string;
  /** The wave that now runs the version too (advanced). */
  readonly next?: string;
  readonly health: readonly SiteHealth[];
  readonly failing: ReadonlyArray<{ site: string; reason: string }>;
  /** Seconds of bake left (baking). */
  readonly bakeLeft?: number;
  /** The wave's rollback, when the gate failed and autoRollback is on. */
  readonly rolledBack?: { readonly from: string; readonly to: string };
  readonly result?: SynthResult;
}

interface Rollout {
  readonly repo: ConfigRepo;
  readonly plan: FleetPlan;
  readonly records: ReadonlyArray<Release | undefined>;
  readonly canary: Release;
  /** Index of the last wave that runs the canary's build (waves before it do too). */
  readonly reached: number;
  readonly state?: RolloutState;
}

async function openRollout(fleet: string, model: string, options: FleetOptions): Promise<Rollout> {
  const repo = await ConfigRepo.open(options.repo);
  const plan = await readPlan(repo, fleet);
  checkModel(plan, model);
  const records = await waveRecords(repo, plan, model);
  const canary = records[0];
  if (!canary) {
    throw new SlipwayError(
      'FLEET_NOT_STARTED',
      `no rollout of '${model}' in fleet '${fleet}': release the new build into the canary wave first (slipway release --env ${plan.waves[0]!.environment} --model ${model} --build build.json)`,
    );
  }
  let reached = 0;
  while (reached + 1 < records.length && sameBuild(records[reached + 1], canary)) reached++;
  const state = await readState(repo, fleet, model);
  return { repo, plan, records, canary, reached, ...(state && state.version === canary.version ? { state } : {}) };
}

/** Commit time of the change that gave `environment` the record's build (the start of its bake). */
async function bakeStart(repo: ConfigRepo, environment: string, record: Release): Promise<number> {
  const events = (await releaseLog(repo, { model: record.model })).filter((e) => e.environment === environment);
  let start: number | undefined;
  for (const e of events) {
    if (sameBuild(e.release, record)) start ??= e.time;
    else start = undefined;
  }
  return start ?? Math.floor(Date.now() / 1000);
}

function stateFiles(state: RolloutState): Map<string, string> {
  return new Map([[rolloutPath(state.fleet, state.model), serializeState(state)]]);
}

/**
 * One step of `slipway fleet advance`: judges the wave that last received the new build and,
 * when it has baked long enough and enough of its sites are healthy, commits the build into the
 * next wave. A gate that fails halts the rollout (a commit naming the failing sites) and, with
 * autoRollback, restores the wave's previous build in the same commit.
 */
export async function advance(request: AdvanceRequest, options: FleetOptions): Promise<AdvanceResult> {
  const { fleet, model } = request;
  const r = await openRollout(fleet, model, options);
  const { plan, canary, reached } = r;
  const wave = plan.waves[reached]!;
  const base = { version: canary.version, wave: wave.name };
  if (r.state?.phase === 'paused') return { ...base, action: 'paused', health: [], failing: [] };
  if (r.state?.phase === 'halted' || r.state?.phase === 'aborted') {
    throw new SlipwayError(
      'FLEET_ROLLOUT_HALTED',
      `the rollout of ${model} ${canary.version} in fleet '${fleet}' is ${r.state.phase} at wave '${r.state.wave}'` +
        `${r.state.failingSites?.length ? ` (failing: ${r.state.failingSites.map((f) => f.site).join(', ')})` : ''}: ` +
        `fix the sites and run slipway fleet resume, or release another build into '${plan.waves[0]!.environment}'`,
    );
  }
  if (reached === plan.waves.length - 1) return { ...base, action: 'complete', health: [], failing: [] };

  const prometheusUrl = request.prometheus ?? plan.prometheusUrl;
  if (!prometheusUrl) {
    throw new SlipwayError('FLEET_PROMETHEUS_UNREACHABLE', `fleet '${fleet}' has no prometheusUrl: pass --prometheus URL (the Prometheus or Thanos that sees every site)`);
  }
  const gate = plan.models.find((m) => m.model === model)!;
  const bake = durationSeconds(plan.bakeTime) ?? 0;
  const now = (request.now ?? (() => Date.now() / 1000))();
  const elapsed = now - (await bakeStart(r.repo, wave.environment, canary));
  const sites = wave.sites.map((s) => s.name);
  const health = await siteHealth(new PrometheusClient(prometheusUrl), model, canary.version, sites, Math.max(bake, 30));
  const judged = health.map((h) => ({ site: h.site, reason: failureOf(h, gate) }));
  const healthy = judged.filter((j) => j.reason === undefined).length;
  const failing = judged.filter((j): j is { site: string; reason: string } => j.reason !== undefined);
  const needed = Math.ceil(plan.successThreshold * sites.length - 1e-9);

  // Nothing is judged before the bake is over: sites may still be syncing or warming up.
  if (elapsed < bake) return { ...base, action: 'baking', health, failing, bakeLeft: Math.ceil(bake - elapsed) };
  if (healthy >= needed) {
    const next = plan.waves[reached + 1]!;
    const state: RolloutState = { fleet, model, version: canary.version, phase: reached + 1 === plan.waves.length - 1 ? 'complete' : 'running', wave: next.name };
    const result = await promote(model, wave.environment, next.environment, { ...options, files: stateFiles(state) });
    return { ...base, action: 'advanced', next: next.name, health, failing, result };
  }
  return halt(r, wave.environment, wave.name, health, failing, options);
}

async function halt(
  r: Rollout,
  environment: string,
  waveName: string,
  health: readonly SiteHealth[],
  failing: ReadonlyArray<{ site: string; reason: string }>,
  options: FleetOptions,
): Promise<AdvanceResult> {
  const { plan, canary } = r;
  const state: RolloutState = { fleet: plan.name, model: canary.model, version: canary.version, phase: 'halted', wave: waveName, failingSites: failing.map((f) => ({ site: f.site, reason: f.reason })) };
  const base = { action: 'halted' as const, version: canary.version, wave: waveName, health, failing };
  const title = `fleet: halt ${canary.model} ${canary.version} at wave ${waveName} of ${plan.name} (failing: ${failing.map((f) => f.site).join(', ') || 'none'})`;
  if (plan.autoRollback) {
    const previous = await previousRecord(r.repo, environment, canary);
    if (previous) {
      const result = await rollback({ environment, model: canary.model, to: previous.version }, { ...options, files: stateFiles(state) });
      return { ...base, rolledBack: { from: result.from, to: result.to }, result };
    }
  }
  const result = await synth({ ...options, environments: [environment], title, files: stateFiles(state) });
  return { ...base, result };
}

/** The build `environment` ran before `current`, if it ran another. */
async function previousRecord(repo: ConfigRepo, environment: string, current: Release): Promise<Release | undefined> {
  const events = (await releaseLog(repo, { model: current.model })).filter((e) => e.environment === environment && e.release && e.blob);
  const before = [...events].reverse().find((e) => !sameBuild(e.release, current));
  return before ? parseRelease(releasePath(environment, current.model), (await repo.readBlob(before.blob!)).toString('utf8')) : undefined;
}

/** `slipway fleet pause|resume`: a commit of the rollout state only. */
export async function setPhase(fleet: string, model: string, phase: 'paused' | 'running', options: FleetOptions): Promise<SynthResult> {
  const r = await openRollout(fleet, model, options);
  if (r.reached === r.plan.waves.length - 1) {
    throw new SlipwayError('FLEET_ROLLOUT_DONE', `${model} ${r.canary.version} already runs on every wave of fleet '${fleet}': nothing to ${phase === 'paused' ? 'pause' : 'resume'}`);
  }
  const state: RolloutState = { fleet, model, version: r.canary.version, phase, wave: r.plan.waves[r.reached]!.name };
  return synth({
    ...options,
    environments: [r.plan.waves[0]!.environment],
    title: `fleet: ${phase === 'paused' ? 'pause' : 'resume'} ${model} ${r.canary.version} in ${fleet} at wave ${state.wave}`,
    files: stateFiles(state),
  });
}

/** `slipway fleet abort`: every wave that runs the new build goes back to its previous build, in one commit. */
export async function abort(fleet: string, model: string, options: FleetOptions): Promise<SynthResult & { restored: Array<{ wave: string; to?: string }> }> {
  const r = await openRollout(fleet, model, options);
  const releases: Release[] = [];
  const restored: Array<{ wave: string; to?: string }> = [];
  const environments: string[] = [];
  for (let i = 0; i <= r.reached; i++) {
    const w = r.plan.waves[i]!;
    const previous = await previousRecord(r.repo, w.environment, r.canary);
    restored.push({ wave: w.name, ...(previous ? { to: previous.version } : {}) });
    if (previous) {
      releases.push(previous);
      environments.push(w.environment);
    }
  }
  const state: RolloutState = { fleet, model, version: r.canary.version, phase: 'aborted', wave: r.plan.waves[r.reached]!.name };
  const result = await synth({
    ...options,
    releases,
    environments: environments.length > 0 ? environments : [r.plan.waves[0]!.environment],
    title: `rollback: ${model} in fleet ${fleet} from ${r.canary.version} (abort)`,
    approvalExempt: true,
    files: stateFiles(state),
  });
  return { ...result, restored };
}

export interface WaveStatus {
  readonly wave: string;
  readonly environment: string;
  /** The version the wave's record says. */
  readonly version?: string;
  readonly targeted: number;
  readonly updated: number;
  readonly healthy: number;
  readonly failing: ReadonlyArray<{ site: string; reason: string }>;
}

export interface FleetStatus {
  readonly fleet: string;
  readonly model: string;
  readonly version: string;
  readonly phase: string;
  readonly waves: readonly WaveStatus[];
}

/**
 * `slipway fleet status`: per wave, sites targeted, updated to the version its record names,
 * healthy and failing (from Prometheus when given one; from the recorded halt otherwise).
 */
export async function status(fleet: string, model: string, options: { repo: string; prometheus?: string }): Promise<FleetStatus> {
  const r = await openRollout(fleet, model, options as FleetOptions);
  const gate = r.plan.models.find((m) => m.model === model)!;
  const url = options.prometheus ?? r.plan.prometheusUrl;
  const prom = url ? new PrometheusClient(url) : undefined;
  const phase = r.state?.phase ?? (r.reached === r.plan.waves.length - 1 ? 'complete' : 'running');
  const waves: WaveStatus[] = [];
  for (const [i, w] of r.plan.waves.entries()) {
    const record = r.records[i];
    const sites = w.sites.map((s) => s.name);
    let updated = 0;
    let healthy = 0;
    let failing: Array<{ site: string; reason: string }> = [];
    if (prom && record) {
      const health = await siteHealth(prom, model, record.version, sites, 60);
      updated = health.filter((h) => h.updated).length;
      const judged = health.map((h) => ({ site: h.site, reason: failureOf(h, gate) }));
      healthy = judged.filter((j) => !j.reason).length;
      failing = judged.filter((j): j is { site: string; reason: string } => j.reason !== undefined && health.find((h) => h.site === j.site)!.updated);
    }
    const halted = r.state?.phase === 'halted' && r.state.wave === w.name ? r.state.failingSites ?? [] : [];
    for (const f of halted) if (!failing.some((x) => x.site === f.site)) failing.push({ site: f.site, reason: `halted the rollout: ${f.reason}` });
    waves.push({ wave: w.name, environment: w.environment, ...(record ? { version: record.version } : {}), targeted: sites.length, updated, healthy, failing });
  }
  return { fleet, model, version: r.canary.version, phase, waves };
}
