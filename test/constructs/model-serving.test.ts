import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Model, ModelServing, VERIFY_ARTIFACT_SCRIPT, type ModelServingProps } from '../../constructs/index.js';
import { RUNTIME_IMAGE, SHA_A, SHA_B, modelProps } from '../support/fixtures.js';
import { find, givenChart, synth, type Manifest } from '../support/synth.js';
import { upstreamProblem } from '../support/upstream-schemas.js';

function serve(props: Partial<ModelServingProps> = {}, model = modelProps()): Manifest[] {
  const chart = givenChart();
  new ModelServing(chart, 'Serving', { model: new Model(chart, 'Model', model), image: RUNTIME_IMAGE, ...props });
  return synth(chart);
}

function failure(props: Partial<ModelServingProps>, model = modelProps()): string {
  try {
    serve(props, model);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the construct to reject its props');
}

const runtimeContainer = (manifests: Manifest[], kind = 'Deployment') =>
  find(manifests, kind).spec.template.spec.containers.find((c: { name: string }) => c.name === 'runtime');

describe('ModelServing', () => {
  it('synthesizes a CPU serving', () => {
    // WHEN a CPU model is served with defaults
    const manifests = serve();
    // THEN the objects match the snapshot and each passes its upstream schema
    expect(manifests).toMatchSnapshot();
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual([
      'ServiceAccount/fraud-detector',
      'Deployment/fraud-detector',
      'Service/fraud-detector',
      'PodDisruptionBudget/fraud-detector',
      'NetworkPolicy/fraud-detector',
      'HorizontalPodAutoscaler/fraud-detector',
    ]);
    expect(manifests.map(upstreamProblem).filter(Boolean)).toEqual([]);
  });

  it('pins the runtime, probes the OIP health endpoints and sets requests and limits', () => {
    const container = runtimeContainer(serve({ cpu: '250m', memory: '1Gi' }));
    expect(container.image).toBe(RUNTIME_IMAGE);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/v2/health/live', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/v2/health/ready', port: 'http' });
    expect(container.startupProbe.httpGet).toEqual({ path: '/v2/health/ready', port: 'http' });
    expect(container.resources).toEqual({ requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '500m', memory: '2Gi' } });
    expect(container.env).toContainEqual({ name: 'SLIPWAY_EXECUTION_PROVIDER', value: 'cpu' });
  });

  it('does not mount a service account token', () => {
    const manifests = serve();
    expect(find(manifests, 'ServiceAccount').automountServiceAccountToken).toBe(false);
    expect(find(manifests, 'Deployment').spec.template.spec.automountServiceAccountToken).toBe(false);
  });

  it('leaves replicas to the autoscaler and scales CPU models on CPU utilisation', () => {
    const manifests = serve({ minReplicas: 2, maxReplicas: 6, targetCpuUtilization: 60 });
    expect(find(manifests, 'Deployment').spec.replicas).toBeUndefined();
    const hpa = find(manifests, 'HorizontalPodAutoscaler');
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'fraud-detector' },
      minReplicas: 2,
      maxReplicas: 6,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } }],
    });
  });

  it('denies ingress by default, allowing the inference ports (HTTP, gRPC) to chosen clients and metrics to monitoring', () => {
    const policy = find(serve({ allowedNamespaces: ['payments'], allowedPodLabels: { app: 'checkout' } }), 'NetworkPolicy');
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    expect(policy.spec.ingress).toEqual([
      {
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'payments' } }, podSelector: { matchLabels: { app: 'checkout' } } }],
        ports: [
          { protocol: 'TCP', port: 8080 },
          { protocol: 'TCP', port: 8081 },
        ],
      },
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ protocol: 'TCP', port: 9091 }] },
    ]);
  });

  it('exposes the runtime gRPC port 8081 by name on the pod and the Service', () => {
    const manifests = serve();
    expect(runtimeContainer(manifests).ports).toContainEqual({ name: 'grpc', containerPort: 8081, protocol: 'TCP' });
    expect(find(manifests, 'Service').spec.ports).toContainEqual({ name: 'grpc', port: 8081, targetPort: 'grpc', protocol: 'TCP', appProtocol: 'grpc' });
  });

  it('allows only the own namespace to call the model when no clients are named', () => {
    const policy = find(serve(), 'NetworkPolicy');
    expect(policy.spec.ingress[0].from).toEqual([{ podSelector: {} }]);
  });

  describe('GPU', () => {
    it('requests GPUs, tolerates the GPU taint, selects the product and switches the runtime to CUDA', () => {
      // WHEN a model is served on an A100 with the nvidia runtime class
      const manifests = serve({ gpu: { count: 2, product: 'NVIDIA-A100-SXM4-80GB', runtimeClassName: 'nvidia' } });
      const pod = find(manifests, 'Deployment').spec.template.spec;
      // THEN the pod asks for the GPUs and lands on matching nodes
      expect(pod.containers[0].resources.limits['nvidia.com/gpu']).toBe(2);
      expect(pod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
      expect(pod.nodeSelector).toEqual({ 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-80GB' });
      expect(pod.runtimeClassName).toBe('nvidia');
      expect(pod.containers[0].env).toContainEqual({ name: 'SLIPWAY_EXECUTION_PROVIDER', value: 'cuda' });
      expect(manifests.map(upstreamProblem).filter(Boolean)).toEqual([]);
    });

    it('requests a MIG slice without selecting a product', () => {
      const pod = find(serve({ gpu: { count: 1, resource: 'nvidia.com/mig-1g.10gb' } }), 'Deployment').spec.template.spec;
      expect(pod.containers[0].resources.limits).toMatchObject({ 'nvidia.com/mig-1g.10gb': 1 });
      expect(pod.containers[0].resources.limits['nvidia.com/gpu']).toBeUndefined();
      expect(pod.nodeSelector).toBeUndefined();
      expect(pod.runtimeClassName).toBeUndefined();
    });

    it('scales on the in-flight request metric with KEDA instead of an HPA', () => {
      const manifests = serve({ gpu: { count: 1 }, minReplicas: 0, maxReplicas: 4, targetInFlightRequests: 12 });
      expect(manifests.some((m) => m.kind === 'HorizontalPodAutoscaler')).toBe(false);
      const scaled = find(manifests, 'ScaledObject');
      expect(scaled.spec).toMatchObject({
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'fraud-detector' },
        minReplicaCount: 0,
        maxReplicaCount: 4,
      });
      expect(scaled.spec.triggers).toEqual([
        {
          type: 'prometheus',
          metadata: {
            serverAddress: 'http://prometheus-operated.monitoring.svc:9090',
            query: 'sum(slipway_inference_in_flight_requests{model="fraud-detector",namespace="ml-staging"})',
            threshold: '12',
          },
        },
      ]);
    });
  });

  describe('canary', () => {
    it('rolls out with Argo Rollouts steps and an error-ratio analysis', () => {
      // WHEN a canary with two steps and a 1% error budget is asked for
      const manifests = serve({ canary: { steps: [{ setWeight: 25 }, { pause: '5m' }, { pause: 'manual' }], maxErrorRatio: 0.01 } });
      // THEN a Rollout replaces the Deployment and the autoscaler targets it
      expect(manifests.some((m) => m.kind === 'Deployment')).toBe(false);
      const rollout = find(manifests, 'Rollout');
      expect(rollout.spec.strategy.canary.steps).toEqual([{ setWeight: 25 }, { pause: { duration: '5m' } }, { pause: {} }]);
      expect(rollout.spec.strategy.canary.analysis.templates).toEqual([{ templateName: 'fraud-detector-error-ratio' }]);
      expect(find(manifests, 'HorizontalPodAutoscaler').spec.scaleTargetRef).toEqual({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'fraud-detector' });
      const metric = find(manifests, 'AnalysisTemplate').spec.metrics[0];
      expect(metric.successCondition).toBe('len(result) == 0 || isNaN(result[0]) || result[0] <= 0.01');
      expect(metric.provider.prometheus.query).toContain('status=~"5.."');
      expect(manifests.map(upstreamProblem).filter(Boolean)).toEqual([]);
    });

    it('fails when a step is both a weight and a pause', () => {
      expect(failure({ canary: { steps: [{ setWeight: 10, pause: '1m' }] } })).toMatch(
        /canary\.steps\[0\]: expected exactly one of setWeight or pause, got \{"setWeight":10,"pause":"1m"\}/,
      );
    });
  });

  describe('artifact fetch', () => {
    const initContainers = (manifests: Manifest[]) => find(manifests, 'Deployment').spec.template.spec.initContainers;

    it('downloads s3 artifacts and the baseline with the storage initializer, then verifies both', () => {
      const inits = initContainers(serve({}, modelProps({ baselineUri: 's3://acme-ml-models/fraud/baseline.json', baselineSha256: SHA_B })));
      expect(inits.map((c: { name: string }) => c.name)).toEqual(['fetch-model', 'fetch-baseline', 'verify-model']);
      expect(inits[0].args).toEqual(['s3://acme-ml-models/fraud-detector/1.3.0/model.onnx', '/mnt/staging/model']);
      expect(inits[0].image).toMatch(/^docker\.io\/kserve\/storage-initializer@sha256:[0-9a-f]{64}$/);
      expect(inits[2].env).toEqual([
        { name: 'MODEL_DIR', value: '/mnt/models/fraud-detector/1.3.0' },
        { name: 'MODEL_SOURCE', value: '/mnt/staging/model' },
        { name: 'MODEL_SHA256', value: SHA_A },
        { name: 'BASELINE_SOURCE', value: '/mnt/staging/baseline' },
        { name: 'BASELINE_SHA256', value: SHA_B },
      ]);
    });

    it('mounts pvc artifacts read-only and verifies them in place', () => {
      const manifests = serve({}, modelProps({ artifactUri: 'pvc://model-store/fraud/model.onnx' }));
      const pod = find(manifests, 'Deployment').spec.template.spec;
      expect(pod.initContainers.map((c: { name: string }) => c.name)).toEqual(['verify-model']);
      expect(pod.volumes).toContainEqual({ name: 'pvc-model-store', persistentVolumeClaim: { claimName: 'model-store', readOnly: true } });
      expect(pod.initContainers[0].env).toContainEqual({ name: 'MODEL_SOURCE', value: '/mnt/pvc/model-store/fraud/model.onnx' });
    });

    it('fetches nothing for a build located in the image: the runtime loads model and baseline from the image and verifies both', () => {
      // GIVEN a build whose model and baseline were baked into the runtime image
      const manifests = serve({}, modelProps({ artifactUri: 'image', baselineUri: 'image', baselineSha256: SHA_B }));
      const pod = find(manifests, 'Deployment').spec.template.spec;
      // THEN no init container fetches anything and the runtime reads the image's model repository
      expect(pod.initContainers).toBeUndefined();
      expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }]);
      const runtime = runtimeContainer(manifests);
      expect(runtime.args.slice(0, 3)).toEqual(['serve', '--model-repository', '/models']);
      expect(runtime.env).toContainEqual({ name: 'SLIPWAY_MODEL_REPOSITORY', value: '/models' });
      // AND the runtime is told the sha256 of both files it must load
      const expected = JSON.parse(runtime.env.find((e: { name: string }) => e.name === 'SLIPWAY_EXPECTED_SHA256').value);
      expect(expected).toEqual({ 'fraud-detector': { 'model.onnx': SHA_A, 'baseline.json': SHA_B } });
      expect(manifests.map(upstreamProblem).filter(Boolean)).toEqual([]);
    });

    it('hands the runtime the expected sha256 of fetched artifacts too', () => {
      const runtime = runtimeContainer(serve({}, modelProps({ baselineUri: 's3://acme-ml-models/fraud/baseline.json', baselineSha256: SHA_B })));
      expect(runtime.env).toContainEqual({
        name: 'SLIPWAY_EXPECTED_SHA256',
        value: JSON.stringify({ 'fraud-detector': { 'model.onnx': SHA_A, 'baseline.json': SHA_B } }),
      });
      expect(runtime.args.slice(0, 3)).toEqual(['serve', '--model-repository', '/mnt/models']);
    });

    it('pulls oci:// ModelPack artifacts with the runtime image (test/supply-chain/oci-model-pod.test.ts)', () => {
      const uri = `oci://ghcr.io/acme/fraud-model@sha256:${SHA_B}`;
      const inits = initContainers(serve({}, modelProps({ artifactUri: uri })));
      expect(inits[0]).toMatchObject({ name: 'fetch-model', image: RUNTIME_IMAGE, args: ['pipeline', 'fetch-model', uri, '--out', '/mnt/staging/model'] });
    });

    describe('verify script', () => {
      const work = mkdtempSync(join(tmpdir(), 'slipway-verify-'));
      afterAll(() => rmSync(work, { recursive: true, force: true }));
      const sha = (bytes: string) => createHash('sha256').update(bytes).digest('hex');

      function runVerify(env: Record<string, string>) {
        return spawnSync('sh', ['-c', VERIFY_ARTIFACT_SCRIPT], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
      }

      it('passes shellcheck', () => {
        const file = join(work, 'verify.sh');
        writeFileSync(file, `#!/bin/sh\n${VERIFY_ARTIFACT_SCRIPT}`);
        expect(() => execFileSync('shellcheck', ['--shell=sh', '--severity=style', file], { encoding: 'utf8' })).not.toThrow();
      });

      it('installs a downloaded artifact whose sha256 matches as model.onnx', () => {
        // GIVEN a staging folder holding what the storage initializer downloaded
        const staging = join(work, 'ok-staging');
        mkdirSync(staging, { recursive: true });
        writeFileSync(join(staging, 'fraud.onnx'), 'model bytes');
        writeFileSync(join(work, 'baseline.json'), '{"features":[]}');
        // WHEN the init step runs
        const result = runVerify({
          MODEL_DIR: join(work, 'ok-models/fraud/1'),
          MODEL_SOURCE: staging,
          MODEL_SHA256: sha('model bytes'),
          BASELINE_SOURCE: join(work, 'baseline.json'),
          BASELINE_SHA256: sha('{"features":[]}'),
        });
        // THEN the runtime finds the verified files in its repository layout
        expect(result.status).toBe(0);
        expect(readFileSync(join(work, 'ok-models/fraud/1/model.onnx'), 'utf8')).toBe('model bytes');
        expect(readFileSync(join(work, 'ok-models/fraud/1/baseline.json'), 'utf8')).toBe('{"features":[]}');
      });

      it('fails when the bytes do not match the recorded sha256, installing nothing', () => {
        writeFileSync(join(work, 'tampered.onnx'), 'other bytes');
        const result = runVerify({ MODEL_DIR: join(work, 'bad-models'), MODEL_SOURCE: join(work, 'tampered.onnx'), MODEL_SHA256: sha('model bytes') });
        expect(result.status).toBe(1);
        expect(result.stderr).toContain(`verify: sha256 mismatch for ${join(work, 'tampered.onnx')}: expected ${sha('model bytes')}, got ${sha('other bytes')}`);
        expect(() => readFileSync(join(work, 'bad-models/model.onnx'))).toThrow();
      });
    });
  });

  describe('bad input', () => {
    it('fails when an artifact location carries credentials', () => {
      expect(() => serve({}, modelProps({ artifactUri: 'https://user:secret@models.acme.example/fraud/model.onnx' }))).toThrow(
        /artifactUri: expected a location without credentials, got user info in https:\/\/\*\*\*@models\.acme\.example/,
      );
    });

    it('fails when the baseline is in the image but the model is not', () => {
      expect(() => serve({}, modelProps({ baselineUri: 'image', baselineSha256: SHA_B }))).toThrow(/baselineUri: expected the baseline where the model is/);
    });

    it('fails when the image has no digest', () => {
      expect(failure({ image: 'ghcr.io/acme/runtime:1.0' })).toMatch(
        /ModelServing at 'acme-ml\/staging\/app\/Serving' has invalid props:\n  - image: expected an image pinned by digest, got "ghcr.io\/acme\/runtime:1.0" without "@sha256:<digest>"/,
      );
    });

    it('fails when the image uses :latest, even with a digest', () => {
      expect(failure({ image: `ghcr.io/acme/runtime:latest@sha256:${SHA_A}` })).toMatch(/image: expected an image pinned by digest, got the moving tag ":latest"/);
    });

    it('fails when the GPU count is below 1', () => {
      expect(failure({ gpu: { count: 0 } })).toMatch(/gpu\.count: expected an integer >= 1 \(GPUs or MIG slices per replica\), got 0/);
    });

    it('fails when the MIG resource is malformed', () => {
      expect(failure({ gpu: { count: 1, resource: 'nvidia.com/mig-1g10gb' } })).toMatch(
        /gpu\.resource: expected "nvidia.com\/gpu" or a MIG resource such as "nvidia.com\/mig-1g.10gb", got "nvidia.com\/mig-1g10gb"/,
      );
    });

    it('fails when replica bounds are negative or inverted, reporting both', () => {
      const message = failure({ minReplicas: -1, maxReplicas: -2 });
      expect(message).toMatch(/minReplicas: expected an integer >= 1 \(the HPA cannot scale CPU models to zero\), got -1/);
      expect(message).toMatch(/maxReplicas: expected an integer >= 1 and >= minReplicas \(-1\), got -2/);
      expect(failure({ minReplicas: 5, maxReplicas: 2 })).toMatch(/maxReplicas: expected an integer >= 1 and >= minReplicas \(5\), got 2/);
    });

    it('fails when a CPU model asks for zero replicas', () => {
      expect(failure({ minReplicas: 0 })).toMatch(/minReplicas: expected an integer >= 1/);
    });

    it('fails when a quantity is malformed', () => {
      expect(failure({ memory: '2 GB' })).toMatch(/memory: expected a Kubernetes quantity such as "500m", "2" or "4Gi", got "2 GB"/);
    });
  });
});
