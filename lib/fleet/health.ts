import { SlipwayError } from '../errors.js';
import { SITE_LABEL } from '../vocabulary/fleet.js';
import { DRIFT_METRICS, RUNTIME_METRICS } from '../vocabulary/metrics.js';

/** What Prometheus says about one site running one version of one model. */
export interface SiteHealth {
  readonly site: string;
  /** The site reports the version at all (its runtime serves it). */
  readonly updated: boolean;
  readonly ready: boolean;
  /** 5xx share of the version's requests at the site since it started serving it; undefined without traffic. */
  readonly errorRatio?: number;
  readonly latencyP99Seconds?: number;
  readonly drift: boolean;
}

export interface HealthThresholds {
  readonly maxErrorRatio: number;
  readonly maxLatencyP99Seconds: number;
}

/** Why a site fails the gate, or undefined when it passes. */
export function failureOf(h: SiteHealth, t: HealthThresholds): string | undefined {
  if (!h.updated) return 'does not serve the version';
  if (!h.ready) return 'not ready';
  if (h.errorRatio !== undefined && h.errorRatio > t.maxErrorRatio) return `error ratio ${h.errorRatio.toFixed(3)} > ${t.maxErrorRatio}`;
  if (h.latencyP99Seconds !== undefined && h.latencyP99Seconds > t.maxLatencyP99Seconds) return `p99 latency ${h.latencyP99Seconds.toFixed(3)}s > ${t.maxLatencyP99Seconds}s`;
  if (h.drift) return 'drift detected';
  return undefined;
}

type Vector = Array<{ metric: Record<string, string>; value: [number, string] }>;

/** Prometheus' HTTP query API (`/api/v1/query`), instant queries only. */
export class PrometheusClient {
  constructor(
    readonly url: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async query(promql: string): Promise<Vector> {
    const target = `${this.url.replace(/\/+$/, '')}/api/v1/query?query=${encodeURIComponent(promql)}`;
    let res: Response;
    try {
      res = await fetch(target, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new SlipwayError('FLEET_PROMETHEUS_UNREACHABLE', `cannot reach Prometheus at ${this.url} (${cause}): the gate cannot judge the wave's health, nothing was committed`);
    }
    const body = (await res.json().catch(() => undefined)) as { status?: string; error?: string; data?: { resultType?: string; result?: Vector } } | undefined;
    if (!res.ok || body?.status !== 'success' || body.data?.resultType !== 'vector') {
      throw new SlipwayError(
        'FLEET_PROMETHEUS_UNREACHABLE',
        `Prometheus at ${this.url} answered ${res.status}${body?.error ? `: ${body.error}` : ''} to ${promql}: nothing was committed`,
      );
    }
    return body.data.result ?? [];
  }
}

const quote = (s: string) => JSON.stringify(s);

/**
 * Per-site health of `version` of `model` over the last `windowSeconds`, from the runtime's own
 * metrics (the fleet's ServiceMonitor adds `site` to every series). Sites Prometheus knows
 * nothing about come back not updated.
 */
export async function siteHealth(prom: PrometheusClient, model: string, version: string, sites: readonly string[], windowSeconds: number): Promise<SiteHealth[]> {
  const sel = `model=${quote(model)},version=${quote(version)}`;
  const w = `${Math.max(windowSeconds, 10)}s`;
  const [ready, errors, latency, drift] = await Promise.all([
    prom.query(`max by (${SITE_LABEL}) (${RUNTIME_METRICS.modelReady}{${sel}})`),
    // Counters of this version only, since its runtime started: a rate over a window just after a
    // restart extrapolates from one or two samples, totals are exact.
    prom.query(`sum by (${SITE_LABEL}) (${RUNTIME_METRICS.requests}{${sel},status=~"5.."}) / sum by (${SITE_LABEL}) (${RUNTIME_METRICS.requests}{${sel}})`),
    prom.query(`histogram_quantile(0.99, sum by (${SITE_LABEL}, le) (rate(${RUNTIME_METRICS.requestDuration}_bucket{${sel}}[${w}])))`),
    prom.query(`max by (${SITE_LABEL}) (${DRIFT_METRICS.detected}{${sel}})`),
  ]);
  const bySite = (v: Vector) => new Map(v.map((s) => [s.metric[SITE_LABEL] ?? '', Number(s.value[1])]));
  const r = bySite(ready);
  const e = bySite(errors);
  const l = bySite(latency);
  const d = bySite(drift);
  const finite = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x : undefined);
  return sites.map((site) => {
    const errorRatio = finite(e.get(site));
    const latencyP99Seconds = finite(l.get(site));
    return {
      site,
      updated: r.has(site),
      ready: r.get(site) === 1,
      ...(errorRatio !== undefined ? { errorRatio } : {}),
      ...(latencyP99Seconds !== undefined ? { latencyP99Seconds } : {}),
      drift: d.get(site) === 1,
    };
  });
}
