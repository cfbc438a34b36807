import { evaluate } from '@marcbachmann/cel-js';
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
import { alertmanagerConfigsIn } from './support/alertmanager-config.js';
import { startRepositoryAlerting } from './support/alerting.js';
import { manifestsIn } from './support/config-repo.js';
import { Service, WebhookReceiver, freePort, startProcess, startPrometheus, waitFor } from './support/services.js';

/*
 * Model quality as a loop, nothing stood in but the cluster: the example platform compiled into
 * a config repository, a build released with its gate metrics, the real runtime serving it, a
 * real Prometheus evaluating the repository's PrometheusRule and a real Alertmanager routing by
 * the repository's AlertmanagerConfig (translated as prometheus-operator does). Labelled traffic
 * through the feedback endpoint drives the live ROC AUC; when the labels turn (concept drift),
 * it falls below the build's own gate, SlipwayModelPerformance fires, Alertmanager delivers it to
 * the EventListener's address, its performance trigger accepts it, and the TriggerTemplate's
 * PipelineRun carries trigger=performance into the retrained build, which goes in as the
 * challenger: the champion mirrors its traffic and feedback to it, and `slipway promote
 * --challenger` reads both live AUCs from Prometheus and promotes it, the numbers in the record
 * and the model card. Only `for:` durations and the route's group waits are shortened.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/slipway.mjs');
const exec = promisify(execFile);
const MODEL = 'fraud-detector';
const EVENT_LISTENER = 'http://el-slipway-training.ml-ci.svc.cluster.local:8080';
/** The build's gate metric: the example model scores a live ROC AUC near 0.77 on the current population. */
const GATE_AUC = 0.78;
/** Where the champion's Deployment mirrors to: the challenger's Service. */
const CHALLENGER_SERVICE = 'http://fraud-detector-challenger.ml-staging.svc:8080';

/**
 * The retrained model once the labels turned: the example network with its output classes
 * swapped, which is what refitting its output layer to the turned labels arrives at.
 */
function turnedModel(): Uint8Array {
  const original = fraudDetectorModel();
  const layers = original.layers.map((layer, i) => {
    if (i !== original.layers.length - 1) return layer;
    const weight = Float32Array.from(layer.weight, (_, k) => layer.weight[k % 2 === 0 ? k + 1 : k - 1]!);
    return { ...layer, weight, bias: Float32Array.of(layer.bias[1]!, layer.bias[0]!) };
  });
  return mlpModel({ sizes: [6, 4, 2], layers, softmax: true, inputName: 'features', outputName: 'probability' }).bytes;
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

async function slipway(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return exec(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, CI: 'true' }, maxBuffer: 16 * 1024 * 1024 });
}

/** Rows of an example CSV in the model's feature order, with the observed label. */
function labelled(file: string): Array<{ features: number[]; label: number }> {
  const [header, ...lines] = readFileSync(join(ROOT, 'examples/data', file), 'utf8').trim().split('\n');
  const columns = header!.split(',');
  const index = FRAUD_FEATURES.map((f) => columns.indexOf(f));
  const label = columns.indexOf('is_fraud');
  return lines.map((line) => {
    const cells = line.split(',');
    return { features: index.map((i) => Number(cells[i])), label: Number(cells[label]) };
  });
}

/** Infers each batch under a request id, then posts its labels to the feedback endpoint. */
async function labelledTraffic(baseUrl: string, rows: ReadonlyArray<{ features: number[]; label: number }>, tag: string, flip = false, batch = 50): Promise<void> {
  for (let i = 0; i < rows.length; i += batch) {
    const chunk = rows.slice(i, i + batch);
    const id = `${tag}-${i}`;
    const res = await fetch(`${baseUrl}/v2/models/${MODEL}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, inputs: [{ name: 'features', datatype: 'FP32', shape: [chunk.length, 6], data: chunk.flatMap((r) => r.features) }] }),
    });
    if (res.status !== 200) throw new Error(`inference answered ${res.status}: ${await res.text()}`);
    const feedback = await fetch(`${baseUrl}/v2/models/${MODEL}/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, label: chunk.map((r) => (flip ? 1 - r.label : r.label)) }),
    });
    if (!feedback.ok) throw new Error(`feedback answered ${feedback.status}: ${await feedback.text()}`);
  }
}

async function promValue(prometheus: Service, query: string): Promise<number | undefined> {
  const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const value = ((await res.json()) as { data: { result: Array<{ value: [number, string] }> } }).data.result[0]?.value[1];
  return value === undefined ? undefined : Number(value);
}

async function alerts(prometheus: Service, name: string): Promise<Array<{ labels: Record<string, string>; state: string }>> {
  const res = await fetch(`${prometheus.url}/api/v1/alerts`);
  return ((await res.json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } }).data.alerts.filter((a) => a.labels.alertname === name);
}

/** What Tekton Triggers creates: the TriggerTemplate's resource with `$(tt.params.x)` replaced by the bindings. */
function renderTemplate(template: Record<string, any>, params: Record<string, string>): Record<string, any> {
  const defaults = Object.fromEntries((template.spec.params as Array<{ name: string; default?: string }>).map((p) => [p.name, p.default ?? '']));
  const values = { ...defaults, ...params };
  return JSON.parse(JSON.stringify(template.spec.resourcetemplates[0]).replace(/\$\(tt\.params\.([a-z0-9-]+)\)/g, (_, name: string) => values[name] ?? ''));
}

describe('model quality: the performance alert retrains with trigger=performance, and the retrained challenger is promoted on live evidence', () => {
  const work = mkdtempSync(join(tmpdir(), 'slipway-quality-'));
  const configRepo = join(work, 'config-repo');
  const receiver = new WebhookReceiver();
  const services: Service[] = [];
  let runtime: Service;
  let prometheus: Service;
  const modelBytes = readFileSync(join(ROOT, 'examples/model-repository/fraud-detector/1/model.onnx'));
  const baselineBytes = readFileSync(join(ROOT, 'examples/model-repository/fraud-detector/1/baseline.json'));
  const challengerModel = turnedModel();
  let runTriggerSeen: string | undefined;

  beforeAll(async () => {
    await receiver.start();
    await slipway('synth', '--repo', configRepo);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await receiver.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('releases a build with its gate metrics: the repository alerts below them and routes the alert to the EventListener', async () => {
    // GIVEN the build record of the served model, gated at AUC 0.78
    const build = join(work, 'build-1.3.0.json');
    writeFileSync(build, JSON.stringify({
      model: MODEL, version: '1.3.0', modelSha256: sha256(modelBytes), modelLocation: 'image', baselineSha256: sha256(baselineBytes), baselineLocation: 'image',
      imageDigest: `sha256:${sha256('runtime image 1.3.0')}`, metrics: { auc: GATE_AUC, recall_at_1pct_fpr: 0.3 }, trigger: 'push',
    }));
    // WHEN it is released to staging
    await slipway('release', '--repo', configRepo, '--env', 'staging', '--model', MODEL, '--build', build);
    // THEN the PrometheusRule holds the build's AUC minus the tolerance, and the AlertmanagerConfig routes to the listener
    const rule = manifestsIn(configRepo, 'staging', 'PrometheusRule').find((m) => m.metadata.name === MODEL)!;
    const performance = rule.spec.groups.find((g: { name: string }) => g.name === `${MODEL}.performance`);
    expect(performance.rules.map((r: { alert: string; expr: string }) => [r.alert, r.expr.split(' and ')[0]])).toEqual([
      ['SlipwayModelPerformance', `max by (namespace, model, version) (slipway_model_roc_auc{model="${MODEL}",namespace="ml-staging"}) < 0.73`],
    ]);
    const [route] = alertmanagerConfigsIn(configRepo, 'staging').filter((c) => c.metadata.name === MODEL);
    expect(route!.spec.receivers?.[0]?.webhookConfigs?.[0]?.url).toBe(EVENT_LISTENER);
  }, 120_000);

  it('serves the build; labelled traffic from the training population keeps the live AUC above the gate', async () => {
    const versionDir = join(work, 'models', MODEL, '1.3.0');
    mkdirSync(versionDir, { recursive: true });
    copyFileSync(join(ROOT, 'examples/model-repository/fraud-detector/1/model.onnx'), join(versionDir, 'model.onnx'));
    copyFileSync(join(ROOT, 'examples/model-repository/fraud-detector/1/baseline.json'), join(versionDir, 'baseline.json'));
    const port = await freePort();
    const metricsPort = await freePort();
    runtime = startProcess('runtime', `http://127.0.0.1:${port}`, process.execPath, [
      BIN, 'serve', '--model-repository', join(work, 'models'), '--port', String(port), '--metrics-port', String(metricsPort), '--grpc-port', '0',
    ], { ...process.env, SLIPWAY_DRIFT_SAMPLE_RATE: '1', SLIPWAY_DRIFT_INTERVAL_SECONDS: '1' });
    services.push(runtime);
    await waitFor('the runtime to be ready', async () => {
      if (runtime.exited) throw new Error(`runtime exited:\n${runtime.log}`);
      return (await fetch(`${runtime.url}/v2/health/ready`)).ok ? true : undefined;
    }, 30_000, 200);

    const alerting = await startRepositoryAlerting({
      dir: work,
      configRepo,
      environment: 'staging',
      model: MODEL,
      webhookUrls: { [EVENT_LISTENER]: `${receiver.url}/listener` },
      targets: [{ address: `127.0.0.1:${metricsPort}`, labels: { namespace: 'ml-staging' } }],
    });
    services.push(alerting.alertmanager, alerting.prometheus);
    prometheus = alerting.prometheus;

    // WHEN 2000 rows of the current population are served and labelled with what happened
    await labelledTraffic(runtime.url, labelled('fraud-current.csv'), 'true');
    // THEN Prometheus reads the live AUC over the last 1000 labels, above the gate, and a CBPE estimate
    const auc = await waitFor('the live ROC AUC over a full window', async () => {
      const samples = await promValue(prometheus, `slipway_model_feedback_samples{model="${MODEL}"}`);
      return samples === 1000 ? promValue(prometheus, `slipway_model_roc_auc{model="${MODEL}",version="1.3.0"}`) : undefined;
    }, 30_000);
    expect(auc).toBeGreaterThan(0.73);
    const estimated = await promValue(prometheus, `slipway_model_estimated_accuracy{model="${MODEL}"}`);
    const stddev = await promValue(prometheus, `slipway_model_estimated_accuracy_stddev{model="${MODEL}"}`);
    expect(estimated).toBeGreaterThan(0);
    expect(estimated).toBeLessThanOrEqual(1);
    expect(stddev).toBeGreaterThan(0);
    // AND no performance alert is pending or firing
    await new Promise((r) => setTimeout(r, 4_000));
    expect(await alerts(prometheus, 'SlipwayModelPerformance')).toEqual([]);
    expect(receiver.on('/listener')).toEqual([]);
  }, 120_000);

  it('fires SlipwayModelPerformance when the labels turn, and the EventListener\'s performance trigger starts a run with trigger=performance', async () => {
    // WHEN the same population arrives but what happened turned around (concept drift: the inputs do not move)
    await labelledTraffic(runtime.url, labelled('fraud-current.csv'), 'turned', true);
    // THEN the live AUC falls below the build's gate minus the tolerance, and the alert fires
    await waitFor('the live AUC to fall', async () => {
      const value = await promValue(prometheus, `slipway_model_roc_auc{model="${MODEL}",version="1.3.0"}`);
      return value !== undefined && value < 0.73 ? value : undefined;
    }, 30_000);
    await waitFor('SlipwayModelPerformance to fire', async () => ((await alerts(prometheus, 'SlipwayModelPerformance')).some((a) => a.state === 'firing') ? true : undefined), 30_000);
    // AND Alertmanager delivers it along the repository's route, to the listener's address
    const delivered = await waitFor('Alertmanager to deliver the performance alert', async () => receiver.on('/listener').find((w) => w.body.alerts?.some((a) => a.labels?.alertname === 'SlipwayModelPerformance')), 30_000);
    const body = delivered.body as { status: string; receiver: string; alerts: Array<{ labels: Record<string, string> }> };
    expect(body.receiver).toBe(`ml-staging/${MODEL}/retrain`);
    expect(body.alerts[0]!.labels).toMatchObject({ model: MODEL, namespace: 'ml-staging', version: '1.3.0', metric: 'auc', trigger: 'performance' });

    // AND the EventListener's performance trigger accepts it, its drift trigger does not
    const listener = manifestsIn(configRepo, 'ci', 'EventListener')[0]!;
    const trigger = (name: string) => listener.spec.triggers.find((t: { name: string }) => t.name === name);
    const accepts = (name: string) => evaluate(trigger(name).interceptors[0].params.find((p: { name: string }) => p.name === 'filter').value, { body }) === true;
    expect(accepts(`${MODEL}-performance`)).toBe(true);
    expect(accepts(`${MODEL}-drift`)).toBe(false);
    // AND the PipelineRun its TriggerTemplate creates records trigger=performance
    const bindings = Object.fromEntries(trigger(`${MODEL}-performance`).bindings.map((b: { name: string; value: string }) => [b.name, b.value])) as Record<string, string>;
    const template = manifestsIn(configRepo, 'ci', 'TriggerTemplate').find((t) => t.metadata.name === trigger(`${MODEL}-performance`).template.ref)!;
    const run = renderTemplate(template, bindings);
    expect(run.kind).toBe('PipelineRun');
    expect(run.metadata.labels['slipway.dev/trigger']).toBe('performance');
    const runTrigger = run.spec.params.find((p: { name: string }) => p.name === 'trigger').value as string;
    expect(runTrigger).toBe('performance');

    // WHEN the retrained build (its record carries the run's trigger) goes in as the challenger
    runTriggerSeen = runTrigger;
    const versionDir = join(work, 'challenger-models', MODEL, '1.4.0');
    mkdirSync(versionDir, { recursive: true });
    writeFileSync(join(versionDir, 'model.onnx'), challengerModel);
    copyFileSync(join(ROOT, 'examples/model-repository/fraud-detector/1/baseline.json'), join(versionDir, 'baseline.json'));
    const retrained = join(work, 'build-1.4.0.json');
    writeFileSync(retrained, JSON.stringify({
      model: MODEL, version: '1.4.0', modelSha256: sha256(challengerModel), modelLocation: 'image', baselineSha256: sha256(baselineBytes), baselineLocation: 'image',
      imageDigest: `sha256:${sha256('runtime image 1.4.0')}`, metrics: { auc: GATE_AUC }, trigger: runTrigger,
    }));
    await slipway('release', '--challenger', '--repo', configRepo, '--env', 'staging', '--model', MODEL, '--build', retrained);
    // THEN the record keeps the champion and names the challenger, which the repository serves beside it
    expect(parse(readFileSync(join(configRepo, 'releases/staging/fraud-detector.yaml'), 'utf8'))).toMatchObject({ version: '1.3.0', challenger: { version: '1.4.0', trigger: 'performance' } });
    const deployments = manifestsIn(configRepo, 'staging', 'Deployment');
    const champion = deployments.find((d) => d.metadata.name === MODEL)!;
    expect(champion.spec.template.spec.containers[0].env).toContainEqual({ name: 'SLIPWAY_MIRROR_URL', value: CHALLENGER_SERVICE });
    expect(deployments.find((d) => d.metadata.name === `${MODEL}-challenger`)!.spec.template.metadata.annotations['slipway.dev/model-sha256']).toBe(sha256(challengerModel));
  }, 120_000);

  it('mirrors traffic to the challenger, and promote --challenger makes it champion on the evidence in Prometheus, into the record and the model card', async () => {
    // GIVEN the champion restarted as its Deployment now runs it (mirroring to the challenger's Service), and the challenger serving
    const challengerPort = await freePort();
    const challengerMetrics = await freePort();
    const challenger = startProcess('challenger', `http://127.0.0.1:${challengerPort}`, process.execPath, [
      BIN, 'serve', '--model-repository', join(work, 'challenger-models'), '--port', String(challengerPort), '--metrics-port', String(challengerMetrics), '--grpc-port', '0',
    ], { ...process.env, SLIPWAY_DRIFT_INTERVAL_SECONDS: '1' });
    services.push(challenger);
    await runtime.stop();
    const port = await freePort();
    const metricsPort = await freePort();
    runtime = startProcess('champion', `http://127.0.0.1:${port}`, process.execPath, [
      BIN, 'serve', '--model-repository', join(work, 'models'), '--port', String(port), '--metrics-port', String(metricsPort), '--grpc-port', '0',
    ], { ...process.env, SLIPWAY_DRIFT_INTERVAL_SECONDS: '1', SLIPWAY_MIRROR_URL: challenger.url });
    services.push(runtime);
    for (const r of [runtime, challenger]) {
      await waitFor(`${r.name} to be ready`, async () => {
        if (r.exited) throw new Error(`${r.name} exited:\n${r.log}`);
        return (await fetch(`${r.url}/v2/health/ready`)).ok ? true : undefined;
      }, 30_000, 200);
    }
    // AND a Prometheus scraping both, the challenger with the target label its ServiceMonitor adds
    const monitor = manifestsIn(configRepo, 'staging', 'ServiceMonitor').find((m) => m.metadata.name === `${MODEL}-challenger`)!;
    const relabel = monitor.spec.endpoints[0].relabelings[0] as { targetLabel: string; replacement: string };
    await prometheus.stop();
    prometheus = await startPrometheus({
      dir: join(work, 'prometheus-challenger'),
      alertmanagerUrl: 'http://127.0.0.1:9',
      targets: [
        { address: `127.0.0.1:${metricsPort}`, labels: { namespace: 'ml-staging' } },
        { address: `127.0.0.1:${challengerMetrics}`, labels: { namespace: 'ml-staging', [relabel.targetLabel]: relabel.replacement } },
      ],
      ruleGroups: [],
    });
    services.push(prometheus);

    // WHEN labelled traffic (the turned population) reaches the champion only
    await labelledTraffic(runtime.url, labelled('fraud-current.csv'), 'mirrored', true);
    // THEN callers got the champion's answers, and both versions measured the same 1000 labels
    const samples = (version: string) => promValue(prometheus, `slipway_model_feedback_samples{model="${MODEL}",version="${version}"}`);
    await waitFor('both versions to have a full labelled window', async () => ((await samples('1.3.0')) === 1000 && (await samples('1.4.0')) === 1000 ? true : undefined), 30_000);
    expect(await promValue(prometheus, `max(slipway_model_roc_auc{model="${MODEL}",version="1.4.0",slipway_role="challenger"})`)).toBeGreaterThan(0.73);

    // WHEN promotion asks for more than the challenger wins by
    const head = (await exec('git', ['-C', configRepo, 'rev-parse', 'HEAD'])).stdout;
    const refused = await exec(process.execPath, [BIN, 'promote', '--challenger', '--repo', configRepo, '--env', 'staging', '--model', MODEL, '--prometheus-url', prometheus.url, '--metric', 'auc', '--margin', '0.9'], { cwd: ROOT }).catch((e: { code: number; stderr: string }) => e);
    // THEN it exits 1 naming both values, and writes nothing
    expect((refused as { code: number }).code).toBe(1);
    expect((refused as { stderr: string }).stderr).toMatch(/fraud-detector 1\.4\.0 stays the challenger in 'staging': the challenger does not beat the champion by the margin: auc champion 0\.\d+ \(1000 labels\), challenger 0\.\d+ \(1000 labels\), margin 0\.9/);
    expect((await exec('git', ['-C', configRepo, 'rev-parse', 'HEAD'])).stdout).toBe(head);

    // WHEN it is promoted with a margin it beats
    const promoted = await slipway('promote', '--challenger', '--repo', configRepo, '--env', 'staging', '--model', MODEL, '--prometheus-url', prometheus.url, '--metric', 'auc', '--margin', '0.05');
    expect(promoted.stdout).toMatch(/^challenger wins on auc: 0\.\d+ \(1000 labels\) vs champion 1\.3\.0 0\.\d+ \(1000 labels\), margin 0\.05$/m);
    // THEN the record is the challenger's build with the decision and its numbers, and no challenger remains
    const record = parse(readFileSync(join(configRepo, 'releases/staging/fraud-detector.yaml'), 'utf8'));
    expect(record).toMatchObject({ version: '1.4.0', trigger: runTriggerSeen, modelSha256: sha256(challengerModel), challengerDecision: { replaced: '1.3.0', metric: 'auc', margin: 0.05, samples: { champion: 1000, challenger: 1000 }, source: prometheus.url } });
    expect(record.challengerDecision.challenger - record.challengerDecision.champion).toBeGreaterThan(0.05);
    expect(record.challenger).toBeUndefined();
    expect((await exec('git', ['-C', configRepo, 'log', '-1', '--format=%s'])).stdout.trim()).toBe(`promote: ${MODEL} 1.4.0 (challenger) over 1.3.0 in staging`);
    // AND the model card shows the evidence, the challenger Deployment is gone, and the KPIs count a performance retrain
    const card = readFileSync(join(configRepo, 'releases/staging/fraud-detector.md'), 'utf8');
    expect(card).toContain('Promoted as the challenger over 1.3.0: live auc beat the champion\'s by more than 0.05.');
    expect(card).toMatch(/\| challenger \(promoted\) \| 1\.4\.0 \| 0\.\d+ \| 1000 \|/);
    expect(manifestsIn(configRepo, 'staging', 'Deployment').map((d) => d.metadata.name)).not.toContain(`${MODEL}-challenger`);
    const kpis = JSON.parse((await slipway('kpis', '--repo', configRepo, '--format', 'json')).stdout) as { retrains: Array<{ model: string; trigger: string; count: number }> };
    expect(kpis.retrains).toContainEqual({ model: MODEL, trigger: 'performance', count: 1 });
    await exec('git', ['-C', configRepo, 'fsck', '--strict']);
  }, 180_000);
});
