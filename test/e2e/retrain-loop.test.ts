import { evaluate } from '@marcbachmann/cel-js';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FRAUD_FEATURES } from '../../lib/onnx/examples.js';
import { runLikeCluster, type RunningContainer } from '../../lib/pipeline/podman.js';
import { generateKeyPair } from '../../lib/supply-chain/keys.js';
import { startLocalRegistry, type LocalRegistry } from '../../lib/supply-chain/local-registry.js';
import { referrers, toolAccessArgs } from '../../lib/supply-chain/registry.js';
import { CONTAINERS_CONF, containerToolsMissing } from '../image/support.js';
import { describeWithTools } from '../support/tools.js';
import { startRepositoryAlerting } from './support/alerting.js';
import { Service, freePort, waitFor } from './support/services.js';

/*
 * The closed loop with nothing stood in: `slipway pipeline run fraud-detector --local` trains v1
 * from the example notebook (Jupyter), packages it (buildah), smoke-tests the image (podman) and
 * releases it into a config repository; the released image (from the release record) serves
 * under podman as the rendered Deployment runs it; a real Prometheus evaluates the DriftMonitor
 * rules from that repository and a real Alertmanager, routed by the repository's AlertmanagerConfig,
 * delivers SlipwayModelDrift to a receiver
 * that accepts exactly what the EventListener's CEL filter accepts and starts the pipeline with
 * trigger=drift on the current (drifted) data; the retrained image serves with its new baseline
 * and the alert resolves. Only the rules' `for:` durations, the route's group waits and the runtime's
 * drift window are shortened so the loop fits in CI.
 *
 * The supply chain is real too (docs/supply-chain.md): each run pushes its image by digest to a
 * real registry (Debian's docker-registry, TLS from a throwaway CA, htpasswd auth), signs the
 * model, the image and its SLSA provenance with a throwaway key and attaches them as OCI
 * referrers; the test step and every served image are pulled by digest from that registry, and
 * every served model is verified by signature (logged, asserted) against the key the app trusts.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/slipway.mjs');
const exec = promisify(execFile);
const MODEL = 'fraud-detector';
const MODEL_PATH = 'examples/fraud-detector';
const PYTHON = '/usr/bin/python3';
process.env.CONTAINERS_CONF = CONTAINERS_CONF;

function toolsMissing(): string | undefined {
  const containers = containerToolsMissing();
  if (containers) return containers;
  const missing = ['prometheus', 'prometheus-alertmanager', 'git'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length > 0) return `not installed: ${missing.join(', ')}`;
  if (spawnSync(PYTHON, ['-c', 'import nbconvert, nbclient, ipykernel, sklearn, onnx'], { stdio: 'ignore' }).status !== 0) {
    return `${PYTHON} lacks Jupyter, scikit-learn or onnx (Debian packages jupyter-nbconvert python3-nbclient python3-ipykernel python3-sklearn python3-onnx)`;
  }
  return undefined;
}

function rows(file: string): number[][] {
  const [header, ...lines] = readFileSync(join(ROOT, 'examples/data', file), 'utf8').trim().split('\n');
  const columns = header!.split(',');
  const index = FRAUD_FEATURES.map((f) => columns.indexOf(f));
  return lines.map((line) => index.map((i) => Number(line.split(',')[i])));
}

async function sendTraffic(baseUrl: string, data: number[][], batch = 50): Promise<void> {
  for (let i = 0; i < data.length; i += batch) {
    const chunk = data.slice(i, i + batch);
    const res = await fetch(`${baseUrl}/v2/models/${MODEL}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [chunk.length, 6], data: chunk.flat() }] }),
    });
    if (res.status !== 200) throw new Error(`inference answered ${res.status}: ${await res.text()}`);
  }
}

async function promQuery(prometheus: Service, query: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}`);
  return ((await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
}

async function driftAlert(prometheus: Service): Promise<{ state: string } | undefined> {
  const res = await fetch(`${prometheus.url}/api/v1/alerts`);
  const alerts = ((await res.json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } }).data.alerts;
  return alerts.find((a) => a.labels.alertname === 'SlipwayModelDrift' && a.labels.model === MODEL);
}

interface PipelineRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of every CLI the test starts: the app trusts the test's public key, steps sign with its private one. */
const supplyChainEnv: Record<string, string> = {};
let registry: LocalRegistry;
let keyId: string;
const registryArgs = () => ['--registry', registry.host, '--registry-cert-dir', registry.certDir, '--registry-auth-file', registry.authFile];

function pipelineRun(args: readonly string[]): Promise<PipelineRun> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, [BIN, 'pipeline', 'run', MODEL, '--local', ...registryArgs(), ...args], { cwd: ROOT, env: { ...process.env, ...supplyChainEnv, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => ok({ code, stdout, stderr }));
  });
}

interface Released {
  readonly version: string;
  readonly imageDigest: string;
  readonly trigger?: string;
  readonly baselineSha256?: string;
  readonly modelSha256: string;
}

describeWithTools('the closed loop for real: notebook, buildah, podman, release, drift alert, retrain, recovery', toolsMissing(), () => {
  const work = mkdtempSync(join(tmpdir(), 'slipway-retrain-loop-'));
  const configRepo = join(work, 'config-repo');
  const source = join(work, 'source');
  const services: Service[] = [];
  const timings: Array<[string, number]> = [];
  const times: Record<string, number> = {};
  let serving: RunningContainer | undefined;
  let prometheus: Service;
  let metricsPort: number;
  let receiver: Server;
  let retrain: Promise<PipelineRun> | undefined;
  const webhooks: Array<{ accepted: boolean; body: unknown }> = [];
  const pulled = new Set<string>();
  let v1: Released;

  /** The signature_verified lines of a served container: which model version, by which key, over which files. */
  async function signaturesVerified(container: RunningContainer): Promise<Array<{ version: string; keyId: string; files: string[] }>> {
    return (await container.logs()).split('\n').filter((l) => l.includes('"signature_verified"')).map((l) => JSON.parse(l) as { version: string; keyId: string; files: string[] });
  }

  const git = (...args: string[]) => exec('git', ['-C', source, '-c', 'user.name=data', '-c', 'user.email=data@acme.example', ...args]);
  const release = (): Released => parse(readFileSync(join(configRepo, 'releases/staging/fraud-detector.yaml'), 'utf8')) as Released;

  /** The released image, pulled by digest from the registry and run as the rendered Deployment runs it (its args and env), under podman like the cluster. */
  async function serveReleased(): Promise<RunningContainer> {
    const deployment = parse(readFileSync(join(configRepo, 'environments/staging/fraud-detector/deployment-fraud-detector.yaml'), 'utf8'));
    const container = deployment.spec.template.spec.containers[0] as { image: string; args: string[]; env: Array<{ name: string; value?: string }> };
    const env = Object.fromEntries(container.env.filter((e) => e.value !== undefined && e.name !== 'SLIPWAY_DRIFT_WEBHOOK_URL').map((e) => [e.name, e.value!]));
    // The pod verifies the model signature with the key the app trusts.
    expect(env.SLIPWAY_TRUSTED_KEYS).toBe(readFileSync(supplyChainEnv.SLIPWAY_TRUSTED_KEYS_FILE!, 'utf8'));
    const image = container.image.replace(/^ghcr\.io\//, `${registry.host}/`);
    pulled.add(image);
    await exec('podman', ['pull', '--quiet', ...toolAccessArgs(registry), image]);
    return runLikeCluster(image, {
      args: container.args,
      env: { ...env, SLIPWAY_DRIFT_SAMPLE_RATE: '1', SLIPWAY_DRIFT_WINDOW_ROWS: '1000', SLIPWAY_DRIFT_INTERVAL_SECONDS: '1' },
      publish: { 9091: metricsPort },
      readyTimeoutMs: 60_000,
    });
  }

  beforeAll(async () => {
    // GIVEN a real registry, and a signing key the app trusts (its public half; the private one signs in the steps)
    registry = await startLocalRegistry({ dir: join(work, 'registry') });
    const key = generateKeyPair(join(work, 'signing.key'), join(work, 'signing.pub'));
    Object.assign(supplyChainEnv, { SLIPWAY_SIGNING_KEY_FILE: join(work, 'signing.key'), SLIPWAY_TRUSTED_KEYS_FILE: join(work, 'signing.pub') });
    keyId = key.keyId;
    // AND the training source in its own Git repository (branch main), and the config repository
    mkdirSync(join(source, MODEL_PATH), { recursive: true });
    cpSync(join(ROOT, MODEL_PATH, 'notebooks'), join(source, MODEL_PATH, 'notebooks'), { recursive: true });
    mkdirSync(join(source, MODEL_PATH, 'data'));
    cpSync(join(ROOT, MODEL_PATH, 'data/transactions.csv'), join(source, MODEL_PATH, 'data/transactions.csv'));
    await exec('git', ['init', '-q', '-b', 'main', source]);
    await git('add', '-A');
    await git('commit', '-q', '-m', 'fraud-detector: training code and data');
    await exec(process.execPath, [BIN, 'synth', '--repo', configRepo], { cwd: ROOT, env: { ...process.env, ...supplyChainEnv, CI: 'true' } });
    metricsPort = await freePort();
  }, 60_000);

  afterAll(async () => {
    await serving?.remove();
    await retrain?.catch(() => undefined);
    // The model images the runs built (the interrupted run's has the retrain's version: same commit).
    const latest = (() => {
      try {
        return release().version;
      } catch {
        return undefined;
      }
    })();
    for (const version of [v1?.version, latest]) {
      if (version) spawnSync('podman', ['rmi', '--force', `ghcr.io/acme/fraud-detector-runtime:${version}`], { stdio: 'ignore' });
    }
    for (const image of pulled) spawnSync('podman', ['rmi', '--force', image], { stdio: 'ignore' });
    await registry?.stop();
    await Promise.all(services.map((s) => s.stop()));
    await new Promise<void>((ok) => (receiver ? receiver.close(() => ok()) : ok()));
    rmSync(work, { recursive: true, force: true });
    console.log(`retrain loop timings:\n${timings.map(([what, ms]) => `  ${what.padEnd(58)} ${(ms / 1000).toFixed(1)} s`).join('\n')}`);
  });

  it('trains v1 from the notebook, packages, tests and releases it with slipway pipeline run --local', async () => {
    const started = performance.now();
    const ran = await pipelineRun(['--repo', configRepo, '--source', source, '--revision', 'main']);
    timings.push(['pipeline run v1 (builds the runtime image unless cached)', performance.now() - started]);
    expect(ran.code, `${ran.stdout}\n${ran.stderr}`).toBe(0);
    // THEN every step of the Pipeline ran, in Tekton's order, each with a duration and outcome
    const steps = [...ran.stdout.matchAll(/^step (\S+) +ok +[\d.]+ s/gm)].map((m) => m[1]);
    expect(steps).toEqual([
      'fetch/clone', 'train/train', 'train/check-outputs', 'evaluate/gates', 'profile/baseline', 'runtime-image', 'package/layout', 'package/sign-model',
      'package/build', 'package/push', 'package/record', 'package/attest', 'test/runtime', 'test/infer', 'release/checkout', 'release/release', 'report/report',
    ]);
    // AND the release record is the build: trained from the source's commit, its image in the registry with its signatures
    v1 = release();
    const head = (await git('rev-parse', 'HEAD')).stdout.trim();
    expect(v1).toMatchObject({ model: MODEL, trigger: 'manual', source: { repository: source, commit: head }, modelLocation: 'image', baselineLocation: 'image' });
    expect(v1.version).toMatch(new RegExp(`-${head.slice(0, 7)}$`));
    const attached = await referrers(`${registry.host}/acme/fraud-detector-runtime`, v1.imageDigest, registry);
    expect(attached.map((a) => a.annotations?.['dev.sigstore.bundle.predicateType']).sort()).toEqual([
      'https://cyclonedx.org/bom', 'https://model_signing/signature/v1.0', 'https://sigstore.dev/cosign/sign/v1', 'https://slsa.dev/provenance/v1',
    ]);
    // AND the release step verified them before it committed; no credential reached the logs or the config repository
    expect(ran.stdout).toMatch(new RegExp(`^step package/attest +ok `, 'm'));
    const password = Buffer.from(JSON.parse(readFileSync(registry.authFile, 'utf8')).auths[registry.host].auth, 'base64').toString().split(':')[1]!;
    const logDir = /logs and outputs: (\S+)/.exec(ran.stdout)![1]!;
    for (const file of readdirSync(logDir, { recursive: true }) as string[]) {
      if (statSync(join(logDir, file)).isFile()) expect(readFileSync(join(logDir, file)).toString(), file).not.toContain(password);
    }
    expect((await exec('git', ['-C', configRepo, 'grep', '-I', '-l', password, 'HEAD']).catch(() => ({ stdout: '' }))).stdout).toBe('');
    expect(readFileSync(join(logDir, 'release-release.log'), 'utf8')).toContain(`verified the image signature, SLSA provenance and model signature of ${MODEL} ${v1.version} (key ${keyId})`);
    expect((await exec('git', ['-C', configRepo, 'log', '-1', '--format=%s'])).stdout.trim()).toBe(`release: fraud-detector ${v1.version} to staging`);
  }, 900_000);

  it('serves the released image; drifted traffic fires SlipwayModelDrift in Prometheus and Alertmanager', async () => {
    const started = performance.now();
    serving = await serveReleased();
    timings.push(['podman run the released image until ready', performance.now() - started]);
    const metadata = (await (await fetch(`${serving.url}/v2/models/${MODEL}`)).json()) as { versions: string[] };
    expect(metadata.versions).toEqual([v1.version]);
    // The served model was verified by signature, with the pipeline's key, over both files
    expect(await signaturesVerified(serving!)).toEqual([expect.objectContaining({ version: v1.version, keyId, files: [`model.onnx=${v1.modelSha256}`, `baseline.json=${v1.baselineSha256}`] })]);

    // A receiver that accepts exactly what the EventListener's drift trigger accepts, and starts the pipeline as its TriggerTemplate would
    const listener = parse(readFileSync(join(configRepo, 'environments/ci/triggers/eventlistener-slipway-training.yaml'), 'utf8'));
    const trigger = listener.spec.triggers.find((t: { name: string }) => t.name === `${MODEL}-drift`);
    const filter = trigger.interceptors.find((i: { ref: { name: string } }) => i.ref.name === 'cel').params.find((p: { name: string }) => p.name === 'filter').value as string;
    const bindings = Object.fromEntries(trigger.bindings.map((b: { name: string; value: string }) => [b.name, b.value])) as Record<string, string>;
    expect(bindings.reason).toBe('drift');
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
        const accepted = evaluate(filter, { body }) === true;
        webhooks.push({ accepted, body });
        if (accepted) times.alertDelivered ??= Date.now();
        if (accepted && !retrain) {
          times.retrainStarted = Date.now();
          retrain = pipelineRun(['--repo', configRepo, '--source', source, '--revision', bindings.revision!, '--param', `trigger=${bindings.reason}`]);
        }
        res.writeHead(accepted ? 202 : 200).end('{}');
      });
    });
    await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
    // Alertmanager routes as the repository's AlertmanagerConfig says, translated as prometheus-operator does
    const alerting = await startRepositoryAlerting({
      dir: work,
      configRepo,
      environment: 'staging',
      model: MODEL,
      webhookUrls: { 'http://el-slipway-training.ml-ci.svc.cluster.local:8080': `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/` },
      targets: [{ address: `127.0.0.1:${metricsPort}`, labels: { namespace: 'ml-staging' } }],
    });
    services.push(alerting.alertmanager, alerting.prometheus);
    prometheus = alerting.prometheus;
    await waitFor('Prometheus to scrape the served image', async () => ((await promQuery(prometheus, `slipway_model_ready{model="${MODEL}"}`))[0]?.value[1] === '1' ? true : undefined), 30_000);

    // GIVEN the data moved: the source's training data is refreshed with the current population
    cpSync(join(ROOT, MODEL_PATH, 'data/transactions-drifted.csv'), join(source, MODEL_PATH, 'data/transactions.csv'));
    await git('commit', '-q', '-am', 'fraud-detector: current transactions');
    // WHEN drifted traffic reaches the served model
    await sendTraffic(serving.url, rows('fraud-drifted.csv'));
    // THEN the alert fires, and Alertmanager's notification passes the CEL filter and starts the retrain
    await waitFor('SlipwayModelDrift to fire', async () => ((await driftAlert(prometheus))?.state === 'firing' ? true : undefined), 60_000);
    times.alertFired = Math.min(Date.now(), times.alertDelivered ?? Infinity);
    await waitFor('the retrain to start from the Alertmanager webhook', async () => (retrain ? true : undefined), 60_000);
    const accepted = webhooks.filter((w) => w.accepted).map((w) => w.body as { status: string; alerts: Array<{ labels: Record<string, string> }> });
    expect(accepted[0]!.status).toBe('firing');
    expect(accepted[0]!.alerts.every((a) => a.labels.model === MODEL)).toBe(true);
  }, 180_000);

  it('retrains with trigger=drift, serves the new build with its new baseline, and the alert resolves', async () => {
    const ran = await retrain!;
    times.retrained = Date.now();
    timings.push(['pipeline run v2 (the retrain)', times.retrained - times.retrainStarted!]);
    expect(ran.code, `${ran.stdout}\n${ran.stderr}`).toBe(0);
    const v2 = release();
    expect(v2.trigger).toBe('drift');
    expect(v2.version).not.toBe(v1.version);
    expect(v2.baselineSha256).toBeDefined();
    expect(v2.baselineSha256).not.toBe(v1.baselineSha256);

    // WHEN the new release is rolled out (as Argo CD would replace the pod)
    await serving!.remove();
    serving = await serveReleased();
    times.newVersionServing = Date.now();
    // THEN it serves v2, having verified the sha256 of its model and new baseline (SLIPWAY_EXPECTED_SHA256 from the Deployment)
    const metadata = (await (await fetch(`${serving.url}/v2/models/${MODEL}`)).json()) as { versions: string[] };
    expect(metadata.versions).toEqual([v2.version]);
    const deployment = readFileSync(join(configRepo, 'environments/staging/fraud-detector/deployment-fraud-detector.yaml'), 'utf8');
    expect(deployment).toContain(v2.baselineSha256!);
    const verified = (await serving.logs()).split('\n').filter((l) => l.includes('"integrity_verified"')).map((l) => JSON.parse(l) as { sha256: string; version: string });
    expect(verified.map((e) => e.sha256).sort()).toEqual([v2.modelSha256, v2.baselineSha256!].sort());
    expect(verified.every((e) => e.version === v2.version)).toBe(true);
    // AND by its signature, made by the pipeline's key over both files
    expect(await signaturesVerified(serving!)).toEqual([expect.objectContaining({ version: v2.version, keyId, files: [`model.onnx=${v2.modelSha256}`, `baseline.json=${v2.baselineSha256}`] })]);

    // AND the same drifted traffic no longer drifts from the new baseline: the gauge falls and the alert resolves
    await sendTraffic(serving.url, rows('fraud-drifted.csv'));
    const verdict = await waitFor('a drift verdict of v2 on a full window', async () => {
      const body = (await (await fetch(`${serving!.url}/v2/models/${MODEL}/drift`)).json()) as { drifted: boolean; insufficientData: boolean; window: { rows: number } };
      return !body.insufficientData && body.window.rows >= 1000 ? body : undefined;
    }, 30_000);
    expect(verdict.drifted).toBe(false);
    const psi = await waitFor('the PSI of v2 in Prometheus', async () => {
      const value = Number((await promQuery(prometheus, `max(slipway_feature_drift_psi{model="${MODEL}",version="${v2.version}"})`))[0]?.value[1]);
      return Number.isFinite(value) ? value : undefined;
    }, 60_000);
    await waitFor('the drift gauge of v2 to stay clear in Prometheus', async () => {
      const detected = await promQuery(prometheus, `slipway_model_drift_detected{model="${MODEL}",version="${v2.version}"}`);
      return detected[0]?.value[1] === '0' ? true : undefined;
    }, 60_000);
    expect(psi).toBeLessThan(0.25);
    await waitFor('SlipwayModelDrift to resolve', async () => ((await driftAlert(prometheus)) === undefined ? true : undefined), 60_000);
    times.alertResolved = Date.now();
    // It stays resolved while v2 serves the drifted population, and Alertmanager holds no active drift alert.
    await new Promise((r) => setTimeout(r, 4_000));
    expect(await driftAlert(prometheus)).toBeUndefined();

    const at = (t: number) => `${((t - times.alertFired!) / 1000).toFixed(1)} s`;
    console.log(
      `retrain loop: alert fired → retrain started ${at(times.retrainStarted!)} → new version serving ${at(times.newVersionServing)} → alert resolved ${at(times.alertResolved)}`,
    );
    expect(times.alertFired! <= times.retrainStarted! + 5_000).toBe(true);
    expect(times.retrainStarted! < times.newVersionServing!).toBe(true);
    expect(times.newVersionServing! < times.alertResolved!).toBe(true);
  }, 900_000);

  it('Ctrl-C during the test step removes its container and the run\'s workspace, and releases nothing', async () => {
    const before = (await exec('git', ['-C', configRepo, 'rev-parse', 'HEAD'])).stdout.trim();
    const scratch = mkdtempSync(join(work, 'tmp-'));
    // GIVEN a local run that has reached the test step: the built image runs under podman
    const child = spawn(process.execPath, [BIN, 'pipeline', 'run', MODEL, '--local', ...registryArgs(), '--repo', configRepo, '--source', source, '--revision', 'main'], {
      cwd: ROOT,
      env: { ...process.env, ...supplyChainEnv, CI: 'true', TMPDIR: scratch },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((ok) => child.on('close', (code) => ok(code)));
    const runContainers = () => spawnSync('podman', ['ps', '--all', '--format', '{{.Names}}'], { encoding: 'utf8' }).stdout.split('\n').filter((n) => n.startsWith('slipway-fraud-detector-training-local-'));
    const seen = await waitFor('the test step\'s container', async () => (runContainers().length > 0 ? runContainers() : undefined), 300_000, 100);
    expect(readdirSync(scratch).some((f) => f.startsWith('slipway-run-fraud-detector-'))).toBe(true);
    // WHEN the user presses Ctrl-C (SIGINT to the CLI)
    child.kill('SIGINT');
    // THEN the run stops with 130, its container and workspace are gone, and the config repository is unchanged
    expect(await exited, output).toBe(130);
    expect(output).toMatch(/SIGINT: stopping the run/);
    expect(runContainers().filter((n) => seen.includes(n))).toEqual([]);
    expect(readdirSync(scratch).filter((f) => f.startsWith('slipway-run-fraud-detector-'))).toEqual([]);
    expect((await exec('git', ['-C', configRepo, 'rev-parse', 'HEAD'])).stdout.trim()).toBe(before);
    expect((await exec('git', ['-C', configRepo, 'status', '--porcelain'])).stdout.trim()).toBe('');
  }, 400_000);
});
