import { binIndex, compareCategorical, numericReport, type FeatureReport } from '../compare.js';
import { CategoricalAccumulator, type FeatureProfile, type Thresholds } from '../profile.js';
import { distributionOfSorted } from '../statistics/index.js';
import type { SampleWindow } from './window.js';

/** One window column against its profile, with the same statistics as `slipway drift`. */
export function evaluateColumn(window: SampleWindow, c: number, name: string, profile: FeatureProfile, thresholds: Required<Thresholds>): FeatureReport {
  const { values, missing, nonFinite } = window.column(c);
  if (profile.type === 'categorical') {
    const current = new CategoricalAccumulator();
    current.missing = missing;
    for (const v of values) current.add(String(v));
    return compareCategorical(profile, current, thresholds, name);
  }
  values.sort();
  const bins = new Array<number>(profile.bins.edges.length + 1).fill(0);
  for (const v of values) bins[binIndex(profile.bins.edges, v)]!++;
  return numericReport(profile, bins, values.length, missing, values.length > 0 ? distributionOfSorted(values) : undefined, thresholds, nonFinite, name);
}

/** Lets a long evaluation give the event loop back between columns. */
export const yieldToEventLoop = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));
