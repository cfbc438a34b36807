import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FETCH_SCRIPT, NOTEBOOK_SCRIPT, RELEASE_CHECKOUT_SCRIPT } from '../../constructs/private/pipeline-scripts.js';
import { Environment, PipelineTriggers, TrainingPipeline, type TrainingPipelineProps } from '../../constructs/index.js';
import { RUNTIME_IMAGE, pipelineProps as fraudPipelineProps } from '../support/fixtures.js';
import { find, givenEnvironment, synth, type Manifest } from '../support/synth.js';
import { stepScripts, tektonLint, tektonReferenceProblems } from '../support/tekton.js';
import { upstreamProblem } from '../support/upstream-schemas.js';

const work = mkdtempSync(join(tmpdir(), 'slipway-pipeline-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const TRAINING_IMAGE = `ghcr.io/acme/fraud-training@sha256:${'d'.repeat(64)}`;

function pipelineProps(overrides: Partial<TrainingPipelineProps> = {}): TrainingPipelineProps {
  return fraudPipelineProps({
    modelPath: 'fraud-detector',
    trainingParameters: { epochs: '20', learning_rate: '0.01' },
    gates: [
      { metric: 'auc', op: '>=', value: 0.92 },
      { metric: 'log_loss', op: '<', value: 0.3 },
    ],
    ...overrides,
  });
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
    step(manifests, 'evaluate', 'gates').args[3] = '$(workspaces.models.path)/metrics.json';
    step(manifests, 'report', 'report').args.push('$(context.pipelineRun.labels)');
    // THEN each is named
    const problems = tektonReferenceProblems(manifests);
    expect(problems).toContain('Task fraud-detector-package .steps[2].args[2]: result "image-digest" is not declared');
    expect(problems).toContain('Task fraud-detector-evaluate .steps[0].args[3]: workspace "models" is not declared');
    expect(problems.some((p) => p.includes('"context.pipelineRun.labels" is not a Tekton context variable'))).toBe(true);
    expect(problems.some((p) => p.includes('result "package.image-digest" does not exist'))).toBe(true);
  });

  it('runs every step as a slipway command, except git checkouts, training and buildah; no program in a heredoc', () => {
    const manifests = synth(givenPipeline());
    const steps = manifests
      .filter((m) => m.kind === 'Task')
      .flatMap((t) => t.spec.steps.map((s: { name: string; image: string; command?: string[]; args?: string[]; script?: string }) => ({ where: `${t.metadata.name}/${s.name}`, ...s })));
    const slipwaySteps = steps.filter((s) => s.command?.join(' ') === 'node /app/build/lib/cli/main.js');
    expect(slipwaySteps.map((s) => `${s.where}: ${s.args!.slice(0, 2).join(' ')}`)).toEqual([
      'fraud-detector-train/check-outputs: pipeline check-outputs',
      'fraud-detector-evaluate/gates: pipeline evaluate',
      'fraud-detector-profile/baseline: baseline --data',
      'fraud-detector-package/layout: pipeline package',
      'fraud-detector-package/record: pipeline record-build',
      'fraud-detector-test/infer: pipeline smoke-test',
      'fraud-detector-release/release: pipeline release',
      'fraud-detector-report/report: pipeline report',
    ]);
    for (const s of slipwaySteps) expect(s.image, s.where).toBe(RUNTIME_IMAGE);
    expect(steps.filter((s) => s.script).map((s) => s.where)).toEqual(['fraud-detector-fetch/clone', 'fraud-detector-train/train', 'fraud-detector-release/checkout']);
    for (const s of steps) expect(s.script ?? '', s.where).not.toContain('<<');
  });

  it('passes shellcheck in every remaining step script', () => {
    const manifests = synth(givenPipeline());
    const scripts = stepScripts(manifests);
    expect(scripts.map((s) => s.where).sort()).toEqual(['fraud-detector-fetch/clone', 'fraud-detector-release/checkout', 'fraud-detector-train/train']);
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
    const args: string[] = evaluate.spec.steps[0].args;
    expect(args.slice(args.indexOf('--result'), args.indexOf('--result') + 2)).toEqual(['--result', '$(results.metrics.path)']);
    expect(JSON.parse(args[args.indexOf('--gates') + 1]!)).toEqual([
      { metric: 'auc', op: '>=', value: 0.92 },
      { metric: 'log_loss', op: '<', value: 0.3 },
    ]);
  });

  it('builds FROM the runtime image with buildah (not privileged), writes build.json, tests the image by digest and releases the build', () => {
    const manifests = synth(givenPipeline());
    // package: layout, build, push and record, the buildah steps with the least privilege they need
    expect(task(manifests, 'package').spec.steps.map((s: { name: string }) => s.name)).toEqual(['layout', 'build', 'push', 'record']);
    const layout = step(manifests, 'package', 'layout').args;
    expect(layout[layout.indexOf('--runtime-image') + 1]).toBe(RUNTIME_IMAGE);
    const build = step(manifests, 'package', 'build');
    expect(build.image).toMatch(/^quay\.io\/buildah\/stable@sha256:[0-9a-f]{64}$/);
    expect(build.args).toContain('--tag=ghcr.io/acme/fraud-detector:$(params.version)');
    expect(build.securityContext).toEqual({
      privileged: false,
      allowPrivilegeEscalation: false,
      runAsUser: 0,
      capabilities: { drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'SETFCAP', 'SETUID', 'SETGID'] },
      seccompProfile: { type: 'Unconfined' },
    });
    expect(step(manifests, 'package', 'push').args).toEqual([
      '--storage-driver=vfs',
      'push',
      '--digestfile=$(results.image-digest.path)',
      'ghcr.io/acme/fraud-detector:$(params.version)',
      'docker://ghcr.io/acme/fraud-detector:$(params.version)',
    ]);
    const record = step(manifests, 'package', 'record').args;
    expect(record[record.indexOf('--out') + 1]).toBe('$(workspaces.model.path)/build.json');
    const pipeline = find(manifests, 'Pipeline').spec;
    expect(pipeline.tasks.find((t: { name: string }) => t.name === 'test').params).toEqual([
      { name: 'image', value: 'ghcr.io/acme/fraud-detector@$(tasks.package.results.image-digest)' },
      { name: 'expected-sha256', value: '$(tasks.package.results.expected-sha256)' },
    ]);
    const test = task(manifests, 'test');
    expect(test.spec.sidecars[0]).toMatchObject({ image: '$(params.image)', args: ['serve', '--model-repository', '/models', '--host', '127.0.0.1', '--port', '8080'] });
    // The smoke-tested runtime verifies the image holds the build's files, as the serving pod does.
    expect(test.spec.sidecars[0].env).toContainEqual({ name: 'SLIPWAY_EXPECTED_SHA256', value: '$(params.expected-sha256)' });
    // release: the build file, whole, to the first environment
    const release = step(manifests, 'release', 'release');
    expect(release.args.slice(0, 2)).toEqual(['pipeline', 'release']);
    expect(release.args.slice(release.args.indexOf('--env'), release.args.indexOf('--env') + 2)).toEqual(['--env', 'staging']);
    expect(release.args.slice(release.args.indexOf('--build'), release.args.indexOf('--build') + 2)).toEqual(['--build', '$(workspaces.model.path)/build.json']);
    // Credentials come from the Secret by name, never inline.
    expect(release.env).toContainEqual({ name: 'SLIPWAY_GIT_TOKEN', valueFrom: { secretKeyRef: { name: 'git-credentials', key: 'password' } } });
    expect(envOf(step(manifests, 'release', 'checkout')).CONFIG_URL).toBe('https://github.com/acme/ml-config.git');
    // The trigger of the run (push, drift, manual) reaches the build record.
    expect(find(manifests, 'TriggerTemplate').spec.resourcetemplates[0].spec.params).toContainEqual({ name: 'trigger', value: '$(tt.params.reason)' });
  });

  it('fails when a step image is pinned by tag only, naming the task and step', () => {
    const message = failure({ trainingImage: 'ghcr.io/acme/fraud-training:2024-06', buildahImage: 'quay.io/buildah/stable:v1' });
    expect(message).toContain("TrainingPipeline at 'acme-ml/ci/fraud-detector-pipeline' has invalid props");
    expect(message).toContain('tasks.train.steps.train.image: task "train" step "train": expected an image pinned by digest, got "ghcr.io/acme/fraud-training:2024-06"');
    expect(message).toContain('tasks.package.steps.build.image: task "package" step "build": expected an image pinned by digest');
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

  it('profiles only the features of the input tensor, named after it, when features are given', () => {
    const features = ['amount', 'hour', 'merchant_risk', 'distance_km', 'account_age_days', 'txn_count_24h'];
    const args = step(synth(givenPipeline({ features })), 'profile', 'baseline').args as string[];
    expect(args.slice(args.indexOf('--features'), args.indexOf('--features') + 4)).toEqual(['--features', features.join(','), '--input-tensor', 'features']);
    expect(step(synth(givenPipeline()), 'profile', 'baseline').args).not.toContain('--features');
  });

  it('fails when features do not fit the input tensor', () => {
    expect(failure({ features: ['amount', 'hour'] })).toContain('features: expected 6 columns (the last dimension of input "features"), got 2');
    expect(failure({ features: ['a', 'a', 'b,c', 'd', 'e', 'f'] })).toContain('features: expected distinct training data column names without commas');
  });

  it('fails when there is no environment to release to', () => {
    const { app } = givenEnvironment();
    expect(() => new TrainingPipeline(app, 'lonely', pipelineProps())).toThrow(/releaseEnvironment: expected the environment to release to/);
  });
});

describe('pipeline step scripts, run for real', () => {
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

  it('keeps scripts that need cluster tools free of spliced parameters', () => {
    // Parameters reach scripts as environment variables only, so no value can become shell code.
    for (const script of [FETCH_SCRIPT, NOTEBOOK_SCRIPT, RELEASE_CHECKOUT_SCRIPT]) {
      expect(script).not.toMatch(/\$\((params|tasks|results|workspaces|context)\./);
      expect(script.startsWith('#!/bin/sh\n')).toBe(true);
    }
  });
});

describe('package task, run for real', () => {
  it('builds the image with buildah holding only the capabilities of its steps, and build.json names exactly the bytes inside it', () => {
    // GIVEN the rendered package task and a workspace as train and profile leave it
    const manifests = synth(givenPipeline());
    const root = mkdtempSync(join(work, 'package-'));
    const model = join(root, 'model');
    const source = join(root, 'source');
    mkdirSync(model);
    mkdirSync(join(source, 'fraud-detector', 'data'), { recursive: true });
    copyFileSync('examples/model-repository/fraud-detector/1/model.onnx', join(model, 'model.onnx'));
    copyFileSync('examples/model-repository/fraud-detector/1/baseline.json', join(model, 'baseline.json'));
    writeFileSync(join(model, 'metrics.json'), '{"auc":0.95,"log_loss":0.2}');
    writeFileSync(join(source, 'fraud-detector', 'data', 'train.csv'), 'amount,hour\n1,2\n');
    writeFileSync(join(root, 'config.json'), '{"auths":{}}');
    const values: Record<string, string> = {
      'workspaces.model.path': model,
      'workspaces.source.path': source,
      'workspaces.docker-config.path': root,
      'results.image-digest.path': join(root, 'image-digest'),
      'results.expected-sha256.path': join(root, 'expected-sha256'),
      'results.IMAGE_URL.path': join(root, 'IMAGE_URL'),
      'results.IMAGE_DIGEST.path': join(root, 'IMAGE_DIGEST'),
      'params.version': '1.4.0',
      'params.source-url': 'https://github.com/acme/models.git',
      'params.commit': 'c'.repeat(40),
      'params.trigger': 'drift',
      'context.pipelineRun.name': 'fraud-detector-training-x1',
    };
    // An unresolved result path would make the step write a file named `$(results.….path)` here.
    const resolve = (arg: string) =>
      arg.replace(/\$\(([^)]+)\)/g, (_, name: string) => {
        if (values[name] === undefined && name.startsWith('results.')) throw new Error(`the test does not resolve $(${name})`);
        return values[name] ?? `$(${name})`;
      });
    const args = (name: string): string[] => step(manifests, 'package', name).args.map(resolve);
    const slipway = (stepArgs: string[]) => spawnSync(process.execPath, ['bin/slipway.mjs', ...stepArgs], { encoding: 'utf8' });
    // No registry here: the runtime image is `scratch` and the push goes to an OCI layout folder.
    const layout = args('layout');
    layout[layout.indexOf('--runtime-image') + 1] = 'scratch';
    const storage = [`--root=${join(root, 'storage')}`, `--runroot=${join(root, 'run')}`];
    const buildah = (name: string, rewrite: (a: string[]) => string[] = (a) => a) => {
      const s = step(manifests, 'package', name);
      const [driver, ...rest] = rewrite(args(name));
      const caps = (s.securityContext.capabilities.add as string[]).map((c) => `+${c.toLowerCase()}`).join(',');
      return spawnSync('setpriv', ['--bounding-set', `-all,${caps}`, '--inh-caps', '-all', '--no-new-privs', '--', ...s.command, driver!, ...storage, ...rest], {
        encoding: 'utf8',
        env: { ...process.env, ...Object.fromEntries(s.env.map((e: { name: string; value: string }) => [e.name, resolve(e.value)])) },
      });
    };
    // WHEN its steps run in order
    const runs = [
      ['layout', slipway(layout)],
      ['build', buildah('build')],
      ['push', buildah('push', (a) => [...a.slice(0, -1), `oci:${join(root, 'oci')}:1.4.0`])],
      ['record', slipway(args('record'))],
    ] as const;
    for (const [name, run] of runs) expect(run.status, `${name}: ${run.stderr}`).toBe(0);
    // THEN build.json records the image digest and the sha256 of the files the image really holds
    const digest = readFileSync(join(root, 'image-digest'), 'utf8').trim();
    const index = JSON.parse(readFileSync(join(root, 'oci', 'index.json'), 'utf8'));
    expect(index.manifests[0].digest).toBe(digest);
    const blob = (d: string) => join(root, 'oci', 'blobs', 'sha256', d.slice('sha256:'.length));
    const manifest = JSON.parse(readFileSync(blob(digest), 'utf8'));
    const unpacked = join(root, 'unpacked');
    mkdirSync(unpacked);
    for (const layer of manifest.layers) execFileSync('tar', ['-xf', blob(layer.digest), '-C', unpacked]);
    expect(readdirSync(join(unpacked, 'models', 'fraud-detector', '1.4.0')).sort()).toEqual(['baseline.json', 'model.onnx']);
    const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
    const build = JSON.parse(readFileSync(join(model, 'build.json'), 'utf8'));
    expect(build).toEqual({
      model: 'fraud-detector',
      version: '1.4.0',
      modelSha256: sha(join(unpacked, 'models/fraud-detector/1.4.0/model.onnx')),
      modelLocation: 'image',
      baselineSha256: sha(join(unpacked, 'models/fraud-detector/1.4.0/baseline.json')),
      baselineLocation: 'image',
      imageDigest: digest,
      source: { repository: 'https://github.com/acme/models.git', commit: 'c'.repeat(40) },
      trainingDataSha256: sha(join(source, 'fraud-detector', 'data', 'train.csv')),
      metrics: { auc: 0.95, log_loss: 0.2 },
      trigger: 'drift',
      pipelineRun: 'fraud-detector-training-x1',
      builtAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    expect(sha(join(unpacked, 'models/fraud-detector/1.4.0/model.onnx'))).toBe(sha('examples/model-repository/fraud-detector/1/model.onnx'));
    // AND the test task's runtime gets exactly those hashes to verify
    expect(JSON.parse(readFileSync(join(root, 'expected-sha256'), 'utf8'))).toEqual({
      'fraud-detector': { 'model.onnx': build.modelSha256, 'baseline.json': build.baselineSha256 },
    });
  }, 120_000);
});
