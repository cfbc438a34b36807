import type { DriftReport, FeatureReport } from './compare.js';

export type ReportFormat = 'json' | 'table' | 'html';
export const REPORT_FORMATS: readonly ReportFormat[] = ['json', 'table', 'html'];

interface Row {
  readonly section: 'feature' | 'output';
  readonly name: string;
  readonly report: FeatureReport;
}

/** Drifted first, then by PSI descending: the summary reads worst-first. */
function sortedRows(report: DriftReport): Row[] {
  const rows: Row[] = [
    ...Object.entries(report.features).map(([name, r]) => ({ section: 'feature' as const, name, report: r })),
    ...Object.entries(report.outputs ?? {}).map(([name, r]) => ({ section: 'output' as const, name, report: r })),
  ];
  return rows.sort((a, b) => Number(b.report.drifted) - Number(a.report.drifted) || (b.report.psi ?? -1) - (a.report.psi ?? -1) || (a.name < b.name ? -1 : 1));
}

const num = (x: number | null, digits = 4): string => {
  if (x === null) return '-';
  if (x !== 0 && Math.abs(x) < 10 ** -digits) return x.toExponential(2);
  return x.toFixed(digits);
};

function testOf(r: FeatureReport): { name: string; statistic: number | null; pValue: number | null } {
  return r.type === 'numeric' ? { name: 'KS', ...r.ks } : { name: 'chi2', ...r.chi2 };
}

export function renderJson(report: DriftReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

export function renderTable(report: DriftReport): string {
  const header = ['feature', 'type', 'drift', 'psi', 'js', 'test', 'statistic', 'p-value', 'count', 'missing'];
  const body = sortedRows(report).map(({ section, name, report: r }) => {
    const t = testOf(r);
    return [section === 'output' ? `${name} (output)` : name, r.type, r.drifted ? 'DRIFT' : 'ok', num(r.psi), num(r.jensenShannon), t.name, num(t.statistic), num(t.pValue), String(r.count), String(r.missing)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const drifted = sortedRows(report).filter((r) => r.report.drifted);
  const lines = [
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
    '',
    report.drifted ? `DRIFT in ${drifted.length} of ${body.length}: ${drifted.map((r) => r.name).join(', ')} (${report.rows} rows)` : `no drift (${body.length} checked, ${report.rows} rows)`,
  ];
  for (const { name, report: r } of drifted) for (const reason of r.reasons) lines.push(`  ${name}: ${reason}`);
  for (const { name, report: r } of sortedRows(report)) {
    if (r.type === 'categorical' && r.unseen.count > 0) lines.push(`  ${name}: ${r.unseen.count} values in categories the baseline does not list: ${r.unseen.categories.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

const escapeHtml = (s: string): string =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');

/** Grouped bars, reference vs current share per bin, as inline SVG (no script, no network). */
function histogramSvg(name: string, r: FeatureReport): string {
  const { labels, reference, current } = r.histogram;
  const width = 560;
  const height = 220;
  const left = 44;
  const bottom = 62;
  const top = 12;
  // Room on the right for the last rotated bin label.
  const plotW = width - left - 36;
  const plotH = height - top - bottom;
  const max = Math.max(...reference, ...current, 1e-9);
  const slot = plotW / labels.length;
  const barW = Math.max(2, slot * 0.38);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const parts: string[] = [];
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`);
    parts.push(`<text x="${left - 4}" y="${(y(v) + 4).toFixed(1)}" class="axis" text-anchor="end">${(v * 100).toFixed(0)}%</text>`);
  }
  labels.forEach((label, i) => {
    const x0 = left + i * slot + (slot - 2 * barW) / 2;
    const ref = reference[i]!;
    const cur = current[i]!;
    parts.push(`<rect class="ref" x="${x0.toFixed(1)}" y="${y(ref).toFixed(1)}" width="${barW.toFixed(1)}" height="${(top + plotH - y(ref)).toFixed(1)}"><title>${escapeHtml(label)} reference ${(ref * 100).toFixed(2)}%</title></rect>`);
    parts.push(`<rect class="cur" x="${(x0 + barW).toFixed(1)}" y="${y(cur).toFixed(1)}" width="${barW.toFixed(1)}" height="${(top + plotH - y(cur)).toFixed(1)}"><title>${escapeHtml(label)} current ${(cur * 100).toFixed(2)}%</title></rect>`);
    const lx = left + i * slot + slot / 2;
    const ly = top + plotH + 10;
    parts.push(`<text class="axis" x="${lx.toFixed(1)}" y="${ly}" transform="rotate(35 ${lx.toFixed(1)} ${ly})">${escapeHtml(label.length > 18 ? `${label.slice(0, 17)}…` : label)}</text>`);
  });
  return `<svg class="hist" role="img" aria-label="${escapeHtml(name)}: reference vs current" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;margin:24px;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 6px}
.verdict{display:inline-block;padding:4px 10px;border-radius:6px;font-weight:600;margin:8px 0 16px}
.verdict.drift{background:#ffebe9;color:#a40e26;border:1px solid #ff8182}.verdict.ok{background:#dafbe1;color:#116329;border:1px solid #4ac26b}
table{border-collapse:collapse;margin-bottom:24px}th,td{padding:5px 10px;border-bottom:1px solid #d0d7de;text-align:right}
th{background:#f6f8fa;font-weight:600}td:first-child,th:first-child,td:nth-child(2),th:nth-child(2){text-align:left}
tr.drifted td{background:#fff5f5}.badge{font-weight:600}.badge.drift{color:#a40e26}.badge.ok{color:#116329}
.features{display:grid;grid-template-columns:repeat(auto-fill,minmax(580px,1fr));gap:16px}
.card{border:1px solid #d0d7de;border-radius:8px;padding:12px}.card.drifted{border-color:#ff8182}
.meta{color:#57606a;font-size:12px;margin-bottom:4px}.reasons{color:#a40e26;font-size:12px;margin:4px 0}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px -2px 10px;border-radius:2px}
rect.ref,.legend .ref{fill:#8c959f;background:#8c959f}rect.cur,.legend .cur{fill:#0969da;background:#0969da}
.card.drifted rect.cur,.card.drifted .legend .cur{fill:#cf222e;background:#cf222e}
.grid{stroke:#eaeef2}.axis{font-size:10px;fill:#57606a}
`;

export function renderHtml(report: DriftReport, title: string): string {
  const rows = sortedRows(report);
  const summary = rows
    .map(({ section, name, report: r }) => {
      const t = testOf(r);
      return `<tr class="${r.drifted ? 'drifted' : ''}"><td><a href="#f-${escapeHtml(section)}-${escapeHtml(name)}">${escapeHtml(name)}</a>${section === 'output' ? ' <small>(output)</small>' : ''}</td><td>${r.type}</td><td><span class="badge ${r.drifted ? 'drift' : 'ok'}">${r.drifted ? 'drift' : 'ok'}</span></td><td>${num(r.psi)}</td><td>${num(r.jensenShannon)}</td><td>${t.name} ${num(t.statistic)}</td><td>${num(t.pValue)}</td><td>${r.count}</td><td>${r.missing}</td></tr>`;
    })
    .join('\n');
  const cards = rows
    .map(({ section, name, report: r }) => {
      const t = testOf(r);
      const unseen = r.type === 'categorical' && r.unseen.count > 0 ? `<div class="reasons">${r.unseen.count} values in unlisted categories: ${escapeHtml(r.unseen.categories.join(', '))}</div>` : '';
      return `<section class="card ${r.drifted ? 'drifted' : ''}" id="f-${escapeHtml(section)}-${escapeHtml(name)}"><h2>${escapeHtml(name)} <span class="badge ${r.drifted ? 'drift' : 'ok'}">${r.drifted ? 'drift' : 'ok'}</span></h2>
<div class="meta">${r.type} · PSI ${num(r.psi)} · JS ${num(r.jensenShannon)} · ${t.name} ${num(t.statistic)} (p ${num(t.pValue)}) · ${r.count} values, ${r.missing} missing</div>
${r.reasons.map((reason) => `<div class="reasons">${escapeHtml(reason)}</div>`).join('')}${unseen}
<div class="legend"><span class="ref"></span>reference<span class="cur"></span>current</div>
${histogramSvg(name, r)}</section>`;
    })
    .join('\n');
  const drifted = rows.filter((r) => r.report.drifted).length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1>
<div class="verdict ${report.drifted ? 'drift' : 'ok'}">${report.drifted ? `Drift in ${drifted} of ${rows.length}` : `No drift in ${rows.length} checked`} · ${report.rows} rows</div>
<table><thead><tr><th>feature</th><th>type</th><th>verdict</th><th>PSI</th><th>JS distance</th><th>test</th><th>p-value</th><th>count</th><th>missing</th></tr></thead>
<tbody>
${summary}
</tbody></table>
<div class="features">
${cards}
</div></body></html>
`;
}

export function renderReport(report: DriftReport, format: ReportFormat, title: string): string {
  if (format === 'json') return renderJson(report);
  if (format === 'table') return renderTable(report);
  return renderHtml(report, title);
}
