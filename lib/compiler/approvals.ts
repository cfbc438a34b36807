import type { Release } from '../../constructs/release.js';
import { SlipwayError } from '../errors.js';
import type { ApprovalPolicy } from './app-inspection.js';
import type { Trailer } from './commit-message.js';

/** How a release into an environment that requires approval is approved. */
export interface ApprovalRequest {
  /** People who approved it (`--approved-by`, repeatable): recorded as trailers and in the record. */
  readonly approvedBy?: readonly string[];
  /** Commit on a review branch for a pull request instead of main (`--review`). */
  readonly review?: boolean;
}

export const APPROVED_BY_TRAILER = 'Approved-by';

/** The branch a `--review` release commits on. */
export function reviewBranch(release: Pick<Release, 'environment' | 'model' | 'version'>): string {
  return `release/${release.environment}/${release.model}-${release.version}`;
}

/**
 * Checks `request` against the policies of the releases' environments. Returns the approvers
 * to record (possibly none) or throws APPROVAL_REQUIRED / APPROVER_NOT_ALLOWED before anything
 * is written.
 */
export function checkApprovals(
  releases: readonly Release[],
  policies: ReadonlyMap<string, ApprovalPolicy>,
  request: ApprovalRequest | undefined,
): { approvedBy: readonly string[]; review: boolean } {
  const approvedBy = [...new Set((request?.approvedBy ?? []).map((a) => a.trim()).filter((a) => a !== ''))];
  const review = request?.review === true;
  if (review && approvedBy.length > 0) {
    throw new SlipwayError('INVALID_ARGUMENT', '--approved-by and --review exclude each other: approve now, or ask for a review on a branch');
  }
  if (review && releases.length !== 1) throw new SlipwayError('INVALID_ARGUMENT', '--review takes one release at a time');
  for (const r of releases) {
    const policy = policies.get(r.environment);
    if (!policy?.requireApproval) continue;
    if (approvedBy.length === 0 && !review) {
      throw new SlipwayError(
        'APPROVAL_REQUIRED',
        `'${r.environment}' requires approval (requireApproval: true) for ${r.model} ${r.version}: ` +
          `pass --approved-by NAME${policy.approvers ? ` (one of ${policy.approvers.join(', ')})` : ''}, ` +
          `or --review to commit on branch ${reviewBranch(r)} and open a pull request; nothing was written`,
      );
    }
    const refused = policy.approvers ? approvedBy.filter((a) => !policy.approvers!.includes(a)) : [];
    if (refused.length > 0) {
      throw new SlipwayError(
        'APPROVER_NOT_ALLOWED',
        `--approved-by ${refused.join(', ')}: '${r.environment}' accepts approvals from ${policy.approvers!.join(', ')} only; nothing was written`,
      );
    }
  }
  return { approvedBy, review };
}

export function approvalTrailers(approvedBy: readonly string[]): Trailer[] {
  return approvedBy.map((value) => ({ key: APPROVED_BY_TRAILER, value }));
}
