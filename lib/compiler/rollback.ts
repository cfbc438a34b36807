import { SlipwayError } from '../errors.js';
import { ConfigRepo } from './config-repo.js';
import { type ReleaseEvent, releaseLog } from './history.js';
import { parseRelease, releasePath } from './releases.js';
import { type SynthOptions, type SynthResult, synth } from './synth.js';

export type RollbackOptions = Omit<SynthOptions, 'releases' | 'environments' | 'title' | 'trailers' | 'approval' | 'approvalExempt'>;

export interface RollbackRequest {
  readonly environment: string;
  readonly model: string;
  /** The version to restore; by default the one that ran before the current one. */
  readonly to?: string;
}

export interface RollbackResult extends SynthResult {
  readonly from: string;
  readonly to: string;
}

export const ROLLBACK_FROM_TRAILER = 'Rollback-from';
export const ROLLBACK_TO_TRAILER = 'Rollback-to';

/**
 * Restores an earlier release record of `model` in `environment` and re-synthesizes that
 * environment, in one commit (`rollback: M in E from X to Y`). The restored record is the one
 * committed then, lineage and approvals included: the environment already ran that build, so
 * no new approval is asked for.
 */
export async function rollback(request: RollbackRequest, options: RollbackOptions): Promise<RollbackResult> {
  const { environment, model } = request;
  const repo = await ConfigRepo.open(options.repo);
  const events = (await releaseLog(repo, { model })).filter((e) => e.environment === environment);
  const current = events[events.length - 1];
  if (!current?.release || !current.record) {
    throw new SlipwayError('RELEASE_NOT_FOUND', `no release of '${model}' in '${environment}' (${releasePath(environment, model)} is missing in ${options.repo}): nothing to roll back`);
  }
  const target = pickTarget(events, current, request);
  const restored = parseRelease(releasePath(environment, model), (await repo.readBlob(target.blob!)).toString('utf8'));
  const from = current.record.version;
  const to = restored.version;
  const result = await synth({
    ...options,
    releases: [restored],
    environments: [environment],
    title: `rollback: ${model} in ${environment} from ${from} to ${to}`,
    trailers: [
      { key: ROLLBACK_FROM_TRAILER, value: `${from} (${current.commit.slice(0, 12)})` },
      { key: ROLLBACK_TO_TRAILER, value: `${to} (${target.commit.slice(0, 12)})` },
    ],
    approvalExempt: true,
  });
  return { ...result, from, to };
}

function pickTarget(events: readonly ReleaseEvent[], current: ReleaseEvent, request: RollbackRequest): ReleaseEvent {
  const earlier = events.slice(0, -1).filter((e) => e.record && e.blob).reverse();
  const currentVersion = current.record!.version;
  if (request.to !== undefined) {
    if (request.to === currentVersion) {
      throw new SlipwayError('INVALID_ARGUMENT', `--to ${request.to}: '${request.environment}' already runs ${request.model} ${currentVersion}`);
    }
    const match = earlier.find((e) => e.record!.version === request.to);
    if (!match) {
      const seen = [...new Set(earlier.map((e) => e.record!.version))];
      throw new SlipwayError(
        'ROLLBACK_TARGET_NOT_FOUND',
        `--to ${request.to}: ${request.model} ${request.to} never ran in '${request.environment}'; ` +
          `earlier versions there: ${seen.length > 0 ? seen.join(', ') : 'none'}`,
      );
    }
    return match;
  }
  const previous = earlier.find((e) => e.record!.version !== currentVersion);
  if (!previous) {
    throw new SlipwayError(
      'NOTHING_TO_ROLL_BACK',
      `${request.model} ${currentVersion} is the only version that ran in '${request.environment}': there is no earlier release to restore`,
    );
  }
  return previous;
}
