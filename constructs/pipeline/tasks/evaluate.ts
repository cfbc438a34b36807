import { metricResultName } from '../../../lib/vocabulary/gates.js';
import type { TektonTaskSpec } from '../../imports/tekton.js';
import type { ResolvedPipelineProps } from '../props.js';
import { NODE_STEP, slipwayStep } from '../steps.js';

/** evaluate: `slipway pipeline evaluate` checks the gates and records the metrics as results. */
export function evaluateTask(r: ResolvedPipelineProps): TektonTaskSpec {
  const gateResults = [...new Set(r.gates.map((g) => metricResultName(g.metric)))];
  return {
    description: 'Checks the quality gates against metrics.json and records the metrics as results.',
    workspaces: [{ name: 'model', readOnly: true }],
    results: [
      { name: 'metrics', type: 'string', description: 'Numeric metrics of metrics.json, as compact JSON.' },
      ...gateResults.map((name) => ({ name, type: 'string' as const, description: 'Value of a gated metric.' })),
    ],
    steps: [
      slipwayStep(
        r,
        'gates',
        ['pipeline', 'evaluate', '--metrics', '$(workspaces.model.path)/metrics.json', '--gates', JSON.stringify(r.gates), '--result', '$(results.metrics.path)'],
        NODE_STEP,
      ),
    ],
  };
}
