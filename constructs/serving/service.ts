import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { GRPC_PORT, HTTP_PORT, METRICS_PORT } from '../../lib/vocabulary/ports.js';

/** ClusterIP Service over the runtime's named ports: HTTP and gRPC inference, metrics. */
export function renderService(scope: Construct, metadata: k8s.ObjectMeta, selector: Record<string, string>): k8s.KubeService {
  return new k8s.KubeService(scope, 'Service', {
    metadata,
    spec: {
      type: 'ClusterIP',
      selector,
      ports: [
        { name: 'http', port: HTTP_PORT, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP', appProtocol: 'http' },
        { name: 'grpc', port: GRPC_PORT, targetPort: k8s.IntOrString.fromString('grpc'), protocol: 'TCP', appProtocol: 'grpc' },
        { name: 'metrics', port: METRICS_PORT, targetPort: k8s.IntOrString.fromString('metrics'), protocol: 'TCP', appProtocol: 'http' },
      ],
    },
  });
}
