import type { TektonTaskSpec } from '../../imports/tekton.js';
import type { ResolvedPipelineProps } from '../props.js';
import { resources, slipwayStep } from '../steps.js';

/** profile: `slipway baseline` turns the training data into the drift baseline shipped with the model. */
export function profileTask(r: ResolvedPipelineProps): TektonTaskSpec {
  return {
    description: 'Profiles the training data into the drift baseline that ships with the model.',
    workspaces: [
      { name: 'source', readOnly: true },
      { name: 'model', description: 'Receives baseline.json.' },
    ],
    steps: [
      slipwayStep(
        r,
        'baseline',
        [
          'baseline',
          '--data',
          `${r.modelDir}/${r.trainingData}`,
          // Only the columns the model receives, named after its input tensor: the runtime's drift
          // monitor compares live tensors with exactly these.
          ...(r.features ? ['--features', r.features.join(','), '--input-tensor', r.inputs[0]!.name] : []),
          '--out',
          '$(workspaces.model.path)/baseline.json',
        ],
        resources('500m', '1Gi', '4Gi'),
      ),
    ],
  };
}
