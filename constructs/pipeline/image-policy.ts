import { SLSA_PROVENANCE_PREDICATE } from '../../lib/supply-chain/statements.js';
import type { ResolvedPipelineProps } from './props.js';

export const IMAGE_POLICY_API_VERSION = 'policies.kyverno.io/v1';
export const IMAGE_POLICY_KIND = 'NamespacedImageValidatingPolicy';

/**
 * Kyverno's admission check for one environment namespace: a Pod may run an image of the
 * pipeline's repository only when the image digest is signed by a trusted key and carries SLSA
 * provenance signed by it (the bundles the package task attaches as OCI referrers, the format
 * cosign v3 writes). Key-based signatures are offline: no transparency log to consult.
 */
export function renderImagePolicy(r: ResolvedPipelineProps, namespace: string, labels: Record<string, string>) {
  const keys = (r.trustedKeys ?? '').match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? [];
  const attestors = keys.map((key, i) => ({ name: `key${i}`, cosign: { key: { data: `${key}\n` }, ctlog: { insecureIgnoreTlog: true, insecureIgnoreSCT: true } } }));
  const anyKey = `[${attestors.map((a) => `attestors.${a.name}`).join(', ')}]`;
  return {
    apiVersion: IMAGE_POLICY_API_VERSION,
    kind: IMAGE_POLICY_KIND,
    metadata: { name: `${r.name}-signed-images`, namespace, labels },
    spec: {
      validationActions: ['Deny'],
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'] }],
      },
      matchImageReferences: [{ glob: `${r.imageRepository}*` }],
      attestors,
      attestations: [{ name: 'provenance', intoto: { type: SLSA_PROVENANCE_PREDICATE } }],
      validations: [
        {
          expression: `images.containers.map(image, verifyImageSignatures(image, ${anyKey})).all(e, e > 0)`,
          message: `images of ${r.imageRepository} must be signed by the ${r.name} pipeline's key`,
        },
        {
          expression: `images.containers.map(image, verifyAttestationSignatures(image, attestations.provenance, ${anyKey})).all(e, e > 0)`,
          message: `images of ${r.imageRepository} must carry SLSA provenance signed by the ${r.name} pipeline's key`,
        },
      ],
    },
  };
}
