import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { crdProblems } from '../../lib/compiler/crd-schemas.js';
import { runTrainJob } from '../../lib/pipeline/train-job.js';

// No Kubernetes API server runs here: a small HTTP server stands in for one, keeping the TrainJob
// the step posts (checked against the upstream CRD schema) and answering with the status
// conditions Kubeflow Trainer sets. The workspace is a real folder the "trainer" writes into.
const work = mkdtempSync(join(tmpdir(), 'slipway-train-job-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const MANIFEST = {
  apiVersion: 'trainer.kubeflow.org/v1alpha1',
  kind: 'TrainJob',
  metadata: { name: 'fraud-detector-training-x1-train', labels: { 'kueue.x-k8s.io/queue-name': 'ml-training' } },
  spec: { runtimeRef: { name: 'torch-distributed' }, trainer: { image: `ghcr.io/acme/train@sha256:${'d'.repeat(64)}`, numNodes: 2 } },
};

interface Api { url: string; requests: string[]; posted: unknown[]; close(): Promise<void> }
let api: Api | undefined;
afterEach(async () => api?.close());

/** An API server whose TrainJob passes through `statuses`, one per GET; `onComplete` runs when it reports Complete. */
async function apiServer(statuses: Array<Array<{ type: string; status: string; reason?: string; message?: string }>>, create = 201, onComplete?: () => void): Promise<Api> {
  const requests: string[] = [];
  const posted: unknown[] = [];
  let reads = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests.push(`${req.method} ${req.url}`);
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST') {
        posted.push(JSON.parse(body));
        res.statusCode = create;
        res.end(JSON.stringify(create === 403 ? { reason: 'Forbidden', message: 'trainjobs is forbidden' } : JSON.parse(body)));
        return;
      }
      const conditions = statuses[Math.min(reads++, statuses.length - 1)]!;
      if (conditions.some((c) => c.type === 'Complete' && c.status === 'True')) onComplete?.();
      res.end(JSON.stringify({ ...MANIFEST, status: { conditions } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, requests, posted, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('slipway pipeline train-job', () => {
  it('creates the TrainJob, waits through Kueue admission until Complete and returns the metrics written to the workspace', async () => {
    // GIVEN a TrainJob that waits for admission, runs, then completes after writing its metrics
    const outputDir = mkdtempSync(join(work, 'ok-'));
    api = await apiServer(
      [[{ type: 'Suspended', status: 'True', reason: 'Suspended' }], [{ type: 'Suspended', status: 'False' }], [{ type: 'Complete', status: 'True' }]],
      201,
      () => writeFileSync(join(outputDir, 'metrics.json'), JSON.stringify({ auc: 0.97 })),
    );
    const lines: string[] = [];
    // WHEN the step runs
    const metrics = await runTrainJob({ manifest: MANIFEST, namespace: 'ml-ci', outputDir, api: { server: api.url }, pollMs: 5, log: (l) => lines.push(l) });
    // THEN it posted the TrainJob (valid for the Trainer) into the namespace and read it back until done
    expect(metrics).toEqual({ auc: 0.97 });
    expect(api.requests[0]).toBe('POST /apis/trainer.kubeflow.org/v1alpha1/namespaces/ml-ci/trainjobs');
    expect(api.requests.slice(1)).toEqual(Array(3).fill('GET /apis/trainer.kubeflow.org/v1alpha1/namespaces/ml-ci/trainjobs/fraud-detector-training-x1-train'));
    expect(crdProblems(api.posted[0] as { apiVersion: string; kind: string })).toEqual([]);
    expect(lines.join('\n')).toMatch(/in Kueue queue ml-training[\s\S]*suspended \(Suspended\)[\s\S]*completed; metrics \{"auc":0.97\}/);
  });

  it('waits for the existing TrainJob when a retried step finds it (409)', async () => {
    const outputDir = mkdtempSync(join(work, 'retry-'));
    writeFileSync(join(outputDir, 'metrics.json'), '{"auc":0.9}');
    api = await apiServer([[{ type: 'Complete', status: 'True' }]], 409);
    await expect(runTrainJob({ manifest: MANIFEST, namespace: 'ml-ci', outputDir, api: { server: api.url }, pollMs: 5, log: () => {} })).resolves.toEqual({ auc: 0.9 });
  });

  it('fails when the TrainJob fails, naming its reason and how to find the pods', async () => {
    api = await apiServer([[{ type: 'Failed', status: 'True', reason: 'JobSetFailed', message: 'node-0 exited 1' }]]);
    const run = runTrainJob({ manifest: MANIFEST, namespace: 'ml-ci', outputDir: work, api: { server: api.url }, pollMs: 5, log: () => {} });
    await expect(run).rejects.toMatchObject({ code: 'TRAIN_JOB_FAILED', id: 'SLIPWAY_E1321' });
    await expect(run).rejects.toThrow('TrainJob ml-ci/fraud-detector-training-x1-train failed: JobSetFailed: node-0 exited 1 (kubectl -n ml-ci get jobset,pods');
  });

  it('fails when the TrainJob completes without metrics.json in the workspace', async () => {
    api = await apiServer([[{ type: 'Complete', status: 'True' }]]);
    await expect(runTrainJob({ manifest: MANIFEST, namespace: 'ml-ci', outputDir: mkdtempSync(join(work, 'empty-')), api: { server: api.url }, pollMs: 5, log: () => {} })).rejects.toThrow(/completed but wrote no .*metrics\.json/);
  });

  it('fails when RBAC refuses the create, naming the Role it needs', async () => {
    api = await apiServer([], 403);
    await expect(runTrainJob({ manifest: MANIFEST, namespace: 'ml-ci', outputDir: work, api: { server: api.url }, pollMs: 5, log: () => {} })).rejects.toThrow(
      "could not create TrainJob fraud-detector-training-x1-train: HTTP 403 Forbidden trainjobs is forbidden (the pipeline's Role must allow create/get on trainjobs.trainer.kubeflow.org)",
    );
  });

  it('fails rather than send the service account token over plain HTTP', async () => {
    await expect(runTrainJob({ manifest: MANIFEST, namespace: 'ml-ci', outputDir: work, api: { server: 'http://127.0.0.1:1', token: 'secret' }, log: () => {} })).rejects.toMatchObject({ code: 'TRAIN_JOB_API_FAILED' });
  });
});
