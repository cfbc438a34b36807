// registry[:port]/path[:tag]@sha256:<64 hex>, per the OCI distribution reference grammar
// (lower-case path components); the digest is mandatory so a synth pins exact bytes.
const IMAGE_REFERENCE =
  /^(?<repository>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?<digest>sha256:[0-9a-f]{64}))?$/;

export const IMAGE_DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface ImageReference {
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

export function parseImage(image: string): ImageReference | undefined {
  const m = IMAGE_REFERENCE.exec(image);
  if (!m?.groups) return undefined;
  return { repository: m.groups.repository!, tag: m.groups.tag, digest: m.groups.digest };
}

/** Why `image` cannot be deployed, or undefined when it is pinned by digest. */
export function imageProblem(image: string): string | undefined {
  const ref = parseImage(image);
  if (!ref) return `expected an image reference such as "ghcr.io/acme/runtime@sha256:<64 hex>", got ${JSON.stringify(image)}`;
  if (ref.tag === 'latest') {
    return `expected an image pinned by digest, got the moving tag ":latest" in ${JSON.stringify(image)}; use "${ref.repository}@sha256:<digest>"`;
  }
  if (!ref.digest) {
    return `expected an image pinned by digest, got ${JSON.stringify(image)} without "@sha256:<digest>"; pin it, e.g. "${ref.repository}@sha256:<digest>" (docker buildx imagetools inspect prints the digest)`;
  }
  return undefined;
}

/** `image` with its digest replaced by `digest` (used when a release record names a new build). */
export function withDigest(image: string, digest: string): string {
  const ref = parseImage(image);
  if (!ref) return image;
  return `${ref.repository}${ref.tag ? `:${ref.tag}` : ''}@${digest}`;
}
