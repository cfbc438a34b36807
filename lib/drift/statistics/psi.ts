/** Population stability index over the reference bins (no scipy counterpart: the numpy one-liner). */

/** Fractions are floored here before a logarithm divides by them (PSI). */
export const PSI_FLOOR = 1e-4;

/** Σ (c − r)·ln(c / r) over bins, each fraction floored at PSI_FLOOR. */
export function psi(reference: readonly number[], current: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = Math.max(reference[i]!, PSI_FLOOR);
    const c = Math.max(current[i]!, PSI_FLOOR);
    sum += (c - r) * Math.log(c / r);
  }
  return sum;
}
