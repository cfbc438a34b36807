import { IMAGE_MODEL_REPOSITORY } from '../../../lib/vocabulary/build.js';
import { EXPECTED_SHA256_ENV } from '../../../lib/vocabulary/integrity.js';
import { HTTP_PORT } from '../../../lib/vocabulary/ports.js';
import { TRUSTED_KEYS_ENV } from '../../../lib/vocabulary/supply-chain.js';
import type { TektonTaskSpec } from '../../imports/tekton.js';
import type { ResolvedPipelineProps } from '../props.js';
import { NODE_STEP, env, resources, slipwayStep } from '../steps.js';

/**
 * test: runs the built image as a sidecar, verifying the build's sha256 as a serving pod does, and
 * `slipway pipeline smoke-test` sends it a request built from the signature.
 */
export function testTask(r: ResolvedPipelineProps): TektonTaskSpec {
  return {
    description: `Starts the built image and sends a request built from the signature of ${r.name}.`,
    params: [
      { name: 'image', type: 'string', description: 'The built image, pinned by digest.' },
      { name: 'expected-sha256', type: 'string', description: 'sha256 of the files the image must serve (from the package task).' },
    ],
    sidecars: [
      {
        name: 'runtime',
        image: '$(params.image)',
        args: ['serve', '--model-repository', IMAGE_MODEL_REPOSITORY, '--host', '127.0.0.1', '--port', String(HTTP_PORT)],
        // The runtime verifies it serves the build's files, as the serving pod will.
        // and, when builds are signed, their model signature with the trusted keys.
        env: env({ SLIPWAY_EXECUTION_PROVIDER: 'cpu', [EXPECTED_SHA256_ENV]: '$(params.expected-sha256)', ...(r.trustedKeys ? { [TRUSTED_KEYS_ENV]: r.trustedKeys } : {}) }),
        computeResources: resources('500m', '1Gi', '2Gi'),
      },
    ],
    steps: [
      slipwayStep(
        r,
        'infer',
        [
          'pipeline',
          'smoke-test',
          '--url',
          `http://127.0.0.1:${HTTP_PORT}`,
          '--model',
          r.name,
          '--signature',
          JSON.stringify({ inputs: r.inputs, outputs: r.outputs }),
          '--ready-timeout',
          '180',
        ],
        NODE_STEP,
      ),
    ],
  };
}
