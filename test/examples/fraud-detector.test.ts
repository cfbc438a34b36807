import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRIFTED, transactionsCsv } from '../../examples/fraud-detector/data/generate.js';
import { FRAUD_FEATURES } from '../../lib/onnx/examples.js';
import { papermillValue, runNotebook } from '../../lib/pipeline/notebook.js';
import { describeWithTools } from '../support/tools.js';

const EXAMPLE = resolve('examples/fraud-detector');
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const modulesMissing =
  spawnSync(PYTHON, ['-c', 'import nbconvert, nbclient, ipykernel, sklearn, onnx'], { stdio: 'ignore' }).status === 0
    ? undefined
    : `${PYTHON} lacks Jupyter, scikit-learn or onnx (Debian packages jupyter-nbconvert python3-nbclient python3-ipykernel python3-sklearn python3-onnx; .ci/run installs them)`;

// What the example platform's pipeline gates the fraud detector on (apps/ci.ts).
const GATES = { auc: 0.92, recall_at_1pct_fpr: 0.6 };

describe('the fraud-detector example data', () => {
  it('is what its generator writes, with the serving features in tensor order', () => {
    const committed = readFileSync(join(EXAMPLE, 'data', 'transactions.csv'), 'utf8');
    expect(committed).toBe(transactionsCsv(10_000, 2024));
    expect(readFileSync(join(EXAMPLE, 'data', 'transactions-drifted.csv'), 'utf8')).toBe(transactionsCsv(10_000, 2025, DRIFTED));
    expect(committed.split('\n', 1)[0]!.split(',').slice(0, 6)).toEqual([...FRAUD_FEATURES]);
  });
  it('profiles into a baseline that examples/data/fraud-current.csv matches and fraud-drifted.csv drifts from, until the data of the retrain profiles it (the retrain loop)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-fraud-baseline-'));
    try {
      const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/slipway.mjs', ...args], { encoding: 'utf8' });
      const baseline = join(dir, 'baseline.json');
      const profiled = cli('baseline', '--data', join(EXAMPLE, 'data', 'transactions.csv'), '--features', FRAUD_FEATURES.join(','), '--input-tensor', 'features', '--out', baseline);
      expect(profiled.stderr).toMatch(/10000 rows, 6 features/);
      expect(cli('drift', '--baseline', baseline, '--data', 'examples/data/fraud-current.csv').status).toBe(0);
      expect(cli('drift', '--baseline', baseline, '--data', 'examples/data/fraud-drifted.csv').status).toBe(3);
      // After the retrain on the drifted population, the new baseline matches the drifted traffic.
      const retrained = join(dir, 'retrained.json');
      cli('baseline', '--data', join(EXAMPLE, 'data', 'transactions-drifted.csv'), '--features', FRAUD_FEATURES.join(','), '--input-tensor', 'features', '--out', retrained);
      expect(cli('drift', '--baseline', retrained, '--data', 'examples/data/fraud-drifted.csv').status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWithTools('the fraud-detector training notebook', modulesMissing, () => {
  let dir: string;
  let trainingMs: number;
  let server: ChildProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-fraud-'));
    // GIVEN the notebook run as the pipeline's train step runs it: string parameters, absolute paths
    const started = performance.now();
    await runNotebook({
      notebook: join(EXAMPLE, 'notebooks', 'train.ipynb'),
      output: join(dir, 'output', 'executed.ipynb'),
      parameters: {
        output_dir: join(dir, 'output'),
        training_data: join(EXAMPLE, 'data', 'transactions.csv'),
        n_estimators: papermillValue('300'),
        max_depth: papermillValue('6'),
      },
    });
    trainingMs = performance.now() - started;
  }, 300_000);

  afterAll(() => {
    server?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    console.log(`fraud-detector notebook (train + ONNX export): ${(trainingMs / 1000).toFixed(1)} s`);
  });

  it('writes model.onnx and metrics.json that pass the pipeline gates', () => {
    const metrics = JSON.parse(readFileSync(join(dir, 'output', 'metrics.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.values(metrics).every((v) => typeof v === 'number')).toBe(true);
    for (const [metric, threshold] of Object.entries(GATES)) expect(metrics[metric], metric).toBeGreaterThanOrEqual(threshold);
    expect(metrics.auc).toBeLessThanOrEqual(1);
    expect(statSync(join(dir, 'output', 'model.onnx')).size).toBeGreaterThan(0);
  });

  it('retrains on the drifted population (what the retrain after a drift alert sees) and still passes the gates', async () => {
    const output = join(dir, 'retrained');
    await runNotebook({
      notebook: join(EXAMPLE, 'notebooks', 'train.ipynb'),
      output: join(output, 'executed.ipynb'),
      parameters: { output_dir: output, training_data: join(EXAMPLE, 'data', 'transactions-drifted.csv') },
    });
    const metrics = JSON.parse(readFileSync(join(output, 'metrics.json'), 'utf8')) as Record<string, number>;
    for (const [metric, threshold] of Object.entries(GATES)) expect(metrics[metric], metric).toBeGreaterThanOrEqual(threshold);
    expect(metrics.fraud_rate).toBeGreaterThan(0.1);
  }, 120_000);

  it("serves under slipway's runtime with the deployment's signature and sklearn's probabilities", async () => {
    // WHEN slipway serves the trained model
    const child = spawn(process.execPath, ['bin/slipway.mjs', 'serve', '--model', `fraud-detector=${join(dir, 'output', 'model.onnx')}`, '--port', '0', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'inherit'] });
    server = child;
    const port = await new Promise<number>((resolvePort, reject) => {
      let listening: number | undefined;
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const entry = JSON.parse(line) as { event?: string; port?: number; ready?: string[]; failed?: string[] };
        if (entry.event === 'server_listening') listening = entry.port;
        if (entry.event === 'models_loaded') (entry.ready?.includes('fraud-detector') && listening ? resolvePort(listening) : reject(new Error(line)));
      });
      child.on('exit', (code) => reject(new Error(`slipway serve exited ${code}`)));
    });
    const metadata = (await (await fetch(`http://127.0.0.1:${port}/v2/models/fraud-detector`)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 6] }],
      outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 2] }],
    });
    // THEN it answers held-out rows with the probabilities the trained forest gives them
    const reference = JSON.parse(readFileSync(join(dir, 'output', 'reference.json'), 'utf8')) as { features: number[][]; probability: number[][] };
    const response = await fetch(`http://127.0.0.1:${port}/v2/models/fraud-detector/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [reference.features.length, 6], data: reference.features.flat() }] }),
    });
    expect(response.status).toBe(200);
    const { outputs } = (await response.json()) as { outputs: { name: string; datatype: string; shape: number[]; data: number[] }[] };
    expect(outputs.map(({ name, datatype, shape }) => ({ name, datatype, shape }))).toEqual([{ name: 'probability', datatype: 'FP32', shape: [reference.features.length, 2] }]);
    const expected = reference.probability.flat();
    expect(Math.max(...outputs[0]!.data.map((p, i) => Math.abs(p - expected[i]!)))).toBeLessThan(1e-5);
  });
});
