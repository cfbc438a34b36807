import { mulberry32 } from '../random.js';

/** Decides per row whether it is kept: one PRNG draw, skipped entirely at rate 1. */
export class RowSampler {
  private readonly random: () => number;

  constructor(readonly rate: number, seed: number) {
    if (!(rate > 0 && rate <= 1)) throw new RangeError(`sampleRate must be in (0, 1], got ${rate}`);
    this.random = mulberry32(seed);
  }

  take(): boolean {
    return this.rate >= 1 || this.random() < this.rate;
  }
}

export interface WindowColumn {
  /** Finite values, in arrival order. */
  readonly values: Float64Array;
  /** NaN cells: how a tensor carries a missing value. */
  readonly missing: number;
  /** ±Infinity cells. */
  readonly nonFinite: number;
}

/** A ring of sampled rows: Float64 values × columns, plus the time each row arrived. */
export class SampleWindow {
  readonly values: Float64Array;
  readonly times: Float64Array;
  private head = 0;
  size = 0;

  constructor(readonly capacity: number, readonly columns: number) {
    this.values = new Float64Array(capacity * columns);
    this.times = new Float64Array(capacity);
  }

  push(source: ArrayLike<number>, offset: number, now: number): void {
    const slot = (this.head + this.size) % this.capacity;
    const base = slot * this.columns;
    for (let c = 0; c < this.columns; c++) this.values[base + c] = source[offset + c]!;
    this.times[slot] = now;
    if (this.size < this.capacity) this.size++;
    else this.head = (this.head + 1) % this.capacity;
  }

  dropOlderThan(cutoff: number): void {
    while (this.size > 0 && this.times[this.head]! < cutoff) {
      this.head = (this.head + 1) % this.capacity;
      this.size--;
    }
  }

  column(c: number): WindowColumn {
    const out = new Float64Array(this.size);
    let n = 0;
    let missing = 0;
    let nonFinite = 0;
    for (let i = 0; i < this.size; i++) {
      const v = this.values[((this.head + i) % this.capacity) * this.columns + c]!;
      if (Number.isNaN(v)) missing++;
      else if (v === Infinity || v === -Infinity) nonFinite++;
      else out[n++] = v;
    }
    return { values: out.subarray(0, n), missing, nonFinite };
  }
}
