import { describe, expect, it } from 'vitest';
import { report, summarize } from '../../lib/pipeline/report.js';

const OPTIONS = {
  model: 'fraud-detector',
  aggregateStatus: 'Failed',
  taskStatuses: JSON.stringify({ fetch: 'Succeeded', train: 'Succeeded', evaluate: 'Failed', package: 'None' }),
  pipelineRun: 'fraud-detector-training-x1',
  pipelineRunUid: 'uid-1',
  namespace: 'ml-ci',
  now: () => new Date('2026-12-01T08:00:00Z'),
};

describe('slipway pipeline report', () => {
  it('summarizes the run and builds a Warning Event on the PipelineRun naming the failed tasks', () => {
    const { lines, event } = summarize(OPTIONS);
    expect(lines[0]).toBe('fraud-detector training failed (failed: evaluate), run fraud-detector-training-x1');
    expect(lines).toContain('  evaluate   Failed');
    expect(event).toMatchObject({
      kind: 'Event',
      reason: 'TrainingFailed',
      type: 'Warning',
      involvedObject: { kind: 'PipelineRun', name: 'fraud-detector-training-x1', namespace: 'ml-ci', uid: 'uid-1' },
      firstTimestamp: '2026-12-01T08:00:00.000Z',
    });
    expect(summarize({ ...OPTIONS, aggregateStatus: 'Completed' }).event).toMatchObject({ reason: 'TrainingSucceeded', type: 'Normal' });
  });

  it('never fails the run when there is no service account token', async () => {
    const lines: string[] = [];
    await report({ ...OPTIONS, serviceAccountDir: '/nonexistent' }, (l) => lines.push(l));
    expect(lines.at(-1)).toBe('no service account token; not recording an event');
  });

  it('fails when the task statuses are not JSON', () => {
    expect(() => summarize({ ...OPTIONS, taskStatuses: '{fetch' })).toThrow(/--task-statuses: expected a JSON object of task name to status/);
  });
});
