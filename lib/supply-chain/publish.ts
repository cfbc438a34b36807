import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SlipwayError } from '../errors.js';
import { IMAGE_SIGNATURE_BUNDLE, PROVENANCE_BUNDLE } from './attest.js';
import { SIGSTORE_BUNDLE_MEDIA_TYPE } from './in-toto.js';
import { CYCLONEDX_PREDICATE, ML_BOM_BUNDLE } from './ml-bom.js';
import { attach, type Descriptor, type RegistryAccess } from './registry.js';
import { IMAGE_SIGNATURE_PREDICATE, MODEL_SIGNATURE_FILE, MODEL_SIGNING_PREDICATE, SLSA_PROVENANCE_PREDICATE } from './statements.js';

/** The annotation naming a bundle's predicate, so verifiers pick the referrer they need without fetching all. */
export const PREDICATE_TYPE_ANNOTATION = 'dev.sigstore.bundle.predicateType';

const ATTACHED = [
  [IMAGE_SIGNATURE_BUNDLE, IMAGE_SIGNATURE_PREDICATE],
  [PROVENANCE_BUNDLE, SLSA_PROVENANCE_PREDICATE],
  [MODEL_SIGNATURE_FILE, MODEL_SIGNING_PREDICATE],
  [ML_BOM_BUNDLE, CYCLONEDX_PREDICATE],
] as const;

/** Attaches the build's four bundles (written beside build.json) to its image as OCI referrers. */
export async function attachAttestations(repository: string, imageDigest: string, dir: string, access: RegistryAccess): Promise<Descriptor[]> {
  const attachments = ATTACHED.map(([file, predicateType]) => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(dir, file));
    } catch (err) {
      throw new SlipwayError('SUPPLY_CHAIN_UNSIGNED', `${join(dir, file)} is missing (${(err as NodeJS.ErrnoException).code}): sign before attaching`);
    }
    return { artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE, mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE, bytes, annotations: { [PREDICATE_TYPE_ANNOTATION]: predicateType } };
  });
  return attach(repository, imageDigest, attachments, access);
}
