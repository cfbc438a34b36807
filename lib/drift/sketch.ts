/**
 * Deterministic rank sketch (a Manku–Rajagopalan–Lindsay style compactor stack) used
 * while streaming a column: memory is `capacity` values per level and about
 * log2(n / capacity) levels, yet every rank it answers is off by at most
 * `rankErrorBound` (tracked exactly as compactions happen).
 *
 * Level h holds values of weight 2^h. When a level fills, it is sorted and every other
 * value is promoted with twice the weight: for any x, the weighted count of values
 * <= x changes by at most 2^h. Until the first compaction the sketch is exact.
 */
export class RankSketch {
  private readonly levels: Float64Array[] = [];
  private readonly sizes: number[] = [];
  // Alternating which half survives makes the per-compaction errors cancel on average;
  // the bound holds either way.
  private readonly parity: number[] = [];
  private total = 0;
  private errorBound = 0;

  constructor(readonly capacity = 32_768) {
    if (capacity < 2 || capacity % 2 !== 0) throw new RangeError(`capacity must be an even number >= 2, got ${capacity}`);
  }

  get count(): number {
    return this.total;
  }

  /** Largest possible difference between a rank this sketch reports and the true rank. */
  get rankErrorBound(): number {
    return this.errorBound;
  }

  add(value: number): void {
    this.total++;
    this.push(0, value);
  }

  private push(level: number, value: number): void {
    if (level === this.levels.length) {
      this.levels.push(new Float64Array(this.capacity));
      this.sizes.push(0);
      this.parity.push(0);
    }
    const buffer = this.levels[level]!;
    buffer[this.sizes[level]!++] = value;
    if (this.sizes[level] === this.capacity) this.compact(level);
  }

  private compact(level: number): void {
    const buffer = this.levels[level]!;
    buffer.sort();
    const offset = this.parity[level]!;
    this.parity[level] = 1 - offset;
    this.sizes[level] = 0;
    this.errorBound += 2 ** level;
    for (let i = offset; i < this.capacity; i += 2) this.push(level + 1, buffer[i]!);
  }

  /**
   * The weighted empirical distribution: distinct values ascending with the number of
   * (weighted) values at or below, and strictly below, each.
   */
  distribution(): WeightedDistribution {
    const items: Array<[number, number]> = [];
    for (let level = 0; level < this.levels.length; level++) {
      const weight = 2 ** level;
      const buffer = this.levels[level]!;
      for (let i = 0; i < this.sizes[level]!; i++) items.push([buffer[i]!, weight]);
    }
    items.sort((a, b) => a[0] - b[0]);
    const values: number[] = [];
    const atOrBelow: number[] = [];
    const below: number[] = [];
    let cumulative = 0;
    for (const [value, weight] of items) {
      if (values.length > 0 && values[values.length - 1] === value) {
        cumulative += weight;
        atOrBelow[atOrBelow.length - 1] = cumulative;
        continue;
      }
      values.push(value);
      below.push(cumulative);
      cumulative += weight;
      atOrBelow.push(cumulative);
    }
    return { values, atOrBelow, below, total: cumulative };
  }
}

export interface WeightedDistribution {
  readonly values: readonly number[];
  readonly atOrBelow: readonly number[];
  readonly below: readonly number[];
  readonly total: number;
}

/**
 * Quantile by the inverted empirical CDF (numpy `method='inverted_cdf'`): the smallest
 * value whose share at or below reaches numerator/denominator. Integer arithmetic keeps
 * probabilities such as 3/10 exact.
 */
export function invertedCdf(dist: WeightedDistribution, numerator: number, denominator: number): number {
  const target = numerator * dist.total;
  let lo = 0;
  let hi = dist.values.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (dist.atOrBelow[mid]! * denominator >= target) hi = mid;
    else lo = mid + 1;
  }
  return dist.values[lo]!;
}

/** Index of `value` in ascending `values`, or -1. */
export function indexOfValue(values: readonly number[], value: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = values[mid]!;
    if (v === value) return mid;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
