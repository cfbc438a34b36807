import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildahArgs, loadPipeline, runOrder, substitute } from '../../lib/pipeline/local-run.js';
import { generateKeyPair } from '../../lib/supply-chain/keys.js';
import { describeWithTools } from '../support/tools.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/slipway.mjs');
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function slipway(args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...env, CI: 'true' }, encoding: 'utf8', timeout: 300_000 });
}

const head = (repo: string) => spawnSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
const dirtyFiles = (repo: string) => spawnSync('git', ['-C', repo, 'status', '--porcelain'], { encoding: 'utf8' }).stdout.trim();

describe('the local runner reads the pipeline from the app', () => {
  it("orders tasks as Tekton does: after runAfter and after the tasks whose results they take", () => {
    const order = runOrder([
      { name: 'test', taskRef: { name: 't' }, params: [{ name: 'image', value: 'x@$(tasks.package.results.image-digest)' }] },
      { name: 'package', taskRef: { name: 'p' }, runAfter: ['train'] },
      { name: 'train', taskRef: { name: 'tr' }, runAfter: ['fetch'] },
      { name: 'fetch', taskRef: { name: 'f' } },
    ]);
    expect(order.map((t) => t.name)).toEqual(['fetch', 'train', 'package', 'test']);
  });

  it("substitutes Tekton's references and leaves shell command substitution alone", () => {
    const vars = new Map([['params.version', '1.4.0'], ['workspaces.model.path', '/w/model'], ['tasks.fetch.results.commit', 'abc']]);
    expect(substitute('$(workspaces.model.path)/image:$(params.version) $(git rev-parse HEAD) $(tasks.fetch.results.commit)', vars, 'x')).toBe('/w/model/image:1.4.0 $(git rev-parse HEAD) abc');
  });

  it('fails when a reference has no value in the run, naming where it is', () => {
    expect(() => substitute('$(params.missing)', new Map(), 'task package param version')).toThrow('task package param version: $(params.missing) has no value in this run');
  });

  it("maps buildah steps to the host's storage: no vfs driver, the push into containers-storage", () => {
    expect(buildahArgs(['--storage-driver=vfs', 'push', '--digestfile=/r/d', 'ghcr.io/acme/m:1', 'docker://ghcr.io/acme/m:1'])).toEqual(['push', '--digestfile=/r/d', 'ghcr.io/acme/m:1', 'containers-storage:ghcr.io/acme/m:1']);
    expect(buildahArgs(['--storage-driver=vfs', 'bud', '--format=oci', '/ctx'])).toEqual(['bud', '--format=oci', '/ctx']);
  });

  it('maps the push to a real registry by the same repository path, trusting its CA', () => {
    const registry = { cluster: 'ghcr.io/acme/m', local: '127.0.0.1:5000/acme/m', certDir: '/certs' };
    expect(buildahArgs(['--storage-driver=vfs', 'push', '--digestfile=/r/d', 'ghcr.io/acme/m:1', 'docker://ghcr.io/acme/m:1'], registry)).toEqual([
      'push', '--cert-dir', '/certs', '--digestfile=/r/d', 'ghcr.io/acme/m:1', 'docker://127.0.0.1:5000/acme/m:1',
    ]);
  });

  it('fails when tasks wait on each other', () => {
    expect(() => runOrder([{ name: 'a', taskRef: { name: 'a' }, runAfter: ['b'] }, { name: 'b', taskRef: { name: 'b' }, runAfter: ['a'] }])).toThrow(/tasks a, b wait on each other/);
  });

  it("finds the example platform's fraud-detector Pipeline and its Tasks, with the features the profile step passes", async () => {
    const { pipeline, tasks } = await loadPipeline('apps/main.ts', 'fraud-detector');
    expect(pipeline.metadata.name).toBe('fraud-detector-training');
    expect([...tasks.keys()]).toContain('fraud-detector-profile');
    const baseline = tasks.get('fraud-detector-profile')!.steps[0]!.args!;
    expect(baseline.slice(baseline.indexOf('--features'), baseline.indexOf('--features') + 4)).toEqual([
      '--features', 'amount,hour,merchant_risk,distance_km,account_age_days,txn_count_24h', '--input-tensor', 'features',
    ]);
    expect(tasks.get('fraud-detector-train')!.steps[0]!.workingDir).toBe('$(workspaces.source.path)/examples/fraud-detector');
  });

  it('fails when the app has no pipeline for the model, naming the ones it has', async () => {
    await expect(loadPipeline('apps/main.ts', 'churn')).rejects.toThrow(/no TrainingPipeline for model "churn"; the app has pipelines for fraud-detector, image-classifier/);
  });

  it('fails when a --param is not a parameter of the pipeline, listing those it has', () => {
    const ran = slipway(['pipeline', 'run', 'fraud-detector', '--local', '--param', 'learning_rate=0.1']);
    expect(ran.status).toBe(2);
    expect(ran.stderr).toMatch(/--param learning_rate: pipeline fraud-detector-training has no such parameter; it has source-url, revision, version, trigger, train-n-estimators, train-max-depth/);
  });

  it('fails when --env names no environment of the app, before anything runs', () => {
    const ran = slipway(['pipeline', 'run', 'fraud-detector', '--local', '--env', 'qa']);
    expect(ran.status).toBe(2);
    expect(ran.stderr).toMatch(/--env qa: apps\/main\.ts has no such environment; it has staging, prod, ci/);
  });

  it('fails when the pipeline signs its builds and no signing key is given, before anything runs', () => {
    const env = { ...process.env };
    delete env.SLIPWAY_SIGNING_KEY_FILE;
    delete env.SLIPWAY_SIGNING_KEY;
    const ran = slipway(['pipeline', 'run', 'fraud-detector', '--local', '--source', 'examples/fraud-detector'], env);
    expect(ran.status).toBe(2);
    expect(ran.stderr).toContain('SLIPWAY_E1101');
    expect(ran.stderr).toMatch(/pipeline fraud-detector-training signs its builds: no signing key: .*; pass --signing-key FILE \(create a pair with slipway pipeline keygen\)/);
    expect(ran.stdout).not.toMatch(/^step /m);
  });

  it('fails when the pipeline pushes its model as an OCI artifact (modelRepository), before anything runs', () => {
    const ran = slipway(['pipeline', 'run', 'fraud-detector', '--local', '--app', 'test/pipeline/fixtures/oci-model-app.ts']);
    expect(ran.status, ran.stderr).toBe(2);
    expect(ran.stderr).toContain('SLIPWAY_E0728');
    expect(ran.stderr).toContain('pipeline fraud-detector-training pushes its model as an OCI artifact (modelRepository), which the local runner does not run yet');
    expect(ran.stdout).not.toMatch(/^step /m);
  });

  it('fails without --local, saying where the pipeline runs otherwise', () => {
    const ran = slipway(['pipeline', 'run', 'fraud-detector']);
    expect(ran.status).toBe(2);
    expect(ran.stderr).toMatch(/pass --local/);
  });

  it('fails when buildah and podman are missing, naming their Debian packages, before anything runs', () => {
    // GIVEN a PATH with a shell and git but no container tools
    const bin = mkdtempSync(join(tmpdir(), 'slipway-path-'));
    try {
      for (const tool of ['sh', 'git']) {
        const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
        if (found) symlinkSync(found, join(bin, tool));
      }
      const ran = slipway(['pipeline', 'run', 'fraud-detector', '--local', '--source', 'examples/fraud-detector'], { ...process.env, PATH: bin });
      expect(ran.status).toBe(1);
      expect(ran.stderr).toMatch(/slipway: slipway pipeline run --local needs buildah, podman, mmdebstrap; install the Debian packages buildah podman mmdebstrap/);
      expect(ran.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

const jupyterMissing =
  spawnSync(PYTHON, ['-c', 'import nbconvert, nbclient, ipykernel, sklearn, onnx'], { stdio: 'ignore' }).status === 0
    ? ['buildah', 'podman', 'mmdebstrap'].some((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0)
      ? 'buildah, podman or mmdebstrap are not installed (Debian packages of the same names)'
      : undefined
    : `${PYTHON} lacks Jupyter, scikit-learn or onnx (Debian packages jupyter-nbconvert python3-nbclient python3-ipykernel python3-sklearn python3-onnx)`;

describeWithTools('a failing step of a local run', jupyterMissing, () => {
  const work = mkdtempSync(join(tmpdir(), 'slipway-local-run-'));
  const repo = join(work, 'config-repo');
  const source = join(work, 'fraud-detector');

  beforeAll(() => {
    expect(slipway(['synth', '--repo', repo]).status).toBe(0);
    // GIVEN the example model whose training data lost its rows
    cpSync(join(ROOT, 'examples/fraud-detector'), source, { recursive: true });
    writeFileSync(join(source, 'data/transactions.csv'), 'amount,hour,merchant_risk,distance_km,account_age_days,txn_count_24h,channel,is_fraud\n');
  }, 60_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('stops at the step, names it and its log, and leaves the config repository untouched', () => {
    const before = head(repo);
    // WHEN the pipeline runs locally
    // (the example pipeline signs its builds: any key will do, the run stops long before the release verifies it)
    generateKeyPair(join(work, 'signing.key'), join(work, 'signing.pub'));
    const ran = slipway(['pipeline', 'run', 'fraud-detector', '--local', '--repo', repo, '--source', source, '--signing-key', join(work, 'signing.key')], { ...process.env, TMPDIR: work });
    // THEN the train step fails, by name, with its log, and no later step ran
    expect(ran.status).toBe(1);
    expect(ran.stdout).toMatch(/^step fetch\/clone +ok /m);
    expect(ran.stdout).toMatch(/^step train\/train +FAILED /m);
    expect(ran.stdout).not.toMatch(/^step (evaluate|package|test|release)\//m);
    // the finally task reports the failure
    expect(ran.stdout).toMatch(/^step report\/report +ok /m);
    const log = /log: (\S+train-train\.log)/.exec(ran.stderr)?.[1];
    expect(ran.stderr).toMatch(/slipway: step train\/train failed: notebook .*train\.ipynb failed under (jupyter|papermill)/);
    expect(log && existsSync(log)).toBe(true);
    expect(ran.stderr).toMatch(/nothing was released: the config repository is as it was/);
    // AND the config repository is as it was, and the run's workspace is gone
    expect(head(repo)).toBe(before);
    expect(dirtyFiles(repo)).toBe('');
    expect(readdirSync(work).filter((f) => f.startsWith('slipway-run-fraud-detector-'))).toEqual([]);
  }, 300_000);
});
