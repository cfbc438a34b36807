import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SlipwayError } from '../errors.js';

/** How the step reaches the Kubernetes API: in a pod, its service account; in tests, a local URL. */
export interface KubeApi {
  readonly server: string;
  readonly token?: string;
  readonly ca?: Buffer;
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The API server and credentials a pod gets (KUBERNETES_SERVICE_HOST and its service account). */
export function inClusterApi(): KubeApi {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  let token: string;
  let ca: Buffer;
  try {
    token = readFileSync(join(SERVICE_ACCOUNT, 'token'), 'utf8').trim();
    ca = readFileSync(join(SERVICE_ACCOUNT, 'ca.crt'));
  } catch (err) {
    throw new SlipwayError('TRAIN_JOB_API_FAILED', `the step has no service account token to create the TrainJob with (${(err as Error).message}); the pipeline's ServiceAccount must mount one`);
  }
  if (!host) throw new SlipwayError('TRAIN_JOB_API_FAILED', 'KUBERNETES_SERVICE_HOST is not set: train-job runs in a pod (pipeline run --local runs the trainer itself)');
  return { server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`, token, ca };
}

async function call(api: KubeApi, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const url = new URL(path, api.server);
  // The token goes only over TLS; a plain-HTTP server (tests) gets none.
  if (url.protocol !== 'https:' && api.token) throw new SlipwayError('TRAIN_JOB_API_FAILED', `refusing to send the service account token over ${url.protocol} to ${url.host}`);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        method,
        ...(api.ca ? { ca: api.ca } : {}),
        headers: {
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          ...(api.token ? { authorization: `Bearer ${api.token}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : {};
          } catch {
            json = { message: text.slice(0, 300) };
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('error', (err) => reject(new SlipwayError('TRAIN_JOB_API_FAILED', `${method} ${url.origin}${url.pathname}: ${err.message}`)));
    if (payload) req.write(payload);
    req.end();
  });
}

interface Condition { type: string; status: string; reason?: string; message?: string }

export interface TrainJobRunOptions {
  /** The TrainJob to create (trainer.kubeflow.org/v1alpha1), as the pipeline rendered it. */
  readonly manifest: { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> } };
  readonly namespace: string;
  /** The workspace folder the TrainJob writes model.onnx and metrics.json into (shared volume). */
  readonly outputDir: string;
  readonly api: KubeApi;
  /** @default 10000 */
  readonly pollMs?: number;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
}

/**
 * Creates the run's TrainJob (or finds it, when Tekton retries the step), waits until the Trainer
 * reports Complete or Failed, and returns the metrics the training wrote. Waiting for Kueue's
 * admission is logged, not an error: the task's timeout bounds the wait.
 */
export async function runTrainJob(o: TrainJobRunOptions): Promise<Record<string, unknown>> {
  const { manifest, namespace } = o;
  const [group, version] = manifest.apiVersion.split('/');
  const collection = `/apis/${group}/${version}/namespaces/${encodeURIComponent(namespace)}/trainjobs`;
  const name = manifest.metadata.name;
  const created = await call(o.api, 'POST', collection, { ...manifest, metadata: { ...manifest.metadata, namespace } });
  if (created.status === 409) o.log(`train-job: TrainJob ${namespace}/${name} exists (a retried step); waiting for it`);
  else if (created.status >= 300) throw apiError('create', name, created);
  else o.log(`train-job: created TrainJob ${namespace}/${name}${manifest.metadata.labels?.['kueue.x-k8s.io/queue-name'] ? ` in Kueue queue ${manifest.metadata.labels['kueue.x-k8s.io/queue-name']}` : ''}`);

  let last = '';
  for (;;) {
    const got = await call(o.api, 'GET', `${collection}/${encodeURIComponent(name)}`);
    if (got.status >= 300) throw apiError('read', name, got);
    const conditions = (got.json?.status?.conditions ?? []) as Condition[];
    const isTrue = (type: string) => conditions.find((c) => c.type === type && c.status === 'True');
    const failed = isTrue('Failed');
    if (failed) {
      throw new SlipwayError('TRAIN_JOB_FAILED', `TrainJob ${namespace}/${name} failed: ${failed.reason ?? 'Failed'}${failed.message ? `: ${failed.message}` : ''} (kubectl -n ${namespace} get jobset,pods -l jobset.sigs.k8s.io/jobset-name=${name})`);
    }
    if (isTrue('Complete')) break;
    const now = isTrue('Suspended') ? `suspended (${isTrue('Suspended')!.reason ?? 'waiting for admission'})` : (conditions.map((c) => `${c.type}=${c.status}`).join(', ') || 'created');
    if (now !== last) o.log(`train-job: TrainJob ${name}: ${now}`);
    last = now;
    await sleep(o.pollMs ?? 10_000, undefined, o.signal ? { signal: o.signal } : undefined);
  }
  const metrics = readMetrics(o.outputDir, name);
  o.log(`train-job: TrainJob ${name} completed; metrics ${JSON.stringify(metrics)}`);
  return metrics;
}

function readMetrics(outputDir: string, name: string): Record<string, unknown> {
  const file = join(outputDir, 'metrics.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new SlipwayError('TRAIN_JOB_FAILED', `TrainJob ${name} completed but wrote no ${file}: the trainer must write model.onnx and metrics.json into $OUTPUT_DIR (the shared workspace)`);
  }
  try {
    const metrics = JSON.parse(text) as unknown;
    if (metrics && typeof metrics === 'object' && !Array.isArray(metrics)) return metrics as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new SlipwayError('TRAIN_JOB_FAILED', `TrainJob ${name} wrote ${file}, which is not a JSON object`);
}

function apiError(what: string, name: string, res: { status: number; json: any }): SlipwayError {
  const hint = res.status === 403 ? " (the pipeline's Role must allow create/get on trainjobs.trainer.kubeflow.org)" : res.status === 404 ? ' (is Kubeflow Trainer v2 installed?)' : '';
  return new SlipwayError('TRAIN_JOB_API_FAILED', `could not ${what} TrainJob ${name}: HTTP ${res.status} ${res.json?.reason ?? ''} ${res.json?.message ?? ''}`.trim() + hint);
}
