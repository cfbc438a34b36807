import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBaseline } from '../../lib/drift/baseline-file.js';
import { summarize, type DriftReport } from '../../lib/drift/compare.js';
import { measureDrift } from '../../lib/drift/dataset.js';
import { renderHtml, renderTable } from '../../lib/drift/report.js';
import { chromium } from '../support/cli.js';

const root = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'slipway-drift-html-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Width and height from a PNG's IHDR chunk. */
function pngSize(file: string): { width: number; height: number } {
  const png = readFileSync(file);
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('HTML drift report', () => {
  let report: DriftReport;
  let file: string;

  beforeAll(async () => {
    const baseline = await readBaseline(join(root, 'examples/model-repository/fraud-detector/1/baseline.json'));
    report = await measureDrift(baseline, join(root, 'examples/data/fraud-drifted.csv'));
    file = join(dir, 'report.html');
    writeFileSync(file, renderHtml(report, 'Drift report: fraud-drifted.csv'));
  });

  it('is one self-contained file: no scripts, no external URLs, a CSP that forbids fetching', () => {
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script|<link|src=|url\(/i);
    // The only URL is the SVG namespace, an identifier the browser never fetches.
    expect(new Set(html.match(/https?:\/\/[^"'\s)]*/g))).toEqual(new Set(['http://www.w3.org/2000/svg']));
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
  });

  it('renders in headless Chromium: verdicts, sizes, dates, data-quality and label sections, one histogram per column', () => {
    // GIVEN the report WHEN Chromium loads it and dumps the rendered DOM
    const res = chromium(dir, ['--dump-dom', `file://${file}`]);
    expect(res.status, res.stderr).toBe(0);
    const dom = res.stdout;
    // THEN the header states the verdict, the dataset verdict, both sizes and the date
    expect(dom).toContain('DRIFT in 4 of 8: channel, distance_km, amount, hour (2000 rows)');
    expect(dom).toContain('Dataset: 4 of 7 inputs drifted (57.1%, threshold 50.0%)');
    expect(dom).toContain('Reference <b>fraud-train.csv</b> · 10,000 rows');
    expect(dom).toMatch(/Generated <b>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<\/b>/);
    // AND a data-quality section and a predictions-and-labels section with the label's drift
    expect(dom).toContain('<h3>Data quality</h3>');
    expect(dom).toContain('No data-quality findings');
    expect(dom).toMatch(/<h3>Predictions and labels<\/h3>[\s\S]*href="#f-target-is_fraud"/);
    // AND every column has an SVG with as many current bars as reference bars
    const svgs = dom.match(/<svg class="hist"[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs).toHaveLength(8);
    for (const svg of svgs) {
      const ref = svg.match(/<rect class="ref[ "]/g)!.length;
      expect(svg.match(/<rect class="cur[ "]/g)!.length).toBe(ref);
      expect(ref).toBeGreaterThanOrEqual(3);
    }
    // AND the inputs table lists drifted features first, by PSI
    const names = [...dom.matchAll(/<tr class="[^"]*"><td><a href="#f-feature-([^"]+)"/g)].map((m) => m[1]);
    expect(names).toEqual(['channel', 'distance_km', 'amount', 'hour', 'account_age_days', 'merchant_risk', 'txn_count_24h']);
  });

  it('draws numeric features on their real value axis: whole-number bins for counts, the training range marked', () => {
    const html = readFileSync(file, 'utf8');
    const svgOf = (name: string) => html.match(new RegExp(`<svg class="hist" role="img" aria-label="${name}:[\\s\\S]*?</svg>`))![0];
    // GIVEN txn_count_24h (0 … 8 per day) THEN one bar pair per whole number, ticks at 0, 1, 2, …
    const counts = svgOf('txn_count_24h');
    const ticks = [...counts.matchAll(/<text class="axis" x="[\d.]+" y="[\d.]+" text-anchor="middle">([^<]+)<\/text>/g)].map((m) => m[1]);
    expect(ticks.slice(0, 9)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8']);
    expect(report.features.txn_count_24h!.type === 'numeric' && report.features.txn_count_24h!.distribution.integer).toBe(true);
    // AND the reference bars have the training shape, not ten flat deciles
    const shares = [...counts.matchAll(/<rect class="ref"[^>]*><title>\d+ reference ([\d.]+)%<\/title>/g)].map((m) => Number(m[1]));
    expect(Math.max(...shares) - Math.min(...shares)).toBeGreaterThan(15);
    // GIVEN distance_km, with 0.9% of current values above the training max THEN the max is drawn and the share said
    const distance = svgOf('distance_km');
    expect(distance).toContain('<title>training max 184.4</title>');
    expect(html).toContain('0.9% of current values lie outside the training range [0, 184.4] (0.0% below, 0.9% above)');
  });

  it('produces a screenshot of the expected size with real content', () => {
    // GIVEN the report WHEN Chromium takes a screenshot
    const png = join(dir, 'report.png');
    const res = chromium(dir, [`--screenshot=${png}`, '--window-size=1280,2400', '--hide-scrollbars', `file://${file}`]);
    expect(res.status, res.stderr).toBe(0);
    // THEN a 1280x2400 PNG with real content (a blank page compresses to a few KB)
    expect(pngSize(png)).toEqual({ width: 1280, height: 2400 });
    expect(statSync(png).size).toBeGreaterThan(100_000);
  });

  it('fits a narrow (400 px) window: nothing wider than the viewport except inside scroll boxes', () => {
    // GIVEN a harness page that frames the report 400 px wide and measures its layout
    const harness = join(dir, 'narrow.html');
    writeFileSync(harness, `<!doctype html><html><body style="margin:0"><iframe id="f" src="report.html" style="width:400px;height:900px;border:0"></iframe><pre id="out">pending</pre><script>
document.getElementById('f').addEventListener('load', () => {
  const d = document.getElementById('f').contentDocument;
  const root = d.documentElement;
  const wide = [...d.querySelectorAll('body *')].filter((e) => !e.closest('.scroll') && e.getBoundingClientRect().right > root.clientWidth + 0.5).map((e) => e.tagName);
  document.getElementById('out').textContent = JSON.stringify({ scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, wide });
});
</script></body></html>`);
    // WHEN Chromium renders it
    const res = chromium(dir, ['--allow-file-access-from-files', '--virtual-time-budget=5000', '--dump-dom', `file://${harness}`]);
    expect(res.status, res.stderr).toBe(0);
    const layout = JSON.parse(res.stdout.match(/<pre id="out">(.*?)<\/pre>/)![1]!);
    // THEN the page does not scroll sideways (before: a 803 px wide table in a 385 px viewport)
    expect(layout.clientWidth).toBeLessThanOrEqual(400);
    expect(layout.wide).toEqual([]);
    expect(layout.scrollWidth).toBe(layout.clientWidth);
    // AND a narrow screenshot has the narrow size
    const png = join(dir, 'narrow.png');
    expect(chromium(dir, [`--screenshot=${png}`, '--window-size=400,1400', '--hide-scrollbars', `file://${file}`]).status).toBe(0);
    expect(pngSize(png)).toEqual({ width: 400, height: 1400 });
  });

  it('escapes feature and category names', () => {
    const tricky: DriftReport = summarize({
      rows: 1,
      driftShare: 0.5,
      features: {
        '<b>x</b>': {
          type: 'categorical', drifted: false, verdict: 'insufficient data', test: 'chi-square', psi: 0, jensenShannon: 0, chi2: { statistic: 0, pValue: 1 }, count: 1, missing: 0,
          referenceCount: 1, missingRate: { reference: 0, current: 0 }, quality: [{ column: '<b>x</b>', kind: 'new-column', severity: 'info', message: '<i>' }],
          unseen: { count: 0, categories: [] }, reasons: [], histogram: { labels: ['"><img>'], reference: [1], current: [1] },
        },
      },
    });
    const html = renderHtml(tricky, 't');
    expect(html).not.toContain('<b>x</b>');
    expect(html).not.toContain('"><img>');
    expect(html).not.toContain('<i>');
    expect(renderTable(tricky)).toContain('<b>x</b>');
  });
});
