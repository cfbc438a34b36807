import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTEBOOK_SCRIPT } from '../../constructs/private/pipeline-scripts.js';
import { isTrainJobStep, singleNodeStep } from '../../lib/pipeline/train-job-local.js';
import { describeWithTools } from '../support/tools.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/slipway.mjs');
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
mkdirSync(join(ROOT, '.tmp'), { recursive: true });
const work = mkdtempSync(join(ROOT, '.tmp', 'train-job-local-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function slipway(args: readonly string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, CI: 'true', TMPDIR: work }, encoding: 'utf8', timeout: 300_000 });
}

/** The example platform's fraud-detector pipeline, training through a TrainJob, with a gate no model passes. */
const APP = `import type { App } from 'cdk8s';
import { Environment, Platform, TrainingPipeline } from '${ROOT}/constructs/index.js';

export const allowUnvalidatedKinds = ['tekton.dev/v1/Task', 'tekton.dev/v1/Pipeline', 'triggers.tekton.dev/v1beta1/TriggerTemplate'];

export default function build(app: App): Platform {
  const platform = new Platform(app, 'acme-ml', { repoURL: 'https://github.com/acme/ml-config.git' });
  new Environment(platform, 'staging', { namespace: 'ml-staging' });
  const ci = new Environment(platform, 'ci', { namespace: 'ml-ci' });
  new TrainingPipeline(ci, 'fraud-detector-pipeline', {
    name: 'fraud-detector',
    inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 6] }],
    outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 2] }],
    sourceRepository: 'https://github.com/acme/ml-models.git',
    modelPath: 'examples/fraud-detector',
    trainingImage: 'ghcr.io/acme/python-papermill@sha256:${'0'.repeat(64)}',
    notebook: 'notebooks/train.ipynb',
    trainingParameters: { n_estimators: '40', max_depth: '4' },
    trainingData: 'data/transactions.csv',
    features: ['amount', 'hour', 'merchant_risk', 'distance_km', 'account_age_days', 'txn_count_24h'],
    gates: [{ metric: 'auc', op: '>=', value: 1.5 }],
    runtimeImage: 'ghcr.io/acme/slipway-runtime@sha256:${'1'.repeat(64)}',
    imageRepository: 'ghcr.io/acme/fraud-detector-runtime',
    trainJob: { numNodes: 1, queueName: 'ml-training' },
  });
  return platform;
}
`;

describe('singleNodeStep', () => {
  const manifest = (trainer: unknown) => JSON.stringify({ spec: { trainer } });
  const step = (trainer: unknown) => ({
    name: 'train',
    image: 'runtime',
    command: ['node', '/app/build/lib/cli/main.js'],
    args: ['pipeline', 'train-job', '--manifest', manifest(trainer), '--namespace', 'ml', '--source-dir', '$(workspaces.source.path)', '--output-dir', '$(workspaces.model.path)'],
  });

  it("maps a notebook trainer back to the notebook step, with the step's workspace folders", () => {
    const s = step({ image: 'trainer', command: ['sh', '-c', 'cd …', 'train'], args: ['-p', 'epochs', '$(params.train-epochs)'], env: [{ name: 'OUTPUT_DIR', value: '/workspace/model' }, { name: 'SLIPWAY_MODEL_DIR', value: '/workspace/source/m' }, { name: 'NOTEBOOK', value: 'nb.ipynb' }] });
    expect(isTrainJobStep(s)).toBe(true);
    expect(singleNodeStep(s)).toEqual({
      name: 'train',
      image: 'trainer',
      script: NOTEBOOK_SCRIPT,
      args: ['-p', 'epochs', '$(params.train-epochs)'],
      env: [{ name: 'OUTPUT_DIR', value: '$(workspaces.model.path)' }, { name: 'SLIPWAY_MODEL_DIR', value: '$(workspaces.source.path)/m' }, { name: 'NOTEBOOK', value: 'nb.ipynb' }],
      workingDir: '$(workspaces.source.path)/m',
    });
  });

  it('maps a command trainer back to its training command, without the cd wrapper', () => {
    const s = singleNodeStep(step({ image: 'trainer', command: ['sh', '-c', 'cd "$SLIPWAY_MODEL_DIR" && exec "$@"', 'train', 'python', 'train.py', '--out', '/workspace/model'], env: [] }));
    expect(s.command).toEqual(['python', 'train.py', '--out', '$(workspaces.model.path)']);
  });

  it('fails when the step lacks the folders it must map', () => {
    const s = step({ image: 'trainer' });
    s.args = s.args.slice(0, 6);
    expect(() => singleNodeStep(s)).toThrow(/train-job without --source-dir/);
  });
});

const toolsMissing =
  spawnSync(PYTHON, ['-c', 'import nbconvert, nbclient, ipykernel, sklearn, onnx'], { stdio: 'ignore' }).status === 0
    ? undefined
    : `${PYTHON} lacks Jupyter, scikit-learn or onnx (Debian packages jupyter-nbconvert python3-nbclient python3-ipykernel python3-sklearn python3-onnx)`;

describeWithTools('pipeline run --local on the TrainJob path', toolsMissing, () => {
  const app = join(work, 'app.ts');
  const repo = join(work, 'config-repo');
  const source = join(work, 'fraud-detector');
  beforeAll(() => {
    writeFileSync(app, APP);
    cpSync(join(ROOT, 'examples/fraud-detector'), source, { recursive: true });
    const synth = slipway(['synth', '--app', app, '--repo', repo]);
    expect(synth.status, synth.stderr).toBe(0);
  }, 120_000);

  it("trains the example with the trainer's entry point single-node and hands its metrics to the gates", () => {
    // WHEN the pipeline whose train step creates a TrainJob in the cluster runs locally
    const ran = slipway(['pipeline', 'run', 'fraud-detector', '--local', '--app', app, '--repo', repo, '--source', source]);
    // THEN the train step trained (the notebook, under Jupyter) and evaluate read its metrics
    expect(ran.stdout).toMatch(/^step train\/train +ok /m);
    expect(ran.stdout).toMatch(/^step train\/check-outputs +ok /m);
    expect(ran.stdout).toMatch(/^step evaluate\/\S+ +FAILED /m);
    expect(ran.stderr).toMatch(/auc/);
    const log = /log: (\S+train-train\.log)/.exec(ran.stderr + ran.stdout)?.[1];
    if (log && existsSync(log)) expect(readFileSync(log, 'utf8')).toMatch(/train: notebooks\/train\.ipynb ran under/);
    // AND nothing was released
    expect(ran.status).toBe(1);
  }, 300_000);
});
