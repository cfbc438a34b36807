import { fleetOpenMetrics, renderFleetKpiTable } from './fleet-kpis.js';
import type { KpiReport, Summary } from './kpis.js';
import { formatTable } from './report.js';
import { escapeHtml } from '../html.js';

export type KpiFormat = 'table' | 'json' | 'html' | 'openmetrics';
export const KPI_FORMATS: readonly KpiFormat[] = ['table', 'json', 'html', 'openmetrics'];

// Metric names of `slipway kpis --format openmetrics` (for a node_exporter textfile collector).
export const KPI_METRICS = {
  windowSeconds: 'slipway_kpi_window_seconds',
  deployments: 'slipway_kpi_deployments',
  deploymentsPerWeek: 'slipway_kpi_deployments_per_week',
  leadTimeMedian: 'slipway_kpi_lead_time_median_seconds',
  changeFailures: 'slipway_kpi_change_failures',
  changeFailureRatio: 'slipway_kpi_change_failure_ratio',
  timeToRestoreMedian: 'slipway_kpi_time_to_restore_median_seconds',
  reworkDeployments: 'slipway_kpi_rework_deployments',
  reworkRatio: 'slipway_kpi_rework_ratio',
  leadTimeToProd: 'slipway_kpi_lead_time_to_production_seconds',
  retrains: 'slipway_kpi_retrains',
  driftToProd: 'slipway_kpi_drift_retrain_to_production_seconds',
  gateMetric: 'slipway_kpi_gate_metric',
} as const;

export function renderKpis(report: KpiReport, format: KpiFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'openmetrics':
      return renderOpenMetrics(report);
    case 'html':
      return renderKpiHtml(report);
    default:
      return renderKpiTable(report);
  }
}

/** 90061 → '1d 1h 1m'; seconds under a minute as such. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  const sign = seconds < 0 ? '-' : '';
  let s = Math.abs(Math.round(seconds));
  if (s < 60) return `${sign}${s}s`;
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    const n = Math.floor(s / size);
    s -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  return sign + parts.join(' ');
}

const pct = (r: number | undefined) => (r === undefined ? '-' : `${(r * 100).toFixed(1)}%`);
const med = (s: Summary) => formatDuration(s.median);

export function renderKpiTable(r: KpiReport): string {
  const out: string[] = [`Delivery KPIs from ${r.from} to ${r.to} (main ${r.head?.slice(0, 12) ?? '-'}; production = ${r.prodEnvironment}; failed = rolled back or fixed by a later release)`, ''];
  out.push(
    formatTable(
      ['ENVIRONMENT', 'MODEL', 'DEPLOYMENTS', 'PER WEEK', 'LEAD TIME (MEDIAN)', 'CHANGE FAILURE RATE', 'TIME TO RESTORE (MEDIAN)', 'REWORK RATE'],
      r.series.map((s) => [
        s.environment,
        s.model,
        String(s.deployments),
        String(s.deploymentsPerWeek),
        med(s.leadTimeSeconds),
        `${pct(s.changeFailureRate)} (${s.failures})`,
        med(s.timeToRestoreSeconds),
        `${pct(s.reworkRate)} (${s.reworkDeployments})`,
      ]),
    ),
    '',
  );
  if (r.leadTimeToProd.length > 0) {
    out.push('Lead time to production:', formatTable(['MODEL', 'VERSION', 'LEAD TIME'], r.leadTimeToProd.map((l) => [l.model, l.version, formatDuration(l.seconds)])), '');
  }
  if (r.retrains.length > 0) out.push('Retrains by trigger:', formatTable(['MODEL', 'TRIGGER', 'VERSIONS'], r.retrains.map((t) => [t.model, t.trigger, String(t.count)])), '');
  if (r.driftToProd.length > 0) {
    out.push('Drift retrains to production:', formatTable(['MODEL', 'VERSION', 'TIME'], r.driftToProd.map((d) => [d.model, d.version, formatDuration(d.seconds)])), '');
  }
  const failed = r.deployments.filter((d) => d.failed);
  if (failed.length > 0) {
    out.push(
      'Failed deployments:',
      formatTable(
        ['ENVIRONMENT', 'MODEL', 'VERSION', 'DEPLOYED', 'FAILURE', 'RESTORED BY', 'TIME TO RESTORE'],
        failed.map((d) => [d.environment, d.model, d.version, d.at, d.failure!.reason, d.failure!.by, formatDuration(d.failure!.timeToRestoreSeconds)]),
      ),
      '',
    );
  }
  if (r.gateMetrics.length > 0) {
    out.push(
      'Gate metrics:',
      formatTable(['MODEL', 'VERSION', 'FIRST SEEN', 'METRICS'], r.gateMetrics.map((g) => [g.model, g.version, g.at, Object.entries(g.metrics).sort().map(([k, v]) => `${k}=${v}`).join(' ')])),
      '',
    );
  }
  return `${out.join('\n')}\n${renderFleetKpiTable(r.fleets)}`;
}

// Prometheus text exposition (what a textfile collector reads), ending with OpenMetrics' EOF
// marker, which text-format parsers take as a comment.
export function renderOpenMetrics(r: KpiReport): string {
  const families: string[] = [];
  const family = (name: string, help: string, samples: ReadonlyArray<[Record<string, string>, number]>) => {
    if (samples.length === 0) return;
    const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`];
    for (const [labels, value] of samples) lines.push(`${name}${labelText(labels)} ${value}`);
    families.push(lines.join('\n'));
  };
  const sl = (s: { environment: string; model: string }) => ({ environment: s.environment, model: s.model });
  family(KPI_METRICS.windowSeconds, 'Length of the window the KPIs cover, ending at the config repository head commit.', [[{}, r.windowSeconds]]);
  family(KPI_METRICS.deployments, 'Deployments (release records whose build changed, rollbacks excluded) in the window.', r.series.map((s) => [sl(s), s.deployments]));
  family(KPI_METRICS.deploymentsPerWeek, 'Deployment frequency: deployments per week over the window.', r.series.map((s) => [sl(s), s.deploymentsPerWeek]));
  family(
    KPI_METRICS.leadTimeMedian,
    'Median lead time for changes: source commit time to the release commit.',
    r.series.filter((s) => s.leadTimeSeconds.median !== undefined).map((s) => [sl(s), s.leadTimeSeconds.median!]),
  );
  family(KPI_METRICS.changeFailures, 'Deployments rolled back, or replaced by a version released as their fix.', r.series.map((s) => [sl(s), s.failures]));
  family(KPI_METRICS.changeFailureRatio, 'Change failure rate: failed deployments over deployments.', r.series.filter((s) => s.changeFailureRate !== undefined).map((s) => [sl(s), s.changeFailureRate!]));
  family(
    KPI_METRICS.timeToRestoreMedian,
    'Median time to restore: failed deployment to its rollback or fix.',
    r.series.filter((s) => s.timeToRestoreSeconds.median !== undefined).map((s) => [sl(s), s.timeToRestoreSeconds.median!]),
  );
  family(KPI_METRICS.reworkDeployments, 'Deployments of versions released as fixes (Fixes: trailer).', r.series.map((s) => [sl(s), s.reworkDeployments]));
  family(KPI_METRICS.reworkRatio, 'Rework rate: deployments of fixes over deployments.', r.series.filter((s) => s.reworkRate !== undefined).map((s) => [sl(s), s.reworkRate!]));
  family(KPI_METRICS.leadTimeToProd, 'Source commit time to the first production deployment of the version.', r.leadTimeToProd.map((l) => [{ model: l.model, version: l.version }, l.seconds]));
  family(KPI_METRICS.retrains, 'New model versions in the window by the trigger of their build.', r.retrains.map((t) => [{ model: t.model, trigger: t.trigger }, t.count]));
  family(KPI_METRICS.driftToProd, 'Drift-triggered build to its first production deployment.', r.driftToProd.map((d) => [{ model: d.model, version: d.version }, d.seconds]));
  family(
    KPI_METRICS.gateMetric,
    'Gate metrics recorded in the build record of each version.',
    r.gateMetrics.flatMap((g) => Object.entries(g.metrics).sort().map(([metric, value]): [Record<string, string>, number] => [{ model: g.model, version: g.version, metric }, value])),
  );
  for (const [name, help, samples] of fleetOpenMetrics(r.fleets)) family(name, help, samples);
  return `${families.join('\n')}\n# EOF\n`;
}

function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`).join(',')}}`;
}


const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2328}h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;margin-bottom:16px}th,td{padding:4px 10px;border-bottom:1px solid #d0d7de;text-align:right}
th{background:#f6f8fa}td:first-child,th:first-child,td:nth-child(2),th:nth-child(2){text-align:left}
.meta{color:#57606a}svg{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin-bottom:12px}
circle.ok{fill:#1a7f37}circle.failed{fill:#cf222e}circle.rollback{fill:#9a6700}.axis{font-size:11px;fill:#57606a}.lane{stroke:#eaeef2}
polyline{fill:none;stroke-width:2}.m0{stroke:#0969da}.m1{stroke:#8250df}.m2{stroke:#bf3989}.m3{stroke:#1a7f37}
circle.m0,text.m0{fill:#0969da}circle.m1,text.m1{fill:#8250df}circle.m2,text.m2{fill:#bf3989}circle.m3,text.m3{fill:#1a7f37}text.axis{stroke:none}
.legend{font-size:12px}`;

/** One self-contained page: inline CSS and SVG, no scripts, nothing fetched. */
export function renderKpiHtml(r: KpiReport): string {
  const title = `Delivery KPIs ${r.from.slice(0, 10)} – ${r.to.slice(0, 10)}`;
  const rows = r.series
    .map(
      (s) =>
        `<tr><td>${escapeHtml(s.environment)}</td><td>${escapeHtml(s.model)}</td><td>${s.deployments}</td><td>${s.deploymentsPerWeek}</td><td>${med(s.leadTimeSeconds)}</td><td>${pct(s.changeFailureRate)} (${s.failures})</td><td>${med(s.timeToRestoreSeconds)}</td><td>${pct(s.reworkRate)} (${s.reworkDeployments})</td></tr>`,
    )
    .join('\n');
  const small = (head: string[], body: string[][]) =>
    `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${body.map((row) => `<tr>${row.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1>
<p class="meta">From the config repository at ${escapeHtml(r.head?.slice(0, 12) ?? '-')}; production is ${escapeHtml(r.prodEnvironment)}; a deployment rolled back, or replaced by a version released as its fix, counts as failed; deployments of fixes are rework.</p>
<h2>Deployments, lead time, change failure rate, time to restore, rework rate</h2>
<table><thead><tr><th>environment</th><th>model</th><th>deployments</th><th>per week</th><th>lead time (median)</th><th>change failure rate</th><th>time to restore (median)</th><th>rework rate</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<h2>Deployment timeline</h2>
${timelineSvg(r)}
<h2>Lead time to production</h2>
${small(['model', 'version', 'lead time'], r.leadTimeToProd.map((l) => [l.model, l.version, formatDuration(l.seconds)]))}
<h2>Retrains by trigger</h2>
${small(['model', 'trigger', 'versions'], r.retrains.map((t) => [t.model, t.trigger, String(t.count)]))}
${small(['model', 'drift-triggered version', 'time to production'], r.driftToProd.map((d) => [d.model, d.version, formatDuration(d.seconds)]))}
<h2>Gate metrics over time</h2>
${metricCharts(r)}
</body></html>
`;
}

const WIDTH = 900;
const LEFT = 220;

function timelineSvg(r: KpiReport): string {
  const from = Date.parse(r.from);
  const to = Date.parse(r.to);
  const x = (at: string) => LEFT + ((Date.parse(at) - from) / Math.max(1, to - from)) * (WIDTH - LEFT - 20);
  const lanes = r.series.map((s) => `${s.environment}/${s.model}`);
  const height = 30 + lanes.length * 28;
  const parts: string[] = [];
  lanes.forEach((lane, i) => {
    const y = 24 + i * 28;
    parts.push(`<line class="lane" x1="${LEFT}" x2="${WIDTH - 10}" y1="${y}" y2="${y}"/><text class="axis" x="8" y="${y + 4}">${escapeHtml(lane)}</text>`);
    for (const d of r.deployments.filter((d) => `${d.environment}/${d.model}` === lane)) {
      parts.push(`<circle class="deploy ${d.failed ? 'failed' : 'ok'}" cx="${x(d.at).toFixed(1)}" cy="${y}" r="6"><title>${escapeHtml(`${d.version} ${d.kind} ${d.at}${d.failed ? ` — ${d.failure!.reason}, restored by ${d.failure!.by}` : ''}`)}</title></circle>`);
      if (d.failure) parts.push(`<circle class="rollback" cx="${x(d.failure.restoredAt).toFixed(1)}" cy="${y}" r="3"/>`);
    }
  });
  parts.push(`<text class="axis" x="${LEFT}" y="${height - 4}">${r.from.slice(0, 10)}</text><text class="axis" x="${WIDTH - 90}" y="${height - 4}">${r.to.slice(0, 10)}</text>`);
  return `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">${parts.join('')}</svg>
<div class="legend">green: deployment · red: failed deployment · amber: its restore</div>`;
}

function metricCharts(r: KpiReport): string {
  const models = [...new Set(r.gateMetrics.map((g) => g.model))].sort();
  if (models.length === 0) return '<p class="meta">No build record in the window carries gate metrics.</p>';
  return models
    .map((model) => {
      const points = r.gateMetrics.filter((g) => g.model === model);
      const metrics = [...new Set(points.flatMap((p) => Object.keys(p.metrics)))].sort();
      const values = points.flatMap((p) => Object.values(p.metrics));
      const lo = Math.min(...values);
      const hi = Math.max(...values);
      const h = 220;
      const x = (i: number) => 60 + (points.length === 1 ? 0 : (i / (points.length - 1)) * (WIDTH - 100));
      const y = (v: number) => 20 + (hi === lo ? (h - 60) / 2 : ((hi - v) / (hi - lo)) * (h - 60));
      const series = metrics.map((metric, mi) => {
        const pts = points.flatMap((p, i) => (p.metrics[metric] === undefined ? [] : [[x(i), y(p.metrics[metric]!), p] as const]));
        return `<polyline class="m${mi % 4}" points="${pts.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ')}"/>${pts
          .map(([px, py, p]) => `<circle class="m${mi % 4}" cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="3"><title>${escapeHtml(`${metric} ${p.version}: ${p.metrics[metric]}`)}</title></circle>`)
          .join('')}`;
      });
      const labels = points.map((p, i) => `<text class="axis" x="${(x(i) - 12).toFixed(1)}" y="${h - 18}">${escapeHtml(p.version)}</text>`).join('');
      const legend = metrics.map((m, mi) => `<text class="axis m${mi % 4}" x="${60 + mi * 140}" y="${h - 2}">■ ${escapeHtml(m)}</text>`).join('');
      return `<h3>${escapeHtml(model)}</h3><svg class="metrics" xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${h}" viewBox="0 0 ${WIDTH} ${h}"><text class="axis" x="4" y="24">${hi}</text><text class="axis" x="4" y="${h - 40}">${lo}</text>${series.join('')}${labels}${legend}</svg>`;
    })
    .join('\n');
}
