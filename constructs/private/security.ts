import type { k8s } from 'cdk8s-plus-28';

// Pod Security Standard "restricted" and OpenShift restricted-v2: no fixed UID, so OpenShift
// can assign one from the namespace range and any non-root image UID works elsewhere.
export const RESTRICTED_POD_SECURITY: k8s.PodSecurityContext = {
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
};

export const RESTRICTED_CONTAINER_SECURITY: k8s.SecurityContext = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};
