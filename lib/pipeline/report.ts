import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { SlipwayError } from '../errors.js';

export interface ReportOptions {
  readonly model: string;
  /** Tekton's `$(tasks.status)`: Succeeded, Completed, Failed or None. */
  readonly aggregateStatus: string;
  /** JSON object of task name to status. */
  readonly taskStatuses: string;
  readonly pipelineRun: string;
  readonly pipelineRunUid: string;
  readonly namespace: string;
  /** Where the pod's service account token lives. */
  readonly serviceAccountDir?: string;
  readonly apiServer?: { readonly host: string; readonly port: string };
  readonly now?: () => Date;
}

const SUCCEEDED = new Set(['Succeeded', 'Completed']);

/** The run's outcome: a summary line, a line per task, and the Kubernetes Event that records it. */
export function summarize(options: ReportOptions): { lines: string[]; event: Record<string, unknown> } {
  let statuses: Record<string, string>;
  try {
    statuses = JSON.parse(options.taskStatuses) as Record<string, string>;
  } catch (err) {
    throw new SlipwayError('PIPELINE_REPORT_INVALID', `--task-statuses: expected a JSON object of task name to status: ${(err as Error).message}`);
  }
  const failed = Object.entries(statuses).filter(([, s]) => s === 'Failed').map(([t]) => t);
  const ok = SUCCEEDED.has(options.aggregateStatus);
  const message =
    `${options.model} training ${options.aggregateStatus.toLowerCase()}` + (failed.length ? ` (failed: ${failed.join(', ')})` : '') + `, run ${options.pipelineRun}`;
  const now = (options.now ?? (() => new Date()))().toISOString();
  return {
    lines: [message, ...Object.entries(statuses).map(([task, status]) => `  ${task.padEnd(10)} ${status}`)],
    event: {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${options.pipelineRun}-`, namespace: options.namespace },
      involvedObject: { apiVersion: 'tekton.dev/v1', kind: 'PipelineRun', name: options.pipelineRun, namespace: options.namespace, uid: options.pipelineRunUid },
      reason: ok ? 'TrainingSucceeded' : 'TrainingFailed',
      message,
      type: ok ? 'Normal' : 'Warning',
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      source: { component: 'slipway-pipeline' },
    },
  };
}

/**
 * Prints the outcome and records it as an Event on the PipelineRun, so `kubectl describe
 * pipelinerun` shows why a run failed. Never fails: the run's outcome is already decided.
 */
export async function report(options: ReportOptions, log: (line: string) => void): Promise<void> {
  const { lines, event } = summarize(options);
  for (const line of lines) log(line);
  const sa = options.serviceAccountDir ?? '/var/run/secrets/kubernetes.io/serviceaccount';
  const api = options.apiServer ?? { host: process.env.KUBERNETES_SERVICE_HOST ?? '', port: process.env.KUBERNETES_SERVICE_PORT ?? '443' };
  if (!existsSync(`${sa}/token`) || !api.host) {
    log('no service account token; not recording an event');
    return;
  }
  await new Promise<void>((resolve) => {
    const req = request(
      {
        host: api.host,
        port: api.port,
        path: `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/events`,
        method: 'POST',
        ca: readFileSync(`${sa}/ca.crt`),
        headers: { authorization: `Bearer ${readFileSync(`${sa}/token`, 'utf8').trim()}`, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        log(`event ${res.statusCode === 201 ? 'recorded' : `refused with ${res.statusCode}`}`);
        resolve();
      },
    );
    req.on('error', (err) => {
      log(`event not recorded: ${err.message}`);
      resolve();
    });
    req.end(JSON.stringify(event));
  });
}
