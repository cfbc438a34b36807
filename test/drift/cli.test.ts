import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { errorReference, main } from '../../lib/cli/program.js';

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

async function run(...args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const code = await main(['node', 'slipway', ...args]);
  vi.restoreAllMocks();
  process.exitCode = undefined;
  return { code, stderr, stdout };
}

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
    await run('baseline', '--data', TRAIN, '--features', FEATURES, '--categorical', 'channel', '--input-tensor', 'features', '--out', out);
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
    expect(res.stderr).toContain(`slipway: ${TRAIN}:1: unknown feature "amout" in --features: the header has columns amount, hour,`);
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
});
