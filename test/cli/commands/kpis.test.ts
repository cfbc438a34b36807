import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticHistory } from '../../compiler/support/synthetic-history.js';
import { chromium, slipway } from '../../support/cli.js';


let work: string;
let repo: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'slipway-kpis-cli-'));
  repo = join(work, 'config-repo');
  writeSyntheticHistory(repo);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('slipway kpis', () => {
  it('writes OpenMetrics that promtool check metrics accepts, for a textfile collector', async () => {
    // GIVEN the synthetic history WHEN kpis writes openmetrics to a file
    const file = join(work, 'slipway.prom');
    const res = await slipway('kpis', '--repo', repo, '--format', 'openmetrics', '--out', file);
    expect(res.code, res.stderr).toBe(0);
    const text = readFileSync(file, 'utf8');
    // THEN promtool accepts it and it carries the known answers
    const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    expect(`${check.stdout}${check.stderr}`).toBe('');
    expect(text).toContain('slipway_kpi_change_failure_ratio{environment="prod",model="fraud-detector"} 0.3333');
    expect(text).toContain('slipway_kpi_time_to_restore_median_seconds{environment="prod",model="fraud-detector"} 7200');
    expect(text).toContain('slipway_kpi_retrains{model="fraud-detector",trigger="drift"} 2');
    expect(text).toContain('slipway_kpi_gate_metric{model="fraud-detector",version="1.3.0",metric="auc"} 0.94');
    expect(text.endsWith('# EOF\n')).toBe(true);
  });

  it('fails promtool on a broken exposition (the check can fail)', () => {
    const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: '# TYPE x gauge\nx{a="1" 1\n', encoding: 'utf8' });
    expect(check.status).not.toBe(0);
  });

  it('writes a self-contained HTML page whose charts render in headless Chromium', async () => {
    const file = join(work, 'kpis.html');
    const res = await slipway('kpis', '--repo', repo, '--format', 'html', '--out', file);
    expect(res.code, res.stderr).toBe(0);
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script|<link|src=|url\(/i);
    expect(new Set(html.match(/https?:\/\/[^"'\s)]*/g))).toEqual(new Set(['http://www.w3.org/2000/svg']));
    // WHEN Chromium loads it THEN the timeline has one lane per series with 8 deployments, 2 of them failed,
    // and the gate metric chart one point per version
    const dom = chromium(work, ['--dump-dom', `file://${file}`]);
    expect(dom.status, dom.stderr).toBe(0);
    const timeline = /<svg class="timeline"[\s\S]*?<\/svg>/.exec(dom.stdout)![0];
    expect(timeline.match(/<line class="lane"/g)).toHaveLength(3);
    expect(timeline.match(/<circle class="deploy /g)).toHaveLength(8);
    expect(timeline.match(/<circle class="deploy failed"/g)).toHaveLength(2);
    const metrics = /<svg class="metrics"[\s\S]*?<\/svg>/.exec(dom.stdout)![0];
    expect(metrics.match(/<circle class="m0"/g)).toHaveLength(4);
    const png = join(work, 'kpis.png');
    const shot = chromium(work, [`--screenshot=${png}`, '--window-size=1200,1400', '--hide-scrollbars', `file://${file}`]);
    expect(shot.status, shot.stderr).toBe(0);
    expect(statSync(png).size).toBeGreaterThan(20_000);
  });

  it('prints the table by default and fails on a bad --since with exit code 1', async () => {
    const table = await slipway('kpis', '--repo', repo, '--env', 'prod');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/\nprod +fraud-detector +3 +0\.2333 +1d 2h +33\.3% \(1\) +2h +33\.3% \(1\)\n/);
    const bad = await slipway('kpis', '--repo', repo, '--since', 'forever');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--since: expected a duration such as 90d, 12w or 24h, got "forever"/);
  });
});
