import type { TektonTaskSpec } from '../../imports/tekton.js';
import { FETCH_SCRIPT } from '../../private/pipeline-scripts.js';
import type { ResolvedPipelineProps } from '../props.js';
import { SMALL, env, gitCredentialEnv } from '../steps.js';

/** fetch: clones the training code and decides the version of this build (a git image has no slipway). */
export function fetchTask(r: ResolvedPipelineProps): TektonTaskSpec {
  return {
    description: `Clones the training code of ${r.name} and decides the version of this build.`,
    params: [
      { name: 'url', type: 'string', description: 'Git URL of the source repository.' },
      { name: 'revision', type: 'string', description: 'Branch, tag or commit to train.' },
      { name: 'version', type: 'string', description: 'Model version; empty derives <commit date>-<short commit>.', default: '' },
    ],
    workspaces: [{ name: 'source', description: 'Receives the checkout.' }],
    results: [
      { name: 'commit', type: 'string', description: 'Commit that was trained.' },
      { name: 'version', type: 'string', description: 'Model version of this build.' },
    ],
    steps: [
      {
        name: 'clone',
        image: r.gitImage,
        script: FETCH_SCRIPT,
        env: [
          ...env({
            SOURCE_URL: '$(params.url)',
            REVISION: '$(params.revision)',
            VERSION: '$(params.version)',
            SOURCE_DIR: '$(workspaces.source.path)',
            RESULT_COMMIT: '$(results.commit.path)',
            RESULT_VERSION: '$(results.version.path)',
          }),
          ...gitCredentialEnv(r),
        ],
        computeResources: SMALL,
      },
    ],
  };
}
