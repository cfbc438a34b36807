import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { GRPC_PORT, HTTP_PORT, METRICS_PORT } from '../../lib/vocabulary/ports.js';
import type { ResolvedServingProps } from './props.js';

/** Denies all ingress but inference (HTTP, gRPC) from the allowed clients and metrics from monitoring. */
export function renderNetworkPolicy(
  scope: Construct,
  metadata: k8s.ObjectMeta,
  selector: Record<string, string>,
  props: ResolvedServingProps,
): k8s.KubeNetworkPolicy {
  const allowedPods: k8s.LabelSelector | undefined = props.allowedPodLabels ? { matchLabels: { ...props.allowedPodLabels } } : undefined;
  const clientPeers: k8s.NetworkPolicyPeer[] = props.allowedNamespaces
    ? props.allowedNamespaces.map((ns) => ({
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
        ...(allowedPods ? { podSelector: allowedPods } : {}),
      }))
    : [{ podSelector: allowedPods ?? {} }];
  return new k8s.KubeNetworkPolicy(scope, 'NetworkPolicy', {
    metadata,
    spec: {
      // Selecting the pods with an Ingress policy denies everything not listed below.
      podSelector: { matchLabels: selector },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: clientPeers,
          ports: [
            { protocol: 'TCP', port: k8s.IntOrString.fromNumber(HTTP_PORT) },
            { protocol: 'TCP', port: k8s.IntOrString.fromNumber(GRPC_PORT) },
          ],
        },
        {
          from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': props.monitoringNamespace } } }],
          ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(METRICS_PORT) }],
        },
      ],
    },
  });
}
