import type { TektonTaskSpec } from '../../imports/tekton.js';
import type { ResolvedPipelineProps } from '../props.js';
import { SMALL, slipwayStep } from '../steps.js';

/** report (finally): `slipway pipeline report` logs the outcome and records it as an Event on the PipelineRun. */
export function reportTask(r: ResolvedPipelineProps): TektonTaskSpec {
  return {
    description: 'Reports the outcome of the run in its log and as an Event on the PipelineRun.',
    params: [
      { name: 'aggregate-status', type: 'string' },
      { name: 'task-statuses', type: 'string', description: 'JSON object of task name to status.' },
    ],
    steps: [
      slipwayStep(
        r,
        'report',
        [
          'pipeline',
          'report',
          '--model',
          r.name,
          '--aggregate-status',
          '$(params.aggregate-status)',
          '--task-statuses',
          '$(params.task-statuses)',
          '--pipeline-run',
          '$(context.pipelineRun.name)',
          '--pipeline-run-uid',
          '$(context.pipelineRun.uid)',
          '--namespace',
          '$(context.pipelineRun.namespace)',
        ],
        SMALL,
      ),
    ],
  };
}
