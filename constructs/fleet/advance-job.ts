import { GIT_AUTH_FUNCTION } from '../private/pipeline-scripts.js';
import { RESTRICTED_CONTAINER_SECURITY, RESTRICTED_POD_SECURITY } from '../private/security.js';

/** A CronJob on the hub that runs `slipway fleet advance` for every model of the fleet. */
export interface FleetAdvanceJobOptions {
  /** Image with slipway on its PATH (e.g. the runtime image built from containers/), pinned by digest. */
  readonly image: string;
  /** Git URL of the repository holding the app module (the platform source). */
  readonly sourceRepository: string;
  /**
   * Branch or tag of the platform source.
   * @default 'main'
   */
  readonly sourceRevision?: string;
  /**
   * The app module, relative to the platform source.
   * @default 'apps/main.ts'
   */
  readonly app?: string;
  /** Secret with `username` and `password` (a token) that may clone both repositories and push the config repository. */
  readonly gitCredentialsSecret: string;
  /**
   * Cron schedule of the gate.
   * @default '*\/10 * * * *'
   */
  readonly schedule?: string;
  /**
   * Image with git, for the checkout.
   * @default - alpine/git pinned by digest
   */
  readonly gitImage?: string;
}

// Inputs come from the environment, never spliced into the text: a value can never become code.
export const FLEET_CHECKOUT_SCRIPT = `set -eu
${GIT_AUTH_FUNCTION}
git_auth clone -q --depth 1 --branch "$PLATFORM_REVISION" "$PLATFORM_URL" /work/platform
git_auth clone -q "$CONFIG_URL" /work/config
`;

/** One advance per model; a halted gate fails the Job (exit 2) after the other models had their turn. */
export const FLEET_ADVANCE_SCRIPT = `set -eu
status=0
for model in $MODELS; do
  slipway fleet advance "$FLEET" --model "$model" --app "/work/platform/$APP" --repo /work/config \\
    --no-type-check --prometheus "$PROMETHEUS_URL" --push origin || status=$?
done
exit "$status"
`;

const DEFAULT_GIT_IMAGE = 'docker.io/alpine/git:2.45.1@sha256:d73869d3c6615a1a0c9616b0532c81e8fe1f536af7a774c87b647d4edcc8e4a7';

export function advanceCronJob(p: {
  fleet: string;
  platform: string;
  namespace: string;
  configRepository: string;
  prometheusUrl: string;
  models: readonly string[];
  options: FleetAdvanceJobOptions;
}): Record<string, unknown> {
  const o = p.options;
  const labels = {
    'app.kubernetes.io/name': `${p.fleet}-advance`,
    'app.kubernetes.io/component': 'fleet-gate',
    'app.kubernetes.io/part-of': p.platform,
    'app.kubernetes.io/managed-by': 'slipway',
  };
  const secret = (key: string) => ({ valueFrom: { secretKeyRef: { name: o.gitCredentialsSecret, key } } });
  const env = (vars: Record<string, string>) => Object.entries(vars).map(([name, value]) => ({ name, value }));
  const volumeMounts = [
    { name: 'work', mountPath: '/work' },
    { name: 'tmp', mountPath: '/tmp' },
  ];
  const small = { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } };
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: `${p.fleet}-advance`, namespace: p.namespace, labels },
    spec: {
      schedule: o.schedule ?? '*/10 * * * *',
      // Two gates at once would judge the same wave twice.
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        spec: {
          backoffLimit: 0,
          activeDeadlineSeconds: 900,
          template: {
            metadata: { labels },
            spec: {
              restartPolicy: 'Never',
              automountServiceAccountToken: false,
              securityContext: RESTRICTED_POD_SECURITY,
              volumes: [
                { name: 'work', emptyDir: {} },
                { name: 'tmp', emptyDir: {} },
              ],
              initContainers: [
                {
                  name: 'checkout',
                  image: o.gitImage ?? DEFAULT_GIT_IMAGE,
                  command: ['/bin/sh', '-c', FLEET_CHECKOUT_SCRIPT],
                  env: [
                    ...env({ PLATFORM_URL: o.sourceRepository, PLATFORM_REVISION: o.sourceRevision ?? 'main', CONFIG_URL: p.configRepository, HOME: '/work' }),
                    { name: 'GIT_USERNAME', ...secret('username') },
                    { name: 'GIT_PASSWORD', ...secret('password') },
                  ],
                  securityContext: RESTRICTED_CONTAINER_SECURITY,
                  resources: small,
                  volumeMounts,
                },
              ],
              containers: [
                {
                  name: 'advance',
                  image: o.image,
                  command: ['/bin/sh', '-c', FLEET_ADVANCE_SCRIPT],
                  env: [
                    ...env({ FLEET: p.fleet, MODELS: p.models.join(' '), APP: o.app ?? 'apps/main.ts', PROMETHEUS_URL: p.prometheusUrl, HOME: '/work', CI: 'true' }),
                    // slipway reads the token from the environment, never from a file or a flag.
                    { name: 'SLIPWAY_GIT_USERNAME', ...secret('username') },
                    { name: 'SLIPWAY_GIT_TOKEN', ...secret('password') },
                  ],
                  securityContext: RESTRICTED_CONTAINER_SECURITY,
                  resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } },
                  volumeMounts,
                },
              ],
            },
          },
        },
      },
    },
  };
}
