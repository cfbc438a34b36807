import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'cdk8s';
import { Environment, ModelDeployment, Platform, PlatformDashboard } from '../constructs/index.js';
import addContinuousTraining from './ci.js';
import { trustedKeys } from './trust.js';

/**
 * Tekton has no published JSON Schemas, so `slipway synth` cannot check these kinds against an
 * upstream schema; the tests lint them with tekton-lint and resolve every reference instead.
 */
export const allowUnvalidatedKinds = [
  'tekton.dev/v1/Task',
  'tekton.dev/v1/Pipeline',
  'triggers.tekton.dev/v1beta1/TriggerBinding',
  'triggers.tekton.dev/v1beta1/TriggerTemplate',
  'triggers.tekton.dev/v1beta1/EventListener',
  // Kyverno publishes CRDs, not models: the tests validate it against the CRD schema.
  'policies.kyverno.io/v1/NamespacedImageValidatingPolicy',
];

/**
 * The example platform: a tabular fraud detector on CPUs (from a spec file) and an image
 * classifier on GPUs with a canary rollout (in TypeScript), each in staging and prod, and a
 * CI environment whose Tekton pipelines retrain them on source pushes, drift and performance
 * alerts (routed by each model's AlertmanagerConfig), and a platform dashboard.
 *
 * `slipway synth` calls this with release records in the app's context; `npx cdk8s synth`
 * runs this file directly.
 */
export default function build(app: App): Platform {
  const platform = new Platform(app, 'acme-ml', {
    repoURL: 'https://github.com/acme/ml-config.git',
  });

  const environments = {
    staging: new Environment(platform, 'staging', { namespace: 'ml-staging' }),
    prod: new Environment(platform, 'prod', {
      namespace: 'ml-prod',
      // Production follows Git automatically, but a person's kubectl edit is not reverted
      // silently during an incident.
      syncPolicy: { selfHeal: false },
    }),
  };

  // The runtime posts sustained drift straight to the retraining pipeline's EventListener.
  const { triggers } = addContinuousTraining(platform);

  for (const [name, environment] of Object.entries(environments)) {
    const prod = name === 'prod';

    ModelDeployment.fromFile(environment, fileURLToPath(new URL('./models/fraud-detector.yaml', import.meta.url)), {
      // The runtime serves only builds signed by the pipeline's key.
      overrides: { driftWebhookUrl: triggers.url, trustedKeys },
    });

    new ModelDeployment(environment, 'image-classifier', {
      name: 'image-classifier',
      version: '2.1.0',
      owner: 'vision-ml@acme.example',
      description: 'Classifies product photos into 1000 catalogue categories.',
      labels: { team: 'vision' },
      artifactUri: 'gs://acme-ml-models/image-classifier/2.1.0/model.onnx',
      artifactSha256: '95e7b6d7004b77a14a8605941d73f435e2dddc68c5a288acb156b6077d052f3b',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 3, 224, 224] }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 1000] }],
      image: 'ghcr.io/acme/image-classifier-runtime@sha256:58706c885dda22ae3c8f14567a95cfc29db0630f0cbb0910f1cdc2ae7631905a',
      gpu: prod
        ? { count: 1, product: 'NVIDIA-A100-SXM4-80GB', runtimeClassName: 'nvidia' }
        : { count: 1, resource: 'nvidia.com/mig-1g.10gb' },
      minReplicas: prod ? 2 : 0,
      maxReplicas: prod ? 8 : 2,
      targetInFlightRequests: prod ? 16 : 8,
      canary: prod
        ? { steps: [{ setWeight: 10 }, { pause: '10m' }, { setWeight: 50 }, { pause: '10m' }], maxErrorRatio: 0.01 }
        : { steps: [{ setWeight: 50 }, { pause: '2m' }] },
      allowedNamespaces: ['catalog'],
      latencyP99Seconds: prod ? 0.25 : 1,
      driftFor: prod ? '1h' : '15m',
      driftWebhookUrl: triggers.url,
    });
  }
  // One dashboard over every environment, in the Grafana of the production cluster.
  new PlatformDashboard(environments.prod, 'platform-dashboard');
  return platform;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const app = new App();
  build(app);
  app.synth();
}
