import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { mlpModel } from '../../lib/onnx/builders.js';
import { FRAUD_FEATURES, fraudDetectorModel } from '../../lib/onnx/examples.js';
import { startRepositoryAlerting } from './support/alerting.js';
import { Service, WebhookReceiver, freePort, startProcess, waitFor } from './support/services.js';

/*
 * The whole loop on one machine, as a platform team would try it: compile the example platform
 * into a config repository, serve the example model with its baseline, let a real Prometheus
 * evaluate the PrometheusRule from that repository and a real Alertmanager deliver its alert
 * along the repository's AlertmanagerConfig route,
 * then release a retrained model and promote it. Only the `for:` durations of the rules and the
 * route's group waits are shortened (to seconds) so the test fits in its time budget.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/slipway.mjs');
const exec = promisify(execFile);
const MODEL = 'fraud-detector';
const VERSION = '1.3.0';
/** The example platform's EventListener (apps/ci.ts), where the repository routes retraining alerts. */
const EVENT_LISTENER = 'http://el-slipway-training.ml-ci.svc.cluster.local:8080';

async function slipway(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return exec(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, CI: 'true' }, maxBuffer: 16 * 1024 * 1024 });
}

/** Rows of an example CSV, in the model's feature order. */
function rows(file: string): number[][] {
  const [header, ...lines] = readFileSync(join(ROOT, 'examples/data', file), 'utf8').trim().split('\n');
  const columns = header!.split(',');
  const index = FRAUD_FEATURES.map((f) => columns.indexOf(f));
  return lines.map((line) => {
    const cells = line.split(',');
    return index.map((i) => Number(cells[i]));
  });
}

async function sendTraffic(baseUrl: string, data: number[][], batch = 50): Promise<void> {
  for (let i = 0; i < data.length; i += batch) {
    const chunk = data.slice(i, i + batch);
    const res = await fetch(`${baseUrl}/v2/models/${MODEL}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: `e2e-${i}`, inputs: [{ name: 'features', datatype: 'FP32', shape: [chunk.length, 6], data: chunk.flat() }] }),
    });
    if (res.status !== 200) throw new Error(`inference answered ${res.status}: ${await res.text()}`);
  }
}

async function promQuery(prometheus: Service, query: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  return body.data.result;
}

async function alerts(prometheus: Service): Promise<Array<{ labels: Record<string, string>; state: string }>> {
  const res = await fetch(`${prometheus.url}/api/v1/alerts`);
  return ((await res.json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } }).data.alerts;
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

describe('the closed loop: serve, drift, alert, release, promote', () => {
  const work = mkdtempSync(join(tmpdir(), 'slipway-e2e-'));
  const configRepo = join(work, 'config-repo');
  const receiver = new WebhookReceiver();
  const services: Service[] = [];
  let runtime: Service;
  let prometheus: Service;

  beforeAll(async () => {
    await receiver.start();
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await receiver.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('compiles the example platform with npm start', async () => {
    const { stdout } = await exec('npm', ['start', '--silent', '--', '--repo', configRepo], { cwd: ROOT, env: { ...process.env, CI: 'true' } });
    expect(stdout).toMatch(/^staging +fraud-detector +\d+ +1\.3\.0 /m);
    expect(stdout).toMatch(/^prod +fraud-detector +\d+ +1\.3\.0 /m);
    expect(stdout).toMatch(/commit [0-9a-f]{40}/);
  });

  it('serves the model with its baseline, as the packaging pipeline lays it out', async () => {
    // GIVEN /models/<name>/<version>/{model.onnx,baseline.json}
    const versionDir = join(work, 'models', MODEL, VERSION);
    mkdirSync(versionDir, { recursive: true });
    copyFileSync(join(ROOT, 'examples/model-repository/fraud-detector/1/model.onnx'), join(versionDir, 'model.onnx'));
    copyFileSync(join(ROOT, 'examples/model-repository/fraud-detector/1/baseline.json'), join(versionDir, 'baseline.json'));
    // WHEN the runtime serves it, posting sustained drift to the stand-in EventListener
    const port = await freePort();
    const metricsPort = await freePort();
    runtime = startProcess('runtime', `http://127.0.0.1:${port}`, process.execPath, [
      BIN, 'serve', '--model-repository', join(work, 'models'), '--port', String(port), '--metrics-port', String(metricsPort),
    ], {
      ...process.env,
      SLIPWAY_DRIFT_WEBHOOK_URL: `${receiver.url}/runtime`,
      SLIPWAY_DRIFT_SAMPLE_RATE: '1',
      SLIPWAY_DRIFT_WINDOW_ROWS: '1000',
      SLIPWAY_DRIFT_INTERVAL_SECONDS: '1',
      SLIPWAY_DRIFT_SUSTAIN_SECONDS: '3',
      SLIPWAY_DRIFT_COOLDOWN_SECONDS: '3600',
    });
    services.push(runtime);
    // THEN it becomes ready and its metadata comes from the ONNX session
    await waitFor('the runtime to be ready', async () => {
      if (runtime.exited) throw new Error(`runtime exited:\n${runtime.log}`);
      return (await fetch(`${runtime.url}/v2/health/ready`)).ok ? true : undefined;
    }, 30_000, 200);
    const metadata = (await (await fetch(`${runtime.url}/v2/models/${MODEL}`)).json()) as { versions: string[]; inputs: unknown[] };
    expect(metadata.versions).toEqual([VERSION]);
    expect(metadata.inputs).toEqual([{ name: 'features', datatype: 'FP32', shape: [-1, 6] }]);

    // AND a real Prometheus scrapes it with the rules from the config repository, and a real
    // Alertmanager routes as the repository's AlertmanagerConfig says (translated as the operator does);
    // the ServiceMonitor's scrape adds the namespace label, a static target says it itself
    const alerting = await startRepositoryAlerting({
      dir: work,
      configRepo,
      environment: 'staging',
      model: MODEL,
      webhookUrls: { [EVENT_LISTENER]: `${receiver.url}/alertmanager` },
      targets: [{ address: `127.0.0.1:${metricsPort}`, labels: { namespace: 'ml-staging' } }],
    });
    services.push(alerting.alertmanager, alerting.prometheus);
    prometheus = alerting.prometheus;
    await waitFor('Prometheus to scrape the runtime', async () => ((await promQuery(prometheus, 'slipway_model_ready{model="fraud-detector"}'))[0]?.value[1] === '1' ? true : undefined), 30_000);
  }, 90_000);

  it('raises no drift alert for traffic from the training distribution', async () => {
    // WHEN in-distribution traffic fills the drift window
    await sendTraffic(runtime.url, rows('fraud-current.csv'));
    // THEN the runtime evaluates it and finds no drift
    const snapshot = await waitFor('a drift verdict on the window', async () => {
      const body = (await (await fetch(`${runtime.url}/v2/models/${MODEL}/drift`)).json()) as { drifted: boolean; insufficientData: boolean; window: { rows: number } };
      return !body.insufficientData && body.window.rows >= 1000 ? body : undefined;
    }, 20_000);
    expect(snapshot.drifted).toBe(false);
    // AND Prometheus, having scraped it for a while, holds no drift alert
    await waitFor('Prometheus to see the verdict', async () => ((await promQuery(prometheus, 'slipway_model_drift_detected{model="fraud-detector"}'))[0]?.value[1] === '0' ? true : undefined), 15_000);
    await new Promise((r) => setTimeout(r, 4_000));
    expect((await alerts(prometheus)).filter((a) => a.labels.alertname?.startsWith('SlipwayFeatureDrift') || a.labels.alertname === 'SlipwayModelDrift')).toEqual([]);
    expect(receiver.received).toEqual([]);
  }, 60_000);

  it('fires the drift alert through Prometheus and Alertmanager, and the runtime trigger once', async () => {
    // WHEN drifted traffic replaces the window
    await sendTraffic(runtime.url, rows('fraud-drifted.csv'));
    // THEN the drift gauges rise
    const psi = await waitFor('the PSI gauge to rise', async () => {
      const result = await promQuery(prometheus, 'max(slipway_feature_drift_psi{model="fraud-detector"})');
      const value = Number(result[0]?.value[1]);
      return value >= 0.2 ? value : undefined;
    }, 20_000);
    expect(psi).toBeGreaterThanOrEqual(0.2);
    // AND the alert fires in Prometheus and Alertmanager delivers it with the model's name
    await waitFor('SlipwayModelDrift to fire', async () => ((await alerts(prometheus)).some((a) => a.labels.alertname === 'SlipwayModelDrift' && a.state === 'firing') ? true : undefined), 30_000);
    const delivered = await waitFor('Alertmanager to deliver the drift alert', async () => {
      const hit = receiver.on('/alertmanager').find((w) => w.body.alerts?.some((a) => a.labels?.alertname === 'SlipwayModelDrift'));
      return hit;
    }, 30_000);
    expect(delivered.body.status).toBe('firing');
    expect(delivered.body.alerts?.find((a) => a.labels?.alertname === 'SlipwayModelDrift')?.labels?.model).toBe(MODEL);
    // AND the runtime's own trigger posts once, and its cooldown holds while drift goes on
    const first = await waitFor('the runtime webhook', async () => receiver.on('/runtime')[0], 20_000);
    expect(first.body.status).toBe('firing');
    expect(first.body.alerts?.[0]?.labels?.model).toBe(MODEL);
    await sendTraffic(runtime.url, rows('fraud-drifted.csv').slice(0, 500));
    await new Promise((r) => setTimeout(r, 5_000));
    expect(receiver.on('/runtime')).toHaveLength(1);
  }, 90_000);

  it('releases a retrained model to staging after previewing it, then promotes it to prod', async () => {
    // GIVEN a retrained model (the same network, its output layer refitted)
    const original = fraudDetectorModel();
    const layers = original.layers.map((layer, i) => (i === 1 ? { ...layer, weight: layer.weight.map((w) => w * 1.25) } : layer));
    const retrained = mlpModel({ sizes: [6, 4, 2], layers, softmax: true, inputName: 'features', outputName: 'probability' });
    writeFileSync(join(work, 'model-1.4.0.onnx'), retrained.bytes);
    const artifactSha = sha256(retrained.bytes);
    expect(artifactSha).not.toBe(sha256(original.bytes));
    // The packaging pipeline would push an image; its digest stands in as a hash of what it holds.
    const imageDigest = `sha256:${sha256(`runtime image with ${artifactSha}`)}`;
    // The package step's build record: the model baked into that image.
    const buildFile = join(work, 'build.json');
    writeFileSync(buildFile, JSON.stringify({ model: MODEL, version: '1.4.0', modelSha256: artifactSha, modelLocation: 'image', imageDigest, trigger: 'drift' }));
    const release = ['--repo', configRepo, '--env', 'staging', '--model', MODEL, '--build', buildFile];

    // WHEN the release is previewed
    const preview = await slipway('release', '--dry-run', ...release);
    // THEN the diff switches staging to the build (besides the new model card, a patch of its
    // own), and no added line names the old artifact
    const changed = preview.stdout
      .split(/(?=^--- )/m)
      .filter((p) => !p.includes('+++ b/releases/staging/fraud-detector.md'))
      .join('')
      .split('\n')
      .filter((l) => /^[-+][^-+]/.test(l));
    expect(changed).toContain(`+modelSha256: ${artifactSha}`);
    expect(changed.filter((l) => l.startsWith('+') && /1\.3\.0/.test(l))).toEqual([]);
    expect(changed).toContainEqual(expect.stringMatching(new RegExp(`^\\+ +image: ghcr\\.io/acme/fraud-detector-runtime@${imageDigest}$`)));
    expect(preview.stdout.match(/^\+\+\+ b\/(\S+)/gm)?.every((f) => /environments\/staging\/fraud-detector\/|releases\/staging\//.test(f))).toBe(true);

    // WHEN it is released and promoted
    const released = await slipway('release', ...release);
    expect(released.stdout).toMatch(/^staging +fraud-detector +\d+ +1\.4\.0 /m);
    const promoted = await slipway('promote', '--repo', configRepo, '--model', MODEL, '--from', 'staging', '--to', 'prod');
    expect(promoted.stdout).toMatch(/^prod +fraud-detector +\d+ +1\.4\.0 /m);

    // THEN both commits landed, prod runs the new build, and the repository is sound
    const log = await exec('git', ['-C', configRepo, 'log', '--format=%s']);
    expect(log.stdout.split('\n').slice(0, 2)).toEqual(['promote: fraud-detector 1.4.0 from staging to prod', 'release: fraud-detector 1.4.0 to staging']);
    const prodDeployment = parse(readFileSync(join(configRepo, 'environments/prod/fraud-detector/deployment-fraud-detector.yaml'), 'utf8'));
    expect(prodDeployment.spec.template.spec.containers[0].image).toBe(`ghcr.io/acme/fraud-detector-runtime@${imageDigest}`);
    expect(prodDeployment.spec.template.metadata.annotations['slipway.dev/model-sha256']).toBe(artifactSha);
    const runtimeEnv = prodDeployment.spec.template.spec.containers[0].env;
    expect(runtimeEnv).toContainEqual({ name: 'SLIPWAY_EXPECTED_SHA256', value: JSON.stringify({ [MODEL]: { 'model.onnx': artifactSha } }) });
    await exec('git', ['-C', configRepo, 'fsck', '--strict']);
    const history = await slipway('history', '--repo', configRepo, '--model', MODEL);
    expect(history.stdout).toMatch(/fraud-detector in prod:[\s\S]*1\.4\.0/);
  }, 90_000);
});
