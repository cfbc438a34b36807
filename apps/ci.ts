import { Environment, PipelineTriggers, TrainingPipeline, type Platform } from '../constructs/index.js';
import { trustedKeys } from './trust.js';

/**
 * The example platform's CI environment: one training pipeline per example model, started by
 * pushes to the model's folder and by its drift alerts, synced by Argo CD like any other
 * environment. Runs release to staging; prod is promoted from there.
 */
export default function addContinuousTraining(platform: Platform): { environment: Environment; triggers: PipelineTriggers } {
  const ci = new Environment(platform, 'ci', { namespace: 'ml-ci' });
  const runtimeImage = 'ghcr.io/acme/slipway-runtime@sha256:3c1fd2bb29b7bd1d8dd2cf0c4ce2c1b83f4b4b3e5e3f1f2e3c7d0b1a2f9e8d7c';
  const pipelines = [
    new TrainingPipeline(ci, 'fraud-detector-pipeline', {
      name: 'fraud-detector',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 6] }],
      outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 2] }],
      sourceRepository: 'https://github.com/acme/ml-models.git',
      // The example training source of this repository (examples/fraud-detector): the cluster
      // fetches it from sourceRepository, `slipway pipeline run fraud-detector --local` from here.
      modelPath: 'examples/fraud-detector',
      trainingImage: 'ghcr.io/acme/python-papermill@sha256:0f3b2a1c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a',
      notebook: 'notebooks/train.ipynb',
      trainingParameters: { n_estimators: '300', max_depth: '6' },
      trainingData: 'data/transactions.csv',
      features: ['amount', 'hour', 'merchant_risk', 'distance_km', 'account_age_days', 'txn_count_24h'],
      gates: [
        { metric: 'auc', op: '>=', value: 0.92 },
        { metric: 'recall_at_1pct_fpr', op: '>=', value: 0.6 },
      ],
      runtimeImage,
      imageRepository: 'ghcr.io/acme/fraud-detector-runtime',
      platformRepository: 'https://github.com/acme/ml-platform.git',
      // Signed builds (docs/supply-chain.md): the key pair's private half is a Secret in ml-ci.
      signingKeySecret: 'fraud-detector-signing-key',
      trustedKeys,
    }),
    new TrainingPipeline(ci, 'image-classifier-pipeline', {
      name: 'image-classifier',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 3, 224, 224] }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 1000] }],
      sourceRepository: 'https://github.com/acme/ml-models.git',
      modelPath: 'image-classifier',
      trainingImage: 'ghcr.io/acme/vision-training@sha256:7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b',
      trainingCommand: ['python', 'train.py', '--export-onnx'],
      trainingParameters: { epochs: '30', batch_size: '256' },
      trainingData: 'data/labels.csv',
      gpu: { count: 1, product: 'NVIDIA-A100-SXM4-80GB', runtimeClassName: 'nvidia' },
      trainingCpu: '8',
      trainingMemory: '64Gi',
      trainingTimeout: '6h',
      workspaceSize: '200Gi',
      gates: [{ metric: 'top1_accuracy', op: '>=', value: 0.78 }],
      runtimeImage,
      imageRepository: 'ghcr.io/acme/image-classifier-runtime',
      platformRepository: 'https://github.com/acme/ml-platform.git',
    }),
  ];
  const triggers = new PipelineTriggers(ci, 'triggers', { pipelines });
  return { environment: ci, triggers };
}
