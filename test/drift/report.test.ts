import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBaseline } from '../../lib/drift/baseline-file.js';
import { summarize, type DriftReport } from '../../lib/drift/compare.js';
import { measureDrift } from '../../lib/drift/dataset.js';
import { renderHtml, renderTable } from '../../lib/drift/report.js';

const root = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'slipway-drift-html-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Width and height from a PNG's IHDR chunk. */
function pngSize(file: string): { width: number; height: number } {
  const png = readFileSync(file);
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

function chromium(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const profile = mkdtempSync(join(dir, 'chrome-'));
  return spawnSync('/usr/bin/chromium', [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, ...args,
  ], { encoding: 'utf8', timeout: 60_000, maxBuffer: 32 * 1024 * 1024 });
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

  it('renders in headless Chromium: summary sorted by drift, one SVG histogram per feature with bars', () => {
    // GIVEN the report WHEN Chromium loads it and dumps the rendered DOM
    const res = chromium(['--dump-dom', `file://${file}`]);
    expect(res.status, res.stderr).toBe(0);
    const dom = res.stdout;
    // THEN every feature has an SVG with reference and current bars (10 bins numeric, categories + other)
    const svgs = dom.match(/<svg class="hist"[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs).toHaveLength(7);
    for (const svg of svgs) {
      const ref = svg.match(/<rect class="ref"/g)!.length;
      expect(svg.match(/<rect class="cur"/g)!.length).toBe(ref);
      expect(ref).toBeGreaterThanOrEqual(4);
    }
    // AND the summary rows list drifted features first, by PSI
    const names = [...dom.matchAll(/<tr class="[^"]*"><td><a href="#f-feature-([^"]+)"/g)].map((m) => m[1]);
    expect(names).toEqual(['channel', 'distance_km', 'amount', 'hour', 'account_age_days', 'merchant_risk', 'txn_count_24h']);
  });

  it('produces a non-blank screenshot', () => {
    // GIVEN the report WHEN Chromium takes a screenshot
    const png = join(dir, 'report.png');
    const res = chromium([`--screenshot=${png}`, '--window-size=1280,1600', '--hide-scrollbars', `file://${file}`]);
    expect(res.status, res.stderr).toBe(0);
    // THEN a 1280x1600 PNG with real content (a blank page compresses to a few KB)
    expect(pngSize(png)).toEqual({ width: 1280, height: 1600 });
    expect(statSync(png).size).toBeGreaterThan(40_000);
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
