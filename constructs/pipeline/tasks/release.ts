import type { TektonTaskSpec } from '../../imports/tekton.js';
import { RELEASE_CHECKOUT_SCRIPT } from '../../private/pipeline-scripts.js';
import type { ResolvedPipelineProps } from '../props.js';
import { TRUSTED_KEYS_ENV } from '../../../lib/vocabulary/supply-chain.js';
import { SMALL, env, gitCredentialEnv, resources, slipwayStep } from '../steps.js';

/** release: checks out the platform and the config repository, then `slipway pipeline release --build build.json`. */
export function releaseTask(r: ResolvedPipelineProps): TektonTaskSpec {
  return {
    description: `Records the build (build.json) in the config repository for ${r.releaseEnvironment}.`,
    workspaces: [
      { name: 'scratch', description: 'Receives the platform and config repository checkouts.' },
      { name: 'model', description: 'Holds build.json, written by the package task.', readOnly: true },
    ],
    steps: [
      {
        name: 'checkout',
        image: r.gitImage,
        script: RELEASE_CHECKOUT_SCRIPT,
        env: [
          ...env({
            PLATFORM_URL: r.platformRepository,
            PLATFORM_REVISION: r.platformRevision,
            PLATFORM_DIR: '$(workspaces.scratch.path)/platform',
            CONFIG_URL: r.configRepository,
            CONFIG_DIR: '$(workspaces.scratch.path)/config',
          }),
          ...gitCredentialEnv(r),
        ],
        computeResources: SMALL,
      },
      slipwayStep(
        r,
        'release',
        [
          'pipeline',
          'release',
          '--platform-dir',
          '$(workspaces.scratch.path)/platform',
          '--app',
          r.appFile,
          '--repo',
          '$(workspaces.scratch.path)/config',
          '--env',
          r.releaseEnvironment,
          '--model',
          r.name,
          '--build',
          '$(workspaces.model.path)/build.json',
          '--push',
          'origin',
        ],
        resources('500m', '1Gi', '2Gi'),
        [
          // With trusted keys, the release refuses a build whose signatures do not verify.
          ...env({ HOME: '$(workspaces.scratch.path)', ...(r.trustedKeys ? { [TRUSTED_KEYS_ENV]: r.trustedKeys } : {}) }),
          // slipway reads the token from the environment, never from a file or a flag.
          { name: 'SLIPWAY_GIT_USERNAME', valueFrom: { secretKeyRef: { name: r.gitCredentialsSecret, key: 'username' } } },
          { name: 'SLIPWAY_GIT_TOKEN', valueFrom: { secretKeyRef: { name: r.gitCredentialsSecret, key: 'password' } } },
        ],
      ),
    ],
  };
}
