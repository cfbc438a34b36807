/** Jensen–Shannon distance, as `scipy.spatial.distance.jensenshannon(p, q, base=2)`. */

/** `scipy.spatial.distance.jensenshannon(p, q, base=2)`: both normalised, no floor needed. */
export function jensenShannon(p: readonly number[], q: readonly number[]): number {
  const sp = p.reduce((a, b) => a + b, 0);
  const sq = q.reduce((a, b) => a + b, 0);
  if (!(sp > 0) || !(sq > 0)) return NaN;
  let left = 0;
  let right = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! / sp;
    const qi = q[i]! / sq;
    const m = (pi + qi) / 2;
    if (pi > 0) left += pi * Math.log(pi / m);
    if (qi > 0) right += qi * Math.log(qi / m);
  }
  const js = (left + right) / Math.LN2;
  return Math.sqrt(Math.max(js, 0) / 2);
}
