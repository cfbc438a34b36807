import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { RUNTIME_METRICS } from '../../lib/vocabulary/metrics.js';
import { KedaScaledObject } from '../imports/keda.js';
import type { ResolvedServingProps } from './props.js';

export interface ScaleTarget {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
}

/** HPA on CPU utilisation for CPU models; KEDA on in-flight requests for GPU models (scale to zero). */
export function renderAutoscaler(scope: Construct, metadata: k8s.ObjectMeta, target: ScaleTarget, props: ResolvedServingProps, namespace: string): void {
  if (props.gpu) {
    new KedaScaledObject(scope, 'Autoscaler', {
      metadata,
      spec: {
        scaleTargetRef: target,
        minReplicaCount: props.minReplicas,
        maxReplicaCount: props.maxReplicas,
        pollingInterval: 15,
        cooldownPeriod: 300,
        triggers: [
          {
            type: 'prometheus',
            metadata: {
              serverAddress: props.prometheusUrl,
              // GPU utilisation is not visible to the HPA; queued work per replica is what
              // tells a GPU server is saturated.
              query: `sum(${RUNTIME_METRICS.inFlight}{model="${props.model.name}",namespace="${namespace}"})`,
              threshold: String(props.targetInFlightRequests),
            },
          },
        ],
      },
    });
    return;
  }
  new k8s.KubeHorizontalPodAutoscalerV2(scope, 'Autoscaler', {
    metadata,
    spec: {
      scaleTargetRef: target,
      minReplicas: props.minReplicas,
      maxReplicas: props.maxReplicas,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: props.targetCpuUtilization } } }],
      behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
    },
  });
}
