import type { CategoricalFeatureReport, DriftReport, FeatureReport, NumericFeatureReport } from './compare.js';
import { escapeHtml } from '../html.js';

export type ReportFormat = 'json' | 'table' | 'html';
export const REPORT_FORMATS: readonly ReportFormat[] = ['json', 'table', 'html'];

interface Row {
  readonly section: 'feature' | 'output' | 'target';
  readonly name: string;
  readonly report: FeatureReport;
}

/** Drifted first, then data-quality warnings, then by PSI descending: the summary reads worst-first. */
function sortedRows(report: DriftReport): Row[] {
  const rows: Row[] = [
    ...Object.entries(report.features).map(([name, r]) => ({ section: 'feature' as const, name, report: r })),
    ...Object.entries(report.outputs ?? {}).map(([name, r]) => ({ section: 'output' as const, name, report: r })),
    ...(report.target ? [{ section: 'target' as const, name: report.target.name, report: report.target.report }] : []),
  ];
  const warned = (r: FeatureReport) => Number(r.quality.some((f) => f.severity === 'warning'));
  return rows.sort((a, b) => Number(b.report.drifted) - Number(a.report.drifted) || warned(b.report) - warned(a.report) || (b.report.psi ?? -1) - (a.report.psi ?? -1) || (a.name < b.name ? -1 : 1));
}

const num = (x: number | null, digits = 4): string => {
  if (x === null) return '-';
  if (x !== 0 && Math.abs(x) < 10 ** -digits) return x.toExponential(2);
  return x.toFixed(digits);
};

function testOf(r: FeatureReport): { name: string; statistic: number | null; pValue: number | null } {
  if (r.type === 'numeric') return r.test === 'Wasserstein' ? { name: 'Wasserstein', statistic: r.wasserstein, pValue: null } : { name: 'KS', ...r.ks };
  return r.test === 'Jensen-Shannon' ? { name: 'JS', statistic: r.jensenShannon, pValue: null } : { name: 'chi2', ...r.chi2 };
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const VERDICT_WORD: Record<FeatureReport['verdict'], string> = { drift: 'DRIFT', 'no drift': 'ok', 'insufficient data': 'insufficient data' };

export function renderJson(report: DriftReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** One line per verdict, for people and for the CLI's --out summary. */
export function verdictLine(report: DriftReport): string {
  const rows = sortedRows(report);
  const drifted = rows.filter((r) => r.report.drifted);
  const warnings = report.quality.findings.filter((f) => f.severity === 'warning');
  const quality = warnings.length > 0 ? `; ${warnings.length} data-quality finding${warnings.length === 1 ? '' : 's'}` : '';
  if (report.drifted) return `DRIFT in ${drifted.length} of ${rows.length}: ${drifted.map((r) => r.name).join(', ')} (${report.rows} rows)${quality}`;
  if (report.verdict === 'data quality') return `DATA QUALITY: ${warnings.map((f) => f.column).join(', ')} (${report.rows} rows; no column drifted)`;
  if (report.verdict === 'insufficient data') return `insufficient data: ${report.rows} rows, too few for a verdict (${rows.length} checked)`;
  return `no drift (${rows.length} checked, ${report.rows} rows)`;
}

function datasetLine(report: DriftReport): string {
  const d = report.dataset;
  const verdict = d.verdict === 'drift' ? 'DATASET DRIFT' : d.verdict === 'insufficient data' ? 'insufficient data' : 'no dataset drift';
  return `dataset: ${d.drifted} of ${d.checked} checked inputs drifted (${pct(d.share)}; drift share threshold ${pct(d.threshold)}): ${verdict}${d.insufficient > 0 ? `; ${d.insufficient} with insufficient data` : ''}`;
}

export function renderTable(report: DriftReport): string {
  const header = ['feature', 'type', 'drift', 'psi', 'js', 'test', 'statistic', 'p-value', 'count', 'missing'];
  const rows = sortedRows(report);
  const body = rows.map(({ section, name, report: r }) => {
    const t = testOf(r);
    const missing = r.missingRate.current !== r.missingRate.reference || r.missing > 0 ? `${r.missing} (${pct(r.missingRate.current)})` : String(r.missing);
    return [section === 'output' ? `${name} (output)` : section === 'target' ? `${name} (label)` : name, r.type, VERDICT_WORD[r.verdict], num(r.psi), num(r.jensenShannon), t.name, num(t.statistic), num(t.pValue), String(r.count), missing];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const lines = [
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
    '',
    verdictLine(report),
    datasetLine(report),
  ];
  for (const { name, report: r } of rows) if (r.drifted || r.verdict === 'insufficient data') for (const reason of r.reasons) lines.push(`  ${name}: ${reason}`);
  for (const { name, report: r } of rows) {
    if (r.type === 'categorical' && r.unseen.count > 0) lines.push(`  ${name}: ${r.unseen.count} values in categories the baseline does not list: ${r.unseen.categories.join(', ')}`);
    if (r.type === 'numeric') {
      const o = r.distribution.outOfRange;
      if (o.below + o.above > 0) lines.push(`  ${name}: ${pct(o.below + o.above)} of values outside the training range [${r.distribution.referenceRange.join(', ')}]`);
    }
  }
  if (report.performance) {
    const p = report.performance;
    lines.push(`performance: accuracy of "${p.prediction}" ${p.current === null ? 'not measured (no labelled rows)' : `${p.current.toFixed(4)} over ${p.count} labelled rows, training ${p.reference.toFixed(4)} (${p.change! >= 0 ? '+' : ''}${p.change!.toFixed(4)})`}`);
  }
  if (report.quality.findings.length > 0) {
    lines.push('data quality:');
    for (const f of report.quality.findings) lines.push(`  ${f.severity === 'warning' ? 'WARNING' : 'info'} ${f.column}: ${f.message}`);
  }
  if (report.reference) lines.push(`reference: ${report.reference.file} (${report.reference.rows} rows)${report.generatedAt ? ` · generated ${report.generatedAt}` : ''}`);
  return `${lines.join('\n')}\n`;
}


const pctAxis = (v: number): string => `${(v * 100).toFixed(v >= 0.1 || v === 0 ? 0 : 1)}%`;
const short = (x: number): string => Number(x.toPrecision(4)).toString();

/** 1, 2, 2.5 or 5 times a power of ten: readable tick steps. */
function tickStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

interface Frame { width: number; height: number; left: number; top: number; plotW: number; plotH: number; max: number }

function frame(values: readonly number[], width = 560, height = 230, bottom = 46): Frame & { y: (v: number) => number; grid: string[] } {
  const left = 46;
  const top = 12;
  const plotW = width - left - 16;
  const plotH = height - top - bottom;
  const max = Math.max(...values, 1e-9);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const grid: string[] = [];
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    grid.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`);
    grid.push(`<text x="${left - 4}" y="${(y(v) + 4).toFixed(1)}" class="axis" text-anchor="end">${pctAxis(v)}</text>`);
  }
  return { width, height, left, top, plotW, plotH, max, y, grid };
}

const svg = (name: string, f: Frame, parts: string[]): string =>
  `<svg class="hist" role="img" aria-label="${escapeHtml(name)}: reference vs current" viewBox="0 0 ${f.width} ${f.height}" width="${f.width}" height="${f.height}" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;

const bar = (cls: string, x: number, yTop: number, w: number, base: number, title: string): string =>
  `<rect class="${cls}" x="${x.toFixed(1)}" y="${yTop.toFixed(1)}" width="${Math.max(w, 0.5).toFixed(1)}" height="${Math.max(base - yTop, 0).toFixed(1)}"><title>${escapeHtml(title)}</title></rect>`;

/**
 * Numeric: both samples on shared bins along the real value axis. The reference is drawn as
 * its real shape (grey), the current sample over it; bins beyond the training range are
 * drawn as out-of-range, and the axis' long tails as separate bars at either end.
 */
function numericSvg(name: string, r: NumericFeatureReport): string {
  const h = r.distribution;
  const tails = h.tails;
  const hasBelow = tails.below.reference + tails.below.current > 0;
  const hasAbove = tails.above.reference + tails.above.current > 0;
  const f = frame([...h.reference, ...h.current, tails.below.reference, tails.below.current, tails.above.reference, tails.above.current]);
  const tailW = 34;
  const axisLeft = f.left + (hasBelow ? tailW + 8 : 0);
  const axisW = f.plotW - (hasBelow ? tailW + 8 : 0) - (hasAbove ? tailW + 8 : 0);
  const e0 = h.edges[0]!;
  const eN = h.edges[h.edges.length - 1]!;
  const x = (v: number) => axisLeft + ((v - e0) / (eN - e0)) * axisW;
  const base = f.top + f.plotH;
  const [refMin, refMax] = h.referenceRange;
  const parts = [...f.grid];
  const label = (a: number, b: number) => (h.integer && b - a === 1 ? short(a + 0.5) : `[${short(a)}, ${short(b)})`);
  h.reference.forEach((ref, i) => {
    const a = h.edges[i]!;
    const b = h.edges[i + 1]!;
    const x0 = x(a);
    const w = x(b) - x0;
    const cur = h.current[i]!;
    const outside = b <= refMin || a > refMax;
    parts.push(bar('ref', x0, f.y(ref), w, base, `${label(a, b)} reference ${(ref * 100).toFixed(2)}%`));
    parts.push(bar(outside ? 'cur oor' : 'cur', x0 + w * 0.2, f.y(cur), w * 0.6, base, `${label(a, b)} current ${(cur * 100).toFixed(2)}%${outside ? ' (outside the training range)' : ''}`));
  });
  const tail = (side: 'below' | 'above', x0: number, edge: number) => {
    const t = tails[side];
    const text = side === 'below' ? `< ${short(edge)}` : `≥ ${short(edge)}`;
    parts.push(bar('ref tail', x0, f.y(t.reference), tailW, base, `${text} reference ${(t.reference * 100).toFixed(2)}%`));
    parts.push(bar('cur tail', x0 + tailW * 0.2, f.y(t.current), tailW * 0.6, base, `${text} current ${(t.current * 100).toFixed(2)}%`));
    // A line below the ticks, so the tail's label never overprints the nearest tick's.
    parts.push(`<text class="axis tail-label" x="${(x0 + tailW / 2).toFixed(1)}" y="${base + 27}" text-anchor="middle">${escapeHtml(text)}</text>`);
  };
  if (hasBelow) tail('below', f.left, e0);
  if (hasAbove) tail('above', f.left + f.plotW - tailW, eN);
  // Training range: dashed lines where the reference's min and max sit on the axis.
  for (const [v, what] of [[refMin, 'training min'], [refMax, 'training max']] as const) {
    if (v < e0 || v > eN) continue;
    const xv = x(what === 'training min' ? v - (h.integer ? 0.5 : 0) : v + (h.integer ? 0.5 : 0)).toFixed(1);
    parts.push(`<line class="range" x1="${xv}" x2="${xv}" y1="${f.top}" y2="${base}"><title>${what} ${short(v)}</title></line>`);
  }
  const step = h.integer && eN - e0 <= 12 ? 1 : tickStep((eN - e0) / 6);
  const first = h.integer && step === 1 ? e0 + 0.5 : Math.ceil(e0 / step) * step;
  for (let v = first; v <= eN + 1e-9; v += step) {
    const xv = x(v);
    parts.push(`<line class="tick" x1="${xv.toFixed(1)}" x2="${xv.toFixed(1)}" y1="${base}" y2="${base + 4}"/>`);
    parts.push(`<text class="axis" x="${xv.toFixed(1)}" y="${base + 15}" text-anchor="middle">${short(Number(v.toPrecision(12)))}</text>`);
  }
  parts.push(`<text class="axis" x="${(axisLeft + axisW / 2).toFixed(1)}" y="${f.height - 6}" text-anchor="middle">${escapeHtml(name)}${h.integer ? ' (whole numbers)' : ''}</text>`);
  return svg(name, f, parts);
}

/** Categorical: grouped bars per category, reference vs current share. */
function categoricalSvg(name: string, r: CategoricalFeatureReport): string {
  const { labels, reference, current } = r.histogram;
  const f = frame([...reference, ...current], 560, 230, 62);
  const slot = f.plotW / labels.length;
  const barW = Math.max(2, slot * 0.38);
  const base = f.top + f.plotH;
  const parts = [...f.grid];
  labels.forEach((label, i) => {
    const x0 = f.left + i * slot + (slot - 2 * barW) / 2;
    parts.push(bar('ref', x0, f.y(reference[i]!), barW, base, `${label} reference ${(reference[i]! * 100).toFixed(2)}%`));
    parts.push(bar('cur', x0 + barW, f.y(current[i]!), barW, base, `${label} current ${(current[i]! * 100).toFixed(2)}%`));
    const lx = f.left + i * slot + slot / 2;
    const ly = base + 10;
    parts.push(`<text class="axis" x="${lx.toFixed(1)}" y="${ly}" transform="rotate(35 ${lx.toFixed(1)} ${ly})">${escapeHtml(label.length > 18 ? `${label.slice(0, 17)}…` : label)}</text>`);
  });
  return svg(name, f, parts);
}

function histogramSvg(name: string, r: FeatureReport): string {
  return r.type === 'numeric' ? numericSvg(name, r) : categoricalSvg(name, r);
}

const STYLE = `
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;margin:24px;background:#fff;max-width:1400px}
h1{font-size:22px;margin:0 0 4px;overflow-wrap:anywhere}h2{font-size:17px;margin:0 0 6px;overflow-wrap:anywhere}h3{font-size:16px;margin:20px 0 8px}
.verdict{display:inline-block;padding:4px 10px;border-radius:6px;font-weight:600;margin:8px 8px 8px 0}
.verdict.drift{background:#ffebe9;color:#a40e26;border:1px solid #ff8182}.verdict.ok{background:#dafbe1;color:#116329;border:1px solid #4ac26b}
.verdict.quality{background:#fff8c5;color:#7d4e00;border:1px solid #d4a72c}.verdict.insufficient{background:#f6f8fa;color:#57606a;border:1px solid #d0d7de}
.facts{display:flex;flex-wrap:wrap;gap:4px 20px;color:#57606a;font-size:13px;margin:0 0 16px}.facts b{color:#1f2328;font-weight:600}
.scroll{overflow-x:auto;margin-bottom:20px}
table{border-collapse:collapse}th,td{padding:5px 10px;border-bottom:1px solid #d0d7de;text-align:right;white-space:nowrap}
th{background:#f6f8fa;font-weight:600}td:first-child,th:first-child,td:nth-child(2),th:nth-child(2),td:nth-child(3),th:nth-child(3){text-align:left}
tr.drifted td{background:#fff5f5}.badge{font-weight:600}.badge.drift{color:#a40e26}.badge.ok{color:#116329}.badge.insufficient{color:#57606a}
ul.findings{margin:0 0 20px;padding-left:20px}ul.findings li.warning{color:#7d4e00}ul.findings li.info{color:#57606a}
.features{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,560px),1fr));gap:16px}
.card{border:1px solid #d0d7de;border-radius:8px;padding:12px;min-width:0}.card.drifted{border-color:#ff8182}.card.quality{border-color:#d4a72c}
.meta{color:#57606a;font-size:12px;margin-bottom:4px}.reasons{color:#a40e26;font-size:12px;margin:4px 0}.note{color:#7d4e00;font-size:12px;margin:4px 0}
.legend{font-size:12px}.legend span{display:inline-block;width:12px;height:12px;margin:0 4px -2px 10px;border-radius:2px}
svg.hist{max-width:100%;height:auto;display:block}
rect.ref,.legend .ref{fill:#afb8c1;background:#afb8c1}rect.cur,.legend .cur{fill:#0969da;background:#0969da;fill-opacity:.85}
rect.cur.oor,.legend .oor{fill:#bf8700;background:#bf8700}rect.tail{stroke:#57606a;stroke-dasharray:2 2}
.card.drifted rect.cur:not(.oor),.card.drifted .legend .cur{fill:#cf222e;background:#cf222e}
.grid{stroke:#eaeef2}.tick{stroke:#8c959f}.range{stroke:#57606a;stroke-dasharray:4 3}.axis{font-size:10px;fill:#57606a}
@media (max-width:640px){body{margin:12px}}
`;

const badgeClass = (v: FeatureReport['verdict']): string => (v === 'drift' ? 'drift' : v === 'insufficient data' ? 'insufficient' : 'ok');
const fmtInt = (n: number): string => n.toLocaleString('en-US');

function card(section: Row['section'], name: string, r: FeatureReport): string {
  const t = testOf(r);
  const hasWarning = r.quality.some((f) => f.severity === 'warning');
  const notes: string[] = [];
  if (r.type === 'categorical' && r.unseen.count > 0) notes.push(`${r.unseen.count} values in unlisted categories: ${r.unseen.categories.join(', ')}`);
  if (r.type === 'numeric') {
    const o = r.distribution.outOfRange;
    if (o.below + o.above > 0) notes.push(`${pct(o.below + o.above)} of current values lie outside the training range [${short(r.distribution.referenceRange[0])}, ${short(r.distribution.referenceRange[1])}] (${pct(o.below)} below, ${pct(o.above)} above)`);
  }
  for (const f of r.quality) notes.push(f.message);
  const suffix = section === 'output' ? ' <small>(output)</small>' : section === 'target' ? ' <small>(label)</small>' : '';
  const stat = r.type === 'numeric' ? ` · KS ${num(r.ks.statistic)} (p ${num(r.ks.pValue)}) · Wasserstein/std ${num(r.wasserstein)}` : ` · chi2 ${num(r.chi2.statistic)} (p ${num(r.chi2.pValue)})`;
  return `<section class="card ${r.drifted ? 'drifted' : hasWarning ? 'quality' : ''}" id="f-${escapeHtml(section)}-${escapeHtml(name)}"><h2>${escapeHtml(name)}${suffix} <span class="badge ${badgeClass(r.verdict)}">${escapeHtml(r.verdict)}</span></h2>
<div class="meta">${r.type} · verdict by PSI and ${escapeHtml(t.name)} · PSI ${num(r.psi)} · JS ${num(r.jensenShannon)}${stat}</div>
<div class="meta">reference ${fmtInt(r.referenceCount)} values, ${pct(r.missingRate.reference)} missing · current ${fmtInt(r.count)} values, ${pct(r.missingRate.current)} missing${r.type === 'numeric' && r.nonFinite > 0 ? `, ${r.nonFinite} non-finite` : ''}</div>
${r.reasons.map((reason) => `<div class="reasons">${escapeHtml(reason)}</div>`).join('')}${notes.map((n) => `<div class="note">${escapeHtml(n)}</div>`).join('')}
<div class="legend"><span class="ref"></span>reference<span class="cur"></span>current${r.type === 'numeric' ? '<span class="oor"></span>outside training range' : ''}</div>
${histogramSvg(name, r)}</section>`;
}

function summaryRow(section: Row['section'], name: string, r: FeatureReport): string {
  const t = testOf(r);
  const suffix = section === 'output' ? ' <small>(output)</small>' : section === 'target' ? ' <small>(label)</small>' : '';
  return `<tr class="${r.drifted ? 'drifted' : ''}"><td><a href="#f-${escapeHtml(section)}-${escapeHtml(name)}">${escapeHtml(name)}</a>${suffix}</td><td>${r.type}</td><td><span class="badge ${badgeClass(r.verdict)}">${escapeHtml(r.verdict)}</span></td><td>${num(r.psi)}</td><td>${num(r.jensenShannon)}</td><td>${t.name} ${num(t.statistic)}</td><td>${num(t.pValue)}</td><td>${fmtInt(r.count)}</td><td>${pct(r.missingRate.reference)} → ${pct(r.missingRate.current)}</td></tr>`;
}

const TABLE_HEAD = '<thead><tr><th>column</th><th>type</th><th>verdict</th><th>PSI</th><th>JS distance</th><th>test</th><th>p-value</th><th>current n</th><th>missing (ref → now)</th></tr></thead>';

export function renderHtml(report: DriftReport, title: string): string {
  const rows = sortedRows(report);
  const inputs = rows.filter((r) => r.section === 'feature');
  const predictions = rows.filter((r) => r.section !== 'feature');
  const verdictClass = report.verdict === 'drift' ? 'drift' : report.verdict === 'data quality' ? 'quality' : report.verdict === 'insufficient data' ? 'insufficient' : 'ok';
  const d = report.dataset;
  const facts = [
    report.reference ? `<span>Reference <b>${escapeHtml(report.reference.file)}</b> · ${fmtInt(report.reference.rows)} rows</span>` : '',
    `<span>Current <b>${fmtInt(report.rows)}</b> rows</span>`,
    report.generatedAt ? `<span>Generated <b>${escapeHtml(report.generatedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}</b></span>` : '',
  ].filter((x) => x !== '');
  const findings = report.quality.findings;
  const quality = findings.length > 0
    ? `<ul class="findings">${findings.map((f) => `<li class="${f.severity}"><b>${escapeHtml(f.column)}</b>: ${escapeHtml(f.message)}</li>`).join('')}</ul>`
    : '<p class="meta">No data-quality findings: missing rates as in training, no non-finite values, no constant, missing or new columns.</p>';
  const p = report.performance;
  const performance = p
    ? `<p>Accuracy of <b>${escapeHtml(p.prediction)}</b> against the label: ${p.current === null ? 'no labelled rows' : `<b>${p.current.toFixed(4)}</b> over ${fmtInt(p.count)} rows; training ${p.reference.toFixed(4)} (${p.change! >= 0 ? '+' : ''}${p.change!.toFixed(4)})`}</p>`
    : '';
  const predictionSection = predictions.length > 0 || p
    ? `<h3>Predictions and labels</h3>${performance}${predictions.length > 0 ? `<div class="scroll"><table>${TABLE_HEAD}<tbody>${predictions.map((r) => summaryRow(r.section, r.name, r.report)).join('\n')}</tbody></table></div>` : ''}`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1>
<div class="verdict ${verdictClass}">${escapeHtml(verdictLine(report))}</div><div class="verdict ${d.verdict === 'drift' ? 'drift' : d.verdict === 'insufficient data' ? 'insufficient' : 'ok'}">Dataset: ${d.drifted} of ${d.checked} inputs drifted (${pct(d.share)}, threshold ${pct(d.threshold)})${d.insufficient > 0 ? ` · ${d.insufficient} with insufficient data` : ''}</div>
<div class="facts">${facts.join('')}</div>
<h3>Inputs</h3>
<div class="scroll"><table>${TABLE_HEAD}
<tbody>
${inputs.map((r) => summaryRow(r.section, r.name, r.report)).join('\n')}
</tbody></table></div>
<h3>Data quality</h3>
${quality}
${predictionSection}
<h3>Distributions</h3>
<div class="features">
${rows.map((r) => card(r.section, r.name, r.report)).join('\n')}
</div></body></html>
`;
}

export function renderReport(report: DriftReport, format: ReportFormat, title: string): string {
  if (format === 'json') return renderJson(report);
  if (format === 'table') return renderTable(report);
  return renderHtml(report, title);
}
