/**
 * Drift over time, from a running runtime: GET …/drift (the latest window) and
 * GET …/drift?history=1 (the bounded history of windows), rendered as a trend.
 */
import { SlipwayError } from '../errors.js';
import { escapeHtml } from '../html.js';
import type { DriftReport } from './compare.js';
import type { LiveHistory } from './live.js';
import type { HistoryPoint } from './live/history.js';
import { renderHtml, type ReportFormat } from './report.js';

export interface RuntimeDrift {
  /** The drift endpoint that was read (credentials removed). */
  readonly url: string;
  readonly latest: DriftReport & { readonly model?: string; readonly version?: string; readonly evaluatedAt?: string | null };
  readonly history: LiveHistory;
}

/** Never print a password that came inside a URL. */
function redact(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password) copy.password = '***';
  return copy.href;
}

/** `http://host:8080` plus a model, or the drift endpoint itself (`…/v2/models/NAME[/versions/V]/drift`). */
export function driftEndpoint(base: string, model?: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new SlipwayError('DRIFT_USAGE', `--from-runtime: expected an http(s) URL such as http://localhost:8080, got ${JSON.stringify(base.slice(0, 200))}`, 1);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SlipwayError('DRIFT_USAGE', `--from-runtime: expected an http or https URL, got ${url.protocol}`, 1);
  url.search = '';
  if (/\/v2\/models\/[^/]+(\/versions\/[^/]+)?\/drift\/?$/.test(url.pathname)) return url;
  if (model === undefined) throw new SlipwayError('DRIFT_USAGE', `--from-runtime ${redact(url)}: name the model with --model, or pass the drift endpoint (…/v2/models/NAME/drift)`, 1);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v2/models/${encodeURIComponent(model)}/drift`;
  return url;
}

async function getJson(url: URL): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const target = new URL(url.href);
  if (target.username || target.password) {
    // fetch refuses credentials inside a URL; they go in a header, and only over TLS.
    if (target.protocol !== 'https:') throw new SlipwayError('DRIFT_USAGE', `${redact(url)}: refusing to send credentials over plain http; use https`, 1);
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`).toString('base64')}`;
    target.username = '';
    target.password = '';
  }
  let response: Response;
  try {
    response = await fetch(target, { headers, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new SlipwayError('DRIFT_RUNTIME_UNREACHABLE', `${redact(url)}: cannot reach the runtime: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`, 1, { cause: err });
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new SlipwayError('DRIFT_RUNTIME_ERROR', `${redact(url)}: expected JSON from the runtime, got HTTP ${response.status} ${response.headers.get('content-type') ?? 'without a content type'}`, 1);
  }
  if (!response.ok) {
    const message = typeof (body as { error?: unknown }).error === 'string' ? (body as { error: string }).error : `HTTP ${response.status}`;
    throw new SlipwayError('DRIFT_RUNTIME_ERROR', `${redact(url)}: the runtime answered ${response.status}: ${message.slice(0, 300)}`, 1);
  }
  return body;
}

export async function fetchRuntimeDrift(endpoint: URL): Promise<RuntimeDrift> {
  const historyUrl = new URL(endpoint.href);
  historyUrl.searchParams.set('history', '1');
  const [latest, history] = await Promise.all([getJson(endpoint), getJson(historyUrl)]);
  if (!Array.isArray((history as { points?: unknown }).points)) {
    throw new SlipwayError('DRIFT_RUNTIME_ERROR', `${redact(historyUrl)}: the runtime returned no history (expected {"points": […]}): is it a slipway runtime with drift history?`, 1);
  }
  return { url: redact(endpoint), latest: latest as RuntimeDrift['latest'], history: history as RuntimeDrift['history'] };
}

const num = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined ? '-' : x.toFixed(digits));

function featureNames(points: readonly HistoryPoint[]): string[] {
  return [...new Set(points.flatMap((p) => Object.keys(p.features)))];
}

export function renderTrendTable(drift: RuntimeDrift): string {
  const points = drift.history.points;
  const names = featureNames(points);
  const header = ['evaluated at', 'rows', 'verdict', 'drift share', 'findings', 'accuracy', ...names.map((n) => `psi ${n}`)];
  const body = points.map((p) => [p.evaluatedAt, String(p.rows), p.verdict, num(p.driftShare, 2), String(p.qualityFindings), num(p.accuracy), ...names.map((n) => num(p.features[n]?.psi))]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const lines = [
    `drift trend of ${drift.history.model}${drift.history.version ? ` version ${drift.history.version}` : ''}: ${points.length} of at most ${drift.history.capacity} windows, every ${drift.history.intervalSeconds} s (${drift.url})`,
    '',
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
    '',
    `latest: ${drift.latest.verdict}${drift.latest.evaluatedAt ? ` at ${drift.latest.evaluatedAt}` : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}

const COLORS = ['#0969da', '#cf222e', '#1a7f37', '#8250df', '#bf8700', '#57606a', '#bc4c00', '#116329', '#a40e26', '#0550ae'];

/** One line per feature over time (PSI), plus the drift share, as inline SVG. */
function trendSvg(points: readonly HistoryPoint[], value: (p: HistoryPoint, name: string) => number | null, names: readonly string[], label: string, threshold?: number): string {
  const width = 900;
  const height = 240;
  const left = 50;
  const right = 150;
  const top = 12;
  const bottom = 36;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const all = points.flatMap((p) => names.map((n) => value(p, n))).filter((v): v is number => v !== null);
  const max = Math.max(...all, threshold ?? 0, 1e-9) * 1.1;
  const times = points.map((p) => Date.parse(p.evaluatedAt));
  const t0 = Math.min(...times);
  const t1 = Math.max(...times, t0 + 1);
  const x = (t: number) => left + ((t - t0) / (t1 - t0)) * plotW;
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const parts: string[] = [];
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    parts.push(`<line class="grid" x1="${left}" x2="${left + plotW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/><text class="axis" x="${left - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${Number(v.toPrecision(2))}</text>`);
  }
  if (threshold !== undefined) parts.push(`<line class="threshold" x1="${left}" x2="${left + plotW}" y1="${y(threshold).toFixed(1)}" y2="${y(threshold).toFixed(1)}"><title>threshold ${threshold}</title></line>`);
  names.forEach((name, i) => {
    const color = COLORS[i % COLORS.length]!;
    const coords = points.map((p, j) => [times[j]!, value(p, name)] as const).filter((c): c is readonly [number, number] => c[1] !== null);
    if (coords.length > 0) {
      parts.push(`<polyline class="series" fill="none" stroke="${color}" stroke-width="2" points="${coords.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"><title>${escapeHtml(name)}</title></polyline>`);
      for (const [t, v] of coords) parts.push(`<circle cx="${x(t).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${color}"/>`);
    }
    // style, not the fill attribute: the report's .axis rule would override a presentation attribute.
    parts.push(`<text class="axis legend-entry" x="${left + plotW + 10}" y="${top + 12 + i * 14}" style="fill:${color}">${escapeHtml(name.length > 22 ? `${name.slice(0, 21)}…` : name)}</text>`);
  });
  for (const [t, anchor] of [[t0, 'start'], [t1, 'end']] as const) {
    parts.push(`<text class="axis" x="${x(t).toFixed(1)}" y="${height - 8}" text-anchor="${anchor}">${new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</text>`);
  }
  return `<svg class="trend" role="img" aria-label="${escapeHtml(label)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
}

export function renderTrendHtml(drift: RuntimeDrift, title: string): string {
  const points = drift.history.points;
  const names = featureNames(points);
  const trend = points.length === 0
    ? '<p class="meta">No evaluated window yet: the runtime evaluates every interval once requests arrive.</p>'
    : `<h3>PSI per input over time</h3><div class="scroll">${trendSvg(points, (p, n) => p.features[n]?.psi ?? null, names, 'PSI per feature over time', 0.2)}</div>
<h3>Share of drifted inputs over time</h3><div class="scroll">${trendSvg(points, (p) => p.driftShare, ['drift share'], 'drift share over time', drift.latest.dataset?.threshold)}</div>
<h3>Missing rate per input over time</h3><div class="scroll">${trendSvg(points, (p, n) => p.features[n]?.missingRate ?? null, names, 'missing rate per feature over time')}</div>`;
  const style = '<style>svg.trend{max-width:100%;height:auto}.series{stroke-linejoin:round}.threshold{stroke:#a40e26;stroke-dasharray:5 4}</style>';
  const latest = renderHtml(drift.latest, title);
  // The latest window's full report follows the trend, in the same self-contained page.
  const section = `<h3>Trend: ${points.length} windows of at most ${drift.history.capacity}, every ${drift.history.intervalSeconds} s</h3>${trend}`;
  return latest.replace('</head>', `${style}</head>`).replace('<h3>Inputs</h3>', `${section}\n<h3>Latest window: inputs</h3>`);
}

export function renderTrend(drift: RuntimeDrift, format: ReportFormat, title: string): string {
  if (format === 'json') return `${JSON.stringify({ url: drift.url, latest: drift.latest, history: drift.history }, null, 2)}\n`;
  if (format === 'table') return renderTrendTable(drift);
  return renderTrendHtml(drift, title);
}
