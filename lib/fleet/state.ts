import type { FleetPlan } from '../../constructs/fleet.js';
import { SlipwayError } from '../errors.js';
import type { ConfigRepo } from '../compiler/config-repo.js';
import { fleetPlanPath } from '../compiler/fleet-layout.js';
import { parseRelease, releasePath } from '../compiler/releases.js';
import { parseSingleDocument, toYaml } from '../compiler/yaml.js';
import type { Release } from '../vocabulary/build.js';

export const ROLLOUTS_DIR = 'rollouts';

export type RolloutPhase = 'running' | 'paused' | 'halted' | 'aborted' | 'complete';

/** `rollouts/<fleet>/<model>.yaml`: what `slipway fleet` decided last, committed with the decision. */
export interface RolloutState {
  readonly fleet: string;
  readonly model: string;
  readonly version: string;
  readonly phase: RolloutPhase;
  /** The wave the rollout stands at (the last one that runs the version). */
  readonly wave: string;
  /** Sites that failed the gate, with why, when halted. */
  readonly failingSites?: ReadonlyArray<{ readonly site: string; readonly reason: string }>;
}

export const rolloutPath = (fleet: string, model: string): string => `${ROLLOUTS_DIR}/${fleet}/${model}.yaml`;

export function serializeState(state: RolloutState): string {
  return toYaml(state);
}

export async function readPlan(repo: ConfigRepo, fleet: string): Promise<FleetPlan> {
  const tree = await repo.treeOf(await repo.head());
  const entry = await repo.entryAt(tree, fleetPlanPath(fleet));
  if (!entry || entry.type !== 'blob') {
    const fleets = await repo.entryAt(tree, 'fleets');
    const known = fleets?.type === 'tree' ? [...(await repo.readTree(fleets.oid)).keys()] : [];
    throw new SlipwayError('FLEET_NOT_FOUND', `no fleet '${fleet}' in the config repository (${fleetPlanPath(fleet)} is missing); fleets there: ${known.map((f) => `'${f}'`).join(', ') || 'none'}: run slipway synth first`);
  }
  return parseSingleDocument((await repo.readBlob(entry.oid)).toString('utf8'), fleetPlanPath(fleet)) as FleetPlan;
}

export async function readState(repo: ConfigRepo, fleet: string, model: string): Promise<RolloutState | undefined> {
  const entry = await repo.entryAt(await repo.treeOf(await repo.head()), rolloutPath(fleet, model));
  if (!entry || entry.type !== 'blob') return undefined;
  return parseSingleDocument((await repo.readBlob(entry.oid)).toString('utf8'), rolloutPath(fleet, model)) as RolloutState;
}

/** The release record of each wave (undefined where the wave has none), in wave order. */
export async function waveRecords(repo: ConfigRepo, plan: FleetPlan, model: string): Promise<Array<Release | undefined>> {
  const tree = await repo.treeOf(await repo.head());
  return Promise.all(
    plan.waves.map(async (w) => {
      const path = releasePath(w.environment, model);
      const entry = await repo.entryAt(tree, path);
      return entry?.type === 'blob' ? parseRelease(path, (await repo.readBlob(entry.oid)).toString('utf8')) : undefined;
    }),
  );
}

/** Two records are the same build when model, artifact and image are. */
export function sameBuild(a: Release | undefined, b: Release | undefined): boolean {
  return a !== undefined && b !== undefined && a.version === b.version && a.modelSha256 === b.modelSha256 && a.imageDigest === b.imageDigest;
}

export function checkModel(plan: FleetPlan, model: string): void {
  if (!plan.models.some((m) => m.model === model)) {
    throw new SlipwayError('FLEET_UNKNOWN_MODEL', `fleet '${plan.name}' does not serve model '${model}'; it serves ${plan.models.map((m) => `'${m.model}'`).join(', ')}`);
  }
}
