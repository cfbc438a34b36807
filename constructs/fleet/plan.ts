import { createHash } from 'node:crypto';

/** Labels of an Argo CD cluster secret, or a selector over them (every key must match). */
export type Labels = Readonly<Record<string, string>>;

/** One cluster of the inventory: its Argo CD cluster name and the labels of its cluster secret. */
export interface FleetSite {
  /** The cluster's name in Argo CD (`argocd cluster list`), used as the Applications' destination. */
  readonly name: string;
  /**
   * Labels of the cluster secret (`site-type: edge`, `region: eu-west`).
   * @default - none
   */
  readonly labels?: Labels;
}

/**
 * One wave of the rollout. The first wave is the canary and names its sites; later waves take
 * a share of the fleet (`percent`, cumulative) or every remaining site matching `selector`.
 */
export interface FleetWaveSpec {
  /** Wave name: a folder in the config repository and part of its environment name. */
  readonly name: string;
  /**
   * Explicit sites (required for the canary wave).
   * @default - none
   */
  readonly sites?: readonly string[];
  /**
   * Share of the whole fleet (canary included) that runs the new version once this wave is done, 1–100.
   * @default - none
   */
  readonly percent?: number;
  /**
   * Every site not yet in an earlier wave whose labels match.
   * @default - none
   */
  readonly selector?: Labels;
}

/** A problem of the fleet's plan: its error code, the prop and what is wrong. */
export interface PlanProblem {
  readonly code: string;
  readonly field: string;
  readonly message: string;
}

export interface PlannedWave {
  readonly name: string;
  /** Sites of the wave, sorted by name. */
  readonly sites: readonly string[];
}

export function matches(labels: Labels | undefined, selector: Labels): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/**
 * Deterministic spread: percentages take sites in the order of a hash of their names, so a wave
 * of 25% is not "the first quarter of the alphabet" (often one region) and never changes while
 * the inventory does not.
 */
function spreadOrder(fleet: string, sites: readonly string[]): string[] {
  const key = (s: string) => createHash('sha256').update(`${fleet}/${s}`).digest('hex');
  return [...sites].map((s) => [key(s), s] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
}

/** Assigns every selected site to exactly one wave, or lists every problem of the plan. */
export function planWaves(fleet: string, sites: readonly FleetSite[], waves: readonly FleetWaveSpec[]): { waves: PlannedWave[]; problems: PlanProblem[] } {
  const problems: PlanProblem[] = [];
  const byName = new Map(sites.map((s) => [s.name, s]));
  const assigned = new Map<string, string>();
  const planned: PlannedWave[] = [];
  const order = spreadOrder(fleet, sites.map((s) => s.name));

  if (waves.length === 0 || !(waves[0]!.sites && waves[0]!.sites.length > 0)) {
    problems.push({
      code: 'FLEET_NO_CANARY',
      field: 'waves[0]',
      message: `expected a canary wave first that names its sites (e.g. { name: 'canary', sites: ['edge-001'] }), got ${waves.length === 0 ? 'no waves' : JSON.stringify(waves[0])}`,
    });
  }
  for (const [i, wave] of waves.entries()) {
    const field = `waves[${i}]`;
    const ways = [wave.sites !== undefined, wave.percent !== undefined, wave.selector !== undefined].filter(Boolean).length;
    if (ways !== 1) {
      problems.push({ code: 'FLEET_INVALID_WAVE', field, message: `expected exactly one of sites, percent or selector in wave '${wave.name}', got ${ways}` });
      planned.push({ name: wave.name, sites: [] });
      continue;
    }
    const taken: string[] = [];
    if (wave.sites) {
      for (const site of wave.sites) {
        if (!byName.has(site)) {
          problems.push({ code: 'FLEET_UNKNOWN_SITE', field: `${field}.sites`, message: `site '${site}' is not in the fleet (not in sites, or its labels do not match the fleet's selector)` });
          continue;
        }
        const other = assigned.get(site);
        if (other !== undefined) {
          problems.push({ code: 'FLEET_SITE_IN_TWO_WAVES', field: `${field}.sites`, message: `site '${site}' is already in wave '${other}': a site belongs to exactly one wave` });
          continue;
        }
        taken.push(site);
      }
    } else if (wave.percent !== undefined) {
      if (!(wave.percent > 0 && wave.percent <= 100)) {
        problems.push({ code: 'FLEET_INVALID_WAVE', field: `${field}.percent`, message: `expected a share of the fleet in (0, 100], got ${wave.percent}` });
      } else {
        const target = Math.ceil((wave.percent * sites.length) / 100);
        for (const site of order) {
          if (assigned.size + taken.length >= target) break;
          if (!assigned.has(site)) taken.push(site);
        }
      }
    } else {
      for (const site of order) if (!assigned.has(site) && matches(byName.get(site)!.labels, wave.selector!)) taken.push(site);
    }
    if (taken.length === 0 && !problems.some((p) => p.field.startsWith(field))) {
      problems.push({
        code: 'FLEET_WAVE_EMPTY',
        field,
        message: `wave '${wave.name}' selects no site (${wave.percent !== undefined ? `${wave.percent}% of ${sites.length} sites is already reached by earlier waves` : `selector ${JSON.stringify(wave.selector ?? wave.sites)} matches no remaining site`}): remove it or change what it selects`,
      });
    }
    for (const site of taken) assigned.set(site, wave.name);
    planned.push({ name: wave.name, sites: [...taken].sort() });
  }
  const left = sites.map((s) => s.name).filter((s) => !assigned.has(s));
  if (left.length > 0 && problems.length === 0) {
    problems.push({
      code: 'FLEET_SITE_IN_NO_WAVE',
      field: 'waves',
      message: `${left.length} site(s) are in no wave (${left.slice(0, 5).join(', ')}${left.length > 5 ? ', …' : ''}): end the plan with a wave of percent: 100`,
    });
  }
  return { waves: planned, problems };
}
