import { SlipwayError } from '../errors.js';
import type { BuildRecord, ChallengerDecision, Release } from '../vocabulary/build.js';
import { LIVE_GATE_METRICS, PERFORMANCE_METRICS } from '../vocabulary/metrics.js';
import { ConfigRepo } from './config-repo.js';
import { checkRelease, parseRelease, releasePath } from './releases.js';
import { synth, type SynthResult } from './synth.js';
import type { ReleaseOptions } from './release-ops.js';

// Champion/challenger: a challenger build is recorded beside the champion in its release record
// (the champion's runtime mirrors traffic to it); promoting it replaces the champion only when
// its live metric beats the champion's by the margin, and records the numbers.

/** Live value and labelled rows of one served version. */
export interface LiveMeasure {
  readonly value: number;
  readonly samples: number;
}

export interface ChallengeOptions {
  /** Live metric compared: a gate metric the runtime measures. @default 'accuracy' */
  readonly metric?: string;
  /** How much better the challenger must be (absolute). @default 0.01 */
  readonly margin?: number;
  /** Fewest labelled rows behind each value. @default 200 */
  readonly minSamples?: number;
}

async function currentRecord(repoDir: string, environment: string, model: string): Promise<Release> {
  const repo = await ConfigRepo.open(repoDir);
  const path = releasePath(environment, model);
  const entry = await repo.entryAt(await repo.treeOf(await repo.head()), path);
  if (!entry || entry.type !== 'blob') {
    throw new SlipwayError('RELEASE_NOT_FOUND', `no release of '${model}' in '${environment}' (${path} is missing in ${repoDir}): release the champion first`);
  }
  return parseRelease(path, (await repo.readBlob(entry.oid)).toString('utf8'));
}

/** Records `build` as the challenger of the champion released in `environment`, in one commit. */
export async function releaseChallenger(build: BuildRecord, environment: string, options: ReleaseOptions): Promise<SynthResult> {
  const champion = await currentRecord(options.repo, environment, build.model);
  if (champion.version === build.version) {
    throw new SlipwayError('CHALLENGER_INVALID', `--challenger: ${build.model} ${build.version} is already the champion in '${environment}'; a challenger must be another build`);
  }
  const { environment: _e, approvedBy: _a, challenger: _c, challengerDecision: _d, ...challenger } = build as Release;
  const record = checkRelease({ ...champion, challenger }, 'release --challenger');
  return synth({
    ...options,
    releases: [record],
    environments: [environment],
    title: `challenger: ${build.model} ${build.version} beside ${champion.version} in ${environment}`,
  });
}

/** The gauge that measures `metric` live, and which way is better. */
export function liveMetric(metric: string): { readonly gauge: string; readonly higherIsBetter: boolean } {
  const found = LIVE_GATE_METRICS.find((m) => m.keys.includes(metric));
  if (!found) {
    throw new SlipwayError('CHALLENGER_INVALID', `--metric: expected a metric the runtime measures live (${LIVE_GATE_METRICS.flatMap((m) => m.keys).join(', ')}), got ${JSON.stringify(metric)}`);
  }
  return found;
}

/** The decision, or why not: the challenger wins when it beats the champion by the margin over enough labels. */
export function decide(
  metric: string,
  champion: { readonly version: string } & LiveMeasure,
  challenger: LiveMeasure,
  options: ChallengeOptions = {},
): { readonly wins: boolean; readonly reason: string; readonly decision: ChallengerDecision } {
  const margin = options.margin ?? 0.01;
  const minSamples = options.minSamples ?? 200;
  const { higherIsBetter } = liveMetric(metric);
  const gain = higherIsBetter ? challenger.value - champion.value : champion.value - challenger.value;
  const decision: ChallengerDecision = {
    replaced: champion.version,
    metric,
    champion: champion.value,
    challenger: challenger.value,
    margin,
    samples: { champion: champion.samples, challenger: challenger.samples },
  };
  const numbers = `${metric} champion ${champion.value} (${champion.samples} labels), challenger ${challenger.value} (${challenger.samples} labels), margin ${margin}`;
  if (Math.min(champion.samples, challenger.samples) < minSamples) return { wins: false, reason: `too few labels (at least ${minSamples} each): ${numbers}`, decision };
  if (!(gain > margin)) return { wins: false, reason: `the challenger does not beat the champion by the margin: ${numbers}`, decision };
  return { wins: true, reason: numbers, decision };
}

/** Reads a version's live metric and sample count from Prometheus' query API. */
export async function measureFromPrometheus(prometheusUrl: string, model: string, version: string, metric: string): Promise<LiveMeasure> {
  const { gauge } = liveMetric(metric);
  const query = async (name: string): Promise<number> => {
    const expr = `max(${name}{model="${model}",version="${version}"})`;
    let body: { status?: string; data?: { result?: Array<{ value: [number, string] }> } };
    try {
      const res = await fetch(`${prometheusUrl.replace(/\/+$/, '')}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(10_000) });
      body = (await res.json()) as typeof body;
    } catch (err) {
      throw new SlipwayError('CHALLENGER_EVIDENCE_MISSING', `--prometheus-url ${prometheusUrl}: cannot query ${expr}: ${(err as Error).message}`);
    }
    const value = body.data?.result?.[0]?.value[1];
    if (value === undefined) throw new SlipwayError('CHALLENGER_EVIDENCE_MISSING', `Prometheus at ${prometheusUrl} has no ${expr}: is ${model} ${version} served, scraped and labelled through feedback?`);
    return Number(value);
  };
  return { value: await query(gauge), samples: await query(PERFORMANCE_METRICS.feedbackSamples) };
}

/**
 * Makes the challenger the champion when it wins: the record becomes the challenger's build
 * with the decision and its numbers; when it does not win, nothing is written.
 */
export async function promoteChallenger(
  model: string,
  environment: string,
  measure: (version: string) => Promise<LiveMeasure>,
  options: ReleaseOptions & ChallengeOptions & { readonly source?: string },
): Promise<{ readonly result: SynthResult; readonly decision: ChallengerDecision }> {
  const record = await currentRecord(options.repo, environment, model);
  if (!record.challenger) {
    throw new SlipwayError('CHALLENGER_INVALID', `${releasePath(environment, model)} has no challenger: record one with slipway release --challenger`);
  }
  const metric = options.metric ?? 'accuracy';
  liveMetric(metric);
  const champion = { version: record.version, ...(await measure(record.version)) };
  const verdict = decide(metric, champion, await measure(record.challenger.version), options);
  if (!verdict.wins) throw new SlipwayError('CHALLENGER_NOT_BETTER', `${model} ${record.challenger.version} stays the challenger in '${environment}': ${verdict.reason}`);
  const decision = { ...verdict.decision, ...(options.source ? { source: options.source } : {}) };
  const { metric: _m, margin: _g, minSamples: _s, source: _src, ...synthOptions } = options;
  const result = await synth({
    ...synthOptions,
    releases: [{ ...record.challenger, environment, challengerDecision: decision }],
    environments: [environment],
    title: `promote: ${model} ${record.challenger.version} (challenger) over ${record.version} in ${environment}`,
  });
  return { result, decision };
}
