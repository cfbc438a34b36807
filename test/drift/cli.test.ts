import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { errorReference } from '../../lib/cli/program.js';
import { slipwayInProcess as run } from '../support/cli.js';

const root = new URL('../../', import.meta.url).pathname;
const TRAIN = join(root, 'examples/data/fraud-train.csv');
const CURRENT = join(root, 'examples/data/fraud-current.csv');
const DRIFTED = join(root, 'examples/data/fraud-drifted.csv');
const FEATURES = 'amount,hour,merchant_risk,distance_km,account_age_days,txn_count_24h';
const dir = mkdtempSync(join(tmpdir(), 'slipway-drift-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

const path = (name: string) => join(dir, name);
const write = (name: string, text: string) => {
  writeFileSync(path(name), text);
  return path(name);
};

describe('slipway baseline / slipway drift', () => {
  const baseline = path('baseline.json');

  it('builds a baseline and exits 0 without drift, 3 with drift, reporting the JSON shape', async () => {
    // GIVEN the example training data
    const built = await run('baseline', '--data', TRAIN, '--features', FEATURES, '--categorical', 'channel', '--out', baseline);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stderr).toBe(`slipway: wrote ${baseline}: 10000 rows, 7 features\n`);
    // WHEN new draws of the same population are compared THEN exit 0
    const ok = await run('drift', '--baseline', baseline, '--data', CURRENT, '--format', 'json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).drifted).toBe(false);
    // WHEN the drifted sample is compared THEN exit 3 and the documented shape
    const out = path('report.json');
    const bad = await run('drift', '--baseline', baseline, '--data', DRIFTED, '--format', 'json', '--out', out);
    expect(bad.code).toBe(3);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report.drifted).toBe(true);
    expect(report.features.amount).toMatchObject({ type: 'numeric', drifted: true, ks: { statistic: expect.any(Number), pValue: expect.any(Number) } });
    expect(report.features.amount.psi).toBeGreaterThan(0.2);
    expect(report.features.channel).toMatchObject({ type: 'categorical', drifted: true, chi2: { statistic: expect.any(Number), pValue: expect.any(Number) }, unseen: { count: 199, categories: ['atm'] } });
    expect(report.features.account_age_days.drifted).toBe(false);
    // AND the table format lists drifted features first
    const table = await run('drift', '--baseline', baseline, '--data', DRIFTED);
    expect(table.code).toBe(3);
    expect(table.stdout.split('\n')[2]).toMatch(/^channel\s+categorical\s+DRIFT/);
    expect(table.stdout).toContain('DRIFT in 4 of 7: channel, distance_km, amount, hour (2000 rows)');
  });

  it('writes the committed example baseline byte for byte', async () => {
    // GIVEN the command documented in docs/drift.md WHEN rerun THEN it reproduces examples/…/baseline.json
    const out = path('example-baseline.json');
    await run('baseline', '--data', TRAIN, '--features', FEATURES, '--categorical', 'channel', '--label', 'is_fraud', '--input-tensor', 'features', '--out', out);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(join(root, 'examples/model-repository/fraud-detector/1/baseline.json'), 'utf8'));
  });

  it('profiles JSON Lines with model outputs and lowers thresholds from a YAML file', async () => {
    // GIVEN JSON Lines with a score output
    const lines = (shift: number) => Array.from({ length: 400 }, (_, i) => JSON.stringify({ x: (i % 50) + shift, kind: i % 3 ? 'a' : 'b', score: ((i * 37) % 100) / 100 })).join('\n');
    const ref = write('ref.jsonl', lines(0));
    const cur = write('cur.jsonl', lines(3));
    const out = path('jsonl-baseline.json');
    expect((await run('baseline', '--data', ref, '--outputs', 'score', '--output-tensor', 'probability', '--out', out)).code).toBe(0);
    const profile = JSON.parse(readFileSync(out, 'utf8'));
    expect(profile.featureOrder).toEqual(['x', 'kind']);
    expect(profile.features.kind.type).toBe('categorical');
    expect(profile.outputs).toMatchObject({ tensor: 'probability', order: ['score'] });
    // WHEN compared with defaults THEN a shift of 3 in 50 is no drift (KS 0.06)
    expect((await run('drift', '--baseline', out, '--data', cur, '--format', 'json')).code).toBe(0);
    // WHEN thresholds for x are lowered THEN it drifts
    const thresholds = write('t.yaml', 'features:\n  x:\n    psi: 0.01\n');
    const res = await run('drift', '--baseline', out, '--data', cur, '--format', 'json', '--thresholds', thresholds);
    expect(res.code).toBe(3);
    expect(JSON.parse(res.stdout).features.x.reasons[0]).toMatch(/^psi .* >= 0.01$/);
    expect(JSON.parse(res.stdout).outputs.score.drifted).toBe(false);
  });

  it('fails when a row is ragged: exit 1, file:line:column, nothing written', async () => {
    const data = write('ragged.csv', 'a,b\n1,2\n3\n');
    const out = path('never.json');
    const res = await run('baseline', '--data', data, '--out', out);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`slipway: ${data}:3:2: ragged row: expected 2 fields as in the header (line 1), got 1\n${errorReference('DRIFT_RAGGED_ROW')}\n`);
    expect(existsSync(out)).toBe(false);
  });

  it('fails when --features names an unknown feature, leaving an existing output as it was', async () => {
    const out = write('kept.json', 'old content');
    const res = await run('baseline', '--data', TRAIN, '--features', 'amount,amout', '--out', out);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`slipway: ${TRAIN}:1: column "amout" named in --features is missing from the data: the header has columns amount, hour,`);
    expect(readFileSync(out, 'utf8')).toBe('old content');
  });

  it('fails when the file is empty', async () => {
    const data = write('empty.csv', '');
    const res = await run('baseline', '--data', data, '--out', path('x.json'));
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`slipway: ${data}:1:1: empty file: expected a header row naming the columns\n${errorReference('DRIFT_EMPTY_FILE')}\n`);
  });

  it('fails when current data has a feature of the wrong type', async () => {
    const data = write('wrong.csv', `${FEATURES},channel\n1,2,0.1,3,4,5,web\n1,late,0.1,3,4,5,web\n`);
    const report = path('wrong-report.json');
    const res = await run('drift', '--baseline', baseline, '--data', data, '--out', report);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`slipway: ${data}:3:3: feature "hour" is numeric: expected a number or a missing value, got "late"\n${errorReference('DRIFT_WRONG_TYPE')}\n`);
    expect(existsSync(report)).toBe(false);
  });

  it('fails when the baseline breaks its schema, naming line, column, pointer, expected and got', async () => {
    const good = JSON.parse(readFileSync(baseline, 'utf8'));
    good.features.hour.bins.edges = 'soon';
    const broken = write('broken.json', JSON.stringify(good, null, 2));
    const line = JSON.stringify(good, null, 2).split('\n').findIndex((l) => l.includes('"edges": "soon"')) + 1;
    const res = await run('drift', '--baseline', broken, '--data', CURRENT);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(`slipway: ${broken}:${line}:18: /features/hour/bins/edges: expected array, got string "soon"\n${errorReference('DRIFT_BASELINE_INVALID')}\n`);
  });

  it('fails when a baseline feature type is unknown or a threshold names an unknown feature', async () => {
    const good = JSON.parse(readFileSync(baseline, 'utf8'));
    good.features.channel.type = 'text';
    const broken = write('type.json', JSON.stringify(good));
    const res = await run('drift', '--baseline', broken, '--data', CURRENT);
    expect(res.stderr).toMatch(new RegExp(`^slipway: ${broken}:1:\\d+: /features/channel/type: expected "numeric" or "categorical", got string "text"\\n  error SLIPWAY_E0514 \\(DRIFT_BASELINE_INVALID\\)`));
    const thresholds = write('unknown.yaml', 'default:\n  psi: 0.3\nfeatures:\n  amout:\n    psi: 0.1\n');
    const res2 = await run('drift', '--baseline', baseline, '--data', CURRENT, '--thresholds', thresholds);
    expect(res2.code).toBe(1);
    expect(res2.stderr).toContain(`slipway: ${thresholds}:5:5: /features/amout: unknown feature "amout": the baseline has amount, hour,`);
  });

  it('exits 3 from the real binary when drift is found', () => {
    const res = spawnSync(process.execPath, [join(root, 'bin/slipway.mjs'), 'drift', '--baseline', baseline, '--data', DRIFTED, '--format', 'json'], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
    expect(res.status, res.stderr).toBe(3);
    expect(JSON.parse(res.stdout).drifted).toBe(true);
  });

  describe('what a data scientist trusts (issue 15)', () => {
    const trainLines = readFileSync(TRAIN, 'utf8').trimEnd().split('\n');
    const currentLines = readFileSync(CURRENT, 'utf8').trimEnd().split('\n');
    /** The example current data with one column's cells replaced. */
    const withColumn = (name: string, column: string, cell: (i: number, old: string) => string, rows = currentLines.length - 1) => {
      const index = currentLines[0]!.split(',').indexOf(column);
      const lines = currentLines.slice(0, rows + 1).map((line, i) => {
        if (i === 0) return line;
        const cells = line.split(',');
        cells[index] = cell(i, cells[index]!);
        return cells.join(',');
      });
      return write(name, `${lines.join('\n')}\n`);
    };

    it('reports a feature that turns 100% missing as a data-quality finding and exits 3', async () => {
      // GIVEN current data whose merchant_risk column is empty on every row
      const data = withColumn('no-risk.csv', 'merchant_risk', () => '');
      // WHEN compared
      const res = await run('drift', '--baseline', baseline, '--data', data, '--format', 'json');
      // THEN exit 3 with its own verdict and finding (before: drifted false, PSI null, exit 0)
      expect(res.code).toBe(3);
      const report = JSON.parse(res.stdout);
      expect(report.verdict).toBe('data quality');
      expect(report.features.merchant_risk).toMatchObject({ count: 0, missing: 2000, verdict: 'insufficient data', missingRate: { reference: 0, current: 1 } });
      expect(report.quality.findings).toContainEqual({ column: 'merchant_risk', kind: 'missing-rate', severity: 'warning', message: 'missing in 100.0% of rows (reference 0.0%; finding at +10.0%)' });
      // AND the table says so
      const table = await run('drift', '--baseline', baseline, '--data', data);
      expect(table.code).toBe(3);
      expect(table.stdout).toContain('DATA QUALITY: merchant_risk (2000 rows; no column drifted)');
      expect(table.stdout).toContain('WARNING merchant_risk: missing in 100.0% of rows');
      // AND the column with the finding leads the table, before the unremarkable ones
      expect(table.stdout.split('\n')[2]).toMatch(/^merchant_risk\s+numeric\s+insufficient data/);
    });

    it('fails when training data holds 1e999: names file:line:column, writes nothing', async () => {
      // GIVEN training data with an overflowing number on line 4, column "amount"
      const lines = [...trainLines.slice(0, 200)];
      lines[3] = lines[3]!.replace(/^[^,]+/, '1e999');
      const data = write('overflow.csv', `${lines.join('\n')}\n`);
      const out = path('overflow-baseline.json');
      // WHEN profiled (before: exit 0 and a profile with "mean": null)
      const res = await run('baseline', '--data', data, '--features', FEATURES, '--out', out);
      // THEN exit 1, where and what, and no file
      expect(res.code).toBe(1);
      expect(res.stderr).toBe(`slipway: ${data}:4:1: column "amount": "1e999" is not a finite number (it overflows a 64-bit float or spells infinity): fix or remove the value; a baseline never stores it\n${errorReference('DRIFT_NON_FINITE')}\n`);
      expect(existsSync(out)).toBe(false);
      // AND in JSON Lines (JSON.parse reads 1e999 as Infinity) the same
      const jsonl = write('overflow.jsonl', '{"x": 1}\n{"x": 1e999}\n');
      const res2 = await run('baseline', '--data', jsonl, '--out', out);
      expect(res2.stderr).toBe(`slipway: ${jsonl}:2:2: column "x": Infinity is not a finite number (it overflows a 64-bit float or spells infinity): fix or remove the value; a baseline never stores it\n${errorReference('DRIFT_NON_FINITE')}\n`);
    });

    it('counts non-finite values in current data explicitly, never as null statistics', async () => {
      // GIVEN current data with "inf" and 1e999 in amount on 2 of 2000 rows
      const data = withColumn('inf.csv', 'amount', (i, old) => (i === 5 ? 'inf' : i === 9 ? '1e999' : old));
      const res = await run('drift', '--baseline', baseline, '--data', data, '--format', 'json');
      const amount = JSON.parse(res.stdout).features.amount;
      // THEN they are counted, left out of the statistics, and reported
      expect(amount).toMatchObject({ nonFinite: 2, count: 1998, verdict: 'no drift' });
      expect(amount.psi).toEqual(expect.any(Number));
      expect(amount.quality).toEqual([expect.objectContaining({ kind: 'non-finite', message: '2 non-finite values (Infinity or NaN), left out of the statistics' })]);
      expect(res.code).toBe(3);
    });

    it('gives `insufficient data`, not drift, for one row and for five rows', async () => {
      for (const rows of [1, 5]) {
        // GIVEN a handful of current rows (before: 1 row gave PSI 8.3 "drift", 5 rows "DRIFT in 6 of 7")
        const data = withColumn(`few-${rows}.csv`, 'amount', (_, old) => old, rows);
        // WHEN compared
        const res = await run('drift', '--baseline', baseline, '--data', data, '--format', 'json');
        // THEN exit 0, every feature insufficient data with its statistics still shown
        expect(res.code).toBe(0);
        const report = JSON.parse(res.stdout);
        expect(report.verdict).toBe('insufficient data');
        expect(report.dataset).toMatchObject({ checked: 0, insufficient: 7, verdict: 'insufficient data' });
        for (const f of Object.values(report.features) as Array<{ verdict: string; drifted: boolean; reasons: string[]; psi: number }>) {
          expect(f).toMatchObject({ verdict: 'insufficient data', drifted: false });
          expect(f.reasons[0]).toMatch(/^\d values: fewer than the 100 a verdict needs$/);
          expect(f.psi).toEqual(expect.any(Number));
        }
        const table = await run('drift', '--baseline', baseline, '--data', data);
        expect(table.stdout).toContain(`insufficient data: ${rows} rows, too few for a verdict (7 checked)`);
      }
    });

    it('reports the dataset verdict: share of drifted inputs against a configurable drift share', async () => {
      // GIVEN the drifted sample: 4 of 7 inputs drift
      const res = await run('drift', '--baseline', baseline, '--data', DRIFTED, '--format', 'json');
      expect(JSON.parse(res.stdout).dataset).toEqual({ checked: 7, drifted: 4, insufficient: 0, share: 4 / 7, threshold: 0.5, verdict: 'drift' });
      // WHEN the drift share is raised to 0.6 THEN the dataset does not drift, the features still do
      const thresholds = write('share.yaml', 'driftShare: 0.6\n');
      const strict = JSON.parse((await run('drift', '--baseline', baseline, '--data', DRIFTED, '--format', 'json', '--thresholds', thresholds)).stdout);
      expect(strict.dataset).toMatchObject({ share: 4 / 7, threshold: 0.6, verdict: 'no drift' });
      expect(strict.drifted).toBe(true);
    });

    it('--out prints what it wrote and the verdict', async () => {
      const out = path('verdict.html');
      // WHEN the HTML report goes to a file (before: nothing printed, exit 3)
      const res = await run('drift', '--baseline', baseline, '--data', DRIFTED, '--format', 'html', '--out', out);
      // THEN one line names the file and the verdict
      expect(res.code).toBe(3);
      expect(res.stdout).toBe('');
      expect(res.stderr).toBe(`slipway: wrote ${out} (html): DRIFT in 4 of 7: channel, distance_km, amount, hour (2000 rows)\n`);
      expect(readFileSync(out, 'utf8')).toMatch(/^<!doctype html>/);
    });

    it('fails when --baseline and --data are swapped: a one-line hint, never the file contents', async () => {
      // WHEN the training CSV is passed as the baseline (before: the whole CSV in the terminal)
      const res = await run('drift', '--baseline', TRAIN, '--data', baseline);
      expect(res.code).toBe(1);
      expect(res.stderr).toBe(`slipway: ${TRAIN}:1:1: expected a baseline profile (a JSON object written by \`slipway baseline\`), got a data file: did you swap --baseline and --data?\n${errorReference('DRIFT_BASELINE_NOT_PROFILE')}\n`);
      // AND a data file without a data extension gets the same hint, without its contents
      const renamed = write('train-data.txt', readFileSync(TRAIN, 'utf8'));
      const res2 = await run('drift', '--baseline', renamed, '--data', CURRENT);
      expect(res2.stderr).toContain('got something that is not a JSON object: did you swap --baseline and --data?');
      expect(res2.stderr).not.toContain('14.06');
      // WHEN the baseline is passed as data THEN the hint names the problem in one line
      const res3 = await run('drift', '--baseline', baseline, '--data', baseline);
      expect(res3.code).toBe(1);
      expect(res3.stderr.split('\n')).toHaveLength(3);
      expect(res3.stderr).toContain(errorReference('DRIFT_WRONG_DATA'));
      expect(res3.stderr).toContain(`slipway: ${baseline}: none of the baseline's 7 features (amount, hour, merchant_risk, distance_km, account_age_days, txn_count_24h, channel) is a column of this file`);
      expect(res3.stderr).not.toContain('slipway.dev/baseline-profile');
    });

    it('names a baseline feature the data lacks as missing from the data', async () => {
      // GIVEN current data without the hour column (before: 'unknown feature "hour" … in the baseline')
      const lines = currentLines.map((l) => l.split(',').filter((_, i) => i !== 1).join(','));
      const data = write('no-hour.csv', `${lines.join('\n')}\n`);
      const res = await run('drift', '--baseline', baseline, '--data', data);
      expect(res.code).toBe(3);
      expect(res.stdout).toContain('WARNING hour: column "hour" is missing from the data (the baseline profiles it as a model input)');
    });

    it('profiles the label and the predictions: target drift and accuracy change', async () => {
      // GIVEN training data with a label and a prediction column that is right 90% of the time
      const csv = (n: number, positive: number, hitRate: number) => {
        const lines = ['x,label,predicted'];
        for (let i = 0; i < n; i++) {
          const label = i % 100 < positive * 100 ? 1 : 0;
          const predicted = i % 10 < hitRate * 10 ? label : 1 - label;
          lines.push(`${(i * 7) % 50},${label},${predicted}`);
        }
        return `${lines.join('\n')}\n`;
      };
      const train = write('labelled.csv', csv(1000, 0.1, 0.9));
      const out = path('labelled-baseline.json');
      const built = await run('baseline', '--data', train, '--label', 'label', '--prediction', 'predicted', '--out', out);
      expect(built.stderr).toBe(`slipway: wrote ${out}: 1000 rows, 1 features, label "label", training accuracy 0.9000\n`);
      const profile = JSON.parse(readFileSync(out, 'utf8'));
      expect(profile.featureOrder).toEqual(['x']);
      expect(profile.target).toMatchObject({ name: 'label', profile: { type: 'categorical', categories: [{ value: '0', count: 900 }, { value: '1', count: 100 }] } });
      expect(profile.performance).toEqual({ metric: 'accuracy', prediction: 'predicted', value: 0.9, count: 1000 });
      // WHEN later data has 40% positives and 70% accuracy
      const later = write('labelled-later.csv', csv(500, 0.4, 0.7));
      const res = await run('drift', '--baseline', out, '--data', later, '--format', 'json');
      const report = JSON.parse(res.stdout);
      // THEN the label drifts and the accuracy change is reported
      expect(report.target.name).toBe('label');
      expect(report.target.report).toMatchObject({ type: 'categorical', drifted: true, verdict: 'drift' });
      expect(report.performance.reference).toBe(0.9);
      expect(report.performance.current).toBeCloseTo(0.7, 12);
      expect(report.performance.change).toBeCloseTo(-0.2, 12);
      expect(res.code).toBe(3);
      const table = await run('drift', '--baseline', out, '--data', later);
      expect(table.stdout).toContain('label (label)');
      expect(table.stdout).toContain('performance: accuracy of "predicted" 0.7000 over 500 labelled rows, training 0.9000 (-0.2000)');
    });
  });
});
