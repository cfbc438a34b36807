import type { DriftReport, FeatureReport, Verdict } from '../compare.js';

/** One evaluated window, reduced to what a trend shows. */
export interface HistoryPoint {
  readonly evaluatedAt: string;
  readonly rows: number;
  readonly verdict: DriftReport['verdict'];
  readonly driftShare: number;
  readonly qualityFindings: number;
  readonly accuracy: number | null;
  readonly features: Record<string, HistoryFeature>;
  readonly outputs?: Record<string, HistoryFeature>;
}

export interface HistoryFeature {
  readonly verdict: Verdict;
  readonly psi: number | null;
  readonly effect: number | null;
  readonly missingRate: number;
}

function point(r: FeatureReport): HistoryFeature {
  return {
    verdict: r.verdict,
    psi: r.psi,
    effect: r.type === 'numeric' ? (r.test === 'Wasserstein' ? r.wasserstein : r.ks.statistic) : r.jensenShannon,
    missingRate: r.missingRate.current,
  };
}

export function historyPoint(report: DriftReport, evaluatedAt: string, accuracy: number | null): HistoryPoint {
  const map = (m: Record<string, FeatureReport>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, point(v)]));
  return {
    evaluatedAt,
    rows: report.rows,
    verdict: report.verdict,
    driftShare: report.dataset.share,
    qualityFindings: report.quality.findings.filter((f) => f.severity === 'warning').length,
    accuracy,
    features: map(report.features),
    ...(report.outputs ? { outputs: map(report.outputs) } : {}),
  };
}

/** The last `capacity` points, oldest first. */
export class History<T> {
  private readonly items: T[] = [];

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`history size must be an integer >= 1, got ${capacity}`);
  }

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.capacity) this.items.shift();
  }

  list(): readonly T[] {
    return [...this.items];
  }
}
