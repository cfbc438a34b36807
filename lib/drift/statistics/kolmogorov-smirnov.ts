/**
 * Two-sample Kolmogorov–Smirnov statistic and its asymptotic p-value, as
 * `scipy.stats.ks_2samp(ref, cur, method='asymp')`.
 */
import type { NumericQuantiles } from '../profile.js';
import type { WeightedDistribution } from '../sketch.js';
import { clip01 } from './numeric.js';

// ─── Kolmogorov–Smirnov statistic ───────────────────────────────────────────────

/**
 * sup |F_ref − G_cur| where F_ref is the reference CDF rebuilt from the profile's
 * quantile points (exact at each point, linear inside gaps) and G_cur is the current
 * sample's empirical CDF. Evaluated at every point of either side, from both sides,
 * which finds the supremum exactly: between consecutive points G is constant and F_ref
 * linear.
 */
export function ksStatistic(reference: NumericQuantiles, current: WeightedDistribution): number {
  const rv = reference.values;
  const le = reference.countAtOrBelow;
  const lt = reference.countBelow;
  const nRef = le[le.length - 1]!;
  const cv = current.values;
  const nCur = current.total;
  if (rv.length === 0 || cv.length === 0) return NaN;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < rv.length || j < cv.length) {
    const x = j >= cv.length || (i < rv.length && rv[i]! <= cv[j]!) ? rv[i]! : cv[j]!;
    let refRight: number;
    let refLeft: number;
    if (i < rv.length && rv[i] === x) {
      refRight = le[i]! / nRef;
      refLeft = lt[i]! / nRef;
    } else if (i === 0) {
      refRight = refLeft = 0;
    } else if (i === rv.length) {
      refRight = refLeft = 1;
    } else {
      const t = (x - rv[i - 1]!) / (rv[i]! - rv[i - 1]!);
      refRight = refLeft = (le[i - 1]! + (lt[i]! - le[i - 1]!) * t) / nRef;
    }
    let curRight: number;
    let curLeft: number;
    if (j < cv.length && cv[j] === x) {
      curRight = current.atOrBelow[j]! / nCur;
      curLeft = current.below[j]! / nCur;
    } else if (j === cv.length) {
      curRight = curLeft = 1;
    } else {
      curRight = curLeft = current.below[j]! / nCur;
    }
    d = Math.max(d, Math.abs(refRight - curRight), Math.abs(refLeft - curLeft));
    if (i < rv.length && rv[i] === x) i++;
    if (j < cv.length && cv[j] === x) j++;
  }
  return d;
}

/** Distribution of sorted values (no weights), e.g. a live window. */
export function distributionOfSorted(sorted: ArrayLike<number>): WeightedDistribution {
  const values: number[] = [];
  const atOrBelow: number[] = [];
  const below: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i]!;
    if (values.length > 0 && values[values.length - 1] === v) {
      atOrBelow[atOrBelow.length - 1] = i + 1;
    } else {
      values.push(v);
      below.push(i);
      atOrBelow.push(i + 1);
    }
  }
  return { values, atOrBelow, below, total: sorted.length };
}

// ─── Kolmogorov–Smirnov p-value ─────────────────────────────────────────────────

/**
 * Two-sided p-value of `scipy.stats.ks_2samp(..., method='asymp')`: with m >= n the
 * sample sizes and en = m·n/(m+n), scipy returns `kstwo.sf(d, round(en))` — the exact
 * one-sample two-sided KS distribution with round(en) observations (numpy rounds half
 * to even), not the Kolmogorov limit.
 */
export function ksPValue(d: number, n1: number, n2: number): number {
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = roundHalfEven((m * n) / (m + n));
  if (!(en >= 1) || Number.isNaN(d)) return NaN;
  return kstwoSf(d, en);
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Survival function of the two-sided one-sample KS statistic D_n (scipy `kstwo.sf`, Simard & L'Ecuyer 2011). */
export function kstwoSf(x: number, n: number): number {
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    // Ruben–Gambino: 1/(2n) <= x <= 1/n
    if (t <= 0.5) return 1;
    let prob: number;
    if (n <= 140) {
      prob = 1;
      for (let i = 1; i <= n; i++) prob *= i * (1 / n) * (2 * t - 1);
    } else {
      prob = Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1 - prob);
  }
  if (t >= n - 1) return clip01(2 * (1 - x) ** n);
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));
  const nxSquared = t * x;
  if (n <= 140) {
    if (nxSquared <= 0.754693) return clip01(1 - durbinMtwCdf(n, x));
    if (nxSquared <= 4) return clip01(1 - pomeranzCdf(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nxSquared >= 370) return 0;
  if (nxSquared >= 2.2) return clip01(2 * smirnovSf(n, x));
  const cdf = n <= 100_000 && n * x ** 1.5 <= 1.4 ? durbinMtwCdf(n, x) : pelzGoodCdf(n, x);
  return clip01(1 - cdf);
}

// Stirling coefficients B_{2j}/(2j)/(2j-1), j = 8 … 1 (as scipy's _ksstats).
const STIRLING = [
  -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4,
  -5.952380952380952381e-4, 7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2,
];

/** log(n! / n^n) by Stirling, with n·log(n) removed up front to avoid cancellation. */
function logNFactorialDivNPowN(n: number): number {
  const rn = 1 / n;
  let poly = 0;
  for (const c of STIRLING) poly = poly * (rn / n) + c;
  return Math.log(n) / 2 - n + Math.log(2 * Math.PI) / 2 + rn * poly;
}

const TWO_128 = 2 ** 128;
const TWO_MINUS_128 = 2 ** -128;

function ldexp(value: number, exponent: number): number {
  let v = value;
  let e = exponent;
  // Step so intermediate powers of two stay representable.
  while (e > 1000) {
    v *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    v *= 2 ** -1000;
    e += 1000;
  }
  return v * 2 ** e;
}

/** P(D_n <= d) by Durbin's matrix method in the Marsaglia–Tsang–Wang form. */
function durbinMtwCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - h ** j) * fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;
  let H = new Float64Array(m * m);
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - (i - 1)]!;
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r]!;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c]!;

  let power = new Float64Array(m * m);
  for (let r = 0; r < m; r++) power[r * m + r] = 1;
  let nn = n;
  let exponent = 0;
  let hExponent = 0;
  while (nn > 0) {
    if (nn % 2) {
      power = matmul(power, H, m);
      exponent += hExponent;
    }
    H = matmul(H, H, m);
    hExponent *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)]!) > TWO_128) {
      for (let i = 0; i < H.length; i++) H[i]! /= TWO_128;
      hExponent += 128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = power[(k - 1) * m + (k - 1)]!;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < TWO_MINUS_128) {
      p *= TWO_128;
      exponent -= 128;
    }
  }
  if (exponent !== 0) p = ldexp(p, exponent);
  return clip01(p);
}

function matmul(a: Float64Array<ArrayBuffer>, b: Float64Array<ArrayBuffer>, m: number): Float64Array<ArrayBuffer> {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k]!;
      if (aik === 0) continue;
      const rowB = k * m;
      const rowOut = i * m;
      for (let j = 0; j < m; j++) out[rowOut + j]! += aik * b[rowB + j]!;
    }
  }
  return out;
}

function pomeranzBounds(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const half = Math.floor((i + 1) / 2);
    if ((i + 1) % 2 === 0) {
      if (half === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = half - 1 - ll - roundf - 1;
        j2 = half + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = half - 1 - ll - 1;
      j2 = half + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** P(D_n <= x) by the Pomeranz (1974) recursion; used for n <= 140. */
function pomeranzCdf(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = twogpower[0] = onem2gpower[0] = 1;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = (gpower[m - 1]! * (g / n)) / m;
    twogpower[m] = (twogpower[m - 1]! * ((2 * g) / n)) / m;
    onem2gpower[m] = (onem2gpower[m - 1]! * ((1 - 2 * g) / n)) / m;
  }
  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let exponent = 0;
  let [j1, j2] = pomeranzBounds(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzBounds(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      const start = k1 - V0s;
      const conv = new Float64Array(2 * ln2 - 1);
      for (let a = 0; a < ln2; a++) {
        const va = V0[start + a] ?? 0;
        if (va === 0) continue;
        for (let b = 0; b < ln2; b++) conv[a + b]! += va * pwrs[b]!;
      }
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      let max = 0;
      for (let c = 0; c < convLen; c++) {
        V1[c] = conv[convStart + c]!;
        if (V1[c]! > max) max = V1[c]!;
      }
      if (max > 0 && max < TWO_MINUS_128) {
        for (let c = 0; c < V1.length; c++) V1[c]! *= TWO_128;
        exponent -= 128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  let ans = V1[n - V1s]!;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > TWO_128) {
      ans *= TWO_MINUS_128;
      exponent += 128;
    }
    ans *= m;
  }
  if (exponent !== 0) ans = ldexp(ans, exponent);
  return clip01(ans);
}

/** Pelz–Good asymptotic series for P(D_n <= x), for large n. */
function pelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z3 = z2 * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const qlog = -(Math.PI ** 2) / 8 / z2;
  if (qlog < -708) return 0;
  let q = Math.exp(qlog);
  const pi2 = Math.PI ** 2;
  const pi4 = Math.PI ** 4;
  const pi6 = Math.PI ** 6;
  const k1a = -z2;
  const k1b = pi2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * pi2) / 4;
  const k2c = (pi4 * (1 - 2 * z2)) / 16;
  const k3d = (pi6 * (5 - 30 * z2)) / 64;
  const k3c = (pi4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (pi2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m * m;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const qpower = q ** (8 * k);
    const coeffs = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let i = 0; i < 4; i++) K[i] = K[i]! * qpower + coeffs[i]!;
  }
  const sqrt2pi = Math.sqrt(2 * Math.PI);
  const divisors = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (K[i]! * q * sqrt2pi) / divisors[i]!;
  q = Math.exp(-pi2 / 2 / z2);
  let k2extra = 0;
  let k3extra = 0;
  const sqrt3z = Math.sqrt(3) * z;
  for (let k = maxk; k > 0; k--) {
    const k2 = k * k;
    const qp = q ** k2;
    k2extra += k2 * qp;
    const kpi = Math.PI * k;
    k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qp;
  }
  K[2]! += (k2extra * pi2 * sqrt2pi) / (-36 * z3);
  K[3]! += (k3extra * pi2 * sqrt2pi) / (216 * z6);
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += K[i]! / n ** (i / 2);
  return sum;
}

const MINLOG = -7.08396418532264106224e2;

/**
 * One-sided Smirnov survival function P(D_n^+ >= x) (scipy.special.smirnov), by the
 * Birnbaum–Tingey sum of positive terms, accumulated in log space so it neither
 * overflows the binomial nor underflows the powers.
 */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0 && x >= 0 && x <= 1)) return NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const nx = n * x;
  const nxFloor = Math.floor(nx);
  const alpha = nx - nxFloor;
  if (nxFloor === 0 || (nxFloor === 1 && alpha === 0)) return clip01(1 - x * (1 + x) ** (n - 1));
  if (-2 * n * x * x < MINLOG) return 0;
  if (nxFloor >= n - 1) return clip01((1 - x) ** n);
  if (n > 1_000_000) {
    const logp = -((6 * n * x + 1) ** 2) / 18 / n;
    return clip01(logp < -Math.LN2 ? Math.exp(logp) : 1 + Math.expm1(logp));
  }
  // Terms with 1 - x - v/n <= 0 vanish: v runs to ceil(n(1 - x)) - 1.
  const last = n - nxFloor - 1;
  let logBinomial = 0;
  let maxLog = -Infinity;
  let scaled = 0;
  const logX = Math.log(x);
  for (let v = 0; v <= last; v++) {
    const up = x + v / n;
    const down = (n - v) / n - x;
    if (down <= 0) break;
    const logTerm = logBinomial + (v - 1) * Math.log(up) + (n - v) * Math.log(down) + logX;
    if (logTerm > maxLog) {
      scaled = scaled * Math.exp(maxLog - logTerm) + 1;
      maxLog = logTerm;
    } else {
      scaled += Math.exp(logTerm - maxLog);
    }
    logBinomial += Math.log((n - v) / (v + 1));
  }
  return clip01(scaled * Math.exp(maxLog));
}
