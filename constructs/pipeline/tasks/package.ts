import type { ISecurityContext } from 'kubernetes-models/v1';
import type { TektonStep, TektonTaskSpec } from '../../imports/tekton.js';
import type { ResolvedPipelineProps } from '../props.js';
import { SIGNING_KEY_ENV, SIGNING_KEY_SECRET_KEY } from '../../../lib/vocabulary/supply-chain.js';
import { SMALL, resources, slipwayStep } from '../steps.js';

/**
 * What buildah needs to build FROM the runtime image and push, measured (docs/pipelines.md):
 * root in its own container, but not privileged and without SYS_ADMIN. The Containerfile has no
 * RUN, so no container process ever starts; vfs storage needs no mounts. buildah still enters a
 * user namespace to unpack layers with their owners, which takes SETUID/SETGID and a seccomp
 * profile that allows unshare(CLONE_NEWUSER) (RuntimeDefault forbids it without SYS_ADMIN).
 */
export const BUILDAH_SECURITY_CONTEXT: ISecurityContext = {
  privileged: false,
  allowPrivilegeEscalation: false,
  runAsUser: 0,
  capabilities: { drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'SETFCAP', 'SETUID', 'SETGID'] },
  seccompProfile: { type: 'Unconfined' },
};

const STORAGE = { name: 'containers-storage', mountPath: '/var/lib/containers' };

/**
 * package: lays the build out as the image's model repository, builds it FROM the runtime image
 * with buildah, pushes it, and writes build.json (the build record) for the release step.
 */
export function packageTask(r: ResolvedPipelineProps): TektonTaskSpec {
  const context = '$(workspaces.model.path)/image';
  const modelFolder = `${context}/models/${r.name}/$(params.version)`;
  // The signing key only ever reaches the two signing steps, from the Secret.
  const signingKey = r.signingKeySecret ? [{ name: SIGNING_KEY_ENV, valueFrom: { secretKeyRef: { name: r.signingKeySecret, key: SIGNING_KEY_SECRET_KEY } } }] : [];
  const tag = `${r.imageRepository}:$(params.version)`;
  const registryAuth = { name: 'REGISTRY_AUTH_FILE', value: '$(workspaces.docker-config.path)/config.json' };
  // With modelRepository, the signed model folder also travels as a ModelPack artifact, and build.json records it.
  const modelLocationFile = '$(results.model-location.path)';
  const buildah = (name: string, args: readonly string[], extra: Partial<TektonStep> = {}): TektonStep => ({
    name,
    image: r.buildahImage,
    command: ['buildah'],
    args: ['--storage-driver=vfs', ...args],
    env: [
      { name: 'BUILDAH_ISOLATION', value: 'chroot' },
      { name: 'REGISTRY_AUTH_FILE', value: '$(workspaces.docker-config.path)/config.json' },
    ],
    computeResources: resources('1', '2Gi', '4Gi'),
    securityContext: BUILDAH_SECURITY_CONTEXT,
    volumeMounts: [STORAGE],
    ...extra,
  });
  return {
    description: `Builds ${r.imageRepository} FROM the runtime image with the model inside (buildah, no daemon, not privileged) and writes build.json.`,
    params: [
      { name: 'version', type: 'string', description: 'Model version: the model repository folder and the image tag.' },
      { name: 'source-url', type: 'string', description: 'Git URL of the training code, recorded in the build.' },
      { name: 'commit', type: 'string', description: 'Commit that was trained, recorded in the build.' },
      { name: 'trigger', type: 'string', description: 'What started the run: push, drift or manual.', default: 'manual' },
    ],
    workspaces: [
      { name: 'source', description: 'The checkout, for the training data hash.', readOnly: true },
      { name: 'model', description: 'Holds model.onnx, metrics.json and baseline.json; receives the build context and build.json.' },
      { name: 'docker-config', description: 'config.json with credentials for the image repository.', readOnly: true },
    ],
    results: [
      { name: 'image-digest', type: 'string', description: 'Digest of the pushed image.' },
      { name: 'expected-sha256', type: 'string', description: 'sha256 of the files the image must serve, as SLIPWAY_EXPECTED_SHA256 JSON.' },
      // Tekton Chains' type hints: Chains signs IMAGE_URL@IMAGE_DIGEST and writes its provenance on a cluster.
      { name: 'IMAGE_URL', type: 'string', description: 'Repository of the pushed image (Tekton Chains type hint).' },
      { name: 'IMAGE_DIGEST', type: 'string', description: 'Digest of the pushed image (Tekton Chains type hint).' },
      ...(r.modelRepository ? [{ name: 'model-location', type: 'string' as const, description: 'oci:// location of the pushed model artifact, pinned by digest.' }] : []),
    ],
    volumes: [{ name: STORAGE.name, emptyDir: {} }],
    steps: [
      slipwayStep(
        r,
        'layout',
        ['pipeline', 'package', '--model', r.name, '--version', '$(params.version)', '--output-dir', '$(workspaces.model.path)', '--context-dir', context, '--runtime-image', r.runtimeImage],
        SMALL,
      ),
      ...(r.signingKeySecret
        ? [slipwayStep(r, 'sign-model', ['pipeline', 'sign-model', '--model', r.name, '--folder', modelFolder, '--copy-to', '$(workspaces.model.path)'], SMALL, signingKey)]
        : []),
      buildah('build', ['bud', '--format=oci', `--file=${context}/Containerfile`, `--tag=${tag}`, context]),
      buildah('push', ['push', '--digestfile=$(results.image-digest.path)', tag, `docker://${tag}`]),
      ...(r.modelRepository
        ? [
            slipwayStep(
              r,
              'push-model',
              ['pipeline', 'push-model', '--folder', modelFolder, '--repository', r.modelRepository, '--model', r.name, '--version', '$(params.version)', '--location-file', modelLocationFile],
              SMALL,
              [registryAuth],
            ),
          ]
        : []),
      slipwayStep(
        r,
        'record',
        [
          'pipeline',
          'record-build',
          '--model',
          r.name,
          '--version',
          '$(params.version)',
          '--context-dir',
          context,
          '--image-digest-file',
          '$(results.image-digest.path)',
          '--out',
          '$(workspaces.model.path)/build.json',
          '--source-repository',
          '$(params.source-url)',
          '--commit',
          '$(params.commit)',
          '--training-data',
          `${r.modelDir}/${r.trainingData}`,
          '--metrics',
          '$(workspaces.model.path)/metrics.json',
          '--trigger',
          '$(params.trigger)',
          '--pipeline-run',
          '$(context.pipelineRun.name)',
          '--expected-sha256-out',
          '$(results.expected-sha256.path)',
          '--image-url',
          r.imageRepository,
          '--image-url-out',
          '$(results.IMAGE_URL.path)',
          '--image-digest-out',
          '$(results.IMAGE_DIGEST.path)',
          ...(r.modelRepository ? ['--model-location-file', modelLocationFile] : []),
        ],
        SMALL,
      ),
      ...(r.signingKeySecret
        ? [
            slipwayStep(
              r,
              'attest',
              [
                'pipeline',
                'attest',
                '--build',
                '$(workspaces.model.path)/build.json',
                '--image-repository',
                r.imageRepository,
                '--runtime-image',
                r.runtimeImage,
                '--builder-id',
                `https://slipway.dev/pipeline/${r.namespace}/${r.name}-training`,
                '--signature',
                JSON.stringify({ inputs: r.inputs, outputs: r.outputs }),
                '--attach',
              ],
              SMALL,
              [...signingKey, registryAuth],
            ),
          ]
        : []),
    ],
  };
}
