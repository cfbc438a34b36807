import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CHECK_OUTPUTS_SCRIPT,
  EVALUATE_SCRIPT,
  FETCH_SCRIPT,
  NOTEBOOK_SCRIPT,
  PREPARE_IMAGE_SCRIPT,
  PROFILE_SCRIPT,
  RELEASE_CHECKOUT_SCRIPT,
  RELEASE_SCRIPT,
  REPORT_SCRIPT,
  SMOKE_TEST_SCRIPT,
} from '../../constructs/private/pipeline-scripts.js';
import { Environment, PipelineTriggers, TrainingPipeline, type TrainingPipelineProps } from '../../constructs/index.js';
import { fraudDetectorModel } from '../../lib/onnx/examples.js';
import { startTestServer } from '../runtime/helpers.js';
import { RUNTIME_IMAGE } from '../support/fixtures.js';
import { find, givenEnvironment, synth, type Manifest } from '../support/synth.js';
import { stepScripts, tektonLint, tektonReferenceProblems } from '../support/tekton.js';
import { upstreamProblem } from '../support/upstream-schemas.js';

const work = mkdtempSync(join(tmpdir(), 'slipway-pipeline-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const TRAINING_IMAGE = `ghcr.io/acme/fraud-training@sha256:${'d'.repeat(64)}`;

function pipelineProps(overrides: Partial<TrainingPipelineProps> = {}): TrainingPipelineProps {
  return {
    name: 'fraud-detector',
    inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 6] }],
    outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 2] }],
    sourceRepository: 'https://github.com/acme/models.git',
    modelPath: 'fraud-detector',
    trainingImage: TRAINING_IMAGE,
    notebook: 'notebooks/train.ipynb',
    trainingParameters: { epochs: '20', learning_rate: '0.01' },
    gates: [
      { metric: 'auc', op: '>=', value: 0.92 },
      { metric: 'log_loss', op: '<', value: 0.3 },
    ],
    runtimeImage: RUNTIME_IMAGE,
    imageRepository: 'ghcr.io/acme/fraud-detector',
    ...overrides,
  };
}

/** A pipeline in the `ci` environment of a platform whose first environment is staging. */
function givenPipeline(overrides: Partial<TrainingPipelineProps> = {}): TrainingPipeline {
  return new TrainingPipeline(givenCi(), 'fraud-detector-pipeline', pipelineProps(overrides));
}

function givenCi(): Environment {
  const { platform } = givenEnvironment('staging');
  return new Environment(platform, 'ci', { namespace: 'ml-ci' });
}

function failure(overrides: Partial<TrainingPipelineProps>): string {
  try {
    givenPipeline(overrides);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the construct to reject its props');
}

const task = (manifests: Manifest[], name: string) => find(manifests, 'Task', `fraud-detector-${name}`);
const step = (manifests: Manifest[], taskName: string, stepName: string) =>
  task(manifests, taskName).spec.steps.find((s: { name: string }) => s.name === stepName);
const envOf = (s: { env: Array<{ name: string; value?: string }> }) => Object.fromEntries(s.env.map((e) => [e.name, e.value]));

function sh(script: string, env: Record<string, string>, cwd = work): { status: number | null; stdout: string; stderr: string } {
  const file = join(work, `script-${createHash('sha1').update(script).digest('hex').slice(0, 8)}.sh`);
  writeFileSync(file, script);
  const run = spawnSync('/bin/sh', [file], { cwd, env: { PATH: process.env.PATH!, ...env }, encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('TrainingPipeline', () => {
  it('synthesizes tasks, a pipeline, least-privilege RBAC and a PipelineRun template', () => {
    // WHEN the fraud detector gets a notebook pipeline with two gates
    const manifests = synth(givenPipeline());
    // THEN the objects match the snapshot, in the CI namespace
    expect(manifests).toMatchSnapshot();
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual([
      'ServiceAccount/fraud-detector-pipeline',
      'Role/fraud-detector-pipeline',
      'RoleBinding/fraud-detector-pipeline',
      'Task/fraud-detector-fetch',
      'Task/fraud-detector-train',
      'Task/fraud-detector-evaluate',
      'Task/fraud-detector-profile',
      'Task/fraud-detector-package',
      'Task/fraud-detector-test',
      'Task/fraud-detector-release',
      'Task/fraud-detector-report',
      'Pipeline/fraud-detector-training',
      'TriggerTemplate/fraud-detector-training',
    ]);
    expect(new Set(manifests.map((m) => m.metadata.namespace))).toEqual(new Set(['ml-ci']));
    const core = manifests.filter((m) => !m.apiVersion.includes('tekton.dev'));
    expect(core.map(upstreamProblem).filter(Boolean)).toEqual([]);
    // The only API call of a run is the report's Event.
    expect(find(manifests, 'Role').rules).toEqual([{ apiGroups: [''], resources: ['events'], verbs: ['create'] }]);
  });

  it('runs the tasks in order with report in finally', () => {
    const pipeline = find(synth(givenPipeline()), 'Pipeline').spec;
    expect(pipeline.tasks.map((t: { name: string; runAfter?: string[] }) => [t.name, t.runAfter ?? []])).toEqual([
      ['fetch', []],
      ['train', ['fetch']],
      ['evaluate', ['train']],
      ['profile', ['evaluate']],
      ['package', ['profile']],
      ['test', ['package']],
      ['release', ['test']],
    ]);
    expect(pipeline.finally.map((t: { name: string }) => t.name)).toEqual(['report']);
    expect(pipeline.finally[0].params).toContainEqual({ name: 'aggregate-status', value: '$(tasks.status)' });
  });

  it('lints clean with tekton-lint, together with its triggers', () => {
    // GIVEN a GPU pipeline and a command pipeline behind one listener
    const ci = givenCi();
    const notebook = new TrainingPipeline(ci, 'fraud', pipelineProps({ gpu: { count: 1, product: 'NVIDIA-A100-SXM4-80GB' } }));
    const command = new TrainingPipeline(
      ci,
      'classifier',
      pipelineProps({ name: 'image-classifier', notebook: undefined, trainingCommand: ['python', 'train.py'], modelPath: 'vision', gates: [] }),
    );
    const triggers = new PipelineTriggers(ci, 'triggers', { pipelines: [notebook, command] });
    const all = [...synth(notebook), ...synth(command), ...synth(triggers)];
    // WHEN tekton-lint reads all of it
    // THEN it reports no error and no warning
    expect(tektonLint(all)).toEqual([]);
  });

  it('finds tekton-lint problems when a reference is broken', () => {
    // GIVEN a pipeline whose fetch task lost its revision param
    const manifests = synth(givenPipeline());
    const fetch = task(manifests, 'fetch');
    fetch.spec.params = fetch.spec.params.filter((p: { name: string }) => p.name !== 'revision');
    // THEN the linter names it: the clean result above is not a linter that sees nothing
    expect(tektonLint(manifests).map((p) => p.rule)).toContain('no-undefined-param');
  });

  it('resolves every param, result, workspace and trigger reference', () => {
    const ci = givenCi();
    const pipeline = new TrainingPipeline(ci, 'fraud', pipelineProps({ gpu: { count: 1 } }));
    const triggers = new PipelineTriggers(ci, 'triggers', { pipelines: [pipeline] });
    expect(tektonReferenceProblems([...synth(pipeline), ...synth(triggers)])).toEqual([]);
  });

  it('reports references that do not resolve', () => {
    // GIVEN outputs that no longer match: a renamed result, a wrong workspace, an unknown context variable
    const manifests = synth(givenPipeline());
    const pkg = task(manifests, 'package');
    pkg.spec.results = pkg.spec.results.map((r: { name: string }) => (r.name === 'image-digest' ? { ...r, name: 'digest' } : r));
    step(manifests, 'evaluate', 'gates').env[0].value = '$(workspaces.models.path)/metrics.json';
    step(manifests, 'report', 'report').env.push({ name: 'X', value: '$(context.pipelineRun.labels)' });
    // THEN each is named
    const problems = tektonReferenceProblems(manifests);
    expect(problems).toContain('Task fraud-detector-package .steps[1].args[3]: result "image-digest" is not declared');
    expect(problems).toContain('Task fraud-detector-evaluate .steps[0].env[0].value: workspace "models" is not declared');
    expect(problems.some((p) => p.includes('"context.pipelineRun.labels" is not a Tekton context variable'))).toBe(true);
    expect(problems.some((p) => p.includes('result "package.image-digest" does not exist'))).toBe(true);
  });

  it('passes shellcheck in every embedded step script', () => {
    const manifests = synth(givenPipeline());
    const scripts = stepScripts(manifests);
    expect(scripts.map((s) => s.where).sort()).toEqual(
      [
        'fraud-detector-evaluate/gates',
        'fraud-detector-fetch/clone',
        'fraud-detector-package/prepare',
        'fraud-detector-profile/baseline',
        'fraud-detector-release/checkout',
        'fraud-detector-release/release',
        'fraud-detector-report/report',
        'fraud-detector-test/infer',
        'fraud-detector-train/check-outputs',
        'fraud-detector-train/train',
      ].sort(),
    );
    for (const { where, script } of scripts) {
      const file = join(work, `${where.replace('/', '--')}.sh`);
      writeFileSync(file, script);
      const run = spawnSync('/usr/bin/shellcheck', ['--shell=sh', '--severity=style', file], { encoding: 'utf8' });
      expect(run.stdout + run.stderr, where).toBe('');
      expect(run.status, where).toBe(0);
    }
  });

  it('gives every task a timeout and every step compute resources', () => {
    const manifests = synth(givenPipeline());
    const pipeline = find(manifests, 'Pipeline').spec;
    for (const t of [...pipeline.tasks, ...pipeline.finally]) expect(t.timeout, t.name).toMatch(/^[0-9]+[hms]/);
    for (const t of manifests.filter((m) => m.kind === 'Task')) {
      for (const s of [...t.spec.steps, ...(t.spec.sidecars ?? [])]) {
        const where = `${t.metadata.name}/${s.name}`;
        expect(s.computeResources?.requests?.cpu, where).toBeDefined();
        expect(s.computeResources?.requests?.memory, where).toBeDefined();
        expect(s.computeResources?.limits?.memory, where).toBeDefined();
      }
    }
    const run = find(manifests, 'TriggerTemplate').spec.resourcetemplates[0];
    expect(run.spec.timeouts).toEqual({ pipeline: '4h', finally: '10m' });
  });

  it('claims a fresh volume per run and mounts the registry Secret by name', () => {
    const run = find(synth(givenPipeline({ storageClassName: 'fast', workspaceSize: '20Gi', registrySecret: 'ghcr-push' })), 'TriggerTemplate').spec.resourcetemplates[0];
    expect(run.metadata.generateName).toBe('fraud-detector-training-');
    expect(run.spec.workspaces).toEqual([
      { name: 'workspace', volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '20Gi' } }, storageClassName: 'fast' } } },
      { name: 'docker-config', secret: { secretName: 'ghcr-push', items: [{ key: '.dockerconfigjson', path: 'config.json' }] } },
    ]);
    expect(run.spec.taskRunTemplate).toEqual({ serviceAccountName: 'fraud-detector-pipeline' });
  });

  it('runs a notebook headless with papermill, passing the training parameters through', () => {
    const manifests = synth(givenPipeline());
    const train = step(manifests, 'train', 'train');
    expect(train.image).toBe(TRAINING_IMAGE);
    expect(train.script).toBe(NOTEBOOK_SCRIPT);
    expect(train.workingDir).toBe('$(workspaces.source.path)/fraud-detector');
    expect(train.args).toEqual(['-p', 'epochs', '$(params.train-epochs)', '-p', 'learning_rate', '$(params.train-learning-rate)']);
    expect(envOf(train)).toMatchObject({ NOTEBOOK: 'notebooks/train.ipynb', OUTPUT_DIR: '$(workspaces.model.path)' });
    expect(find(manifests, 'Pipeline').spec.params).toContainEqual({ name: 'train-learning-rate', type: 'string', description: 'Training parameter learning_rate.', default: '0.01' });
  });

  it('runs a training command with the parameters as environment variables', () => {
    const train = step(synth(givenPipeline({ notebook: undefined, trainingCommand: ['python', 'train.py', '--fast'] })), 'train', 'train');
    expect(train.command).toEqual(['python', 'train.py', '--fast']);
    expect(train.script).toBeUndefined();
    expect(envOf(train)).toMatchObject({ EPOCHS: '$(params.train-epochs)', LEARNING_RATE: '$(params.train-learning-rate)', TRAINING_DATA: '$(workspaces.source.path)/fraud-detector/data/train.csv' });
  });

  it('trains on a GPU: limit on the train step, toleration and node selection on its pod only', () => {
    // WHEN the pipeline trains on an A100 with the nvidia runtime class
    const manifests = synth(givenPipeline({ gpu: { count: 2, product: 'NVIDIA-A100-SXM4-80GB', runtimeClassName: 'nvidia' } }));
    // THEN the train step asks for the GPUs and only the train pod is scheduled on GPU nodes
    expect(step(manifests, 'train', 'train').computeResources).toEqual({ requests: { cpu: '2', memory: '8Gi' }, limits: { cpu: '4', memory: '8Gi', 'nvidia.com/gpu': 2 } });
    const run = find(manifests, 'TriggerTemplate').spec.resourcetemplates[0];
    expect(run.spec.taskRunSpecs).toEqual([
      {
        pipelineTaskName: 'train',
        podTemplate: {
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
          nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-80GB' },
          runtimeClassName: 'nvidia',
        },
      },
    ]);
  });

  it('trains on CPUs without GPU scheduling by default', () => {
    const manifests = synth(givenPipeline());
    expect(step(manifests, 'train', 'train').computeResources.limits['nvidia.com/gpu']).toBeUndefined();
    expect(find(manifests, 'TriggerTemplate').spec.resourcetemplates[0].spec.taskRunSpecs).toBeUndefined();
  });

  it('records gated metrics as task results', () => {
    const evaluate = task(synth(givenPipeline()), 'evaluate');
    expect(evaluate.spec.results.map((r: { name: string }) => r.name)).toEqual(['metrics', 'metric-auc', 'metric-log-loss']);
    expect(JSON.parse(envOf(evaluate.spec.steps[0]).GATES!)).toEqual([
      { metric: 'auc', op: '>=', value: 0.92 },
      { metric: 'log_loss', op: '<', value: 0.3 },
    ]);
  });

  it('builds FROM the runtime image with kaniko, tests the built image by digest and releases to the first environment', () => {
    const manifests = synth(givenPipeline());
    expect(step(manifests, 'package', 'build-and-push').args).toContain('--destination=ghcr.io/acme/fraud-detector:$(params.version)');
    expect(envOf(step(manifests, 'package', 'prepare')).RUNTIME_IMAGE).toBe(RUNTIME_IMAGE);
    const pipeline = find(manifests, 'Pipeline').spec;
    expect(pipeline.tasks.find((t: { name: string }) => t.name === 'test').params).toEqual([
      { name: 'image', value: 'ghcr.io/acme/fraud-detector@$(tasks.package.results.image-digest)' },
    ]);
    const test = task(manifests, 'test');
    expect(test.spec.sidecars[0]).toMatchObject({ image: '$(params.image)', args: ['serve', '--model-repository', '/models', '--host', '127.0.0.1', '--port', '8080'] });
    const release = step(manifests, 'release', 'release');
    expect(envOf(release)).toMatchObject({ RELEASE_ENV: 'staging', MODEL_VERSION: '$(params.version)', IMAGE_DIGEST: '$(params.image-digest)' });
    // Credentials come from the Secret by name, never inline.
    expect(release.env).toContainEqual({ name: 'SLIPWAY_GIT_TOKEN', valueFrom: { secretKeyRef: { name: 'git-credentials', key: 'password' } } });
    expect(envOf(step(manifests, 'release', 'checkout')).CONFIG_URL).toBe('https://github.com/acme/ml-config.git');
  });

  it('fails when a step image is pinned by tag only, naming the task and step', () => {
    const message = failure({ trainingImage: 'ghcr.io/acme/fraud-training:2024-06', kanikoImage: 'gcr.io/kaniko-project/executor:v1.23.2' });
    expect(message).toContain("TrainingPipeline at 'acme-ml/ci/fraud-detector-pipeline' has invalid props");
    expect(message).toContain('tasks.train.steps.train.image: task "train" step "train": expected an image pinned by digest, got "ghcr.io/acme/fraud-training:2024-06"');
    expect(message).toContain('tasks.package.steps.build-and-push.image: task "package" step "build-and-push": expected an image pinned by digest');
  });

  it('fails when both or neither of trainingCommand and notebook are given', () => {
    expect(failure({ trainingCommand: ['python', 'train.py'] })).toContain('trainingCommand: expected exactly one of trainingCommand (a command in trainingImage) or notebook (run with papermill), got both');
    expect(failure({ notebook: undefined })).toContain('got neither');
  });

  it('fails when gates, parameters, paths or the image repository are malformed', () => {
    const message = failure({
      gates: [{ metric: 'auc', op: '=>' as '>=', value: Number.NaN }],
      trainingParameters: { 'learning-rate': '0.1' },
      modelPath: '../elsewhere',
      imageRepository: 'ghcr.io/acme/fraud-detector:1.0',
      trainingTimeout: '2 hours',
    });
    expect(message).toContain('gates[0].op: expected one of >=, >, <=, <, ==, got "=>"');
    expect(message).toContain('gates[0].value: expected a finite number, got NaN');
    expect(message).toContain('trainingParameters.learning-rate: expected a lower-case Python identifier');
    expect(message).toContain('modelPath: expected a folder relative to the repository root, without "..", got "../elsewhere"');
    expect(message).toContain('imageRepository: expected an image repository without tag or digest');
    expect(message).toContain('trainingTimeout: expected a duration such as "90m" or "2h30m", got "2 hours"');
  });

  it('fails when there is no environment to release to', () => {
    const { app } = givenEnvironment();
    expect(() => new TrainingPipeline(app, 'lonely', pipelineProps())).toThrow(/releaseEnvironment: expected the environment to release to/);
  });
});

describe('pipeline step scripts, run for real', () => {
  it('evaluate: passes gates, writes the metrics and each gated metric as results', () => {
    // GIVEN metrics.json that meets both gates
    const dir = mkdtempSync(join(work, 'evaluate-'));
    writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ auc: 0.95, log_loss: 0.21, notes: 'text is ignored' }));
    mkdirSync(join(dir, 'results'));
    // WHEN the gate script runs
    const run = sh(EVALUATE_SCRIPT, {
      METRICS_FILE: join(dir, 'metrics.json'),
      GATES: JSON.stringify([{ metric: 'auc', op: '>=', value: 0.92 }, { metric: 'log_loss', op: '<', value: 0.3 }]),
      RESULT_METRICS: join(dir, 'results', 'metrics'),
    });
    // THEN it succeeds and the results hold the values
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'results', 'metrics'), 'utf8'))).toEqual({ auc: 0.95, log_loss: 0.21 });
    expect(readFileSync(join(dir, 'results', 'metric-auc'), 'utf8')).toBe('0.95');
    expect(readFileSync(join(dir, 'results', 'metric-log-loss'), 'utf8')).toBe('0.21');
  });

  it('evaluate: fails when a gate fails, naming the metric, its value and the gate', () => {
    const dir = mkdtempSync(join(work, 'evaluate-'));
    writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ auc: 0.9 }));
    const run = sh(EVALUATE_SCRIPT, {
      METRICS_FILE: join(dir, 'metrics.json'),
      GATES: JSON.stringify([{ metric: 'auc', op: '>=', value: 0.92 }, { metric: 'recall', op: '>', value: 0.5 }]),
      RESULT_METRICS: join(dir, 'metrics'),
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('evaluate: gate failed: auc = 0.9, expected >= 0.92');
    expect(run.stderr).toContain(`evaluate: metric "recall" is missing from ${join(dir, 'metrics.json')} (found: auc)`);
  });

  it('evaluate: fails when metrics.json is not JSON', () => {
    const dir = mkdtempSync(join(work, 'evaluate-'));
    writeFileSync(join(dir, 'metrics.json'), 'auc=0.9');
    const run = sh(EVALUATE_SCRIPT, { METRICS_FILE: join(dir, 'metrics.json'), GATES: '[]', RESULT_METRICS: join(dir, 'metrics') });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`evaluate: cannot read ${join(dir, 'metrics.json')}`);
  });

  it('train: fails naming the file the training did not write', () => {
    const dir = mkdtempSync(join(work, 'train-'));
    writeFileSync(join(dir, 'model.onnx'), 'onnx');
    const run = sh(CHECK_OUTPUTS_SCRIPT, { OUTPUT_DIR: dir });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`train: the training step did not write ${dir}/metrics.json\n`);
    writeFileSync(join(dir, 'metrics.json'), '{}');
    expect(sh(CHECK_OUTPUTS_SCRIPT, { OUTPUT_DIR: dir }).status).toBe(0);
  });

  it('fetch: clones a revision and derives the version from the commit', () => {
    // GIVEN a source repository with one commit
    const source = mkdtempSync(join(work, 'source-'));
    const git = (...args: string[]) => execFileSync('git', args, { cwd: source, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_DATE: '2026-03-04T05:06:07Z', GIT_COMMITTER_DATE: '2026-03-04T05:06:07Z' } }).trim();
    git('init', '-q', '-b', 'main');
    writeFileSync(join(source, 'train.py'), 'print("train")\n');
    git('add', '.');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'init');
    const commit = git('rev-parse', 'HEAD');
    const out = mkdtempSync(join(work, 'fetch-'));
    const env = { SOURCE_URL: `file://${source}`, REVISION: 'main', SOURCE_DIR: join(out, 'source'), RESULT_COMMIT: join(out, 'commit'), RESULT_VERSION: join(out, 'version'), HOME: out, TZ: 'UTC' };
    // WHEN fetch runs without a version
    const run = sh(FETCH_SCRIPT, { ...env, VERSION: '' });
    // THEN the checkout, the commit and a commit-derived version are there
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(readFileSync(join(out, 'source', 'train.py'), 'utf8')).toBe('print("train")\n');
    expect(readFileSync(join(out, 'commit'), 'utf8')).toBe(commit);
    expect(readFileSync(join(out, 'version'), 'utf8')).toBe(`20260304050607-${commit.slice(0, 7)}`);
    // AND a given version wins
    expect(sh(FETCH_SCRIPT, { ...env, VERSION: '1.4.0' }).status).toBe(0);
    expect(readFileSync(join(out, 'version'), 'utf8')).toBe('1.4.0');
  });

  it('package: lays out the model repository, writes a Dockerfile FROM the runtime and records the sha256', () => {
    const dir = mkdtempSync(join(work, 'package-'));
    const model = fraudDetectorModel().bytes;
    writeFileSync(join(dir, 'model.onnx'), model);
    writeFileSync(join(dir, 'baseline.json'), '{"features":[]}');
    const run = sh(PREPARE_IMAGE_SCRIPT, {
      MODEL_NAME: 'fraud-detector',
      MODEL_VERSION: '1.4.0',
      OUTPUT_DIR: dir,
      CONTEXT_DIR: join(dir, 'image'),
      RUNTIME_IMAGE,
      RESULT_ARTIFACT_SHA256: join(dir, 'artifact-sha256'),
    });
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(join(dir, 'image', 'models', 'fraud-detector', '1.4.0', 'model.onnx'))).toEqual(Buffer.from(model));
    expect(existsSync(join(dir, 'image', 'models', 'fraud-detector', '1.4.0', 'baseline.json'))).toBe(true);
    expect(readFileSync(join(dir, 'image', 'Dockerfile'), 'utf8')).toBe(
      `FROM ${RUNTIME_IMAGE}\nCOPY models/ /models/\nENV SLIPWAY_MODEL_REPOSITORY=/models\nLABEL org.opencontainers.image.version="1.4.0" dev.slipway.model="fraud-detector"\n`,
    );
    expect(readFileSync(join(dir, 'artifact-sha256'), 'utf8')).toBe(createHash('sha256').update(model).digest('hex'));
  });

  it('package: fails when the version cannot name a folder', () => {
    const run = sh(PREPARE_IMAGE_SCRIPT, { MODEL_NAME: 'm', MODEL_VERSION: '../x', OUTPUT_DIR: work, CONTEXT_DIR: join(work, 'ctx'), RUNTIME_IMAGE, RESULT_ARTIFACT_SHA256: join(work, 'x') });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('package: version "../x" cannot name a model repository folder');
  });

  describe('test task against the real runtime', () => {
    const signature = { inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 6] }], outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 2] }] };

    it('passes when the model answers 200 with the signature outputs', async () => {
      // GIVEN the slipway runtime serving the fraud detector on loopback
      const server = await startTestServer([{ name: 'fraud-detector', bytes: fraudDetectorModel().bytes }]);
      try {
        // WHEN the smoke test runs against it
        const run = await shAsync(SMOKE_TEST_SCRIPT, { SERVER_URL: `http://127.0.0.1:${server.port}`, MODEL_NAME: 'fraud-detector', SIGNATURE: JSON.stringify(signature), READY_TIMEOUT_SECONDS: '10' });
        // THEN it succeeds
        expect(run.stderr).toBe('');
        expect(run.status).toBe(0);
        expect(run.stdout).toContain('test: fraud-detector answered 200 with probability[-1,2]');
      } finally {
        await server.close();
      }
    });

    it('fails when the output shape differs from the signature', async () => {
      const server = await startTestServer([{ name: 'fraud-detector', bytes: fraudDetectorModel().bytes }]);
      try {
        const wrong = { ...signature, outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 3] }] };
        const run = await shAsync(SMOKE_TEST_SCRIPT, { SERVER_URL: `http://127.0.0.1:${server.port}`, MODEL_NAME: 'fraud-detector', SIGNATURE: JSON.stringify(wrong), READY_TIMEOUT_SECONDS: '10' });
        expect(run.status).toBe(1);
        expect(run.stderr).toContain('test: output "probability" has shape [1,2], expected [1,3]');
      } finally {
        await server.close();
      }
    });

    it('fails on a non-200 answer, quoting it', async () => {
      const server = await startTestServer([{ name: 'fraud-detector', bytes: fraudDetectorModel().bytes }]);
      try {
        const wrong = { ...signature, inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 5] }] };
        const run = await shAsync(SMOKE_TEST_SCRIPT, { SERVER_URL: `http://127.0.0.1:${server.port}`, MODEL_NAME: 'fraud-detector', SIGNATURE: JSON.stringify(wrong), READY_TIMEOUT_SECONDS: '10' });
        expect(run.status).toBe(1);
        expect(run.stderr).toMatch(/test: POST \/v2\/models\/fraud-detector\/infer answered 400: /);
      } finally {
        await server.close();
      }
    });
  });

  it('report: prints the outcome and does not fail without an API token', () => {
    const run = sh(REPORT_SCRIPT, {
      MODEL_NAME: 'fraud-detector',
      AGGREGATE_STATUS: 'Failed',
      TASK_STATUSES: JSON.stringify({ fetch: 'Succeeded', train: 'Succeeded', evaluate: 'Failed', profile: 'None' }),
      PIPELINE_RUN: 'fraud-detector-training-abc12',
      PIPELINE_RUN_UID: 'uid',
      NAMESPACE: 'ml-ci',
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('report: fraud-detector training failed (failed: evaluate), run fraud-detector-training-abc12');
  });

  it('keeps scripts that need cluster tools free of spliced parameters', () => {
    // Parameters reach scripts as environment variables only, so no value can become shell code.
    for (const script of [FETCH_SCRIPT, NOTEBOOK_SCRIPT, PROFILE_SCRIPT, RELEASE_CHECKOUT_SCRIPT, RELEASE_SCRIPT, EVALUATE_SCRIPT, SMOKE_TEST_SCRIPT, REPORT_SCRIPT]) {
      expect(script).not.toMatch(/\$\((params|tasks|results|workspaces|context)\./);
      expect(script.startsWith('#!/bin/sh\n')).toBe(true);
    }
  });
});

/** Runs a script without blocking the event loop, so a server in this process can answer it. */
function shAsync(script: string, env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const file = join(work, `async-${createHash('sha1').update(script).digest('hex').slice(0, 8)}.sh`);
  writeFileSync(file, script);
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', [file], { env: { PATH: process.env.PATH!, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (status: number | null) => resolve({ status, stdout, stderr }));
  });
}
